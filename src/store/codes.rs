use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::verification_codes as vc;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = vc)]
pub struct NewCode<'a> {
    pub id: &'a str,
    pub app_id: &'a str,
    pub phone: &'a str,
    pub purpose: &'a str,
    pub code_hash: &'a str,
    pub value_hash: &'a str,
    pub user_id: Option<&'a str>,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    /// The client address that asked for the code.
    pub origin_ip: Option<&'a str>,
    /// The handle of the message that carries it.
    pub message_handle: Option<i64>,
}

pub fn insert(conn: &mut DbConn, row: &NewCode<'_>) -> QueryResult<()> {
    diesel::insert_into(vc::table).values(row).execute(conn).map(|_| ())
}

/// A live code's id and keyed hash, with the attempt it has just been charged.
#[derive(Debug, Clone, Queryable)]
pub struct Candidate {
    pub id: String,
    pub code_hash: String,
    pub user_id: Option<String>,
}

/// Charges one attempt to every live code of `phone` (of the given purposes) and returns them.
/// One statement: under concurrency each code gives out at most `max_attempts` attempts in all,
/// on either backend, because the row update re-checks `attempts < max` under the row lock.
pub fn charge_attempt(
    conn: &mut DbConn,
    app_id: &str,
    phone: &str,
    purposes: &[&str],
    now: NaiveDateTime,
    max_attempts: i32,
) -> QueryResult<Vec<Candidate>> {
    diesel::update(
        vc::table
            .filter(vc::app_id.eq(app_id))
            .filter(vc::phone.eq(phone))
            .filter(vc::purpose.eq_any(purposes))
            .filter(vc::used_at.is_null())
            .filter(vc::expires_at.gt(now))
            .filter(vc::attempts.lt(max_attempts)),
    )
    .set(vc::attempts.eq(vc::attempts + 1))
    .returning((vc::id, vc::code_hash, vc::user_id))
    .get_results(conn)
}

/// A spent code (used, or expired) that still took an attempt.
#[derive(Debug, Clone, Queryable)]
pub struct Spent {
    pub id: String,
    pub code_hash: String,
    pub used_at: Option<NaiveDateTime>,
}

/// Charges one attempt to every used or expired code of `phone` (of the given purposes) that has
/// attempts left, and returns them: a guess may learn that it named a spent code, but only within
/// the same attempt bound as a live one.
pub fn charge_spent(
    conn: &mut DbConn,
    app_id: &str,
    phone: &str,
    purposes: &[&str],
    now: NaiveDateTime,
    max_attempts: i32,
) -> QueryResult<Vec<Spent>> {
    diesel::update(
        vc::table
            .filter(vc::app_id.eq(app_id))
            .filter(vc::phone.eq(phone))
            .filter(vc::purpose.eq_any(purposes))
            .filter(vc::used_at.is_not_null().or(vc::expires_at.le(now)))
            .filter(vc::attempts.lt(max_attempts)),
    )
    .set(vc::attempts.eq(vc::attempts + 1))
    .returning((vc::id, vc::code_hash, vc::used_at))
    .get_results(conn)
}

/// Marks a code used, and the message that carried it verified (the dashboard's conversion).
/// Exactly one caller gets `true` for a given code. One statement on PostgreSQL (a
/// data-modifying CTE: one commit when it runs on its own); two in the caller's transaction on
/// SQLite.
pub fn consume(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    use diesel::sql_types::{BigInt, Text, Timestamp};
    #[derive(QueryableByName)]
    struct Consumed {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    match conn {
        DbConn::Postgres(pg) => {
            // Built once: this runs on every verification by message handle.
            static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                format!(
                    "WITH c AS (UPDATE verification_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL \
                       RETURNING message_handle), {} \
                     SELECT count(*) AS n FROM c",
                    super::stats::mark_verified_arm("$2", "TRUE")
                )
            });
            let row: Consumed =
                diesel::sql_query(SQL.as_str()).bind::<Text, _>(id).bind::<Timestamp, _>(now).get_result(pg)?;
            Ok(row.n == 1)
        }
        DbConn::Sqlite(_) => {
            let n = diesel::update(vc::table.filter(vc::id.eq(id)).filter(vc::used_at.is_null()))
                .set(vc::used_at.eq(now))
                .execute(conn)?;
            if n == 1 {
                super::stats::mark_verified(conn, id, now)?;
            }
            Ok(n == 1)
        }
    }
}

/// Whether a live code of this app and purpose has this value hash.
pub fn value_is_live(
    conn: &mut DbConn,
    app_id: &str,
    purpose: &str,
    value_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        vc::table
            .filter(vc::app_id.eq(app_id))
            .filter(vc::value_hash.eq(value_hash))
            .filter(vc::purpose.eq(purpose))
            .filter(vc::used_at.is_null())
            .filter(vc::expires_at.gt(now)),
    ))
    .get_result(conn)
}

/// Deletes codes that expired or were used before `before`.
pub fn purge_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(vc::table.filter(vc::expires_at.lt(before).or(vc::used_at.lt(before)))).execute(conn)
}

