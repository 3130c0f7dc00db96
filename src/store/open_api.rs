//! The open API's OAuth grants: authorization codes and access/refresh token pairs, as keyed
//! hashes. Single use is one conditional UPDATE that must touch one row.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{open_api_codes as codes, open_api_tokens as tokens};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = codes)]
pub struct NewCode<'a> {
    pub id: &'a str,
    pub app_id: &'a str,
    pub code_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert_code(conn: &mut DbConn, row: &NewCode<'_>) -> QueryResult<()> {
    diesel::insert_into(codes::table).values(row).execute(conn).map(|_| ())
}

/// Marks the live, unused code with one of `hashes` used; whether it did (exactly one wins).
pub fn use_code(conn: &mut DbConn, app_id: &str, hashes: &[String], now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        codes::table
            .filter(codes::app_id.eq(app_id))
            .filter(codes::code_hash.eq_any(hashes))
            .filter(codes::used_at.is_null())
            .filter(codes::expires_at.gt(now)),
    )
    .set(codes::used_at.eq(now))
    .execute(conn)
    .map(|n| n > 0)
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = tokens)]
pub struct NewTokens<'a> {
    pub id: &'a str,
    pub app_id: &'a str,
    pub access_hash: &'a str,
    pub refresh_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub access_expires_at: NaiveDateTime,
    pub refresh_expires_at: NaiveDateTime,
}

pub fn insert_tokens(conn: &mut DbConn, row: &NewTokens<'_>) -> QueryResult<()> {
    diesel::insert_into(tokens::table).values(row).execute(conn).map(|_| ())
}

/// Revokes the live pair whose refresh token has one of `hashes`; whether it did.
pub fn revoke_by_refresh(conn: &mut DbConn, app_id: &str, hashes: &[String], now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        tokens::table
            .filter(tokens::app_id.eq(app_id))
            .filter(tokens::refresh_hash.eq_any(hashes))
            .filter(tokens::revoked_at.is_null())
            .filter(tokens::refresh_expires_at.gt(now)),
    )
    .set(tokens::revoked_at.eq(now))
    .execute(conn)
    .map(|n| n > 0)
}

/// The app of the live access token with one of `hashes`.
pub fn app_of_access(conn: &mut DbConn, hashes: &[String], now: NaiveDateTime) -> QueryResult<Option<String>> {
    tokens::table
        .filter(tokens::access_hash.eq_any(hashes))
        .filter(tokens::revoked_at.is_null())
        .filter(tokens::access_expires_at.gt(now))
        .select(tokens::app_id)
        .first(conn)
        .optional()
}

/// Deletes codes and token pairs that can no longer be used since `before`.
pub fn purge_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    let codes = diesel::delete(codes::table.filter(codes::expires_at.lt(before))).execute(conn)?;
    let pairs =
        diesel::delete(tokens::table.filter(tokens::refresh_expires_at.lt(before).or(tokens::revoked_at.lt(before))))
            .execute(conn)?;
    Ok(codes + pairs)
}
