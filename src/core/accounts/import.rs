//! Moving users in from a LeanCloud `_User` export: mapping and checking each record, deciding
//! created / updated / unchanged / refused, and writing a batch in one transaction. Passwords
//! are stored as exported (no hashing here; the first login rehashes), session tokens as keyed
//! hashes like every other token.
//!
//! Rules:
//! - Upsert by objectId. A record whose digest matches the last import is unchanged (a re-run
//!   writes nothing, and an interrupted run picks up where it stopped). A user changed (or
//!   deleted) in Phonebase since the last import is refused unless `overwrite`. A user moved in
//!   by lazy migration ([`crate::core::accounts::upstream`]) counts as imported and unchanged unless `overwrite`.
//! - Username, email and phone stay unique per app: a record colliding with a user already here
//!   or with an earlier record of the same export is refused, naming where the other came from.
//! - A batch is one transaction: nothing is half-written.
//!
//! Speed: a batch is mapped ([`Preparer`], pure, on the reading thread) while the previous one
//! is being written, and the database step asks only for what it decides on: ids first, and
//! the identifier holders only for records that will be written.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::core::accounts::passwords;
use crate::core::accounts::users::{checked_email, checked_username};
use crate::core::apps::App;
use crate::core::phone::Phone;
use crate::core::{Core, Error, Result};
use crate::store::imports::ImportedUserRow;
use crate::store::sessions::SessionRow;
use crate::store::users::UserRow;
use crate::store::{self, DbConn};

/// Keys of an exported record that are columns or credentials, not custom fields.
const NOT_FIELDS: &[&str] = &[
    "objectId",
    "createdAt",
    "updatedAt",
    "username",
    "password",
    "salt",
    "bcryptPassword",
    "email",
    "emailVerified",
    "mobilePhoneNumber",
    "mobilePhoneVerified",
    "authData",
    "sessionToken",
];
const MAX_OBJECT_ID_CHARS: usize = 64;
const MAX_TOKEN_CHARS: usize = 128;

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Decide and report everything, write nothing.
    pub dry_run: bool,
    /// Replace users changed or deleted in Phonebase since the last import.
    pub overwrite: bool,
}

/// One exported record as read: where it came from, and its JSON object or why it is unreadable.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    pub file: Arc<str>,
    pub line: u64,
    pub record: std::result::Result<Map<String, Value>, String>,
}

/// A refused record, or a note about one that was imported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Remark {
    pub file: String,
    pub line: u64,
    #[serde(rename = "objectId")]
    pub object_id: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub refused: Vec<Remark>,
    /// Imported, with something worth knowing (e.g. a phone number that does not parse).
    pub notes: Vec<Remark>,
}

impl ImportReport {
    pub fn add(&mut self, other: ImportReport) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.refused.extend(other.refused);
        self.notes.extend(other.notes);
    }

    pub fn records(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.refused.len() as u64
    }
}

/// Maps one LeanCloud `_User` object (an export record, or a user as the LeanCloud API returns
/// it) to a user row: the one mapping, shared by the import and lazy migration.
pub(crate) fn map_record(app_id: &str, record: Map<String, Value>) -> std::result::Result<UserRow, String> {
    prepare(app_id, record).map(|p| p.row)
}

/// A record mapped to a row, before anything is decided against the database.
#[derive(Debug, Clone)]
struct Prepared {
    row: UserRow,
    digest: String,
    session_token: Option<String>,
    notes: Vec<String>,
}

fn date(value: Option<&Value>, name: &str) -> std::result::Result<Option<NaiveDateTime>, String> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Object(o)) if o.get("__type").and_then(Value::as_str) == Some("Date") => {
            o.get("iso").and_then(Value::as_str).ok_or_else(|| format!("{name} has no iso"))?
        }
        Some(_) => return Err(format!("{name} is not a date")),
    };
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| Some(t.naive_utc()))
        .map_err(|_| format!("{name} {text:?} is not an ISO 8601 date"))
}

fn string<'a>(record: &'a Map<String, Value>, key: &str) -> std::result::Result<Option<&'a str>, String> {
    match record.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(format!("{key} is not a string")),
    }
}

fn flag(record: &Map<String, Value>, key: &str) -> std::result::Result<bool, String> {
    match record.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{key} is not a boolean")),
    }
}

