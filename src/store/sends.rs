use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::send_events;

pub fn insert(conn: &mut DbConn, id: &str, app_id: &str, phone: &str, ip: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(send_events::table)
        .values((
            send_events::id.eq(id),
            send_events::app_id.eq(app_id),
            send_events::phone.eq(phone),
            send_events::ip.eq(ip),
            send_events::created_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// What a send limit counts by.
#[derive(Debug, Clone, Copy)]
pub enum SendKey<'a> {
    Phone(&'a str),
    Ip(&'a str),
}

/// Times of the latest accepted sends for `key` after `since`, newest first, at most `limit`.
pub fn recent(
    conn: &mut DbConn,
    app_id: &str,
    key: SendKey<'_>,
    since: NaiveDateTime,
    limit: u32,
) -> QueryResult<Vec<NaiveDateTime>> {
    let query = send_events::table
        .filter(send_events::app_id.eq(app_id))
        .filter(send_events::created_at.gt(since))
        .into_boxed();
    let query = match key {
        SendKey::Phone(phone) => query.filter(send_events::phone.eq(phone)),
        SendKey::Ip(ip) => query.filter(send_events::ip.eq(ip)),
    };
    query.order(send_events::created_at.desc()).limit(i64::from(limit)).select(send_events::created_at).load(conn)
}

pub fn purge_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(send_events::table.filter(send_events::created_at.lt(before))).execute(conn)
}
