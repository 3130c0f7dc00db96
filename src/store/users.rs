use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::users;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct UserRow {
    pub id: String,
    pub app_id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub mobile_phone: Option<String>,
    pub phone_e164: Option<String>,
    pub mobile_verified: bool,
    pub email_verified: bool,
    pub password_hash: Option<String>,
    pub auth_data: Option<String>,
    pub fields: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The user's integer id (MinCloud's `id`), given by `insert` and never changed.
    #[diesel(skip_update)]
    pub seq: i64,
}

/// How a user is looked up.
#[derive(Debug, Clone, Copy)]
pub enum UserKey<'a> {
    Id(&'a str),
    Username(&'a str),
    /// Lower-cased email.
    Email(&'a str),
    /// E.164 phone.
    Phone(&'a str),
}

/// Inserts a new user, numbering it (`row.seq`) from the `user` counter in the same transaction.
pub fn insert(conn: &mut DbConn, row: &mut UserRow) -> QueryResult<()> {
    row.seq = super::counters::allocate(conn, USER_COUNTER)?;
    diesel::insert_into(users::table).values(&*row).execute(conn).map(|_| ())
}

/// The counter users are numbered from (created by migration 000012).
pub const USER_COUNTER: &str = "user";

pub fn find_by_seq(conn: &mut DbConn, app_id: &str, seq: i64) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::app_id.eq(app_id))
        .filter(users::seq.eq(seq))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, app_id: &str, key: UserKey<'_>) -> QueryResult<Option<UserRow>> {
    let query = users::table.filter(users::app_id.eq(app_id)).into_boxed();
    let query = match key {
        UserKey::Id(id) => query.filter(users::id.eq(id)),
        UserKey::Username(name) => query.filter(users::username.eq(name)),
        UserKey::Email(email) => query.filter(users::email_key.eq(email)),
        UserKey::Phone(phone) => query.filter(users::phone_e164.eq(phone)),
    };
    query.select(UserRow::as_select()).first(conn).optional()
}

/// Writes every column of the row (the caller read it in the same transaction).
pub fn update(conn: &mut DbConn, row: &UserRow) -> QueryResult<usize> {
    diesel::update(users::table.find(&row.id)).set(row).execute(conn)
}

pub fn delete(conn: &mut DbConn, app_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(users::table.filter(users::app_id.eq(app_id)).filter(users::id.eq(id))).execute(conn)
}

/// Swaps the password hash if it is still `old` (a login rehashing an imported hash); the user's
/// `updated_at` stays: nothing the user sees has changed.
pub fn replace_password_hash(conn: &mut DbConn, id: &str, old: &str, new: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id).filter(users::password_hash.eq(old)))
        .set(users::password_hash.eq(new))
        .execute(conn)
}
