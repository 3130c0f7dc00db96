//! Image captchas and the validate tokens they earn.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::captchas as c;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = c)]
pub struct NewCaptcha<'a> {
    pub id: &'a str,
    pub app_id: &'a str,
    pub token_hash: &'a str,
    pub answer_hash: &'a str,
    pub image: Option<&'a [u8]>,
    pub ip: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &NewCaptcha<'_>) -> QueryResult<()> {
    diesel::insert_into(c::table).values(row).execute(conn).map(|_| ())
}

/// Creation times of the captchas `ip` asked for since `since`, newest first, at most `limit`.
pub fn recent_for_ip(
    conn: &mut DbConn,
    app_id: &str,
    ip: &str,
    since: NaiveDateTime,
    limit: u32,
) -> QueryResult<Vec<NaiveDateTime>> {
    c::table
        .filter(c::app_id.eq(app_id))
        .filter(c::ip.eq(ip))
        .filter(c::created_at.gt(since))
        .order(c::created_at.desc())
        .limit(i64::from(limit))
        .select(c::created_at)
        .load(conn)
}

/// The picture of a live, unanswered captcha.
pub fn live_image(
    conn: &mut DbConn,
    app_id: &str,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<Vec<u8>>> {
    c::table
        .filter(c::app_id.eq(app_id))
        .filter(c::token_hash.eq(token_hash))
        .filter(c::answered_at.is_null())
        .filter(c::expires_at.gt(now))
        .select(c::image)
        .first::<Option<Vec<u8>>>(conn)
        .optional()
        .map(Option::flatten)
}

/// Marks a live captcha answered (right or wrong, it answers once) and returns its id and answer
/// hash. One conditional statement: of concurrent answers exactly one gets the row.
pub fn take_for_answer(
    conn: &mut DbConn,
    app_id: &str,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(String, String)>> {
    diesel::update(
        c::table
            .filter(c::app_id.eq(app_id))
            .filter(c::token_hash.eq(token_hash))
            .filter(c::answered_at.is_null())
            .filter(c::expires_at.gt(now)),
    )
    .set((c::answered_at.eq(now), c::image.eq(None::<Vec<u8>>)))
    .returning((c::id, c::answer_hash))
    .get_result(conn)
    .optional()
}

/// Records the validate token a right answer earned.
pub fn set_validate(conn: &mut DbConn, id: &str, validate_hash: &str, expires_at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(c::table.filter(c::id.eq(id)))
        .set((c::validate_hash.eq(validate_hash), c::validate_expires_at.eq(expires_at)))
        .execute(conn)
        .map(|_| ())
}

/// Spends a live validate token of this app. Exactly one caller gets `true` for a given token.
pub fn spend_validate(conn: &mut DbConn, app_id: &str, validate_hash: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        c::table
            .filter(c::app_id.eq(app_id))
            .filter(c::validate_hash.eq(validate_hash))
            .filter(c::validate_used_at.is_null())
            .filter(c::validate_expires_at.gt(now)),
    )
    .set(c::validate_used_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

/// Drops pictures nobody can answer any more, and rows older than `before` (kept that long for the
/// per-address limits).
pub fn purge(conn: &mut DbConn, now: NaiveDateTime, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(c::table.filter(c::expires_at.lt(now)).filter(c::image.is_not_null()))
        .set(c::image.eq(None::<Vec<u8>>))
        .execute(conn)?;
    diesel::delete(c::table.filter(c::created_at.lt(before))).execute(conn)
}