/// A live code found by its value alone.
#[derive(Debug, Clone, Queryable)]
pub struct ByValue {
    pub id: String,
    pub phone: String,
    pub user_id: Option<String>,
}

/// Live codes of `purpose` with one of these value hashes that still take attempts (one per accepted secret; unique among
/// live codes when issued, but a caller must still cope with more than one).
pub fn find_by_value(
    conn: &mut DbConn,
    app_id: &str,
    purpose: &str,
    value_hashes: &[String],
    now: NaiveDateTime,
    max_attempts: i32,
) -> QueryResult<Vec<ByValue>> {
    vc::table
        .filter(vc::app_id.eq(app_id))
        .filter(vc::value_hash.eq_any(value_hashes))
        .filter(vc::purpose.eq(purpose))
        .filter(vc::used_at.is_null())
        .filter(vc::expires_at.gt(now))
        .filter(vc::attempts.lt(max_attempts))
        .select((vc::id, vc::phone, vc::user_id))
        .load(conn)
}

/// A wrong guess by value, and how many live codes it was compared with.
pub fn record_guess(
    conn: &mut DbConn,
    id: &str,
    app_id: &str,
    ip: &str,
    exposure: i32,
    at: NaiveDateTime,
) -> QueryResult<()> {
    use super::schema::code_guesses as g;
    diesel::insert_into(g::table)
        .values((g::id.eq(id), g::app_id.eq(app_id), g::ip.eq(ip), g::exposure.eq(exposure), g::created_at.eq(at)))
        .execute(conn)
        .map(|_| ())
}

/// The live codes compared with the app's wrong guesses by value since `since`, summed.
pub fn exposure_since(conn: &mut DbConn, app_id: &str, since: NaiveDateTime) -> QueryResult<i64> {
    use super::schema::code_guesses as g;
    let sum: Option<i64> = g::table
        .filter(g::app_id.eq(app_id))
        .filter(g::created_at.gt(since))
        .select(diesel::dsl::sum(g::exposure))
        .first(conn)?;
    Ok(sum.unwrap_or(0))
}

/// Live codes of the app with this purpose that can still be guessed.
pub fn live_count(
    conn: &mut DbConn,
    app_id: &str,
    purpose: &str,
    now: NaiveDateTime,
    max_attempts: i32,
) -> QueryResult<i64> {
    vc::table
        .filter(vc::app_id.eq(app_id))
        .filter(vc::purpose.eq(purpose))
        .filter(vc::used_at.is_null())
        .filter(vc::expires_at.gt(now))
        .filter(vc::attempts.lt(max_attempts))
        .count()
        .get_result(conn)
}

/// A live code bound to the caller, with the attempt it has just been charged.
#[derive(Debug, Clone, Queryable)]
pub struct Bound {
    pub id: String,
    pub phone: String,
    pub value_hash: String,
}

/// Charges one attempt to every live code of `purpose` asked for from `ip` or for `user_id`, and
/// returns them (one statement, as [`charge_attempt`]).
pub fn charge_bound(
    conn: &mut DbConn,
    app_id: &str,
    purpose: &str,
    ip: &str,
    user_id: Option<&str>,
    now: NaiveDateTime,
    max_attempts: i32,
) -> QueryResult<Vec<Bound>> {
    // User ids are never empty, so "" matches no user when there is no session.
    let binding = vc::origin_ip.eq(ip).or(vc::user_id.eq(user_id.unwrap_or_default()));
    diesel::update(
        vc::table
            .filter(vc::app_id.eq(app_id))
            .filter(vc::purpose.eq(purpose))
            .filter(binding)
            .filter(vc::used_at.is_null())
            .filter(vc::expires_at.gt(now))
            .filter(vc::attempts.lt(max_attempts)),
    )
    .set(vc::attempts.eq(vc::attempts + 1))
    .returning((vc::id, vc::phone, vc::value_hash))
    .get_results(conn)
}

/// Wrong guesses by value since `since`: from `ip` if given, else for the whole app.
pub fn guesses_since(conn: &mut DbConn, app_id: &str, ip: Option<&str>, since: NaiveDateTime) -> QueryResult<i64> {
    use super::schema::code_guesses as g;
    let query = g::table.filter(g::app_id.eq(app_id)).filter(g::created_at.gt(since)).into_boxed();
    let query = match ip {
        Some(ip) => query.filter(g::ip.eq(ip)),
        None => query,
    };
    query.count().get_result(conn)
}

pub fn purge_guesses_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    use super::schema::code_guesses as g;
    diesel::delete(g::table.filter(g::created_at.lt(before))).execute(conn)
}

