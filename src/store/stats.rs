//! Figures read when asked: for the metrics endpoint (when it is scraped) and for the console's
//! dashboard (below), plus the few writes that keep the dashboard's figures.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamp};

use super::schema::messages;
use super::schema::refusal_counts as rc;
use super::{Backend, DbConn};

/// Messages by status (every message still in the log).
pub fn messages_by_status(conn: &mut DbConn) -> QueryResult<Vec<(String, i64)>> {
    messages::table.group_by(messages::status).select((messages::status, count_star())).load(conn)
}

/// When the oldest message still waiting in the outbox was queued.
pub fn oldest_queued(conn: &mut DbConn) -> QueryResult<Option<NaiveDateTime>> {
    messages::table.filter(messages::status.eq(super::messages::QUEUED)).select(min(messages::created_at)).first(conn)
}

// ---- The console's dashboard -------------------------------------------------------------------
//
// Read from what is kept anyway: messages live for the retention (30 days by default), with the
// time their code was verified (`verified_at`, set when it is); refused sends are counted per app,
// hour and reason in `refusal_counts`. Every query is bounded by `created_at >= since` and the
// apps asked about, so it walks the `messages_app (app_id, created_at)` index, and groups by the
// hour in SQL ("YYYY-MM-DD HH" text on both backends).

/// The hour of a timestamp column as "YYYY-MM-DD HH" (SQLite keeps timestamps as text).
fn hour_of(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => format!("substr({column}, 1, 13)"),
        Backend::Postgres => format!("to_char({column}, 'YYYY-MM-DD HH24')"),
    }
}

/// Seconds from `start` to `end` (NULL when `end` is).
fn seconds_between(backend: Backend, start: &str, end: &str) -> String {
    match backend {
        Backend::Sqlite => format!("(julianday({end}) - julianday({start})) * 86400.0"),
        Backend::Postgres => format!("EXTRACT(EPOCH FROM ({end} - {start}))::float8"),
    }
}

/// `$first, $first+1, ...`: one placeholder per value (SQLite reads `$N` too).
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

type Boxed<'a> =
    diesel::query_builder::BoxedSqlQuery<'a, <DbConn as diesel::Connection>::Backend, diesel::query_builder::SqlQuery>;

/// One value bound to a query.
enum Arg<'a> {
    At(NaiveDateTime),
    Text(&'a str),
}

/// `sql` with `args` bound in order. Placeholders must be numbered in the order they appear in
/// the text: PostgreSQL reads `$N` by number, SQLite gives named parameters their index by first
/// appearance.
fn bound<'a>(sql: String, args: Vec<Arg<'a>>) -> Boxed<'a> {
    let mut q = diesel::sql_query(sql).into_boxed::<<DbConn as diesel::Connection>::Backend>();
    for arg in args {
        q = match arg {
            Arg::At(t) => q.bind::<Timestamp, _>(t),
            Arg::Text(v) => q.bind::<Text, _>(v),
        };
    }
    q
}

/// Messages of one app and hour (the hour they were queued), provider ('' for none) and status,
/// told apart by whether they carry a code: how many, how many had their code verified, how many
/// a provider accepted and delivered, with the summed seconds from due to each.
#[derive(Debug, Clone, QueryableByName)]
pub struct MessageHour {
    #[diesel(sql_type = Text)]
    pub app_id: String,
    /// "YYYY-MM-DD HH" (UTC).
    #[diesel(sql_type = Text)]
    pub hour: String,
    #[diesel(sql_type = Text)]
    pub provider: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    /// 1 when the purpose is one of the code purposes asked about, else 0.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub code: i32,
    #[diesel(sql_type = BigInt)]
    pub messages: i64,
    #[diesel(sql_type = BigInt)]
    pub verified: i64,
    /// Messages with a `sent_at`, and their summed seconds from due to accepted.
    #[diesel(sql_type = BigInt)]
    pub accepted: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub accept_secs: Option<f64>,
    /// Messages with a `delivered_at`, and their summed seconds from due to delivered.
    #[diesel(sql_type = BigInt)]
    pub delivered: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub deliver_secs: Option<f64>,
}

/// Every message these apps queued since `since`, grouped as [`MessageHour`]: one pass over
/// the range serves both the codes and the delivery figures.
pub fn message_hours(
    conn: &mut DbConn,
    app_ids: &[String],
    code_purposes: &[&str],
    since: NaiveDateTime,
) -> QueryResult<Vec<MessageHour>> {
    if app_ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = conn.backend();
    // A scheduled message is due at send_at, not when it was queued.
    let due = "COALESCE(send_at, created_at)";
    let purposes = code_purposes.len().max(1);
    let sql = format!(
        "SELECT app_id, {hour} AS hour, COALESCE(provider, '') AS provider, status, \
         CASE WHEN purpose IN ({codes}) THEN 1 ELSE 0 END AS code, COUNT(*) AS messages, \
         COUNT(verified_at) AS verified, COUNT(sent_at) AS accepted, SUM({accept}) AS accept_secs, \
         COUNT(delivered_at) AS delivered, SUM({deliver}) AS deliver_secs FROM messages \
         WHERE created_at >= ${since} AND app_id IN ({apps}) GROUP BY 1, 2, 3, 4, 5",
        hour = hour_of(backend, "created_at"),
        codes = placeholders(1, purposes),
        accept = seconds_between(backend, due, "sent_at"),
        deliver = seconds_between(backend, due, "delivered_at"),
        since = purposes + 1,
        apps = placeholders(purposes + 2, app_ids.len()),
    );
    // No code purpose at all: a value no purpose has keeps the IN list well-formed.
    let mut args: Vec<Arg<'_>> = code_purposes.iter().map(|p| Arg::Text(p)).collect();
    if args.is_empty() {
        args.push(Arg::Text(""));
    }
    args.push(Arg::At(since));
    args.extend(app_ids.iter().map(|id| Arg::Text(id)));
    bound(sql, args).load(conn)
}

