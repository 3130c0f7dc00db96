//! Circuit-breaker state per provider, shared by every instance on the database. Each change is
//! one conditional UPDATE (atomic on both backends, no transaction held), so two instances never
//! both open a circuit or both take the half-open probe.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Text, Timestamp};

use super::DbConn;
use super::schema::provider_circuits as t;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = t)]
pub struct CircuitRow {
    pub provider: String,
    pub failures: i32,
    pub window_started_at: Option<NaiveDateTime>,
    pub opened_until: Option<NaiveDateTime>,
    pub probe_until: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, provider: &str) -> QueryResult<Option<CircuitRow>> {
    t::table.find(provider).select(CircuitRow::as_select()).first(conn).optional()
}

/// Takes the half-open probe: true for the one caller that gets it, while the circuit's
/// cool-down is over and nobody holds an unexpired probe.
pub fn claim_probe(conn: &mut DbConn, provider: &str, now: NaiveDateTime, until: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        t::table
            .find(provider)
            .filter(t::opened_until.le(now))
            .filter(t::probe_until.is_null().or(t::probe_until.le(now))),
    )
    .set((t::probe_until.eq(Some(until)), t::updated_at.eq(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Closes the circuit (a success).
pub fn close(conn: &mut DbConn, provider: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        t::table
            .find(provider)
            .filter(t::failures.gt(0).or(t::opened_until.is_not_null()).or(t::probe_until.is_not_null())),
    )
    .set((
        t::failures.eq(0),
        t::window_started_at.eq(None::<NaiveDateTime>),
        t::opened_until.eq(None::<NaiveDateTime>),
        t::probe_until.eq(None::<NaiveDateTime>),
        t::updated_at.eq(now),
    ))
    .execute(conn)
    .map(|_| ())
}

/// Gives the probe back without a verdict (the message, not the provider, failed).
pub fn release_probe(conn: &mut DbConn, provider: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(t::table.find(provider).filter(t::probe_until.is_not_null()))
        .set((t::probe_until.eq(None::<NaiveDateTime>), t::updated_at.eq(now)))
        .execute(conn)
        .map(|_| ())
}

/// Records a retryable failure; true when this call opened (or re-opened) the circuit. An open
/// or half-open circuit is opened again at once; a closed one counts the failure in its window
/// (a window older than `window_start` starts again at 1) and opens at `threshold`.
pub fn record_failure(
    conn: &mut DbConn,
    provider: &str,
    now: NaiveDateTime,
    window_start: NaiveDateTime,
    threshold: i32,
    open_until: NaiveDateTime,
) -> QueryResult<bool> {
    ensure(conn, provider, now)?;
    let reopened = diesel::update(t::table.find(provider).filter(t::opened_until.is_not_null()))
        .set((
            t::failures.eq(t::failures + 1),
            t::opened_until.eq(Some(open_until)),
            t::probe_until.eq(None::<NaiveDateTime>),
            t::updated_at.eq(now),
        ))
        .execute(conn)?;
    if reopened == 1 {
        return Ok(true);
    }
    diesel::sql_query(
        "UPDATE provider_circuits SET \
           failures = CASE WHEN window_started_at IS NULL OR window_started_at < $1 THEN 1 ELSE failures + 1 END, \
           window_started_at = CASE WHEN window_started_at IS NULL OR window_started_at < $1 THEN $2 ELSE window_started_at END, \
           updated_at = $2 \
         WHERE provider = $3 AND opened_until IS NULL",
    )
    .bind::<Timestamp, _>(window_start)
    .bind::<Timestamp, _>(now)
    .bind::<Text, _>(provider)
    .execute(conn)?;
    let opened =
        diesel::update(t::table.find(provider).filter(t::opened_until.is_null()).filter(t::failures.ge(threshold)))
            .set((
                t::opened_until.eq(Some(open_until)),
                t::probe_until.eq(None::<NaiveDateTime>),
                t::updated_at.eq(now),
            ))
            .execute(conn)?;
    Ok(opened == 1)
}

/// The provider's row, created closed if missing (two instances may race: one insert wins).
fn ensure(conn: &mut DbConn, provider: &str, now: NaiveDateTime) -> QueryResult<()> {
    if find(conn, provider)?.is_some() {
        return Ok(());
    }
    let row = CircuitRow {
        provider: provider.to_string(),
        failures: 0,
        window_started_at: None,
        opened_until: None,
        probe_until: None,
        updated_at: now,
    };
    match diesel::insert_into(t::table).values(&row).execute(conn) {
        Ok(_) | Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(()),
        Err(e) => Err(e),
    }
}
