//! SMS templates and signatures ("items"), their revisions and the record of every review step.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{sms_items as i, sms_review_events as e, sms_revisions as r};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = i)]
pub struct ItemRow {
    pub id: String,
    pub app_id: String,
    pub kind: String,
    pub name: String,
    pub live_revision_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The item's number (JPush `temp_id` / `sign_id`, MinCloud `signature_id`), from the
    /// counter [`HANDLES`].
    pub handle: i64,
}

/// The counter template and signature handles come from.
pub const HANDLES: &str = "review_item";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = r)]
pub struct RevisionRow {
    pub id: String,
    pub item_id: String,
    pub app_id: String,
    pub number: i32,
    pub state: String,
    pub body: String,
    pub category: Option<String>,
    pub signature: Option<String>,
    pub placement: Option<String>,
    pub captcha_required: bool,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = e)]
pub struct EventRow {
    pub id: String,
    pub item_id: String,
    pub revision_id: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor: String,
    pub reason: Option<String>,
    pub at: NaiveDateTime,
}

pub fn insert_item(conn: &mut DbConn, row: &ItemRow) -> QueryResult<()> {
    diesel::insert_into(i::table).values(row).execute(conn).map(|_| ())
}

pub fn find_item(conn: &mut DbConn, id: &str) -> QueryResult<Option<ItemRow>> {
    i::table.find(id).select(ItemRow::as_select()).first(conn).optional()
}

pub fn find_item_by_name(conn: &mut DbConn, app_id: &str, kind: &str, name: &str) -> QueryResult<Option<ItemRow>> {
    i::table
        .filter(i::app_id.eq(app_id))
        .filter(i::kind.eq(kind))
        .filter(i::name.eq(name))
        .select(ItemRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_item_by_handle(conn: &mut DbConn, app_id: &str, kind: &str, handle: i64) -> QueryResult<Option<ItemRow>> {
    i::table
        .filter(i::app_id.eq(app_id))
        .filter(i::kind.eq(kind))
        .filter(i::handle.eq(handle))
        .select(ItemRow::as_select())
        .first(conn)
        .optional()
}

pub fn count_items(conn: &mut DbConn, app_id: &str, kind: &str) -> QueryResult<i64> {
    i::table.filter(i::app_id.eq(app_id)).filter(i::kind.eq(kind)).count().get_result(conn)
}

pub fn list_items(conn: &mut DbConn, app_id: &str, kind: &str) -> QueryResult<Vec<ItemRow>> {
    i::table
        .filter(i::app_id.eq(app_id))
        .filter(i::kind.eq(kind))
        .order(i::name.asc())
        .select(ItemRow::as_select())
        .load(conn)
}

pub fn set_live(conn: &mut DbConn, item_id: &str, revision_id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(i::table.find(item_id))
        .set((i::live_revision_id.eq(Some(revision_id)), i::updated_at.eq(now)))
        .execute(conn)
}

pub fn touch_item(conn: &mut DbConn, item_id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(i::table.find(item_id)).set(i::updated_at.eq(now)).execute(conn)
}

/// Forgets an item with its revisions and review record.
pub fn delete_item(conn: &mut DbConn, item_id: &str) -> QueryResult<usize> {
    diesel::delete(e::table.filter(e::item_id.eq(item_id))).execute(conn)?;
    diesel::update(i::table.find(item_id)).set(i::live_revision_id.eq(None::<String>)).execute(conn)?;
    diesel::delete(r::table.filter(r::item_id.eq(item_id))).execute(conn)?;
    diesel::delete(i::table.find(item_id)).execute(conn)
}

pub fn insert_revision(conn: &mut DbConn, row: &RevisionRow) -> QueryResult<()> {
    diesel::insert_into(r::table).values(row).execute(conn).map(|_| ())
}

pub fn find_revision(conn: &mut DbConn, id: &str) -> QueryResult<Option<RevisionRow>> {
    r::table.find(id).select(RevisionRow::as_select()).first(conn).optional()
}

/// An item's revisions, newest first.
pub fn revisions_of(conn: &mut DbConn, item_id: &str) -> QueryResult<Vec<RevisionRow>> {
    r::table.filter(r::item_id.eq(item_id)).order(r::number.desc()).select(RevisionRow::as_select()).load(conn)
}

/// Moves a revision from `from` to `to` only if it is still in `from`: of two reviewers acting at
/// once, one wins and the other sees 0 rows.
pub fn transition(
    conn: &mut DbConn,
    id: &str,
    from: &str,
    to: &str,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(r::table.find(id).filter(r::state.eq(from)))
        .set((r::state.eq(to), r::reason.eq(reason), r::updated_at.eq(now)))
        .execute(conn)
}

/// Replaces a draft's content (the caller has moved it to `draft`).
/// Rewrites a revision's content, only while it is in `state` (a draft: a submitted text is kept).
pub fn update_content(conn: &mut DbConn, row: &RevisionRow, state: &str) -> QueryResult<usize> {
    diesel::update(r::table.find(&row.id).filter(r::state.eq(state)))
        .set((
            r::body.eq(&row.body),
            r::category.eq(&row.category),
            r::signature.eq(&row.signature),
            r::placement.eq(&row.placement),
            r::captcha_required.eq(row.captcha_required),
            r::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
}

/// Revisions waiting for a reviewer, oldest first, with their item.
pub fn pending(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<(RevisionRow, ItemRow)>> {
    r::table
        .inner_join(i::table)
        .filter(r::state.eq("pending"))
        .order(r::updated_at.asc())
        .limit(limit)
        .select((RevisionRow::as_select(), ItemRow::as_select()))
        .load(conn)
}

pub fn insert_event(conn: &mut DbConn, row: &EventRow) -> QueryResult<()> {
    diesel::insert_into(e::table).values(row).execute(conn).map(|_| ())
}

/// An item's history, oldest first.
pub fn events_of(conn: &mut DbConn, item_id: &str) -> QueryResult<Vec<EventRow>> {
    e::table.filter(e::item_id.eq(item_id)).order((e::at.asc(), e::id.asc())).select(EventRow::as_select()).load(conn)
}
