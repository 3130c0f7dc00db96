//! Each dialect's own keys for an app (`app_credentials`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::app_credentials as ac;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ac)]
pub struct CredentialRow {
    pub app_id: String,
    pub dialect: String,
    pub name: String,
    pub value: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn of_app(conn: &mut DbConn, app_id: &str) -> QueryResult<Vec<CredentialRow>> {
    ac::table.filter(ac::app_id.eq(app_id)).select(CredentialRow::as_select()).load(conn)
}

/// Apps that lack at least one of a dialect's `names` (apps created before the dialect existed).
pub fn apps_missing(conn: &mut DbConn, dialect: &str, names: &[&str]) -> QueryResult<Vec<String>> {
    use super::schema::apps;
    let apps: Vec<String> = apps::table.select(apps::id).load(conn)?;
    let have: Vec<(String, String)> =
        ac::table.filter(ac::dialect.eq(dialect)).select((ac::app_id, ac::name)).load(conn)?;
    Ok(apps
        .into_iter()
        .filter(|app| names.iter().any(|n| !have.iter().any(|(a, name)| a == app && name == n)))
        .collect())
}

/// The app whose credential `name` of `dialect` is `value`.
pub fn app_of(conn: &mut DbConn, dialect: &str, name: &str, value: &str) -> QueryResult<Option<String>> {
    ac::table
        .filter(ac::dialect.eq(dialect))
        .filter(ac::name.eq(name))
        .filter(ac::value.eq(value))
        .select(ac::app_id)
        .first(conn)
        .optional()
}

/// Sets one credential (inserting it when absent). A value another app holds for the same name is
/// refused by the unique index (a `UniqueViolation`).
pub fn put(conn: &mut DbConn, row: &CredentialRow) -> QueryResult<()> {
    let updated = diesel::update(
        ac::table
            .filter(ac::app_id.eq(&row.app_id))
            .filter(ac::dialect.eq(&row.dialect))
            .filter(ac::name.eq(&row.name)),
    )
    .set((ac::value.eq(&row.value), ac::updated_at.eq(row.updated_at)))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(ac::table).values(row).execute(conn)?;
    }
    Ok(())
}
