//! Per-app balances of billable SMS parts. An app without a row is unlimited.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::app_balances as b;

/// What charging a send did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// The app has no balance: nothing was taken.
    Unlimited,
    /// The parts were taken.
    Charged,
    /// The balance is smaller than the parts: nothing was taken.
    Exhausted,
}

/// Takes `parts` from the app's balance if it holds that many. One conditional update, inside the
/// send's write transaction: the row lock (PostgreSQL) or the single writer (SQLite) makes
/// concurrent sends take from it one after the other, so the balance never goes below zero.
pub fn charge(conn: &mut DbConn, app_id: &str, parts: i64, now: NaiveDateTime) -> QueryResult<Charge> {
    let n = diesel::update(b::table.find(app_id).filter(b::parts.ge(parts)))
        .set((b::parts.eq(b::parts - parts), b::updated_at.eq(now)))
        .execute(conn)?;
    if n == 1 {
        return Ok(Charge::Charged);
    }
    Ok(if get(conn, app_id)?.is_some() { Charge::Exhausted } else { Charge::Unlimited })
}

/// The app's balance; `None` when unlimited.
pub fn get(conn: &mut DbConn, app_id: &str) -> QueryResult<Option<i64>> {
    b::table.find(app_id).select(b::parts).first(conn).optional()
}

/// Gives parts back (a message that failed for good). An app made unlimited meanwhile keeps none.
pub fn refund(conn: &mut DbConn, app_id: &str, parts: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(b::table.find(app_id))
        .set((b::parts.eq(b::parts + parts), b::updated_at.eq(now)))
        .execute(conn)
        .map(|_| ())
}

/// Adds `parts` to the balance; an unlimited app starts a balance of `parts`.
pub fn add(conn: &mut DbConn, app_id: &str, parts: i64, now: NaiveDateTime) -> QueryResult<i64> {
    let updated: Option<i64> = diesel::update(b::table.find(app_id))
        .set((b::parts.eq(b::parts + parts), b::updated_at.eq(now)))
        .returning(b::parts)
        .get_result(conn)
        .optional()?;
    match updated {
        Some(p) => Ok(p),
        None => {
            set(conn, app_id, Some(parts), now)?;
            Ok(parts)
        }
    }
}

/// Sets the balance, or makes the app unlimited (`None`).
pub fn set(conn: &mut DbConn, app_id: &str, parts: Option<i64>, now: NaiveDateTime) -> QueryResult<()> {
    diesel::delete(b::table.find(app_id)).execute(conn)?;
    if let Some(parts) = parts {
        diesel::insert_into(b::table)
            .values((b::app_id.eq(app_id), b::parts.eq(parts), b::updated_at.eq(now)))
            .execute(conn)?;
    }
    Ok(())
}
