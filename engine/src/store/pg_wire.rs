//! The PostgreSQL frontend/backend protocol, spoken directly on a committer's connection.
//!
//! A general client ends every statement with a `Sync`, so that each answer stands alone;
//! the server then flushes an answer per statement, and a lot of ten statements comes back as
//! ten writes, each waking the reader. A committer knows the shape of its lots: here a lot is
//! its statements' `Bind` and `Execute` messages with one `Sync` after the last, sent in one
//! write and answered in one. Between two `Sync`s the server runs the statements in one
//! transaction of their own unless a `BEGIN` opened one, commits it at the `Sync`, and skips
//! whatever follows a failed statement until the `Sync`, where that transaction rolls back.
//! So a whole batch needs no `BEGIN` or `COMMIT` statement.
//!
//! [`Wire`] is the connection: it opens a socket (TCP or a Unix socket), authenticates
//! (trust, password, MD5 or SCRAM-SHA-256), and exchanges messages, encoded and parsed by
//! `postgres-protocol`. Values go in and rows come back in the binary format, through
//! `postgres-types`.

use std::io;

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, SCRAM_SHA_256, ScramSha256};
use postgres_protocol::message::backend::{DataRowBody, ErrorResponseBody, Message};
use postgres_protocol::message::frontend;
use sea_orm::DbErr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio_postgres::config::Host;
use tokio_postgres::types::{ToSql, Type};

use super::row_model::Cell;

/// A socket to the server.
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(bytes).await,
            Stream::Unix(s) => s.write_all(bytes).await,
        }
    }

    async fn read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read_buf(buf).await,
            Stream::Unix(s) => s.read_buf(buf).await,
        }
    }
}

/// A column of a prepared statement's rows.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: String,
    pub ty: Type,
}

/// What one statement of a lot did: the rows it changed (or returned), and the rows it
/// returned.
pub(crate) struct Done {
    pub rows: u64,
    pub first: Option<DataRowBody>,
    /// The rows after the first.
    pub more: Vec<DataRowBody>,
}

/// The answer to a lot: what each statement did, up to the first failure, which is given
/// with its position (the number of statements that completed before it; a failure at the
/// `Sync`, the commit of the lot's own transaction, is at the lot's length).
pub(crate) struct Answer {
    pub done: Vec<Done>,
    pub failed: Option<(usize, DbErr)>,
    /// After the `Sync`: whether a transaction is left open (`BEGIN` without its end).
    pub in_transaction: bool,
}

/// An open connection.
pub(crate) struct Wire {
    stream: Stream,
    read: BytesMut,
    write: BytesMut,
    /// False while an exchange is under way: an exchange cut off halfway (its future
    /// dropped, a broken socket) leaves the connection unusable, and it is opened again.
    settled: bool,
}

impl Drop for Wire {
    /// Says goodbye (`Terminate`) if the socket takes it at once, so that the server ends the
    /// session without logging a lost client.
    fn drop(&mut self) {
        let mut bye = BytesMut::new();
        frontend::terminate(&mut bye);
        let _ = match &self.stream {
            Stream::Tcp(s) => s.try_write(&bye),
            Stream::Unix(s) => s.try_write(&bye),
        };
    }
}

/// An error the server sent, as `DbErr` text: `postgres: <SQLSTATE>: <severity>: <message>`
/// (and its detail and hint, when given).
fn server_error(body: &ErrorResponseBody) -> DbErr {
    let (mut code, mut severity, mut message) = (String::new(), String::from("ERROR"), String::new());
    let (mut detail, mut hint) = (None, None);
    let mut fields = body.fields();
    while let Ok(Some(field)) = fields.next() {
        let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
        match field.type_() {
            b'C' => code = value,
            b'V' => severity = value,
            b'M' => message = value,
            b'D' => detail = Some(value),
            b'H' => hint = Some(value),
            _ => {}
        }
    }
    let mut text = format!("postgres: {code}: {severity}: {message}");
    if let Some(detail) = detail {
        text.push_str(&format!("\nDETAIL: {detail}"));
    }
    if let Some(hint) = hint {
        text.push_str(&format!("\nHINT: {hint}"));
    }
    DbErr::Custom(text)
}

