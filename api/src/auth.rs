//! Authentication: bearer JWTs, turned into the engine's [`Principal`].
//!
//! Tokens are signed with HS256 and a shared secret, or with RS256/ES256 by an identity
//! provider whose public key is configured. Claims: `sub` (user id), `name` (display name),
//! `roles` (handler, section_chief, legal_reviewer, leader, admin, supervisor, integration),
//! `groups`, `scopes` (service tokens: `cases:read`, `cases:start`, `messages:correlate`,
//! `tasks:read`, `definitions:read`, `publications:record`), `exp` (required) and `iat`.
//!
//! With no key configured, `docket serve` and `docket token` share a development secret in
//! the file `docket.secret` of the working directory, created on first use.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use docket_engine::access::{Principal, Role, Scope};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::recent::Recent;

/// How many verified tokens are remembered (see [`Authenticator::principal`]).
const VERIFIED_TOKENS: usize = 4096;

/// The development secret's file, used when no key is configured.
pub const DEV_SECRET_FILE: &str = "docket.secret";

/// The claims of a Docket token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User or service id.
    pub sub: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Scopes of a service token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Expiry (seconds since the Unix epoch).
    pub exp: i64,
    /// Issued at (seconds since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

/// Where the verification key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyConfig {
    /// HS256 with this secret.
    Secret(String),
    /// HS256 with the development secret file (created if missing).
    DevSecretFile(PathBuf),
    /// RS256 or ES256 with the PEM public key in this file.
    PublicKey {
        /// `RS256` or `ES256`.
        algorithm: Algorithm,
        /// The PEM file.
        file: PathBuf,
    },
}

/// Why a request is not authenticated; always answered 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

/// Verifies tokens.
#[derive(Clone)]
pub struct Authenticator {
    key: DecodingKey,
    validation: Validation,
    /// The HS256 secret, when tokens can be minted here.
    secret: Option<Vec<u8>>,
    /// Tokens verified recently, with their principal and expiry.
    verified: Arc<Recent<(Principal, i64)>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").field("algorithms", &self.validation.algorithms).finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Builds the verifier.
    ///
    /// # Errors
    /// An unreadable key file, a bad PEM, or an empty secret.
    pub fn new(config: &KeyConfig) -> Result<Authenticator, String> {
        match config {
            KeyConfig::Secret(secret) => Self::hs256(secret.as_bytes().to_vec()),
            KeyConfig::DevSecretFile(path) => Self::hs256(dev_secret(path)?.into_bytes()),
            KeyConfig::PublicKey { algorithm, file } => {
                let pem = std::fs::read(file)
                    .map_err(|e| format!("cannot read the JWT public key {}: {e}", file.display()))?;
                let key = match algorithm {
                    Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
                    Algorithm::ES256 => DecodingKey::from_ec_pem(&pem),
                    other => return Err(format!("unsupported JWT algorithm {other:?}; use RS256 or ES256")),
                }
                .map_err(|e| format!("the JWT public key {} is not a valid PEM key: {e}", file.display()))?;
                Ok(Authenticator { key, validation: validation(*algorithm), secret: None, verified: remembered() })
            }
        }
    }

    fn hs256(secret: Vec<u8>) -> Result<Authenticator, String> {
        if secret.len() < 16 {
            return Err("the JWT secret must be at least 16 bytes".into());
        }
        Ok(Authenticator {
            key: DecodingKey::from_secret(&secret),
            validation: validation(Algorithm::HS256),
            secret: Some(secret),
            verified: remembered(),
        })
    }

