use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::apps;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = apps)]
pub struct AppRow {
    pub id: String,
    pub name: String,
    pub app_key: String,
    pub master_key: String,
    pub settings: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &AppRow) -> QueryResult<()> {
    diesel::insert_into(apps::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<AppRow>> {
    apps::table.find(id).select(AppRow::as_select()).first(conn).optional()
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<AppRow>> {
    apps::table.order(apps::created_at.asc()).select(AppRow::as_select()).load(conn)
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    apps::table.count().get_result(conn)
}

pub fn update_settings(conn: &mut DbConn, id: &str, settings: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(apps::table.find(id)).set((apps::settings.eq(settings), apps::updated_at.eq(now))).execute(conn)
}
