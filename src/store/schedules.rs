//! Scheduled sends (JPush `/v1/schedule`): the schedule and its recipients. The messages
//! themselves wait in the outbox until the schedule's time.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{schedule_recipients as r, schedules as s};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = s)]
pub struct ScheduleRow {
    pub id: String,
    pub app_id: String,
    pub send_at: NaiveDateTime,
    pub template_handle: i64,
    pub sign_handle: Option<i64>,
    pub tag: Option<String>,
    pub batch: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = r)]
pub struct RecipientRow {
    pub schedule_id: String,
    pub position: i32,
    pub message_handle: i64,
    pub phone: String,
    pub vars_sealed: Vec<u8>,
}

pub fn insert(conn: &mut DbConn, row: &ScheduleRow) -> QueryResult<()> {
    diesel::insert_into(s::table).values(row).execute(conn).map(|_| ())
}

/// Moves a schedule to a new time and template (its recipients are replaced separately).
pub fn update(conn: &mut DbConn, row: &ScheduleRow) -> QueryResult<usize> {
    diesel::update(s::table.find(&row.id).filter(s::app_id.eq(&row.app_id)))
        .set((
            s::send_at.eq(row.send_at),
            s::template_handle.eq(row.template_handle),
            s::sign_handle.eq(row.sign_handle),
            s::tag.eq(&row.tag),
            s::batch.eq(row.batch),
            s::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
}

pub fn find(conn: &mut DbConn, app_id: &str, id: &str) -> QueryResult<Option<ScheduleRow>> {
    s::table.find(id).filter(s::app_id.eq(app_id)).select(ScheduleRow::as_select()).first(conn).optional()
}

pub fn insert_recipients(conn: &mut DbConn, rows: &[RecipientRow]) -> QueryResult<()> {
    // One statement per row: SQLite caps the bound parameters of one statement.
    for row in rows {
        diesel::insert_into(r::table).values(row).execute(conn)?;
    }
    Ok(())
}

pub fn recipients(conn: &mut DbConn, schedule_id: &str) -> QueryResult<Vec<RecipientRow>> {
    r::table
        .filter(r::schedule_id.eq(schedule_id))
        .order(r::position.asc())
        .select(RecipientRow::as_select())
        .load(conn)
}

pub fn delete_recipients(conn: &mut DbConn, schedule_id: &str) -> QueryResult<usize> {
    diesel::delete(r::table.filter(r::schedule_id.eq(schedule_id))).execute(conn)
}

pub fn delete(conn: &mut DbConn, app_id: &str, id: &str) -> QueryResult<usize> {
    delete_recipients(conn, id)?;
    diesel::delete(s::table.find(id).filter(s::app_id.eq(app_id))).execute(conn)
}

/// Schedules whose time is before `before` (long sent): the purge forgets them.
pub fn purge(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    let old: Vec<String> = s::table.filter(s::send_at.lt(before)).select(s::id).load(conn)?;
    for id in &old {
        delete_recipients(conn, id)?;
    }
    diesel::delete(s::table.filter(s::id.eq_any(&old))).execute(conn)
}
