use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Timestamp};

use super::DbConn;
use super::schema::messages as m;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = m)]
pub struct NewMessage<'a> {
    pub id: &'a str,
    pub app_id: &'a str,
    pub to_phone: &'a str,
    pub channel: &'a str,
    pub purpose: &'a str,
    pub body_sealed: Option<&'a [u8]>,
    pub body_redacted: &'a str,
    pub status: &'a str,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub chars: i32,
    pub parts: i32,
    pub template: Option<&'a str>,
    /// The text's key in provider template mappings (`builtin:verification`, `template:x`).
    pub text_ref: Option<&'a str>,
    /// The variables the text was rendered from (JSON), sealed like the body: providers that
    /// take registered templates get them as parameters.
    pub vars_sealed: Option<&'a [u8]>,
    /// The message's number (Bmob `smsId`, JPush `msg_id`), from the counter [`HANDLES`].
    pub handle: i64,
    /// When a scheduled message is due; `next_attempt_at` holds it until then.
    pub send_at: Option<NaiveDateTime>,
    /// Parts taken from the app's balance (0 when unlimited).
    pub charged: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = m)]
pub struct MessageRow {
    pub id: String,
    pub app_id: String,
    pub to_phone: String,
    pub channel: String,
    pub purpose: String,
    pub body_sealed: Option<Vec<u8>>,
    pub body_redacted: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
    pub expires_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub provider_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub chars: i32,
    pub parts: i32,
    pub template: Option<String>,
    /// The provider that has (or last had) the message.
    pub provider: Option<String>,
    pub text_ref: Option<String>,
    pub vars_sealed: Option<Vec<u8>>,
    /// The provider's error code of the final failure (or of a failed delivery report).
    pub error_code: Option<String>,
    pub handle: i64,
    pub send_at: Option<NaiveDateTime>,
    pub charged: i32,
    pub refunded: bool,
}

pub const QUEUED: &str = "queued";
pub const SENT: &str = "sent";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";
/// A scheduled message cancelled before it was due.
pub const CANCELLED: &str = "cancelled";

/// The counter message handles come from.
pub const HANDLES: &str = "message";