/// Code messages per number prefix: the first 8 characters of the E.164 number ("+" and 7
/// digits: the country code and the start of the national number), one number of the group
/// (to tell its country), how many were queued and verified.
#[derive(Debug, Clone, QueryableByName)]
pub struct PrefixCount {
    #[diesel(sql_type = Text)]
    pub prefix: String,
    #[diesel(sql_type = Text)]
    pub sample: String,
    #[diesel(sql_type = BigInt)]
    pub sent: i64,
    #[diesel(sql_type = BigInt)]
    pub verified: i64,
}

pub fn prefix_counts(
    conn: &mut DbConn,
    app_ids: &[String],
    purposes: &[&str],
    since: NaiveDateTime,
) -> QueryResult<Vec<PrefixCount>> {
    if app_ids.is_empty() || purposes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT substr(to_phone, 1, 8) AS prefix, MIN(to_phone) AS sample, COUNT(*) AS sent, \
         COUNT(verified_at) AS verified FROM messages \
         WHERE created_at >= $1 AND app_id IN ({apps}) AND purpose IN ({purposes}) GROUP BY 1",
        apps = placeholders(2, app_ids.len()),
        purposes = placeholders(2 + app_ids.len(), purposes.len()),
    );
    let mut args = vec![Arg::At(since)];
    args.extend(app_ids.iter().map(|id| Arg::Text(id)));
    args.extend(purposes.iter().map(|p| Arg::Text(p)));
    bound(sql, args).load(conn)
}

/// Refused sends of these apps since `since`: (app id, hour, reason, count).
pub fn refusal_hours(
    conn: &mut DbConn,
    app_ids: &[String],
    since: NaiveDateTime,
) -> QueryResult<Vec<(String, NaiveDateTime, String, i64)>> {
    rc::table
        .filter(rc::hour.ge(since))
        .filter(rc::app_id.eq_any(app_ids))
        .select((rc::app_id, rc::hour, rc::reason, rc::n))
        .load(conn)
}

/// Counts one refused send of `app_id` in `hour` (truncated to the hour by the caller): one
/// upsert. On PostgreSQL the commit does not wait for the WAL flush (`synchronous_commit = off`
/// for this transaction only): a crash may lose the last few counts, never corrupt them, and a
/// refusal, often under attack, should not cost a disk flush. Call inside a write transaction.
pub fn count_refusal(conn: &mut DbConn, app_id: &str, hour: NaiveDateTime, reason: &str) -> QueryResult<()> {
    let row = (rc::app_id.eq(app_id), rc::hour.eq(hour), rc::reason.eq(reason), rc::n.eq(1i64));
    match conn {
        DbConn::Postgres(c) => {
            diesel::connection::SimpleConnection::batch_execute(c, "SET LOCAL synchronous_commit = off")?;
            diesel::insert_into(rc::table)
                .values(row)
                .on_conflict((rc::app_id, rc::hour, rc::reason))
                .do_update()
                .set(rc::n.eq(rc::n + 1))
                .execute(c)?;
        }
        DbConn::Sqlite(c) => {
            diesel::insert_into(rc::table)
                .values(row)
                .on_conflict((rc::app_id, rc::hour, rc::reason))
                .do_update()
                .set(rc::n.eq(rc::n + 1))
                .execute(c)?;
        }
    }
    Ok(())
}

pub fn purge_refusals_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(rc::table.filter(rc::hour.lt(before))).execute(conn)
}

/// Records that the code `code_id` carried was verified at `now` on its message (by the message's
/// unique handle). One statement; 0 rows for a code without a message (a test number's).
pub fn mark_verified(conn: &mut DbConn, code_id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    use super::schema::verification_codes as vc;
    let handle = vc::table.filter(vc::id.eq(code_id)).select(vc::message_handle);
    diesel::update(messages::table.filter(messages::handle.nullable().eq_any(handle)))
        .set(messages::verified_at.eq(now))
        .execute(conn)
}

/// The arm of a PostgreSQL data-modifying CTE that does what [`mark_verified`] does, in the same
/// statement as the code's consumption (one commit): `m AS (UPDATE messages ...)` over the rows of
/// a preceding arm named `c` that returns `message_handle` and meet `consumed` (an SQL condition on
/// `c`'s columns). `at` is the placeholder of the verification time.
pub(super) fn mark_verified_arm(at: &str, consumed: &str) -> String {
    format!(
        "m AS (UPDATE messages SET verified_at = {at} WHERE handle IN \
           (SELECT message_handle FROM c WHERE ({consumed}) AND message_handle IS NOT NULL))"
    )
}

/// Every app's (id, name), oldest first: what the console names apps by.
pub fn app_names(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    use super::schema::apps;
    apps::table.order(apps::created_at.asc()).select((apps::id, apps::name)).load(conn)
}
