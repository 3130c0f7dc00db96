//! Batched reads and writes of `phonebase import`: one query per kind per batch, never one per
//! row, and only the columns the decisions need. Rows are written with COPY on PostgreSQL (one
//! round trip, no 14,000-parameter statement to parse and plan) and with one cached prepared
//! statement per row on SQLite (in-process, where that is the fastest way).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{imported_users, sessions, users};
use super::sessions::SessionRow;
use super::users::UserRow;

/// Inserts rows: COPY on PostgreSQL; on SQLite, a single-row INSERT (prepared once, cached by
/// Diesel) per row. The rows' `Insertable` must write `None` as NULL (not DEFAULT), as COPY does.
macro_rules! bulk_insert {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let rows = $rows;
        match $conn {
            _ if rows.is_empty() => Ok(0),
            DbConn::Postgres(c) => diesel::copy_from($table).from_insertable(rows.to_vec()).execute(c),
            DbConn::Sqlite(c) => {
                rows.iter().try_fold(0, |n, row| diesel::insert_into($table).values(*row).execute(c).map(|one| n + one))
            }
        }
    }};
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = imported_users, treat_none_as_default_value = false)]
pub struct ImportedUserRow {
    pub app_id: String,
    pub user_id: String,
    pub digest: String,
    pub token_hash: Option<String>,
    pub written_at: NaiveDateTime,
    pub run_id: String,
    pub source: String,
    pub imported_at: NaiveDateTime,
}

/// What the import needs to know of a user that already has an exported record's id.
#[derive(Debug, Queryable)]
pub struct ExistingUser {
    pub id: String,
    pub app_id: String,
    pub updated_at: NaiveDateTime,
    pub password_hash: Option<String>,
}

/// Users with these ids, in any app (ids are global).
pub fn existing_users(conn: &mut DbConn, ids: &[&str]) -> QueryResult<Vec<ExistingUser>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::app_id, users::updated_at, users::password_hash))
        .load(conn)
}

/// A user holding an identifier that a record wants.
#[derive(Debug, Queryable)]
pub struct Holder {
    pub id: String,
    pub username: String,
    pub email_key: Option<String>,
    pub phone_e164: Option<String>,
}

/// Users of the app holding any of these usernames, email keys or E.164 numbers. Three queries,
/// one per unique index: with `OR` SQLite would walk every user of the app.
pub fn holders(
    conn: &mut DbConn,
    app_id: &str,
    usernames: &[&str],
    email_keys: &[&str],
    phones: &[&str],
) -> QueryResult<Vec<Holder>> {
    let of_app = || {
        users::table.filter(users::app_id.eq(app_id)).select((
            users::id,
            users::username,
            users::email_key,
            users::phone_e164,
        ))
    };
    let mut rows = Vec::new();
    if !usernames.is_empty() {
        rows.extend(of_app().filter(users::username.eq_any(usernames)).load::<Holder>(conn)?);
    }
    if !email_keys.is_empty() {
        rows.extend(of_app().filter(users::email_key.eq_any(email_keys)).load::<Holder>(conn)?);
    }
    if !phones.is_empty() {
        rows.extend(of_app().filter(users::phone_e164.eq_any(phones)).load::<Holder>(conn)?);
    }
    Ok(rows)
}

pub fn records(conn: &mut DbConn, app_id: &str, user_ids: &[&str]) -> QueryResult<Vec<ImportedUserRow>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    imported_users::table
        .filter(imported_users::app_id.eq(app_id))
        .filter(imported_users::user_id.eq_any(user_ids))
        .select(ImportedUserRow::as_select())
        .load(conn)
}

/// Inserts new users, numbering them (`seq`) from the `user` counter.
pub fn insert_users(conn: &mut DbConn, rows: &[&UserRow]) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let seqs = super::counters::allocate_many(conn, super::users::USER_COUNTER, rows.len() as i64)?;
    let numbered: Vec<UserRow> = rows.iter().zip(seqs).map(|(row, seq)| UserRow { seq, ..(*row).clone() }).collect();
    let refs: Vec<&UserRow> = numbered.iter().collect();
    bulk_insert!(conn, users::table, &refs[..])
}

/// Writes the records of this batch; `replaced` are the users that had one (deleted first:
/// portable, no upsert needed).
pub fn put_records(conn: &mut DbConn, app_id: &str, replaced: &[&str], rows: &[ImportedUserRow]) -> QueryResult<usize> {
    if !replaced.is_empty() {
        diesel::delete(
            imported_users::table
                .filter(imported_users::app_id.eq(app_id))
                .filter(imported_users::user_id.eq_any(replaced)),
        )
        .execute(conn)?;
    }
    let rows: Vec<&ImportedUserRow> = rows.iter().collect();
    bulk_insert!(conn, imported_users::table, &rows[..])
}

/// Which of these token hashes a session already has.
pub fn existing_token_hashes(conn: &mut DbConn, hashes: &[&str]) -> QueryResult<Vec<String>> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    sessions::table.filter(sessions::token_hash.eq_any(hashes)).select(sessions::token_hash).load(conn)
}

pub fn insert_sessions(conn: &mut DbConn, rows: &[SessionRow]) -> QueryResult<usize> {
    let rows: Vec<&SessionRow> = rows.iter().collect();
    bulk_insert!(conn, sessions::table, &rows[..])
}

/// Refreshes PostgreSQL's table statistics, which a bulk load outruns (see the importer's
/// schedule). SQLite needs nothing.
pub fn refresh_statistics(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Postgres(c) = conn {
        diesel::connection::SimpleConnection::batch_execute(c, "ANALYZE users, imported_users, sessions")?;
    }
    Ok(())
}

/// The planner's estimate of the users table's size (PostgreSQL); 0 on SQLite, which keeps none.
pub fn estimated_users(conn: &mut DbConn) -> QueryResult<u64> {
    match conn {
        DbConn::Postgres(c) => {
            let tuples: f32 = diesel::select(diesel::dsl::sql::<diesel::sql_types::Float4>(
                "COALESCE((SELECT reltuples FROM pg_class WHERE oid = 'users'::regclass), 0)",
            ))
            .get_result(c)?;
            Ok(tuples.max(0.0) as u64)
        }
        DbConn::Sqlite(_) => Ok(0),
    }
}

/// Gives this connection a page cache big enough for the users table's indexes (64 MiB, not
/// SQLite's 2 MiB), so that writing the millionth user costs what the first did, and copies the
/// WAL back every 64 MiB rather than every 4 MiB, so that index pages every batch touches are
/// written back once per checkpoint rather than once per batch.
pub fn tune_for_bulk(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Sqlite(c) = conn {
        diesel::connection::SimpleConnection::batch_execute(
            c,
            "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384",
        )?;
    }
    Ok(())
}
