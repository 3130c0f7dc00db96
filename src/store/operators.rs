//! Operators, their console sessions, and the queries only operators make (message log, keys).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::messages::MessageRow;
use super::schema::{apps, messages as m, operator_failures as f, operator_sessions as s, operators as o};

/// What the message log may be filtered by.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub app_id: Option<String>,
    /// E.164.
    pub to: Option<String>,
    pub template: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = o)]
pub struct OperatorRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = s)]
pub struct OperatorSessionRow {
    pub id: String,
    pub operator_id: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &OperatorRow) -> QueryResult<()> {
    diesel::insert_into(o::table).values(row).execute(conn).map(|_| ())
}

pub fn find_by_name(conn: &mut DbConn, username: &str) -> QueryResult<Option<OperatorRow>> {
    o::table.filter(o::username.eq(username)).select(OperatorRow::as_select()).first(conn).optional()
}

pub fn insert_session(conn: &mut DbConn, row: &OperatorSessionRow) -> QueryResult<()> {
    diesel::insert_into(s::table).values(row).execute(conn).map(|_| ())
}

/// The operator of a live session.
pub fn find_session(conn: &mut DbConn, token_hash: &str, now: NaiveDateTime) -> QueryResult<Option<OperatorRow>> {
    s::table
        .inner_join(o::table)
        .filter(s::token_hash.eq(token_hash))
        .filter(s::expires_at.gt(now))
        .select(OperatorRow::as_select())
        .first(conn)
        .optional()
}

pub fn delete_session(conn: &mut DbConn, token_hash: &str) -> QueryResult<usize> {
    diesel::delete(s::table.filter(s::token_hash.eq(token_hash))).execute(conn)
}

/// Expired sessions, and failed sign-ins older than `failures_before`.
pub fn purge_before(conn: &mut DbConn, now: NaiveDateTime, failures_before: NaiveDateTime) -> QueryResult<usize> {
    Ok(diesel::delete(s::table.filter(s::expires_at.lt(now))).execute(conn)?
        + diesel::delete(f::table.filter(f::created_at.lt(failures_before))).execute(conn)?)
}

pub fn set_app_keys(
    conn: &mut DbConn,
    app_id: &str,
    app_key: &str,
    master_key: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(apps::table.find(app_id))
        .set((apps::app_key.eq(app_key), apps::master_key.eq(master_key), apps::updated_at.eq(now)))
        .execute(conn)
}

/// One page of the message log, newest first.
pub fn messages(conn: &mut DbConn, filter: &MessageFilter, offset: i64, limit: i64) -> QueryResult<Vec<MessageRow>> {
    let mut query = m::table.into_boxed();
    if let Some(app) = &filter.app_id {
        query = query.filter(m::app_id.eq(app));
    }
    if let Some(to) = &filter.to {
        query = query.filter(m::to_phone.eq(to));
    }
    if let Some(template) = &filter.template {
        query = query.filter(m::template.eq(template));
    }
    if let Some(status) = &filter.status {
        query = query.filter(m::status.eq(status));
    }
    query
        .order((m::created_at.desc(), m::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(MessageRow::as_select())
        .load(conn)
}
