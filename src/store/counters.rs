//! Named counters that hand out integer ids (`users.seq`, numeric handles of messages, templates
//! and signatures). SQLite counts in the `counters` table, whose row stays locked until the
//! caller's transaction commits (SQLite has one writer at a time anyway, and a rollback gives the
//! values back). PostgreSQL uses a sequence per counter (`counter_<name>`, migration 000017):
//! `nextval` takes no lock, so concurrent writers on several instances never wait on each other;
//! a rolled-back transaction leaves a gap.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::DbConn;
use super::schema::counters;

#[derive(QueryableByName)]
struct Next {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

/// One new value of counter `name`.
pub fn allocate(conn: &mut DbConn, name: &str) -> QueryResult<i64> {
    Ok(allocate_many(conn, name, 1)?[0])
}

/// `n` new values of counter `name` (n ≥ 1), ascending; consecutive on SQLite, unique on both.
pub fn allocate_many(conn: &mut DbConn, name: &str, n: i64) -> QueryResult<Vec<i64>> {
    let n = n.max(1);
    match conn {
        DbConn::Postgres(pg) => {
            let rows: Vec<Next> =
                diesel::sql_query("SELECT nextval('counter_' || $1) AS value FROM generate_series(1, $2)")
                    .bind::<Text, _>(name)
                    .bind::<BigInt, _>(n)
                    .load(pg)?;
            let mut values: Vec<i64> = rows.into_iter().map(|r| r.value).collect();
            values.sort_unstable();
            Ok(values)
        }
        DbConn::Sqlite(_) => {
            let last: i64 = diesel::update(counters::table.find(name))
                .set(counters::value.eq(counters::value + n))
                .returning(counters::value)
                .get_result(conn)?;
            Ok((last - n + 1..=last).collect())
        }
    }
}