pub fn insert(conn: &mut DbConn, row: &NewMessage<'_>) -> QueryResult<()> {
    diesel::insert_into(m::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<MessageRow>> {
    m::table.find(id).select(MessageRow::as_select()).first(conn).optional()
}

pub fn find_by_handle(conn: &mut DbConn, app_id: &str, handle: i64) -> QueryResult<Option<MessageRow>> {
    m::table
        .filter(m::app_id.eq(app_id))
        .filter(m::handle.eq(handle))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()
}

/// Cancels a scheduled message that no worker has taken: `true` when it was cancelled (its parts
/// are given back in the same transaction).
pub fn cancel(conn: &mut DbConn, app_id: &str, handle: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let ids: Vec<String> = diesel::update(
        m::table
            .filter(m::app_id.eq(app_id))
            .filter(m::handle.eq(handle))
            .filter(m::status.eq(QUEUED))
            .filter(m::send_at.is_not_null())
            .filter(m::attempts.eq(0))
            .filter(m::lease_until.is_null().or(m::lease_until.lt(now))),
    )
    .set((
        m::status.eq(CANCELLED),
        m::body_sealed.eq(None::<Vec<u8>>),
        m::vars_sealed.eq(None::<Vec<u8>>),
        m::last_error.eq(Some("cancelled")),
        m::updated_at.eq(now),
    ))
    .returning(m::id)
    .get_results(conn)?;
    for id in &ids {
        refund(conn, id, now)?;
    }
    Ok(!ids.is_empty())
}

/// Gives a message's charged parts back to its app, once (a message that failed for good).
pub fn refund(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<()> {
    let refunded: Option<(String, i32)> =
        diesel::update(m::table.find(id).filter(m::refunded.eq(false)).filter(m::charged.gt(0)))
            .set(m::refunded.eq(true))
            .returning((m::app_id, m::charged))
            .get_result(conn)
            .optional()?;
    if let Some((app_id, parts)) = refunded {
        super::balances::refund(conn, &app_id, i64::from(parts), now)?;
    }
    Ok(())
}

pub fn list_for_app(conn: &mut DbConn, app_id: &str, limit: i64) -> QueryResult<Vec<MessageRow>> {
    m::table
        .filter(m::app_id.eq(app_id))
        .order(m::created_at.desc())
        .limit(limit)
        .select(MessageRow::as_select())
        .load(conn)
}

/// Takes a lease on up to `limit` queued messages that are due and not leased by a live worker,
/// and charges each an attempt. A worker that dies holding a lease loses it at `lease_until`, so
/// the message is sent by another worker (or after restart): at-least-once delivery.
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i32,
) -> QueryResult<Vec<MessageRow>> {
    // PostgreSQL: SKIP LOCKED lets several instances claim disjoint batches without waiting on
    // each other. SQLite has one writer at a time (the caller holds BEGIN IMMEDIATE) and numbers
    // `$N` parameters by first appearance, so it gets `?N`, which are positional.
    const CLAIM: &str = "UPDATE messages SET lease_until = $2, attempts = attempts + 1, updated_at = $1 \
         WHERE id IN (SELECT id FROM messages WHERE status = 'queued' AND next_attempt_at <= $1 \
           AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_attempt_at LIMIT $3 {lock}) \
         RETURNING *";
    match conn {
        DbConn::Postgres(c) => diesel::sql_query(CLAIM.replace("{lock}", "FOR UPDATE SKIP LOCKED"))
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(lease_until)
            .bind::<Integer, _>(limit)
            .load(c),
        DbConn::Sqlite(c) => diesel::sql_query(CLAIM.replace("{lock}", "").replace('$', "?"))
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(lease_until)
            .bind::<Integer, _>(limit)
            .load(c),
    }
}

/// Final success: the sealed body is dropped, only the redacted text stays.
pub fn mark_sent(
    conn: &mut DbConn,
    id: &str,
    status: &str,
    provider: &str,
    provider_id: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let delivered_at = (status == DELIVERED).then_some(now);
    diesel::update(m::table.find(id))
        .set((
            m::status.eq(status),
            m::provider.eq(Some(provider)),
            m::provider_id.eq(provider_id),
            m::body_sealed.eq(None::<Vec<u8>>),
            m::vars_sealed.eq(None::<Vec<u8>>),
            m::lease_until.eq(None::<NaiveDateTime>),
            m::last_error.eq(None::<String>),
            m::sent_at.eq(Some(now)),
            m::delivered_at.eq(delivered_at),
            m::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Puts a claimed message back in the queue until `next_attempt_at`. `charged`: the attempt it
/// was claimed for counts (a provider was tried and failed); otherwise it is given back (no
/// provider could take it now: every circuit is open).
pub fn retry_later(
    conn: &mut DbConn,
    id: &str,
    next_attempt_at: NaiveDateTime,
    error: &str,
    charged: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(m::table.find(id).filter(m::status.eq(QUEUED)))
        .set((
            m::next_attempt_at.eq(next_attempt_at),
            m::lease_until.eq(None::<NaiveDateTime>),
            m::attempts.eq(m::attempts - i32::from(!charged)),
            m::last_error.eq(Some(error)),
            m::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn mark_failed(conn: &mut DbConn, id: &str, error: &str, now: NaiveDateTime) -> QueryResult<usize> {
    mark_failed_by(conn, id, None, None, error, now)
}

/// Final failure, with the provider that refused it and its code when there is one.
pub fn mark_failed_by(
    conn: &mut DbConn,
    id: &str,
    provider: Option<&str>,
    error_code: Option<&str>,
    error: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let n = diesel::update(m::table.find(id))
        .set((
            m::status.eq(FAILED),
            m::provider.eq(provider),
            m::error_code.eq(error_code),
            m::body_sealed.eq(None::<Vec<u8>>),
            m::vars_sealed.eq(None::<Vec<u8>>),
            m::lease_until.eq(None::<NaiveDateTime>),
            m::last_error.eq(Some(error)),
            m::updated_at.eq(now),
        ))
        .execute(conn)?;
    refund(conn, id, now)?;
    Ok(n)
}

/// Gives a claimed message back unsent (shutdown): no lease, and the attempt is not charged.
pub fn release(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(m::table.find(id).filter(m::status.eq(QUEUED)))
        .set((m::lease_until.eq(None::<NaiveDateTime>), m::attempts.eq(m::attempts - 1), m::updated_at.eq(now)))
        .execute(conn)
}

/// Queued messages whose code has expired are no use to anybody: they fail without being sent
/// (and give their parts back).
pub fn fail_expired(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    let ids: Vec<String> = diesel::update(m::table.filter(m::status.eq(QUEUED)).filter(m::expires_at.lt(now)))
        .set((
            m::status.eq(FAILED),
            m::body_sealed.eq(None::<Vec<u8>>),
            m::vars_sealed.eq(None::<Vec<u8>>),
            m::lease_until.eq(None::<NaiveDateTime>),
            m::last_error.eq(Some("expired before delivery")),
            m::updated_at.eq(now),
        ))
        .returning(m::id)
        .get_results(conn)?;
    for id in &ids {
        refund(conn, id, now)?;
    }
    Ok(ids.len())
}

/// Deletes messages in a final state last touched before `before`.
pub fn purge_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(m::table.filter(m::status.ne(QUEUED)).filter(m::updated_at.lt(before))).execute(conn)
}