/// The code a message carried.
#[derive(Debug, Clone, Queryable)]
pub struct ByMessage {
    pub id: String,
    pub phone: String,
    pub purpose: String,
    pub user_id: Option<String>,
    pub used_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

pub fn find_by_message(conn: &mut DbConn, app_id: &str, handle: i64) -> QueryResult<Option<ByMessage>> {
    vc::table
        .filter(vc::app_id.eq(app_id))
        .filter(vc::message_handle.eq(handle))
        .select((vc::id, vc::phone, vc::purpose, vc::user_id, vc::used_at, vc::created_at))
        .first(conn)
        .optional()
}

/// Charges one attempt to the code `id` if it is live and returns its keyed hash (as
/// [`charge_attempt`], for one code).
pub fn charge_one(conn: &mut DbConn, id: &str, now: NaiveDateTime, max_attempts: i32) -> QueryResult<Option<String>> {
    diesel::update(
        vc::table
            .find(id)
            .filter(vc::used_at.is_null())
            .filter(vc::expires_at.gt(now))
            .filter(vc::attempts.lt(max_attempts)),
    )
    .set(vc::attempts.eq(vc::attempts + 1))
    .returning(vc::code_hash)
    .get_result(conn)
    .optional()
}

/// Charges one attempt to the code `id` if it is spent (used or expired) and still takes attempts
/// (as [`charge_spent`], for one code).
pub fn charge_one_spent(
    conn: &mut DbConn,
    id: &str,
    now: NaiveDateTime,
    max_attempts: i32,
) -> QueryResult<Option<Spent>> {
    diesel::update(
        vc::table
            .find(id)
            .filter(vc::used_at.is_not_null().or(vc::expires_at.le(now)))
            .filter(vc::attempts.lt(max_attempts)),
    )
    .set(vc::attempts.eq(vc::attempts + 1))
    .returning((vc::id, vc::code_hash, vc::used_at))
    .get_result(conn)
    .optional()
}

/// A live code that was charged an attempt by [`charge_and_consume`].
#[derive(Debug, Clone, QueryableByName)]
pub struct Checked {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub code_hash: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub user_id: Option<String>,
    /// This statement marked it used: the check that named it won.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub consumed: bool,
}

/// [`charge_attempt`] and [`consume`] in one statement (one round trip, one commit): every live
/// code of `phone` (of the given purposes) is charged an attempt, and the newest of them whose
/// keyed hash is one of `expected` is marked used. Under concurrency the row update re-checks
/// `used_at IS NULL` and the attempt bound under the row lock, so of any number of concurrent
/// checks of one code exactly one gets `consumed`. The hashes are keyed (HMAC under the server
/// secret): comparing them in the database tells a guesser nothing a constant-time comparison
/// would have hidden, since no guess can choose the hash it is compared as.
pub fn charge_and_consume(
    conn: &mut DbConn,
    app_id: &str,
    phone: &str,
    purposes: &[&str],
    expected: &[String],
    now: NaiveDateTime,
    max_attempts: i32,
) -> QueryResult<Vec<Checked>> {
    use diesel::sql_types::{Integer, Text, Timestamp};
    // Numbered placeholders (`$n` on PostgreSQL, `?n` on SQLite), bound in number order; the
    // lists are spelled out on both.
    let sigil = if matches!(conn, DbConn::Postgres(_)) { '$' } else { '?' };
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("{sigil}{n}")
    };
    let live = |next: &mut dyn FnMut() -> String| {
        let app = next();
        let phone = next();
        let purposes: Vec<String> = purposes.iter().map(|_| next()).collect();
        let now = next();
        let max = next();
        format!(
            "app_id = {app} AND phone = {phone} AND purpose IN ({}) AND used_at IS NULL AND expires_at > {now} \
             AND attempts < {max}",
            purposes.join(", ")
        )
    };
    let outer = live(&mut next);
    let inner = live(&mut next);
    let hashes: Vec<String> = expected.iter().map(|_| next()).collect();
    let at = next();
    let update = format!(
        "UPDATE verification_codes SET attempts = attempts + 1, used_at = CASE WHEN id = \
           (SELECT id FROM verification_codes WHERE {inner} AND code_hash IN ({}) \
            ORDER BY created_at DESC, id DESC LIMIT 1) THEN {at} ELSE used_at END \
         WHERE {outer} RETURNING id, code_hash, user_id, used_at IS NOT NULL AS consumed",
        hashes.join(", ")
    );
    let postgres = matches!(conn, DbConn::Postgres(_));
    // On PostgreSQL the consumed code's message is marked verified in the same statement (one
    // commit); on SQLite by a second statement in the caller's transaction, below.
    let sql = if postgres {
        format!(
            "WITH c AS ({update}, message_handle), {} \
             SELECT id, code_hash, user_id, consumed FROM c",
            super::stats::mark_verified_arm(&at, "consumed")
        )
    } else {
        update
    };
    let mut query = diesel::sql_query(sql).into_boxed::<super::MultiBackend>();
    for _ in 0..2 {
        query = query.bind::<Text, _>(app_id.to_string()).bind::<Text, _>(phone.to_string());
        for p in purposes {
            query = query.bind::<Text, _>(p.to_string());
        }
        query = query.bind::<Timestamp, _>(now).bind::<Integer, _>(max_attempts);
    }
    for h in expected {
        query = query.bind::<Text, _>(h.clone());
    }
    query = query.bind::<Timestamp, _>(now);
    let checked: Vec<Checked> = query.load(conn)?;
    if !postgres && let Some(c) = checked.iter().find(|c| c.consumed) {
        super::stats::mark_verified(conn, &c.id, now)?;
    }
    Ok(checked)
}
