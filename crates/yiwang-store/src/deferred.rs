//! Rows a command adds that nothing later in its batch reads back through SQL — ledger
//! events, new cases, timeline entries, notifications, signed notices, idempotency
//! records — kept in the batch and inserted once at its end, a few hundred rows a
//! statement, inside the same transaction (DESIGN "The write path": fewer statements per
//! command). A command that fails takes its rows back with its savepoint (`truncate`).
//! What the batch needs to know of them (a stream's head, a request key already answered)
//! it keeps in memory; a checkpoint inside a batch inserts the events first (`flush_one`).
//! Where a row must be refused at once (an event that may meet the unique index), it is
//! inserted now by the same statement text (`insert_now`).

use crate::Result;
use sqlx::AnyConnection;

/// One bound value.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    /// A 0/1 flag (SMALLINT on PostgreSQL).
    Flag(bool),
}

/// The tables whose inserts are deferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Events,
    Cases,
    Applications,
    Timeline,
    Notifications,
    Notices,
    Idempotency,
    RatingDue,
}

const TABLES: usize = 8;

impl Table {
    /// In the order they are inserted (events first).
    const ALL: [Table; TABLES] = [
        Table::Events,
        Table::Cases,
        Table::Applications,
        Table::Timeline,
        Table::Notifications,
        Table::Notices,
        Table::Idempotency,
        Table::RatingDue,
    ];

    /// The statement's head and its number of columns.
    fn insert(self) -> (&'static str, usize) {
        static CASES_HEAD: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| format!("INSERT INTO cases ({}) VALUES ", crate::cases::NEW_CASE_COLUMNS));
        match self {
            Table::Events => (
                "INSERT INTO events (seq, stream_id, version, kind, body, actor, at_ms, prev_hash, hash) VALUES ",
                9,
            ),
            Table::Cases => (&CASES_HEAD, 26),
            Table::Applications => (
                "INSERT INTO case_applications (case_id, application_enc, application_sm3) VALUES ",
                3,
            ),
            Table::Timeline => (
                "INSERT INTO case_timeline (case_id, n, event, body, party, actor, at) VALUES ",
                7,
            ),
            Table::Notifications => (
                "INSERT INTO notifications (id, recipient, case_id, text_zh, text_en, created_at) VALUES ",
                6,
            ),
            Table::Notices => (
                "INSERT INTO case_notices (id, case_id, kind, body, seal_id, key_id, signature, created_at) VALUES ",
                8,
            ),
            Table::Idempotency => (
                "INSERT INTO idempotency (key, fingerprint, response, created_at) VALUES ",
                4,
            ),
            Table::RatingDue => ("INSERT INTO rating_due (case_id, ended_on) VALUES ", 2),
        }
    }
}

/// How many rows a statement inserts at most (26 columns of a case: 7,800 parameters, well
/// under SQLite's 32,766 and PostgreSQL's 65,535).
const ROWS: usize = 300;

/// Inserts `rows` of `t`, [`ROWS`] a statement.
async fn insert(conn: &mut AnyConnection, t: Table, rows: &[Vec<Arg>]) -> Result<()> {
    let (head, cols) = t.insert();
    for chunk in rows.chunks(ROWS) {
        let mut sql = String::with_capacity(head.len() + chunk.len() * cols * 6);
        sql.push_str(head);
        // Each statement numbers its own marks from 1.
        crate::db::Marks::of_conn(conn).push_rows(&mut sql, chunk.len(), cols);
        // One row's text is always the same: kept prepared. Other sizes are not (each
        // batch size is another text, as in `write_stream_heads`).
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(chunk.len() == 1);
        for row in chunk {
            debug_assert_eq!(row.len(), cols, "{t:?}: wrong number of columns");
            for a in row {
                q = match a {
                    Arg::Text(s) => q.bind(s.as_str()),
                    Arg::OptText(s) => q.bind(s.as_deref()),
                    Arg::Int(n) => q.bind(*n),
                    Arg::Flag(b) => q.bind(i16::from(*b)),
                };
            }
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Inserts one row now (where a failure must be the command's own, not the batch's).
pub(crate) async fn insert_now(conn: &mut AnyConnection, t: Table, row: Vec<Arg>) -> Result<()> {
    insert(conn, t, &[row]).await
}

/// The batch's deferred rows, by table.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    rows: [Vec<Vec<Arg>>; TABLES],
}

/// How many rows each table held (to take a failed command's rows back).
pub(crate) type Mark = [usize; TABLES];

impl Deferred {
    pub(crate) fn push(&mut self, t: Table, row: Vec<Arg>) {
        debug_assert_eq!(row.len(), t.insert().1, "{t:?}: wrong number of columns");
        self.rows[t as usize].push(row);
    }

    pub(crate) fn mark(&self) -> Mark {
        std::array::from_fn(|i| self.rows[i].len())
    }

    /// Takes back the rows added since `mark` (a table emptied by `flush_one` since stays
    /// empty: those rows belonged to commands that had already succeeded).
    pub(crate) fn truncate(&mut self, mark: Mark) {
        for (rows, n) in self.rows.iter_mut().zip(mark) {
            rows.truncate(n);
        }
    }

    /// The rows of a table added so far.
    pub(crate) fn rows(&self, t: Table) -> &[Vec<Arg>] {
        &self.rows[t as usize]
    }

    /// Inserts every row (called once, at the end of the batch).
    pub(crate) async fn flush(&self, conn: &mut AnyConnection) -> Result<()> {
        for t in Table::ALL {
            insert(conn, t, self.rows(t)).await?;
        }
        Ok(())
    }

    /// Inserts the rows of one table now and forgets them (they belong to commands that
    /// already succeeded, or to the running one, whose savepoint covers the insert).
    pub(crate) async fn flush_one(&mut self, conn: &mut AnyConnection, t: Table) -> Result<()> {
        insert(conn, t, self.rows(t)).await?;
        self.rows[t as usize].clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_takes_back_only_its_own_rows() {
        let mut d = Deferred::default();
        let row = |s: &str| {
            vec![
                Arg::Text(s.into()),
                Arg::Text("f".into()),
                Arg::Text("{}".into()),
                Arg::Int(1),
            ]
        };
        d.push(Table::Idempotency, row("a"));
        let mark = d.mark();
        d.push(Table::Idempotency, row("b"));
        d.push(
            Table::Notifications,
            vec![
                Arg::Text("n".into()),
                Arg::Text("r".into()),
                Arg::OptText(None),
                Arg::Text("zh".into()),
                Arg::Text("en".into()),
                Arg::Int(1),
            ],
        );
        d.truncate(mark);
        assert_eq!(d.rows(Table::Idempotency).len(), 1);
        assert!(matches!(&d.rows(Table::Idempotency)[0][0], Arg::Text(s) if s == "a"));
        assert!(d.rows(Table::Notifications).is_empty());
    }
}
