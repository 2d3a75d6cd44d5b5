//! `docket token` mints tokens the server accepts, with the configured secret, and refuses
//! unknown roles and scopes on people.

mod support;

use std::process::Command;

use support::{DOCKET, TEST_SECRET};

fn token(args: &[&str]) -> std::process::Output {
    Command::new(DOCKET).arg("token").args(args).env("DOCKET_JWT_SECRET", TEST_SECRET).output().expect("run")
}

#[test]
fn minted_tokens_carry_the_claims_and_verify_with_the_secret() {
    let out = token(&[
        "--user",
        "rev1",
        "--name",
        "审核员甲",
        "--roles",
        "legal_reviewer",
        "--groups",
        "review,b",
        "--ttl",
        "30m",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<serde_json::Value>(
        text.trim(),
        &jsonwebtoken::DecodingKey::from_secret(TEST_SECRET.as_bytes()),
        &validation,
    )
    .expect("verifies with the configured secret");
    let c = data.claims;
    assert_eq!((c["sub"].as_str(), c["name"].as_str()), (Some("rev1"), Some("审核员甲")));
    assert_eq!(c["roles"], serde_json::json!(["legal_reviewer"]));
    assert_eq!(c["groups"], serde_json::json!(["review", "b"]));
    let ttl = c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap();
    assert_eq!(ttl, 1800);
}

#[test]
fn bad_roles_and_scopes_are_refused() {
    for args in [
        &["--user", "x", "--roles", "wizard"][..],
        &["--user", "x", "--roles", "handler", "--scopes", "cases:read"][..],
        &["--user", "svc", "--roles", "integration", "--scopes", "everything"][..],
    ] {
        let out = token(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
    let out = token(&["--user", "svc", "--roles", "integration", "--scopes", "cases:read,publications:record"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
