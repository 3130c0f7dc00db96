//! Read-only figures for the metrics endpoint, computed when it is scraped.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use super::DbConn;
use super::schema::messages;

/// Messages by status (every message still in the log).
pub fn messages_by_status(conn: &mut DbConn) -> QueryResult<Vec<(String, i64)>> {
    messages::table.group_by(messages::status).select((messages::status, count_star())).load(conn)
}

/// When the oldest message still waiting in the outbox was queued.
pub fn oldest_queued(conn: &mut DbConn) -> QueryResult<Option<NaiveDateTime>> {
    messages::table.filter(messages::status.eq(super::messages::QUEUED)).select(min(messages::created_at)).first(conn)
}