fn io_err(e: io::Error) -> DbErr {
    DbErr::Custom(format!("postgres: {e}"))
}

fn protocol(what: &str) -> DbErr {
    DbErr::Custom(format!("postgres: the server sent {what} where the committer did not expect it"))
}

/// Whether the server may send `message` at any time, between the answers to requests
/// (notices, parameter changes, notifications); nothing the committer waits for.
fn comes_any_time(message: &Message) -> bool {
    matches!(message, Message::NoticeResponse(_) | Message::ParameterStatus(_) | Message::NotificationResponse(_))
}

/// The row count a `CommandComplete` tag ends with (`INSERT 0 5`, `UPDATE 3`, `SELECT 1`),
/// or 0 (`BEGIN`).
fn rows_of(tag: &str) -> u64 {
    tag.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

impl Wire {
    /// Opens a connection to the first host of `config` that answers, and authenticates.
    ///
    /// # Errors
    /// When no host answers, or the server refuses the login.
    pub(crate) async fn connect(config: &tokio_postgres::Config) -> Result<Wire, DbErr> {
        // No user in the URL: the operating system's, as `libpq` (and the pool) would log in.
        let user = match config.get_user() {
            Some(user) => user.to_owned(),
            None => whoami::username().map_err(|e| DbErr::Custom(format!("postgres: the URL names no user: {e}")))?,
        };
        let user = user.as_str();
        let ports = config.get_ports();
        let mut last = DbErr::Custom("postgres: the URL names no host".into());
        for (i, host) in config.get_hosts().iter().enumerate() {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            let opened = async {
                match host {
                    Host::Tcp(name) => {
                        let stream = TcpStream::connect((name.as_str(), port)).await?;
                        stream.set_nodelay(true)?;
                        Ok(Stream::Tcp(stream))
                    }
                    Host::Unix(dir) => {
                        Ok(Stream::Unix(UnixStream::connect(dir.join(format!(".s.PGSQL.{port}"))).await?))
                    }
                }
            };
            let opened: io::Result<Stream> = match config.get_connect_timeout() {
                Some(limit) => tokio::time::timeout(*limit, opened)
                    .await
                    .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "connecting timed out"))),
                None => opened.await,
            };
            match opened {
                Ok(stream) => {
                    let mut wire =
                        Wire { stream, read: BytesMut::with_capacity(8192), write: BytesMut::new(), settled: false };
                    wire.start(config, user).await?;
                    return Ok(wire);
                }
                Err(e) => last = io_err(e),
            }
        }
        Err(last)
    }

    /// The startup message, authentication, and the server's greeting up to its first
    /// `ReadyForQuery`.
    async fn start(&mut self, config: &tokio_postgres::Config, user: &str) -> Result<(), DbErr> {
        let mut params = vec![("user", user), ("client_encoding", "UTF8")];
        if let Some(db) = config.get_dbname() {
            params.push(("database", db));
        }
        if let Some(options) = config.get_options() {
            params.push(("options", options));
        }
        if let Some(name) = config.get_application_name() {
            params.push(("application_name", name));
        }
        frontend::startup_message(params, &mut self.write).map_err(io_err)?;
        self.send().await?;
        let password = config.get_password().unwrap_or_default();
        let needs_password = || DbErr::Custom("postgres: the server asks for a password and the URL has none".into());
        let mut scram: Option<ScramSha256> = None;
        loop {
            match self.next().await? {
                Message::AuthenticationOk => break,
                Message::AuthenticationCleartextPassword => {
                    if password.is_empty() {
                        return Err(needs_password());
                    }
                    frontend::password_message(password, &mut self.write).map_err(io_err)?;
                    self.send().await?;
                }
                Message::AuthenticationMd5Password(body) => {
                    if password.is_empty() {
                        return Err(needs_password());
                    }
                    let hashed = md5_hash(user.as_bytes(), password, body.salt());
                    frontend::password_message(hashed.as_bytes(), &mut self.write).map_err(io_err)?;
                    self.send().await?;
                }
                Message::AuthenticationSasl(body) => {
                    let mut mechanisms = body.mechanisms();
                    let mut offered = false;
                    while let Some(mechanism) = mechanisms.next().map_err(io_err)? {
                        offered |= mechanism == SCRAM_SHA_256;
                    }
                    if !offered {
                        return Err(DbErr::Custom(
                            "postgres: the server offers no SASL mechanism the committer speaks".into(),
                        ));
                    }
                    let started = ScramSha256::new(password, ChannelBinding::unsupported());
                    frontend::sasl_initial_response(SCRAM_SHA_256, started.message(), &mut self.write)
                        .map_err(io_err)?;
                    scram = Some(started);
                    self.send().await?;
                }
                Message::AuthenticationSaslContinue(body) => {
                    let scram = scram.as_mut().ok_or_else(|| protocol("a SASL continuation"))?;
                    scram.update(body.data()).map_err(io_err)?;
                    frontend::sasl_response(scram.message(), &mut self.write).map_err(io_err)?;
                    self.send().await?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    scram.as_mut().ok_or_else(|| protocol("a SASL ending"))?.finish(body.data()).map_err(io_err)?;
                }
                Message::ErrorResponse(body) => return Err(server_error(&body)),
                _ => {
                    return Err(DbErr::Custom(
                        "postgres: the server asks for a login the committer does not speak".into(),
                    ));
                }
            }
        }
        loop {
            match self.next().await? {
                Message::ReadyForQuery(_) => break,
                Message::BackendKeyData(_) => {}
                Message::ErrorResponse(body) => return Err(server_error(&body)),
                _ => return Err(protocol("a message during the greeting")),
            }
        }
        self.settled = true;
        Ok(())
    }

    /// Whether the connection can take another exchange: the last one ran to its end, and
    /// the server has not closed the connection since (or said it is about to: a server that
    /// ends a session sends an error first). Reads only what has already arrived.
    pub(crate) fn is_open(&mut self) -> bool {
        if !self.settled {
            return false;
        }
        let mut chunk = [0u8; 1024];
        loop {
            let read = match &self.stream {
                Stream::Tcp(s) => s.try_read(&mut chunk),
                Stream::Unix(s) => s.try_read(&mut chunk),
            };
            match read {
                Ok(0) => return false,
                Ok(n) => self.read.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return false,
            }
        }
        loop {
            match Message::parse(&mut self.read) {
                Ok(Some(message)) if comes_any_time(&message) => {}
                Ok(None) => return true,
                _ => return false,
            }
        }
    }

    /// Sends what is buffered.
    async fn send(&mut self) -> Result<(), DbErr> {
        let sent = self.stream.write_all(&self.write).await;
        self.write.clear();
        sent.map_err(io_err)
    }

    /// The next message, past the ones that may come at any time (notices, parameter
    /// changes, notifications).
    async fn next(&mut self) -> Result<Message, DbErr> {
        loop {
            match Message::parse(&mut self.read).map_err(io_err)? {
                Some(message) if comes_any_time(&message) => {}
                Some(message) => return Ok(message),
                None => {
                    if self.stream.read_buf(&mut self.read).await.map_err(io_err)? == 0 {
                        return Err(DbErr::Custom("postgres: the server closed the connection".into()));
                    }
                }
            }
        }
    }

    /// Runs SQL without parameters in the simple protocol (`BEGIN`, `COMMIT`, `ROLLBACK`, DDL
    /// in tests): the server's first error, if any, and whether a transaction is open after
    /// it.
    ///
    /// # Errors
    /// When the connection breaks.
    pub(crate) async fn simple(&mut self, sql: &str) -> Result<(Option<DbErr>, bool), DbErr> {
        if let Err(e) = frontend::query(sql, &mut self.write) {
            self.write.clear();
            return Err(io_err(e));
        }
        self.settled = false;
        self.send().await?;
        let mut failed = None;
        loop {
            match self.next().await? {
                Message::ReadyForQuery(body) => {
                    self.settled = true;
                    return Ok((failed, body.status() != b'I'));
                }
                Message::ErrorResponse(body) => failed = failed.or(Some(server_error(&body))),
                _ => {}
            }
        }
    }

    /// Prepares statements under the given names, each with its parameter types, in one
    /// exchange; the columns of each one's rows. A failure is given with its position
    /// (the statements after it are not prepared).
    pub(crate) async fn prepare(
        &mut self,
        statements: &[(&str, &str, &[Type])],
    ) -> Result<Vec<Vec<Column>>, (usize, DbErr)> {
        for (k, (name, sql, types)) in statements.iter().enumerate() {
            let encoded = frontend::parse(name, sql, types.iter().map(Type::oid), &mut self.write)
                .and_then(|()| frontend::describe(b'S', name, &mut self.write));
            if let Err(e) = encoded {
                self.write.clear();
                return Err((k, io_err(e)));
            }
        }
        frontend::sync(&mut self.write);
        let at = statements.len();
        self.settled = false;
        self.send().await.map_err(|e| (0, e))?;
        let mut described = Vec::with_capacity(statements.len());
        let mut failed = None;
        loop {
            match self.next().await.map_err(|e| (described.len(), e))? {
                Message::ParseComplete | Message::ParameterDescription(_) => {}
                Message::NoData => described.push(Vec::new()),
                Message::RowDescription(body) => {
                    let mut columns = Vec::new();
                    let mut fields = body.fields();
                    while let Some(field) = fields.next().map_err(|e| (described.len(), io_err(e)))? {
                        let ty = Type::from_oid(field.type_oid()).unwrap_or(Type::UNKNOWN);
                        columns.push(Column { name: field.name().to_owned(), ty });
                    }
                    described.push(columns);
                }
                Message::ErrorResponse(body) => failed = failed.or(Some((described.len(), server_error(&body)))),
                Message::ReadyForQuery(_) => {
                    self.settled = true;
                    return match failed {
                        Some(failure) => Err(failure),
                        None if described.len() == at => Ok(described),
                        None => Err((described.len(), protocol("fewer descriptions than statements"))),
                    };
                }
                _ => return Err((described.len(), protocol("a message while preparing"))),
            }
        }
    }

    /// Adds a run of the prepared statement `name` with these parameters (of these types) to
    /// the lot being built: its rows come back in the binary format.
    ///
    /// # Errors
    /// A value that cannot be written as its parameter's type (nothing of the statement is
    /// added then).
    pub(crate) fn add(&mut self, name: &str, types: &[Type], params: &[&(dyn ToSql + Sync)]) -> Result<(), DbErr> {
        let mark = self.write.len();
        let bound = frontend::bind(
            "",
            name,
            Some(1),
            params.iter().zip(types),
            |(param, ty), buf| match param.to_sql_checked(ty, buf)? {
                tokio_postgres::types::IsNull::No => Ok(postgres_protocol::IsNull::No),
                tokio_postgres::types::IsNull::Yes => Ok(postgres_protocol::IsNull::Yes),
            },
            Some(1),
            &mut self.write,
        );
        let added = match bound {
            Ok(()) => frontend::execute("", 0, &mut self.write).map_err(io_err),
            Err(frontend::BindError::Conversion(e)) => Err(DbErr::Type(format!("postgres parameter: {e}"))),
            Err(frontend::BindError::Serialization(e)) => Err(io_err(e)),
        };
        if added.is_err() {
            self.write.truncate(mark);
        }
        added
    }

    /// Drops the lot being built (a value of a later statement could not be written).
    pub(crate) fn discard(&mut self) {
        self.write.clear();
    }

    /// Ends the lot being built with a `Sync`, sends it in one write and reads its answer.
    ///
    /// # Errors
    /// When the connection breaks (the lot's outcome is then unknown to this side; the
    /// server rolls back a transaction the lot left unfinished when the connection closes).
    pub(crate) async fn run(&mut self) -> Result<Answer, DbErr> {
        self.settled = false;
        frontend::sync(&mut self.write);
        self.send().await?;
        let mut answer = Answer { done: Vec::new(), failed: None, in_transaction: false };
        let (mut first, mut more) = (None, Vec::new());
        loop {
            match self.next().await? {
                Message::BindComplete => {}
                Message::DataRow(row) => match first {
                    None => first = Some(row),
                    Some(_) => more.push(row),
                },
                Message::CommandComplete(body) => {
                    let rows = rows_of(body.tag().map_err(io_err)?);
                    answer.done.push(Done { rows, first: first.take(), more: std::mem::take(&mut more) });
                }
                Message::EmptyQueryResponse => answer.done.push(Done { rows: 0, first: None, more: Vec::new() }),
                Message::ErrorResponse(body) => {
                    if answer.failed.is_none() {
                        answer.failed = Some((answer.done.len(), server_error(&body)));
                    }
                }
                Message::ReadyForQuery(body) => {
                    self.settled = true;
                    answer.in_transaction = body.status() != b'I';
                    return Ok(answer);
                }
                _ => return Err(protocol("a message in a lot's answer")),
            }
        }
    }
}

