use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{login_failures, sessions, users};
use super::users::UserRow;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, treat_none_as_default_value = false)]
pub struct SessionRow {
    pub id: String,
    pub app_id: String,
    pub user_id: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConn, row: &SessionRow) -> QueryResult<()> {
    diesel::insert_into(sessions::table).values(row).execute(conn).map(|_| ())
}

/// The live session with this token hash, if any.
pub fn find_live(
    conn: &mut DbConn,
    app_id: &str,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::app_id.eq(app_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.is_null().or(sessions::expires_at.gt(now)))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

/// The live session with this token hash and its user (of the same app), in one query.
pub fn find_live_with_user(
    conn: &mut DbConn,
    app_id: &str,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(SessionRow, UserRow)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::app_id.eq(app_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.is_null().or(sessions::expires_at.gt(now)))
        .filter(users::app_id.eq(app_id))
        .select((SessionRow::as_select(), UserRow::as_select()))
        .first(conn)
        .optional()
}

/// Replaces a session's token hash (re-hashed under a new secret), if it is still `from`.
pub fn set_token_hash(conn: &mut DbConn, id: &str, from: &str, to: &str) -> QueryResult<usize> {
    diesel::update(sessions::table.find(id).filter(sessions::token_hash.eq(from)))
        .set(sessions::token_hash.eq(to))
        .execute(conn)
}

pub fn revoke(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(sessions::table.find(id).filter(sessions::revoked_at.is_null()))
        .set(sessions::revoked_at.eq(now))
        .execute(conn)
}

/// Revokes the user's sessions but `keep` (the one making a change).
pub fn revoke_all_except(
    conn: &mut DbConn,
    user_id: &str,
    keep: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::id.ne(keep.unwrap_or_default())),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)
}

/// Deletes sessions revoked or expired before `before`.
pub fn purge_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::revoked_at.lt(before).or(sessions::expires_at.lt(before))))
        .execute(conn)
}

/// Old failed logins (the table the lockout used before `auth_attempts`).
pub fn purge_failures_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(login_failures::table.filter(login_failures::created_at.lt(before))).execute(conn)
}
