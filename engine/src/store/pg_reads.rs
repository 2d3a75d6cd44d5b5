//! Point reads on PostgreSQL over `tokio-postgres` connections of the store's own, shared by
//! every task.
//!
//! Every task command reads its case (when this node's cache does not hold it, or may be
//! behind), and every command the API takes reads the task first. On the pool each such read
//! takes a connection, runs, and gives it back; here the reads of all tasks go out on a few
//! connections as they come, pipelined (`tokio-postgres` sends a request while earlier ones
//! are still answered), each statement prepared once per connection. Reads of whole pages
//! (inboxes, timelines) stay on the pool, so that a long one never holds up a point read
//! queued behind it on the same connection.
//!
//! A reader connection is opened when first needed and again when it was closed, as a
//! committer's is (see `pg_writer`), and it is used where a committer's would be: a server on
//! this machine or one that allows a plain connection.

use std::sync::atomic::{AtomicUsize, Ordering};

use sea_orm::DbErr;
use sea_orm::sea_query::SelectStatement;

use super::command_db::{CommandDb, CommandRow};
use super::pg_writer::PgWriter;

/// How many connections carry the point reads.
const CONNECTIONS: usize = 2;

/// The store's point-read connections.
pub(crate) struct PgReads {
    connections: Vec<PgWriter>,
    next: AtomicUsize,
}

impl PgReads {
    /// Point-read connections to the database `url` names, or `None` where the committers stay
    /// on the pool too (see [`PgWriter::for_url`]).
    pub(crate) fn for_url(url: &str) -> Option<PgReads> {
        let first = PgWriter::for_url(url)?;
        let mut connections: Vec<PgWriter> = (1..CONNECTIONS).map(|_| first.another()).collect();
        connections.push(first);
        Some(PgReads { connections, next: AtomicUsize::new(0) })
    }

    /// The first row `query` returns, read on the next connection in turn.
    ///
    /// # Errors
    /// When the server cannot be reached, or the statement fails.
    pub(crate) async fn row<M: CommandRow>(&self, query: &SelectStatement) -> Result<Option<M>, DbErr> {
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        let conn = self.connections[at].connection().await?;
        conn.first_row(query).await
    }
}
