//! Sign-in attempts for the lockouts (see `core::accounts::lockout`), and security events on accounts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{auth_attempts as a, user_events as e};

pub const PENDING: &str = "pending";
pub const FAILED: &str = "failed";

/// One attempt: when it started and whether it is still being checked.
#[derive(Debug, Clone, Queryable)]
pub struct AttemptRow {
    pub created_at: NaiveDateTime,
    pub outcome: String,
}

pub fn insert(conn: &mut DbConn, id: &str, subject: &str, outcome: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(a::table)
        .values((a::id.eq(id), a::subject.eq(subject), a::outcome.eq(outcome), a::created_at.eq(at)))
        .execute(conn)
        .map(|_| ())
}

/// The subject's attempts after `since`, newest first.
pub fn since(conn: &mut DbConn, subject: &str, since: NaiveDateTime) -> QueryResult<Vec<AttemptRow>> {
    a::table
        .filter(a::subject.eq(subject))
        .filter(a::created_at.gt(since))
        .order(a::created_at.desc())
        .select((a::created_at, a::outcome))
        .load(conn)
}

pub fn mark_failed(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::update(a::table.find(id)).set(a::outcome.eq(FAILED)).execute(conn)
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(a::table.find(id)).execute(conn)
}

/// Forgets the subject's failures (pending attempts of others stay: they still hold their place).
pub fn clear_failed(conn: &mut DbConn, subject: &str) -> QueryResult<usize> {
    diesel::delete(a::table.filter(a::subject.eq(subject)).filter(a::outcome.eq(FAILED))).execute(conn)
}

pub fn purge_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(a::table.filter(a::created_at.lt(before))).execute(conn)
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = e)]
pub struct UserEventRow {
    pub id: String,
    pub app_id: String,
    pub user_id: String,
    pub kind: String,
    pub detail: String,
    pub created_at: NaiveDateTime,
}

pub fn insert_event(conn: &mut DbConn, row: &UserEventRow) -> QueryResult<()> {
    diesel::insert_into(e::table).values(row).execute(conn).map(|_| ())
}

/// A user's events, oldest first.
pub fn events_of(conn: &mut DbConn, app_id: &str, user_id: &str) -> QueryResult<Vec<UserEventRow>> {
    e::table
        .filter(e::app_id.eq(app_id))
        .filter(e::user_id.eq(user_id))
        .order((e::created_at.asc(), e::id.asc()))
        .select((e::id, e::app_id, e::user_id, e::kind, e::detail, e::created_at))
        .load(conn)
}
