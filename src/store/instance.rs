use diesel::prelude::*;

use super::DbConn;
use super::schema::instance_settings;

pub fn get(conn: &mut DbConn, name: &str) -> QueryResult<Option<String>> {
    instance_settings::table.find(name).select(instance_settings::value).first(conn).optional()
}

/// Stores `value` unless the name already has one; returns the value that is stored afterwards,
/// so that instances racing to initialise a setting all end up with the same one.
pub fn get_or_insert(conn: &mut DbConn, name: &str, value: &str) -> QueryResult<String> {
    super::write_tx(conn, |conn| {
        super::lock_key(conn, &format!("instance_settings:{name}"))?;
        if let Some(existing) = get(conn, name)? {
            return Ok(existing);
        }
        diesel::insert_into(instance_settings::table)
            .values((instance_settings::name.eq(name), instance_settings::value.eq(value)))
            .execute(conn)?;
        Ok(value.to_string())
    })
}

/// Sets `name` to `value` if it still holds `expected`; the rows changed.
pub fn replace(conn: &mut DbConn, name: &str, expected: &str, value: &str) -> QueryResult<usize> {
    diesel::update(instance_settings::table.find(name).filter(instance_settings::value.eq(expected)))
        .set(instance_settings::value.eq(value))
        .execute(conn)
}

/// Deletes `name` if it holds `expected`; the rows deleted.
pub fn delete(conn: &mut DbConn, name: &str, expected: &str) -> QueryResult<usize> {
    diesel::delete(instance_settings::table.find(name).filter(instance_settings::value.eq(expected))).execute(conn)
}
