//! Named counters that hand out integer ids (`users.seq`, numeric handles). Each counter's row is
//! created by the migration that introduces it.

use diesel::prelude::*;

use super::DbConn;
use super::schema::counters;

/// The first of `n` consecutive values of counter `name` (n ≥ 1). Runs inside the caller's write
/// transaction: the row stays locked until it commits, so concurrent callers never share a value,
/// and a rolled-back transaction gives its values back.
pub fn allocate(conn: &mut DbConn, name: &str, n: i64) -> QueryResult<i64> {
    let last: i64 = diesel::update(counters::table.find(name))
        .set(counters::value.eq(counters::value + n))
        .returning(counters::value)
        .get_result(conn)?;
    Ok(last - n + 1)
}
