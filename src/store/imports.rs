//! Batched reads and writes of `phonebase import`: one query per kind per batch, never one per row.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{imported_users, sessions, users};
use super::sessions::SessionRow;
use super::users::UserRow;

/// Runs the same typed query on the concrete connection: Diesel's multi-row INSERT is not
/// available on the `DbConn` enum, but is on each backend.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            DbConn::Postgres($c) => $body,
            DbConn::Sqlite($c) => $body,
        }
    };
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = imported_users)]
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

/// Users with these ids, in any app (ids are global).
pub fn users_by_ids(conn: &mut DbConn, ids: &[&str]) -> QueryResult<Vec<UserRow>> {
    users::table.filter(users::id.eq_any(ids)).select(UserRow::as_select()).load(conn)
}

/// Users of the app holding any of these usernames, email keys or E.164 numbers. Three queries,
/// one per unique index: with `OR` SQLite would walk every user of the app.
pub fn holders(
    conn: &mut DbConn,
    app_id: &str,
    usernames: &[&str],
    email_keys: &[&str],
    phones: &[&str],
) -> QueryResult<Vec<UserRow>> {
    let of_app = || users::table.filter(users::app_id.eq(app_id)).select(UserRow::as_select());
    let mut rows = of_app().filter(users::username.eq_any(usernames)).load(conn)?;
    if !email_keys.is_empty() {
        rows.extend(of_app().filter(users::email_key.eq_any(email_keys)).load(conn)?);
    }
    if !phones.is_empty() {
        rows.extend(of_app().filter(users::phone_e164.eq_any(phones)).load(conn)?);
    }
    Ok(rows)
}

pub fn records(conn: &mut DbConn, app_id: &str, user_ids: &[&str]) -> QueryResult<Vec<ImportedUserRow>> {
    imported_users::table
        .filter(imported_users::app_id.eq(app_id))
        .filter(imported_users::user_id.eq_any(user_ids))
        .select(ImportedUserRow::as_select())
        .load(conn)
}

pub fn insert_users(conn: &mut DbConn, rows: &[UserRow]) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    on_backend!(conn, |c| diesel::insert_into(users::table).values(rows).execute(c))
}

/// Replaces the records of these users (delete then insert: portable, no upsert needed).
pub fn put_records(conn: &mut DbConn, app_id: &str, rows: &[ImportedUserRow]) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
    diesel::delete(
        imported_users::table.filter(imported_users::app_id.eq(app_id)).filter(imported_users::user_id.eq_any(&ids)),
    )
    .execute(conn)?;
    on_backend!(conn, |c| diesel::insert_into(imported_users::table).values(rows).execute(c))
}

/// Which of these token hashes a session already has.
pub fn existing_token_hashes(conn: &mut DbConn, hashes: &[&str]) -> QueryResult<Vec<String>> {
    sessions::table.filter(sessions::token_hash.eq_any(hashes)).select(sessions::token_hash).load(conn)
}

pub fn insert_sessions(conn: &mut DbConn, rows: &[SessionRow]) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    on_backend!(conn, |c| diesel::insert_into(sessions::table).values(rows).execute(c))
}

/// PostgreSQL plans by table statistics, which autovacuum refreshes only now and then: during a
/// bulk load into fresh tables it keeps planning for empty ones (seen: 660 users/s instead of
/// 4 500 over the first 100 000). SQLite needs nothing.
pub fn refresh_statistics(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Postgres(c) = conn {
        diesel::connection::SimpleConnection::batch_execute(c, "ANALYZE users, imported_users, sessions")?;
    }
    Ok(())
}
