//! An app's own SMS providers: the configuration without its secrets (JSON) and the secrets
//! sealed, one row per provider, in the app's order.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::app_providers as t;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = t)]
pub struct AppProviderRow {
    pub app_id: String,
    pub name: String,
    pub position: i32,
    pub config: String,
    pub secrets_sealed: Vec<u8>,
    pub updated_at: NaiveDateTime,
}

pub fn of_app(conn: &mut DbConn, app_id: &str) -> QueryResult<Vec<AppProviderRow>> {
    t::table.filter(t::app_id.eq(app_id)).order(t::position).select(AppProviderRow::as_select()).load(conn)
}

pub fn find(conn: &mut DbConn, app_id: &str, name: &str) -> QueryResult<Option<AppProviderRow>> {
    t::table.find((app_id, name)).select(AppProviderRow::as_select()).first(conn).optional()
}

/// Replaces the app's whole list (delete then insert: portable, no upsert needed).
pub fn replace(conn: &mut DbConn, app_id: &str, rows: &[AppProviderRow]) -> QueryResult<()> {
    diesel::delete(t::table.filter(t::app_id.eq(app_id))).execute(conn)?;
    // One statement per row: batch inserts are not portable over the MultiConnection.
    for row in rows {
        diesel::insert_into(t::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// Writes secrets sealed again (after a rotation) if the row still holds `old`: a concurrent
/// change of the provider wins.
pub fn reseal(conn: &mut DbConn, app_id: &str, name: &str, old: &[u8], new: &[u8]) -> QueryResult<usize> {
    diesel::update(t::table.find((app_id, name)).filter(t::secrets_sealed.eq(old)))
        .set(t::secrets_sealed.eq(new))
        .execute(conn)
}
