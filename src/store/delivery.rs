//! Delivery through real providers: template mappings, the record of every attempt, and
//! delivery reports applied to messages.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{delivery_attempts as a, delivery_reports as r, messages as m, provider_templates as t};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = t)]
pub struct MappingRow {
    pub id: String,
    pub provider: String,
    /// '' for every app.
    pub app_id: String,
    pub text_ref: String,
    pub template_code: String,
    pub params: String,
    pub sign_name: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert_mapping(conn: &mut DbConn, row: &MappingRow) -> QueryResult<()> {
    diesel::insert_into(t::table).values(row).execute(conn).map(|_| ())
}

pub fn delete_mapping(conn: &mut DbConn, provider: &str, app_id: &str, text_ref: &str) -> QueryResult<usize> {
    diesel::delete(
        t::table.filter(t::provider.eq(provider)).filter(t::app_id.eq(app_id)).filter(t::text_ref.eq(text_ref)),
    )
    .execute(conn)
}

pub fn find_mapping(
    conn: &mut DbConn,
    provider: &str,
    app_id: &str,
    text_ref: &str,
) -> QueryResult<Option<MappingRow>> {
    t::table
        .filter(t::provider.eq(provider))
        .filter(t::app_id.eq(app_id))
        .filter(t::text_ref.eq(text_ref))
        .select(MappingRow::as_select())
        .first(conn)
        .optional()
}

pub fn list_mappings(conn: &mut DbConn, provider: Option<&str>) -> QueryResult<Vec<MappingRow>> {
    let mut query = t::table.into_boxed();
    if let Some(p) = provider {
        query = query.filter(t::provider.eq(p));
    }
    query.order((t::provider, t::app_id, t::text_ref)).select(MappingRow::as_select()).load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = a)]
pub struct AttemptRow {
    pub id: String,
    pub message_id: String,
    pub provider: String,
    pub provider_message_id: Option<String>,
    pub outcome: String,
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub latency_ms: i32,
    pub created_at: NaiveDateTime,
}

pub fn insert_attempt(conn: &mut DbConn, row: &AttemptRow) -> QueryResult<()> {
    diesel::insert_into(a::table).values(row).execute(conn).map(|_| ())
}

pub fn attempts_of(conn: &mut DbConn, message_id: &str) -> QueryResult<Vec<AttemptRow>> {
    a::table.filter(a::message_id.eq(message_id)).order(a::created_at).select(AttemptRow::as_select()).load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = r)]
pub struct ReportRow {
    pub id: String,
    pub provider: String,
    pub provider_message_id: String,
    /// delivered | failed
    pub status: String,
    pub error_code: Option<String>,
    pub received_at: NaiveDateTime,
}

pub fn insert_report(conn: &mut DbConn, row: &ReportRow) -> QueryResult<()> {
    diesel::insert_into(r::table).values(row).execute(conn).map(|_| ())
}

pub fn find_report(conn: &mut DbConn, provider: &str, provider_message_id: &str) -> QueryResult<Option<ReportRow>> {
    r::table
        .filter(r::provider.eq(provider))
        .filter(r::provider_message_id.eq(provider_message_id))
        .select(ReportRow::as_select())
        .first(conn)
        .optional()
}

/// Applies the stored report of (`provider`, `provider_message_id`), if any, to its message: only
/// a message in `sent` moves (to `delivered` or `failed`), so a late or repeated report never
/// moves a message back. Returns the messages changed (0 or 1).
pub fn apply_report(
    conn: &mut DbConn,
    provider: &str,
    provider_message_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let Some(report) = find_report(conn, provider, provider_message_id)? else {
        return Ok(0);
    };
    let delivered = report.status == super::messages::DELIVERED;
    let target = m::table
        .filter(m::provider.eq(provider))
        .filter(m::provider_id.eq(provider_message_id))
        .filter(m::status.eq(super::messages::SENT));
    let changed = if delivered {
        diesel::update(target)
            .set((m::status.eq(super::messages::DELIVERED), m::delivered_at.eq(Some(now)), m::updated_at.eq(now)))
            .execute(conn)?
    } else {
        let why =
            format!("{provider} reports the message undelivered ({})", report.error_code.as_deref().unwrap_or("-"));
        diesel::update(target)
            .set((
                m::status.eq(super::messages::FAILED),
                m::error_code.eq(report.error_code.as_deref()),
                m::last_error.eq(Some(why)),
                m::updated_at.eq(now),
            ))
            .execute(conn)?
    };
    if changed > 0 {
        diesel::update(
            a::table.filter(a::provider.eq(provider)).filter(a::provider_message_id.eq(provider_message_id)),
        )
        .set(a::outcome.eq(if delivered { "delivered" } else { "undelivered" }))
        .execute(conn)?;
    }
    Ok(changed)
}

pub fn purge_reports_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(r::table.filter(r::received_at.lt(before))).execute(conn)
}

/// Attempts per provider since `since`: (provider, outcome, count, summed latency in ms).
pub fn attempt_stats(conn: &mut DbConn, since: NaiveDateTime) -> QueryResult<Vec<(String, String, i64, i64)>> {
    let rows: Vec<(String, String, i32)> =
        a::table.filter(a::created_at.ge(since)).select((a::provider, a::outcome, a::latency_ms)).load(conn)?;
    let mut stats: std::collections::BTreeMap<(String, String), (i64, i64)> = Default::default();
    for (provider, outcome, latency) in rows {
        let e = stats.entry((provider, outcome)).or_default();
        e.0 += 1;
        e.1 += i64::from(latency);
    }
    Ok(stats.into_iter().map(|((p, o), (n, l))| (p, o, n, l)).collect())
}
