//! Where an app's live LeanCloud upstream is (lazy migration), and the record of each user moved
//! through it (a row of `imported_users` with run id [`MOVED_RUN_ID`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::imports::ImportedUserRow;
use super::schema::{app_upstreams, imported_users, sessions};

/// The `run_id` of `imported_users` rows written by a lazy move rather than an import run.
pub const MOVED_RUN_ID: &str = "upstream";

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = app_upstreams)]
pub struct UpstreamRow {
    pub app_id: String,
    pub server_url: String,
    pub upstream_app_id: String,
    pub app_key_sealed: Vec<u8>,
    pub master_key_sealed: Vec<u8>,
    pub until_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, app_id: &str) -> QueryResult<Option<UpstreamRow>> {
    app_upstreams::table.find(app_id).select(UpstreamRow::as_select()).first(conn).optional()
}

/// Replaces the app's upstream (delete then insert: portable, no upsert needed).
pub fn put(conn: &mut DbConn, row: &UpstreamRow) -> QueryResult<()> {
    remove(conn, &row.app_id)?;
    diesel::insert_into(app_upstreams::table).values(row).execute(conn).map(|_| ())
}

pub fn remove(conn: &mut DbConn, app_id: &str) -> QueryResult<usize> {
    diesel::delete(app_upstreams::table.find(app_id)).execute(conn)
}

/// The import record of a user (bulk import or lazy move), if any.
pub fn record(conn: &mut DbConn, app_id: &str, user_id: &str) -> QueryResult<Option<ImportedUserRow>> {
    imported_users::table.find((app_id, user_id)).select(ImportedUserRow::as_select()).first(conn).optional()
}

pub fn put_record(conn: &mut DbConn, row: &ImportedUserRow) -> QueryResult<()> {
    diesel::delete(imported_users::table.find((&row.app_id, &row.user_id))).execute(conn)?;
    diesel::insert_into(imported_users::table).values(row).execute(conn).map(|_| ())
}

/// Users moved through the upstream so far.
pub fn moved_count(conn: &mut DbConn, app_id: &str) -> QueryResult<i64> {
    imported_users::table
        .filter(imported_users::app_id.eq(app_id))
        .filter(imported_users::run_id.eq(MOVED_RUN_ID))
        .count()
        .get_result(conn)
}

/// Whether any session (live, revoked or expired) has one of these token hashes (a token hashed
/// under the current or a previous server secret).
pub fn token_known(conn: &mut DbConn, token_hashes: &[String]) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(sessions::table.filter(sessions::token_hash.eq_any(token_hashes))))
        .get_result(conn)
}
