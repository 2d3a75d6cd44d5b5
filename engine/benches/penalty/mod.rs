//! The shipped penalty flow and the six task completions that drive a major case from filing
//! to decision; shared by the core and store benchmarks.

use docket_engine::core::{Actor, Completion, RecordRef};
use serde_json::json;

/// The shipped penalty flow.
pub const PENALTY: &str = include_str!("../../../workflows/penalty-general.yaml");

/// The ten points of the legal review checklist.
pub const CHECKLIST: &[&str] =
    &["subject", "authority", "facts", "evidence", "law", "procedure", "discretion", "documents", "rights", "other"];

fn completion(outcome: Option<&str>, vars: serde_json::Value, checklist: &[&str], records: &[&str]) -> Completion {
    Completion {
        outcome: outcome.map(str::to_owned),
        variables: vars.as_object().cloned().unwrap_or_default().into_iter().collect(),
        checklist: checklist.iter().map(|c| ((*c).to_owned(), true)).collect(),
        records: records
            .iter()
            .map(|k| RecordRef { kind: (*k).to_owned(), sha256: "0".repeat(64), size: 1, uri: "s3://bench".into() })
            .collect(),
    }
}

/// Who completes each task of a major case, in order (filing, evidence by two officers,
/// chief approval, legal review, decision), and with what.
pub fn steps() -> [(Actor, Completion); 6] {
    [
        (Actor::new("h1", &["handler"]), completion(None, json!({}), &[], &["text"])),
        (
            Actor::new("h1", &["handler"]),
            completion(None, json!({ "fine_amount": 60000 }), &[], &["text", "audio_video"]),
        ),
        (Actor::new("h2", &["handler"]), completion(None, json!({}), &[], &["text", "audio_video"])),
        (Actor::new("chief", &["section_chief"]), completion(Some("approved"), json!({}), &[], &[])),
        (Actor::new("rev", &["legal_reviewer"]), completion(Some("approved"), json!({}), CHECKLIST, &[])),
        (Actor::new("boss", &["leader"]), completion(None, json!({}), &[], &["text"])),
    ]
}