/// Maps one exported record to a user row (pure: no database, no clock). Takes the record: its
/// custom fields move into the row rather than being copied.
fn prepare(app_id: &str, mut record: Map<String, Value>) -> std::result::Result<Prepared, String> {
    // The digest covers the record as exported (keys sorted), so a re-run recognises it.
    let mut hasher = Sha256::new();
    serde_json::to_writer(&mut hasher, &record).map_err(|e| format!("cannot be read back: {e}"))?;
    let digest = hex::encode(hasher.finalize());
    let id = string(&record, "objectId")?.ok_or("objectId is missing")?;
    if id.is_empty()
        || id.chars().count() > MAX_OBJECT_ID_CHARS
        || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("objectId {id:?} is not 1 to {MAX_OBJECT_ID_CHARS} letters, digits, - or _"));
    }
    let id = id.to_string();
    let created_at = date(record.get("createdAt"), "createdAt")?.ok_or("createdAt is missing")?;
    let updated_at = date(record.get("updatedAt"), "updatedAt")?.unwrap_or(created_at);
    let username = checked_username(string(&record, "username")?.map(str::to_string)).map_err(|e| e.to_string())?;
    let mut notes = Vec::new();
    let email = match string(&record, "email")?.filter(|e| !e.trim().is_empty()) {
        None => None,
        Some(e) => Some(checked_email(e).map_err(|_| format!("email {e:?} is invalid"))?),
    };
    let (mobile_phone, phone_e164) = match string(&record, "mobilePhoneNumber")?.filter(|p| !p.trim().is_empty()) {
        None => (None, None),
        Some(raw) => match Phone::parse(raw) {
            Ok(phone) => (Some(raw.trim().to_string()), Some(phone.e164().to_string())),
            Err(_) => {
                notes.push(format!(
                    "mobilePhoneNumber {raw:?} is not a valid mobile number: kept as it is, but it cannot log in or receive codes"
                ));
                (Some(raw.to_string()), None)
            }
        },
    };
    let password_hash = match (string(&record, "password")?, string(&record, "bcryptPassword")?) {
        (Some(hash), _) => Some(
            passwords::leancloud_hash(hash, string(&record, "salt")?.unwrap_or_default()).map_err(|e| e.to_string())?,
        ),
        (None, Some(bcrypt)) => Some(passwords::bcrypt_hash(bcrypt).map_err(|e| e.to_string())?),
        (None, None) => None,
    };
    let auth_data = match record.get("authData") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(_) => return Err("authData is not an object".into()),
    };
    let session_token = match string(&record, "sessionToken")?.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) if t.chars().count() > MAX_TOKEN_CHARS => return Err("sessionToken is too long".into()),
        other => other.map(str::to_string),
    };
    let mobile_verified = flag(&record, "mobilePhoneVerified")?;
    let email_verified = flag(&record, "emailVerified")?;
    record.retain(|k, _| !NOT_FIELDS.contains(&k.as_str()) && !k.starts_with('_'));
    let row = UserRow {
        id,
        app_id: app_id.to_string(),
        username,
        email: email.as_ref().map(|(e, _)| e.clone()),
        email_key: email.map(|(_, key)| key),
        mobile_phone,
        phone_e164,
        mobile_verified,
        email_verified,
        password_hash,
        auth_data,
        fields: Value::Object(record).to_string(),
        created_at,
        updated_at,
        // Numbered when inserted.
        seq: 0,
    };
    Ok(Prepared { row, digest, session_token, notes })
}

/// A record as mapped before the database step: where it came from, and its row or why not.
#[derive(Debug)]
pub struct PreparedRecord {
    file: Arc<str>,
    line: u64,
    object_id: Option<String>,
    result: std::result::Result<Prepared, String>,
}

impl PreparedRecord {
    fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    fn remark(&self, reason: String) -> Remark {
        Remark { file: self.file.to_string(), line: self.line, object_id: self.object_id.clone(), reason }
    }
}

/// Maps batches of records to rows for one app. Pure and `Send`: it runs on the reading thread,
/// so that mapping (phone numbers are the costly part) overlaps with the database writes.
#[derive(Debug, Clone)]
pub struct Preparer {
    app_id: String,
}

