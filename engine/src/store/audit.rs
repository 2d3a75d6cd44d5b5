//! The audit trail: an append-only log of every state change of a case, each entry
//! hash-chained to the previous one of the same case, so that editing or deleting an
//! entry breaks the chain (执法全过程记录, tamper evidence).

use sha2::{Digest, Sha256};

/// One entry before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry<'a> {
    /// The case.
    pub case_id: &'a str,
    /// Position in the case's chain, from 1.
    pub seq: i64,
    /// When (milliseconds since the epoch).
    pub at: i64,
    /// Who (a user id, or `engine` for timers and jobs).
    pub actor: &'a str,
    /// What happened (the command name).
    pub kind: &'a str,
    /// The command and its effects, as JSON.
    pub detail: &'a str,
}

/// The hash of the chain's start, before the first entry.
pub const GENESIS: &str = "";

/// The hash of an entry chained to `prev_hash`: hex SHA-256 over the previous hash and every
/// field, each length-prefixed so that no two different entries hash alike.
pub fn chain_hash(prev_hash: &str, entry: &AuditEntry<'_>) -> String {
    let mut hasher = Sha256::new();
    for part in
        [prev_hash, entry.case_id, &entry.seq.to_string(), &entry.at.to_string(), entry.actor, entry.kind, entry.detail]
    {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// An entry's row in the log, chained: its case and the entry as it is stored; what
/// [`log_row`] makes and the command writes.
#[derive(Debug, Clone)]
pub(crate) struct LogRow {
    /// The case.
    pub case_id: String,
    /// The entry.
    pub entry: StoredEntry,
}

/// The log row of `entry` chained to `prev_hash`, and its hash (the case's new chain head).
pub(crate) fn log_row(entry: &AuditEntry<'_>, prev_hash: &str) -> (LogRow, String) {
    let hash = chain_hash(prev_hash, entry);
    let row = LogRow {
        case_id: entry.case_id.to_owned(),
        entry: StoredEntry {
            seq: entry.seq,
            at: entry.at,
            actor: entry.actor.to_owned(),
            kind: entry.kind.to_owned(),
            detail: entry.detail.to_owned(),
            prev_hash: prev_hash.to_owned(),
            hash: hash.clone(),
        },
    };
    (row, hash)
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain of case {case_id} breaks at entry {seq}: {reason}")]
pub struct ChainBreak {
    /// The case.
    pub case_id: String,
    /// The first entry that does not verify.
    pub seq: i64,
    /// Why.
    pub reason: String,
}

/// A stored entry, as read back for verification.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    /// Position in the chain.
    pub seq: i64,
    /// When.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub kind: String,
    /// Detail JSON.
    pub detail: String,
    /// The hash stored as the previous one.
    pub prev_hash: String,
    /// The hash stored for this entry.
    pub hash: String,
}

/// Verifies a case's chain, given its entries in `seq` order and the head recorded on the
/// case row.
///
/// # Errors
/// The first entry that is missing, out of order, or whose hash does not match.
pub fn verify(case_id: &str, entries: &[StoredEntry], head: (i64, &str)) -> Result<(), ChainBreak> {
    let fail = |seq: i64, reason: String| ChainBreak { case_id: case_id.to_owned(), seq, reason };
    let mut prev = GENESIS.to_owned();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq != expected_seq {
            return Err(fail(expected_seq, format!("entry {expected_seq} is missing (found {})", e.seq)));
        }
        if e.prev_hash != prev {
            return Err(fail(e.seq, "it does not point at the previous entry".into()));
        }
        let entry = AuditEntry { case_id, seq: e.seq, at: e.at, actor: &e.actor, kind: &e.kind, detail: &e.detail };
        if chain_hash(&prev, &entry) != e.hash {
            return Err(fail(e.seq, "its content does not match its hash".into()));
        }
        prev = e.hash.clone();
    }
    let (head_seq, head_hash) = head;
    if head_seq != entries.len() as i64 || head_hash != prev {
        return Err(fail(
            entries.len() as i64 + 1,
            format!("the case records {head_seq} entries, the log holds {}", entries.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<StoredEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let detail = format!("{{\"n\":{seq}}}");
                let entry =
                    AuditEntry { case_id: "c", seq, at: seq * 10, actor: "u", kind: "complete", detail: &detail };
                let hash = chain_hash(&prev, &entry);
                let stored = StoredEntry {
                    seq,
                    at: seq * 10,
                    actor: "u".into(),
                    kind: "complete".into(),
                    detail: detail.clone(),
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                stored
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies_and_any_edit_breaks_it() {
        let entries = chain(5);
        let head = (5, entries[4].hash.as_str());
        assert_eq!(verify("c", &entries, head), Ok(()));

        let mut edited = entries.clone();
        edited[2].detail = "{\"n\":99}".into();
        assert_eq!(verify("c", &edited, head).unwrap_err().seq, 3);

        let mut dropped = entries.clone();
        dropped.remove(1);
        assert_eq!(verify("c", &dropped, head).unwrap_err().seq, 2);

        let truncated = &entries[..4];
        assert!(verify("c", truncated, head).is_err(), "a missing tail is caught by the case's head");
    }
}
