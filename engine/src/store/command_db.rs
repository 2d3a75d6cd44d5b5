//! What a command's transaction does with the database, whichever connection carries it: a
//! sea-orm transaction on the pool (PostgreSQL), or the SQLite committer's own connection
//! (see `sqlite_writer`). The command path builds its statements with sea-orm and runs them
//! through [`CommandDb`], so it is one piece of code for both.

use sea_orm::sea_query::SelectStatement;
use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryTrait, Select, Statement, StatementBuilder,
};
use serde::de::DeserializeOwned;

use super::sql::inline_sqlite_limits;

/// A row a command reads: decodable from sea-orm's rows and from plain column/value maps.
pub(crate) trait CommandRow: FromQueryResult + DeserializeOwned + Send {}

impl<M: FromQueryResult + DeserializeOwned + Send> CommandRow for M {}

/// Why a lot of statements ([`CommandDb::run_all`]) stopped.
#[derive(Debug)]
pub(crate) struct LotFailed {
    /// The position of the statement that failed, or `None` when the transaction around the
    /// lot did (it could not begin).
    pub at: Option<usize>,
    /// The database's error.
    pub error: DbErr,
}

/// The statements a command runs.
///
/// A command's effects are written without looking at what their statements return (counts,
/// new ids, rows): they are also recorded ahead of the transaction, from a cached case (see
/// `prepared`), where nothing can be read.
pub(crate) trait CommandDb: Sync {
    /// The database the statements are built for.
    fn backend(&self) -> DbBackend;

    /// Runs a built statement that returns no rows; how many rows it changed.
    async fn run_built(&self, stmt: &Statement) -> Result<u64, DbErr>;

    /// Runs a built statement that returns no rows, given away (one that is kept, not run, is
    /// then not copied); how many rows it changed.
    async fn run_owned(&self, stmt: Statement) -> Result<u64, DbErr> {
        self.run_built(&stmt).await
    }

    /// Runs a statement that returns no rows; how many rows it changed.
    async fn run_statement<S: StatementBuilder + Sync>(&self, stmt: &S) -> Result<u64, DbErr> {
        self.run_built(&self.backend().build(stmt)).await
    }

    /// Runs statements that return no rows, in order; how many rows each changed, or the
    /// first failure and its position (the statements after it did not run, or failed too).
    /// One after another here; a connection that can send them all before reading an answer
    /// does so (see `pg_writer`).
    async fn run_all(&self, stmts: &[&Statement]) -> Result<Vec<u64>, LotFailed> {
        let mut counts = Vec::with_capacity(stmts.len());
        for (i, stmt) in stmts.iter().enumerate() {
            counts.push(self.run_built(stmt).await.map_err(|error| LotFailed { at: Some(i), error })?);
        }
        Ok(counts)
    }

    /// The first row a query returns.
    async fn first_row<M: CommandRow>(&self, stmt: &SelectStatement) -> Result<Option<M>, DbErr>;
}

impl<C: ConnectionTrait> CommandDb for C {
    fn backend(&self) -> DbBackend {
        self.get_database_backend()
    }

    async fn run_built(&self, stmt: &Statement) -> Result<u64, DbErr> {
        Ok(self.execute_raw(stmt.clone()).await?.rows_affected())
    }

    async fn first_row<M: CommandRow>(&self, stmt: &SelectStatement) -> Result<Option<M>, DbErr> {
        let stmt = inline_sqlite_limits(self.get_database_backend().build(stmt));
        self.query_one_raw(stmt).await?.map(|row| M::from_query_result(&row, "")).transpose()
    }
}

/// Runs a delete, update or insert built with sea-orm through a [`CommandDb`].
pub(crate) trait RunIn: QueryTrait + Sized
where
    Self::QueryStatement: StatementBuilder + Sync,
{
    /// Runs it; how many rows it changed.
    async fn run_in(self, db: &impl CommandDb) -> Result<u64, DbErr> {
        db.run_statement(&self.into_query()).await
    }
}

impl<Q: QueryTrait> RunIn for Q where Q::QueryStatement: StatementBuilder + Sync {}

/// Reads the first row of a sea-orm select through a [`CommandDb`].
pub(crate) trait FirstIn<M> {
    /// The first row, if any.
    async fn first_in(self, db: &impl CommandDb) -> Result<Option<M>, DbErr>;
}

impl<E: EntityTrait> FirstIn<E::Model> for Select<E>
where
    E::Model: CommandRow,
{
    async fn first_in(self, db: &impl CommandDb) -> Result<Option<E::Model>, DbErr> {
        let mut stmt = self.into_query();
        stmt.limit(1);
        db.first_row(&stmt).await
    }
}