impl Preparer {
    pub fn prepare(&self, batch: Vec<SourceRecord>) -> Vec<PreparedRecord> {
        batch
            .into_iter()
            .map(|source| {
                let (object_id, result) = match source.record {
                    Err(reason) => (None, Err(reason)),
                    Ok(record) => {
                        let object_id = record.get("objectId").and_then(Value::as_str).map(str::to_string);
                        (object_id, prepare(&self.app_id, record))
                    }
                };
                PreparedRecord { file: source.file, line: source.line, object_id, result }
            })
            .collect()
    }
}

/// Identifiers that must stay unique per app, as (what, value).
fn identifiers<'a>(
    username: &'a str,
    email_key: Option<&'a str>,
    phone_e164: Option<&'a str>,
) -> impl Iterator<Item = (&'static str, &'a str)> {
    [("username", Some(username)), ("email", email_key), ("mobilePhoneNumber", phone_e164)]
        .into_iter()
        .filter_map(|(what, v)| v.map(|v| (what, v)))
}

fn row_identifiers(row: &UserRow) -> impl Iterator<Item = (&'static str, &str)> {
    identifiers(&row.username, row.email_key.as_deref(), row.phone_e164.as_deref())
}

enum TxError {
    Db(diesel::result::Error),
    /// A rule of core refused or failed.
    Core(Error),
    /// Dry run: the decisions, with every write rolled back.
    RolledBack(ImportReport),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(e)
    }
}

/// What this run has claimed, for dry runs (which write nothing the next batch could see).
#[derive(Default)]
struct DrySeen {
    ids: HashMap<String, String>,
    identifiers: HashMap<(&'static str, String), (String, String)>,
}

/// One import run into one app; feed it batches in file order.
pub struct Importer {
    /// One connection for the whole run (it carries the bulk settings).
    conn: store::PooledConn,
    run: Run,
}

/// What a run knows between batches.
struct Run {
    core: Core,
    app: Arc<App>,
    options: ImportOptions,
    run_id: String,
    dry_seen: Option<DrySeen>,
    /// When PostgreSQL's statistics are refreshed next (see `refresh_statistics`).
    statistics: StatisticsSchedule,
}

/// PostgreSQL plans by table statistics, which autovacuum refreshes only now and then: during a
/// bulk load into a fresh table it keeps planning for an empty one (seen: 660 users/s instead
/// of 4,500). They are refreshed each time the users written by this run reach the table's size
/// at the last refresh (at least `FIRST_STATISTICS_AT`): a handful of times into an empty
/// table, once per doubling of a big one, and never for a small import into a big table.
struct StatisticsSchedule {
    written: u64,
    next_at: u64,
}

const FIRST_STATISTICS_AT: u64 = 2000;

impl Core {
    pub fn importer(&self, app_id: &str, options: ImportOptions) -> Result<Importer> {
        let app = self.app(app_id)?;
        let mut conn = self.conn()?;
        store::imports::tune_for_bulk(&mut conn)?;
        let users = store::imports::estimated_users(&mut conn)?;
        Ok(Importer {
            conn,
            run: Run {
                core: self.clone(),
                app,
                options,
                run_id: uuid::Uuid::now_v7().to_string(),
                dry_seen: options.dry_run.then(DrySeen::default),
                statistics: StatisticsSchedule { written: 0, next_at: users.max(FIRST_STATISTICS_AT) },
            },
        })
    }
}

impl Importer {
    /// The mapping half of an import, to run on another thread.
    pub fn preparer(&self) -> Preparer {
        Preparer { app_id: self.run.app.id.clone() }
    }

    /// Decides and writes one batch in one transaction. A concurrent signup that takes an
    /// identifier between the checks and the insert fails the batch on a unique index; it is
    /// then decided again, and the record refused.
    pub fn import_batch(&mut self, batch: &[PreparedRecord]) -> Result<ImportReport> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = store::write_tx(&mut self.conn, |conn| self.run.decide_and_write(conn, batch));
            match result {
                Ok(report) => {
                    let statistics = &mut self.run.statistics;
                    statistics.written += report.created + report.updated;
                    if statistics.written >= statistics.next_at {
                        store::imports::refresh_statistics(&mut self.conn)?;
                        let users = store::imports::estimated_users(&mut self.conn)?;
                        statistics.next_at = statistics.written + users.max(FIRST_STATISTICS_AT);
                    }
                    return Ok(report);
                }
                Err(TxError::RolledBack(report)) => return Ok(report),
                Err(TxError::Db(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ))) if attempts < 3 => continue,
                Err(TxError::Db(e)) => return Err(e.into()),
                Err(TxError::Core(e)) => return Err(e),
            }
        }
    }
}

