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

/// What a code send reads before it writes, once its limit locks are held ([`super::write_tx_locking`]).
#[derive(Debug, Clone)]
pub struct Precheck<'a> {
    pub app_id: &'a str,
    pub phone: &'a str,
    pub ip: &'a str,
    /// Only sends after this count.
    pub since: NaiveDateTime,
    /// How many of the phone's latest sends to read (0: none, its limits are off).
    pub phone_limit: u32,
    /// How many of the address's latest sends to read (0: none).
    pub ip_limit: u32,
    /// Whether a live code of `purpose` has one of these value hashes (none: not asked).
    pub value: Option<(&'a str, &'a [String])>,
    pub now: NaiveDateTime,
    /// The counter a handle is taken from.
    pub counter: &'a str,
}

/// The answers to a [`Precheck`].
#[derive(Debug, Clone, QueryableByName)]
pub struct Prechecked {
    /// The phone's latest sends since `since`, newest first.
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Timestamp>)]
    pub phone_recent: Vec<NaiveDateTime>,
    /// The address's latest sends since `since`, newest first.
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Timestamp>)]
    pub ip_recent: Vec<NaiveDateTime>,
    /// A live code already has the value.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub value_taken: bool,
    /// A new value of the counter (on PostgreSQL taken even if the send is then refused: a gap).
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub handle: i64,
}

/// Reads everything a [`Precheck`] asks for: one statement (one round trip) on PostgreSQL, the
/// separate queries on SQLite (in-process, where a statement costs no round trip).
pub fn precheck(conn: &mut DbConn, p: &Precheck<'_>) -> QueryResult<Prechecked> {
    use diesel::sql_types::{Array, BigInt, Text, Timestamp};
    let (purpose, hashes) = p.value.unwrap_or(("", &[]));
    match conn {
        DbConn::Postgres(pg) => diesel::sql_query(
            "SELECT \
               ARRAY(SELECT created_at FROM send_events WHERE app_id = $1 AND phone = $2 AND created_at > $3 \
                     ORDER BY created_at DESC LIMIT $4) AS phone_recent, \
               ARRAY(SELECT created_at FROM send_events WHERE app_id = $1 AND ip = $5 AND created_at > $3 \
                     ORDER BY created_at DESC LIMIT $6) AS ip_recent, \
               EXISTS(SELECT 1 FROM verification_codes WHERE app_id = $1 AND value_hash = ANY($7) \
                      AND purpose = $8 AND used_at IS NULL AND expires_at > $9) AS value_taken, \
               nextval('counter_' || $10) AS handle",
        )
        .bind::<Text, _>(p.app_id)
        .bind::<Text, _>(p.phone)
        .bind::<Timestamp, _>(p.since)
        .bind::<BigInt, _>(i64::from(p.phone_limit))
        .bind::<Text, _>(p.ip)
        .bind::<BigInt, _>(i64::from(p.ip_limit))
        .bind::<Array<Text>, _>(hashes)
        .bind::<Text, _>(purpose)
        .bind::<Timestamp, _>(p.now)
        .bind::<Text, _>(p.counter)
        .get_result(pg),
        DbConn::Sqlite(_) => {
            let mut recent_of = |key: SendKey<'_>, limit: u32| -> QueryResult<Vec<NaiveDateTime>> {
                if limit == 0 { Ok(Vec::new()) } else { recent(conn, p.app_id, key, p.since, limit) }
            };
            let phone_recent = recent_of(SendKey::Phone(p.phone), p.phone_limit)?;
            let ip_recent = recent_of(SendKey::Ip(p.ip), p.ip_limit)?;
            let mut value_taken = false;
            for hash in hashes {
                value_taken = value_taken || super::codes::value_is_live(conn, p.app_id, purpose, hash, p.now)?;
            }
            let handle = super::counters::allocate(conn, p.counter)?;
            Ok(Prechecked { phone_recent, ip_recent, value_taken, handle })
        }
    }
}

/// What charging the app's balance did when a code send was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Everything is written and the parts were taken (or the app is unlimited).
    Queued,
    /// The balance is smaller than the parts: the caller must roll back (the rows were written).
    Exhausted,
}

