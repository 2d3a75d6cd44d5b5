//! Opaque cursors and page sizes. A cursor is base64url JSON; a cursor from another list or
//! another sort order is a `VALIDATION` error, not a wrong page.

use async_graphql::Result;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use docket_engine::store::inbox::{InboxCursor, InboxSort, MAX_PAGE};
use serde::{Deserialize, Serialize};

use super::error::invalid;

/// A page size checked against [`MAX_PAGE`].
///
/// # Errors
/// `VALIDATION` for a size outside `1..=MAX_PAGE`.
pub fn page_size(first: i32) -> Result<u64> {
    if first < 1 || first as u64 > MAX_PAGE {
        return Err(invalid(format!("`first` must be between 1 and {MAX_PAGE}, got {first}")));
    }
    Ok(first as u64)
}

#[derive(Serialize, Deserialize)]
struct InboxToken {
    /// Sort key value.
    k: i64,
    /// Task id.
    i: i64,
    /// The sort the cursor belongs to.
    s: InboxSort,
}

fn encode<T: Serialize>(value: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

fn decode<T: for<'de> Deserialize<'de>>(cursor: &str) -> Result<T> {
    URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| invalid(format!("`{cursor}` is not a cursor of this list")))
}

/// The cursor of an inbox entry.
pub fn encode_inbox(cursor: InboxCursor, sort: InboxSort) -> String {
    encode(&InboxToken { k: cursor.key, i: cursor.task_id, s: sort })
}

/// An inbox cursor, checked against the sort it is used with.
///
/// # Errors
/// `VALIDATION` for a malformed cursor or one made under another sort.
pub fn decode_inbox(cursor: &str, sort: InboxSort) -> Result<InboxCursor> {
    let token: InboxToken = decode(cursor)?;
    if token.s != sort {
        return Err(invalid("the cursor belongs to another sort order; start again without `after`"));
    }
    Ok(InboxCursor { key: token.k, task_id: token.i })
}

/// The cursor of a numbered entry (an id or a sequence number).
pub fn encode_number(n: i64) -> String {
    encode(&n)
}

/// A numbered entry's cursor.
///
/// # Errors
/// `VALIDATION` for a malformed cursor.
pub fn decode_number(cursor: &str) -> Result<i64> {
    decode(cursor)
}

/// The cursor of a case in a list (its id).
pub fn encode_text(text: &str) -> String {
    encode(&text)
}

/// A case list cursor.
///
/// # Errors
/// `VALIDATION` for a malformed cursor.
pub fn decode_text(cursor: &str) -> Result<String> {
    decode(cursor)
}
