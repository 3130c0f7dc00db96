//! What an owner says of a template or signature beside its reviewed content (JPush `ttl`,
//! `remark`, a signature's type and image).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::sms_item_extras as x;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = x, treat_none_as_null = true)]
pub struct ExtrasRow {
    pub item_id: String,
    pub ttl_secs: Option<i32>,
    pub remark: Option<String>,
    pub sign_type: Option<i32>,
    pub image: Option<Vec<u8>>,
    pub image_type: Option<String>,
    pub updated_at: NaiveDateTime,
}

pub fn find_extras(conn: &mut DbConn, item_id: &str) -> QueryResult<Option<ExtrasRow>> {
    x::table.find(item_id).select(ExtrasRow::as_select()).first(conn).optional()
}

/// Writes an item's extras whole (no upsert on the connection enum: update, else insert).
pub fn put_extras(conn: &mut DbConn, row: &ExtrasRow) -> QueryResult<()> {
    if diesel::update(x::table.find(&row.item_id)).set(row).execute(conn)? == 0 {
        diesel::insert_into(x::table).values(row).execute(conn)?;
    }
    Ok(())
}

pub fn delete_extras(conn: &mut DbConn, item_id: &str) -> QueryResult<usize> {
    diesel::delete(x::table.find(item_id)).execute(conn)
}