/// Writes an accepted code send: its send event, the code and its outbox message, and takes the
/// message's parts from the app's balance (`message.charged` is what to take; the message records
/// what was taken). One statement on PostgreSQL (a data-modifying CTE), the separate statements
/// on SQLite. On [`Written::Exhausted`] the caller rolls the transaction back.
pub fn write_code_send(
    conn: &mut DbConn,
    send_id: &str,
    ip: &str,
    code: &super::codes::NewCode<'_>,
    message: &super::messages::NewMessage<'_>,
) -> QueryResult<Written> {
    use diesel::sql_types::{BigInt, Binary, Integer, Nullable, Text, Timestamp};
    let parts = i64::from(message.charged);
    match conn {
        DbConn::Postgres(pg) => {
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                exhausted: bool,
            }
            let row: Row = diesel::sql_query(
                "WITH charge AS ( \
                   UPDATE app_balances SET parts = parts - $1, updated_at = $2 \
                   WHERE app_id = $3 AND parts >= $1 RETURNING app_id), \
                 send AS ( \
                   INSERT INTO send_events (id, app_id, phone, ip, created_at) VALUES ($4, $3, $5, $6, $2)), \
                 code AS ( \
                   INSERT INTO verification_codes (id, app_id, phone, purpose, code_hash, value_hash, user_id, \
                     attempts, created_at, expires_at, origin_ip, message_handle) \
                   VALUES ($7, $3, $5, $8, $9, $10, $11, $12, $2, $13, $14, $15)), \
                 msg AS ( \
                   INSERT INTO messages (id, app_id, to_phone, channel, purpose, body_sealed, body_redacted, \
                     status, attempts, next_attempt_at, expires_at, created_at, updated_at, chars, parts, \
                     template, text_ref, vars_sealed, handle, send_at, charged) \
                   SELECT $16, $3, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, \
                     $33, $34, CASE WHEN EXISTS (SELECT 1 FROM charge) THEN $1::integer ELSE 0 END) \
                 SELECT NOT EXISTS (SELECT 1 FROM charge) \
                   AND EXISTS (SELECT 1 FROM app_balances WHERE app_id = $3) AS exhausted",
            )
            .bind::<BigInt, _>(parts)
            .bind::<Timestamp, _>(code.created_at)
            .bind::<Text, _>(code.app_id)
            .bind::<Text, _>(send_id)
            .bind::<Text, _>(code.phone)
            .bind::<Text, _>(ip)
            .bind::<Text, _>(code.id)
            .bind::<Text, _>(code.purpose)
            .bind::<Text, _>(code.code_hash)
            .bind::<Text, _>(code.value_hash)
            .bind::<Nullable<Text>, _>(code.user_id)
            .bind::<Integer, _>(code.attempts)
            .bind::<Timestamp, _>(code.expires_at)
            .bind::<Nullable<Text>, _>(code.origin_ip)
            .bind::<Nullable<BigInt>, _>(code.message_handle)
            .bind::<Text, _>(message.id)
            .bind::<Text, _>(message.to_phone)
            .bind::<Text, _>(message.channel)
            .bind::<Text, _>(message.purpose)
            .bind::<Nullable<Binary>, _>(message.body_sealed)
            .bind::<Text, _>(message.body_redacted)
            .bind::<Text, _>(message.status)
            .bind::<Integer, _>(message.attempts)
            .bind::<Timestamp, _>(message.next_attempt_at)
            .bind::<Timestamp, _>(message.expires_at)
            .bind::<Timestamp, _>(message.created_at)
            .bind::<Timestamp, _>(message.updated_at)
            .bind::<Integer, _>(message.chars)
            .bind::<Integer, _>(message.parts)
            .bind::<Nullable<Text>, _>(message.template)
            .bind::<Nullable<Text>, _>(message.text_ref)
            .bind::<Nullable<Binary>, _>(message.vars_sealed)
            .bind::<BigInt, _>(message.handle)
            .bind::<Nullable<Timestamp>, _>(message.send_at)
            .get_result(pg)?;
            Ok(if row.exhausted { Written::Exhausted } else { Written::Queued })
        }
        DbConn::Sqlite(_) => {
            insert(conn, send_id, code.app_id, code.phone, ip, code.created_at)?;
            super::codes::insert(conn, code)?;
            let charged = match super::balances::charge(conn, code.app_id, parts, message.created_at)? {
                super::balances::Charge::Unlimited => 0,
                super::balances::Charge::Charged => message.charged,
                super::balances::Charge::Exhausted => return Ok(Written::Exhausted),
            };
            super::messages::insert(conn, &super::messages::NewMessage { charged, ..message.clone() })?;
            Ok(Written::Queued)
        }
    }
}