    /// Mints an HS256 token (for `docket token` and tests).
    ///
    /// # Errors
    /// When the verifier holds a public key only.
    pub fn mint(&self, claims: &Claims) -> Result<String, String> {
        let secret = self.secret.as_ref().ok_or("tokens can be minted only with an HS256 secret")?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret))
            .map_err(|e| format!("cannot sign the token: {e}"))
    }

    /// The principal of an `Authorization` header value (`Bearer TOKEN`).
    ///
    /// # Errors
    /// [`AuthError`] for a missing or malformed header, a bad signature, an expired token,
    /// or unknown roles or scopes.
    pub fn principal_from_header(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        let header = header.ok_or_else(|| AuthError("no bearer token: send `Authorization: Bearer TOKEN`".into()))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| AuthError("the Authorization header must be `Bearer TOKEN`".into()))?;
        self.principal(token.trim())
    }

    /// The principal of a token.
    ///
    /// A client sends the same token with every request, so a token verified once is
    /// remembered, by its exact text, with the principal it carries: until it expires it is
    /// not decoded and its signature not checked again (for RS256 and ES256 that check is
    /// the larger part of a small request). The key never changes while the server runs, so
    /// the same text verifies the same way every time.
    ///
    /// # Errors
    /// As [`Authenticator::principal_from_header`].
    pub fn principal(&self, token: &str) -> Result<Principal, AuthError> {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let unexpired = |exp: i64| exp >= now - self.validation.leeway as i64;
        if let Some((principal, exp)) = self.verified.get(token)
            && unexpired(exp)
        {
            return Ok(principal);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(|e| {
            AuthError(
                match e.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::InvalidSignature => "the token's signature is invalid",
                    ErrorKind::InvalidAlgorithm => "the token is signed with another algorithm",
                    ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim (exp)",
                    ErrorKind::ImmatureSignature => "the token is not valid yet",
                    _ => "the token is malformed",
                }
                .to_owned(),
            )
        })?;
        let exp = data.claims.exp;
        let principal = principal_of(data.claims)?;
        self.verified.put(token, (principal.clone(), exp));
        Ok(principal)
    }
}

fn remembered() -> Arc<Recent<(Principal, i64)>> {
    Arc::new(Recent::new(VERIFIED_TOKENS))
}

fn validation(algorithm: Algorithm) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = 30;
    validation.validate_aud = false;
    validation
}

/// The claims as a principal.
///
/// # Errors
/// Unknown roles or scopes, an empty subject, or scopes on a person's token.
pub fn principal_of(claims: Claims) -> Result<Principal, AuthError> {
    if claims.sub.trim().is_empty() {
        return Err(AuthError("the token's subject (sub) is empty".into()));
    }
    let roles = claims
        .roles
        .iter()
        .map(|r| Role::parse(r).ok_or_else(|| AuthError(format!("unknown role `{r}` in the token"))))
        .collect::<Result<Vec<_>, _>>()?;
    let scopes = claims
        .scopes
        .iter()
        .map(|s| Scope::parse(s).ok_or_else(|| AuthError(format!("unknown scope `{s}` in the token"))))
        .collect::<Result<Vec<_>, _>>()?;
    if !scopes.is_empty() && !roles.contains(&Role::Integration) {
        return Err(AuthError("scopes belong to service tokens (role `integration`)".into()));
    }
    Ok(Principal {
        name: claims.name.unwrap_or_else(|| claims.sub.clone()),
        user: claims.sub,
        roles,
        groups: claims.groups,
        scopes,
    })
}