/// A row in the binary format as its cells (for reading a model, see `row_model`), for the
/// column types the store's tables use.
pub(crate) fn row_cells<'a>(row: &'a DataRowBody, columns: &[Column]) -> Result<Vec<Cell<'a>>, DbErr> {
    let mut cells = Vec::with_capacity(columns.len());
    let mut ranges = row.ranges();
    for column in columns {
        let range = ranges.next().map_err(io_err)?.ok_or_else(|| protocol("a row shorter than its description"))?;
        cells.push(match range {
            Some(range) => cell_of(&row.buffer()[range], column)?,
            None => Cell::Null,
        });
    }
    Ok(cells)
}

/// A column's value in the binary format, as a cell.
fn cell_of<'a>(raw: &'a [u8], column: &Column) -> Result<Cell<'a>, DbErr> {
    use tokio_postgres::types::FromSql;
    let bad =
        |e: Box<dyn std::error::Error + Sync + Send>| DbErr::Type(format!("postgres column {}: {e}", column.name));
    let ty = &column.ty;
    Ok(match *ty {
        Type::BOOL => Cell::Bool(bool::from_sql(ty, raw).map_err(bad)?),
        Type::INT2 => Cell::Int(i16::from_sql(ty, raw).map_err(bad)?.into()),
        Type::INT4 => Cell::Int(i32::from_sql(ty, raw).map_err(bad)?.into()),
        Type::INT8 => Cell::Int(i64::from_sql(ty, raw).map_err(bad)?),
        Type::FLOAT4 => Cell::Real(f32::from_sql(ty, raw).map_err(bad)?.into()),
        Type::FLOAT8 => Cell::Real(f64::from_sql(ty, raw).map_err(bad)?),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Cell::Text(<&str>::from_sql(ty, raw).map_err(bad)?),
        _ => {
            return Err(DbErr::Type(format!(
                "postgres column {} has a type the committer does not read: {ty}",
                column.name
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::rows_of;

    #[test]
    fn row_counts_are_read_from_command_tags() {
        assert_eq!(rows_of("INSERT 0 5"), 5);
        assert_eq!(rows_of("UPDATE 3"), 3);
        assert_eq!(rows_of("SELECT 1"), 1);
        assert_eq!(rows_of("BEGIN"), 0);
    }
}
