//! Point reads on PostgreSQL, on a few connections of the store's own.
//!
//! A command on a case that is not in the cache reads the case first, a command through the
//! API reads its task first (who may act on it), and a start reads its flow's latest version:
//! one row each, by key; and an inbox page is one statement (see `inbox_sql`). On the pool
//! (`sqlx`) each is a hand-off to the pool's connection and its driver, with their per-query
//! work on the caller's side. Here each is one exchange on a connection
//! spoken like the committers' (see `pg_wire`), its statement prepared once per connection.
//! Other reads (lists, timelines, the workers') stay on the pool.
//!
//! A connection carries one read at a time; the reads take the connections in turn. Like a
//! committer's, a connection that broke or that the server closed is opened again for the
//! next read (see [`PgWriter::connection`]).

use std::sync::atomic::{AtomicUsize, Ordering};

use sea_orm::{DbErr, Statement};

use super::command_db::CommandRow;
use super::pg_writer::PgWriter;

/// The connections for point reads.
pub(crate) struct PgReaders {
    conns: Vec<PgWriter>,
    next: AtomicUsize,
}

impl PgReaders {
    /// `n` connections like `writer`'s (each opened when first used).
    pub(crate) fn new(writer: &PgWriter, n: usize) -> PgReaders {
        PgReaders { conns: (0..n.max(1)).map(|_| writer.another()).collect(), next: AtomicUsize::new(0) }
    }

    /// The rows a statement written for PostgreSQL returns (the first `most` of them), as
    /// committed.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses the query.
    pub(crate) async fn statement_rows<M: CommandRow>(
        &self,
        stmt: &Statement,
        most: Option<usize>,
    ) -> Result<Vec<M>, DbErr> {
        let writer = &self.conns[self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len()];
        writer.connection().await?.statement_rows(stmt, most).await
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::DbBackend;
    use sea_orm::sea_query::{Expr, Query};

    use super::*;
    use crate::store::pg_writer::tests::writer;

    #[derive(sea_orm::FromQueryResult, serde::Deserialize)]
    struct Session {
        pid: i32,
    }

    #[tokio::test]
    async fn reads_take_the_connections_in_turn_and_one_the_server_closed_is_opened_again() {
        let Some(writer) = writer().await else { return };
        let readers = PgReaders::new(&writer, 2);
        let pid = Query::select().expr_as(Expr::cust("pg_backend_pid()"), "pid").to_owned();
        let pid = DbBackend::Postgres.build(&pid);
        let session = || async { readers.statement_rows::<Session>(&pid, None).await.expect("a read")[0].pid };
        let (first, second) = (session().await, session().await);
        assert_ne!(first, second, "two connections, in turn");
        assert_eq!(session().await, first, "the first again");
        let end = Query::select().expr_as(Expr::cust(format!("pg_terminate_backend({second})")), "ended").to_owned();
        writer.connection().await.expect("connect").rows::<serde_json::Value>(&end, None).await.expect("ended");
        // The server closes the session a moment after it answers.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let reopened = session().await;
        assert!(reopened != first && reopened != second, "the closed connection was opened again");
        assert_eq!(session().await, first, "the other one is kept");
    }
}