/// Reads the development secret, creating it (readable by the owner only) when missing.
fn dev_secret(path: &Path) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read the development secret {}: {e}", path.display())),
    }
    let secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            std::io::Write::write_all(&mut file, secret.as_bytes())
                .map_err(|e| format!("cannot write the development secret {}: {e}", path.display()))?;
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => dev_secret(path),
        Err(e) => Err(format!("cannot create the development secret {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_from_now: i64) -> Claims {
        Claims {
            sub: "rev1".into(),
            name: Some("审核员甲".into()),
            roles: vec!["legal_reviewer".into()],
            groups: vec!["review".into()],
            scopes: vec![],
            exp: chrono::Utc::now().timestamp() + exp_from_now,
            iat: None,
        }
    }

    fn hs() -> Authenticator {
        Authenticator::new(&KeyConfig::Secret("0123456789abcdef-test".into())).unwrap()
    }

    #[test]
    fn a_minted_token_verifies_and_carries_the_claims() {
        let auth = hs();
        let token = auth.mint(&claims(600)).unwrap();
        let p = auth.principal_from_header(Some(&format!("Bearer {token}"))).unwrap();
        assert_eq!(p.user, "rev1");
        assert_eq!(p.roles, vec![Role::LegalReviewer]);
        assert_eq!(p.groups, vec!["review".to_owned()]);
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_expires_and_its_forgeries_never_pass() {
        let auth = hs();
        // Valid for about one more second, counting the 30 s of leeway.
        let token = auth.mint(&claims(-29)).unwrap();
        assert_eq!(auth.principal(&token).unwrap().user, "rev1");
        assert_eq!(auth.principal(&token).unwrap().user, "rev1", "remembered");
        let (head, signature) = token.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{head}.{flipped}{}", &signature[1..]);
        assert!(auth.principal(&forged).is_err(), "another text is verified on its own");
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert!(auth.principal(&token).unwrap_err().0.contains("expired"));
    }

    #[test]
    fn bad_tokens_are_refused_with_a_reason() {
        let auth = hs();
        assert!(auth.principal_from_header(None).unwrap_err().0.contains("no bearer token"));
        assert!(auth.principal_from_header(Some("Basic abc")).unwrap_err().0.contains("Bearer"));
        assert!(auth.principal("not-a-jwt").unwrap_err().0.contains("malformed"));
        let expired = auth.mint(&claims(-3600)).unwrap();
        assert!(auth.principal(&expired).unwrap_err().0.contains("expired"));
        let other = Authenticator::new(&KeyConfig::Secret("another-secret-of-16".into())).unwrap();
        let forged = other.mint(&claims(600)).unwrap();
        assert!(auth.principal(&forged).unwrap_err().0.contains("signature"));
        let mut odd = claims(600);
        odd.roles = vec!["wizard".into()];
        assert!(auth.principal(&auth.mint(&odd).unwrap()).unwrap_err().0.contains("unknown role `wizard`"));
        let mut person_with_scopes = claims(600);
        person_with_scopes.scopes = vec!["cases:read".into()];
        assert!(auth.principal(&auth.mint(&person_with_scopes).unwrap()).is_err());
    }

    /// Tokens of an identity provider, signed with its private key, verify with the public
    /// key; a token signed with HS256 using the public key as the secret (the algorithm
    /// confusion attack) does not.
    #[test]
    fn rs256_and_es256_tokens_verify_with_the_public_key() {
        let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys");
        for (algorithm, name) in [(Algorithm::RS256, "rs256"), (Algorithm::ES256, "es256")] {
            let private = std::fs::read(format!("{keys}/{name}-private.pem")).unwrap();
            let public = PathBuf::from(format!("{keys}/{name}-public.pem"));
            let signing = match algorithm {
                Algorithm::RS256 => EncodingKey::from_rsa_pem(&private).unwrap(),
                _ => EncodingKey::from_ec_pem(&private).unwrap(),
            };
            let auth = Authenticator::new(&KeyConfig::PublicKey { algorithm, file: public.clone() }).unwrap();
            let token = jsonwebtoken::encode(&Header::new(algorithm), &claims(600), &signing).unwrap();
            assert_eq!(auth.principal(&token).unwrap().user, "rev1", "{name}");
            assert!(auth.mint(&claims(600)).is_err(), "no minting without a secret");
            let confused = jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims(600),
                &EncodingKey::from_secret(&std::fs::read(&public).unwrap()),
            )
            .unwrap();
            assert!(auth.principal(&confused).unwrap_err().0.contains("algorithm"), "{name}");
        }
        let missing = KeyConfig::PublicKey { algorithm: Algorithm::ES256, file: PathBuf::from("/no/such/key.pem") };
        assert!(Authenticator::new(&missing).unwrap_err().contains("cannot read"));
    }

    #[test]
    fn the_development_secret_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEV_SECRET_FILE);
        let a = Authenticator::new(&KeyConfig::DevSecretFile(path.clone())).unwrap();
        let b = Authenticator::new(&KeyConfig::DevSecretFile(path)).unwrap();
        let token = a.mint(&claims(600)).unwrap();
        assert!(b.principal(&token).is_ok());
    }
}