impl Run {
    fn decide_and_write(
        &mut self,
        conn: &mut DbConn,
        batch: &[PreparedRecord],
    ) -> std::result::Result<ImportReport, TxError> {
        let now = self.core.clock.now_naive();
        let app_id = self.app.id.as_str();
        let mut report = ImportReport::default();

        // First what the ids alone decide: repeats, unchanged, refused, and who is new.
        let ids: Vec<&str> = batch.iter().filter_map(|r| r.result.as_ref().ok()).map(|p| p.row.id.as_str()).collect();
        let existing: HashMap<String, store::imports::ExistingUser> =
            store::imports::existing_users(conn, &ids)?.into_iter().map(|u| (u.id.clone(), u)).collect();
        let mut records: HashMap<String, ImportedUserRow> =
            store::imports::records(conn, app_id, &ids)?.into_iter().map(|r| (r.user_id.clone(), r)).collect();
        let mut batch_ids: HashMap<&str, String> = HashMap::new();
        // Refusals by their place in the batch: the two passes below find them out of order.
        let mut refused: Vec<(usize, Remark)> = Vec::new();
        let mut to_write: Vec<(usize, &PreparedRecord, &Prepared, String)> = Vec::new();
        for (at, source) in batch.iter().enumerate() {
            let p = match &source.result {
                Ok(p) => p,
                Err(reason) => {
                    refused.push((at, source.remark(reason.clone())));
                    continue;
                }
            };
            let id = p.row.id.as_str();
            let record = records.get(id);
            let first_copy = batch_ids
                .get(id)
                .or_else(|| self.dry_seen.as_ref().and_then(|d| d.ids.get(id)))
                .cloned()
                .or_else(|| record.filter(|r| r.run_id == self.run_id).map(|r| r.source.clone()));
            if let Some(first) = first_copy {
                refused
                    .push((at, source.remark(format!("objectId {id} appears again in the export (first at {first})"))));
                continue;
            }
            let existing_user = existing.get(id);
            if existing_user.is_some_and(|u| u.app_id != app_id) {
                refused.push((at, source.remark(format!("objectId {id} belongs to a user of another app"))));
                continue;
            }
            let decision = match (existing_user, record) {
                (Some(_), Some(r)) if r.digest == p.digest => Decision::Unchanged,
                // Moved from the live LeanCloud app (lazy migration): already here, with data at
                // least as new as the moment it moved; replaced only when asked.
                (Some(_), Some(r)) if r.run_id == store::upstreams::MOVED_RUN_ID && !self.options.overwrite => {
                    Decision::Unchanged
                }
                (Some(u), Some(r)) if u.updated_at == r.written_at || self.options.overwrite => Decision::Write,
                (Some(_), Some(_)) => {
                    Decision::Refuse("changed in Phonebase since the last import; --overwrite replaces it".to_string())
                }
                (Some(_), None) if self.options.overwrite => Decision::Write,
                (Some(_), None) => Decision::Refuse(
                    "a user with this objectId already exists and was not imported; --overwrite replaces it".into(),
                ),
                (None, Some(_)) if !self.options.overwrite => {
                    Decision::Refuse("deleted in Phonebase since the last import; --overwrite brings it back".into())
                }
                (None, _) => Decision::Write,
            };
            match decision {
                Decision::Unchanged => {
                    batch_ids.insert(id, source.location());
                    report.unchanged += 1;
                }
                Decision::Refuse(reason) => refused.push((at, source.remark(reason))),
                Decision::Write => {
                    let location = source.location();
                    batch_ids.insert(id, location.clone());
                    to_write.push((at, source, p, location));
                }
            }
        }

        // Then the identifiers of what will be written, against the users holding them.
        let list = |what: &str| -> Vec<&str> {
            to_write
                .iter()
                .flat_map(|(_, _, p, _)| row_identifiers(&p.row))
                .filter(|(w, _)| *w == what)
                .map(|(_, v)| v)
                .collect()
        };
        let holders =
            store::imports::holders(conn, app_id, &list("username"), &list("email"), &list("mobilePhoneNumber"))?;
        let mut held: HashMap<(&'static str, &str), &str> = HashMap::new();
        for h in &holders {
            for (what, v) in identifiers(&h.username, h.email_key.as_deref(), h.phone_e164.as_deref()) {
                held.insert((what, v), h.id.as_str());
            }
        }
        // Where holders that are not in this batch came from, if imported: named in refusals.
        let holder_ids: Vec<&str> = held.values().copied().filter(|id| !records.contains_key(*id)).collect();
        for r in store::imports::records(conn, app_id, &holder_ids)? {
            records.insert(r.user_id.clone(), r);
        }

        let mut claimed: HashMap<(&'static str, &str), (&str, String)> = HashMap::new();
        let (mut inserts, mut updates, mut put, mut sessions) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut replaced_records = Vec::new();
        for (at, source, p, location) in to_write {
            let id = p.row.id.as_str();
            let conflict = row_identifiers(&p.row).find_map(|(what, value)| {
                if let Some(holder) = held.get(&(what, value)).filter(|h| **h != id) {
                    let from =
                        records.get(*holder).map(|r| format!(", imported from {}", r.source)).unwrap_or_default();
                    return Some(format!("{what} {value:?} is already used by user {holder}{from}"));
                }
                let earlier = claimed.get(&(what, value)).map(|(other, at)| (*other, at.as_str())).or_else(|| {
                    self.dry_seen
                        .as_ref()
                        .and_then(|d| d.identifiers.get(&(what, value.to_string())))
                        .map(|(other, at)| (other.as_str(), at.as_str()))
                });
                earlier
                    .filter(|(other, _)| *other != id)
                    .map(|(other, at)| format!("{what} {value:?} is also used by objectId {other} at {at}"))
            });
            if let Some(reason) = conflict {
                refused.push((at, source.remark(reason)));
                continue;
            }
            for (what, value) in row_identifiers(&p.row) {
                claimed.insert((what, value), (id, location.clone()));
            }
            let record = records.get(id);
            // The same token as last time (hashed under the current or a previous secret) is no
            // new session: a session revoked since must not come back.
            let seen = match (p.session_token.as_deref(), record.and_then(|r| r.token_hash.as_deref())) {
                (Some(token), Some(stored)) => self.core.token_matches(&self.app, token, stored),
                _ => false,
            };
            let token_hash = match seen {
                true => record.and_then(|r| r.token_hash.clone()),
                false => p.session_token.as_deref().map(|t| self.core.token_hash(&self.app, t)),
            };
            if let Some(hash) = &token_hash
                && !seen
            {
                sessions.push(self.core.session_row(&self.app, id, hash.clone(), now));
            }
            if record.is_some() {
                replaced_records.push(id);
            }
            put.push(ImportedUserRow {
                app_id: app_id.to_string(),
                user_id: id.to_string(),
                digest: p.digest.clone(),
                token_hash: token_hash.or_else(|| record.and_then(|r| r.token_hash.clone())),
                written_at: p.row.updated_at,
                run_id: self.run_id.clone(),
                source: location,
                imported_at: now,
            });
            report.notes.extend(p.notes.iter().map(|n| source.remark(n.clone())));
            if existing.contains_key(id) {
                report.updated += 1;
                updates.push(&p.row);
            } else {
                report.created += 1;
                inserts.push(&p.row);
            }
        }

        refused.sort_by_key(|(at, _)| *at);
        report.refused.extend(refused.into_iter().map(|(_, remark)| remark));

        store::imports::insert_users(conn, &inserts)?;
        for row in updates {
            store::users::update(conn, row)?;
            if existing.get(&row.id).is_some_and(|u| u.password_hash != row.password_hash) {
                // A password changed by the import: the one rule for password changes (every
                // session ends; a session token of the export is adopted below).
                self.core
                    .password_changed(conn, &row.id, crate::core::accounts::users::PasswordChange::ByOther, now)
                    .map_err(TxError::Core)?;
            }
        }
        store::imports::put_records(conn, app_id, &replaced_records, &put)?;
        // A token already known (adopted before, or a collision) is not adopted twice.
        let hashes: Vec<&str> = sessions.iter().map(|s: &SessionRow| s.token_hash.as_str()).collect();
        let known = store::imports::existing_token_hashes(conn, &hashes)?;
        sessions.retain(|s| !known.contains(&s.token_hash));
        store::imports::insert_sessions(conn, &sessions)?;

        if let Some(seen) = &mut self.dry_seen {
            seen.ids.extend(batch_ids.into_iter().map(|(id, at)| (id.to_string(), at)));
            seen.identifiers
                .extend(claimed.into_iter().map(|((what, v), (id, at))| ((what, v.to_string()), (id.to_string(), at))));
            return Err(TxError::RolledBack(report));
        }
        Ok(report)
    }
}

enum Decision {
    /// Created or updated (whether the user exists says which).
    Write,
    Unchanged,
    Refuse(String),
}

impl From<TxError> for Error {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Db(e) => e.into(),
            TxError::Core(e) => e,
            TxError::RolledBack(_) => Error::Internal(anyhow::anyhow!("dry run rolled back")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn maps_an_exported_user() {
        let digest = passwords::leancloud_export_digest("salt1", "pw");
        let rec = obj(json!({
            "objectId": "55a47496e4b05001a7732c5f",
            "username": "tom",
            "email": "Tom@Example.com",
            "emailVerified": true,
            "mobilePhoneNumber": "18612340000",
            "mobilePhoneVerified": true,
            "authData": {"weixin": {"openid": "o1"}},
            "password": digest,
            "salt": "salt1",
            "sessionToken": "qmdj8pdidnmyzp0c7yqil91oc",
            "createdAt": "2015-07-14T02:31:50.100Z",
            "updatedAt": {"__type": "Date", "iso": "2016-01-01T00:00:00.000Z"},
            "nickname": "T",
            "birthday": {"__type": "Date", "iso": "1990-01-01T00:00:00.000Z"},
            "ACL": {"*": {"read": true}},
            "_internal": 1
        }));
        let p = prepare("app", rec).unwrap();
        assert_eq!(p.row.phone_e164.as_deref(), Some("+8618612340000"));
        assert_eq!(p.row.mobile_phone.as_deref(), Some("18612340000"));
        assert_eq!(p.row.email_key.as_deref(), Some("tom@example.com"));
        assert!(p.row.password_hash.as_deref().unwrap().starts_with("$leancloud-sha512$"));
        assert_eq!(p.session_token.as_deref(), Some("qmdj8pdidnmyzp0c7yqil91oc"));
        let fields: Value = serde_json::from_str(&p.row.fields).unwrap();
        assert_eq!(
            fields,
            json!({"nickname": "T", "birthday": {"__type": "Date", "iso": "1990-01-01T00:00:00.000Z"}, "ACL": {"*": {"read": true}}})
        );
        assert_eq!(p.row.updated_at.and_utc().timestamp(), 1_451_606_400);
        assert!(p.notes.is_empty());
    }

    #[test]
    fn refuses_and_notes() {
        let bad = |v: Value| prepare("app", obj(v)).unwrap_err();
        assert!(bad(json!({"username": "a", "createdAt": "2020-01-01T00:00:00Z"})).contains("objectId"));
        assert!(
            bad(json!({"objectId": "a b", "username": "a", "createdAt": "2020-01-01T00:00:00Z"})).contains("objectId")
        );
        assert!(bad(json!({"objectId": "x1", "username": "a"})).contains("createdAt"));
        assert!(bad(json!({"objectId": "x1", "createdAt": "2020-01-01T00:00:00Z"})).contains("username"));
        assert!(bad(json!({"objectId": "x1", "username": "a", "createdAt": "yesterday"})).contains("createdAt"));
        assert!(
            bad(json!({"objectId": "x1", "username": "a", "createdAt": "2020-01-01T00:00:00Z", "password": "abc", "salt": "s"}))
                .contains("SHA-512")
        );
        assert!(
            bad(json!({"objectId": "x1", "username": "a", "createdAt": "2020-01-01T00:00:00Z", "bcryptPassword": "x"}))
                .contains("bcrypt")
        );
        let odd = prepare(
            "app",
            obj(json!({"objectId": "x1", "username": "a", "createdAt": "2020-01-01T00:00:00Z", "mobilePhoneNumber": "12345"})),
        )
        .unwrap();
        assert_eq!(odd.row.mobile_phone.as_deref(), Some("12345"));
        assert_eq!(odd.row.phone_e164, None);
        assert_eq!(odd.notes.len(), 1);
    }
}
