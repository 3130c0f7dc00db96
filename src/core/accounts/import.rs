//! Moving users in from an export: checking each user (mapped from its export format by an
//! adapter, `crate::import::leancloud` for LeanCloud's `_User`), deciding created / updated /
//! unchanged / refused, and writing a batch in one transaction. Passwords
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

use crate::core::accounts::passwords;
use crate::core::accounts::users::{checked_email, checked_username};
use crate::core::apps::App;
use crate::core::phone::Phone;
use crate::core::{Core, Error, Result};
use crate::store::imports::ImportedUserRow;
use crate::store::sessions::SessionRow;
use crate::store::users::UserRow;
use crate::store::{self, DbConn};

const MAX_OBJECT_ID_CHARS: usize = 64;
const MAX_TOKEN_CHARS: usize = 128;

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Decide and report everything, write nothing.
    pub dry_run: bool,
    /// Replace users changed or deleted in Phonebase since the last import.
    pub overwrite: bool,
}

/// A user as an export holds it, in core's words: what an import adapter maps each record of
/// its format to. Core checks it (identifiers, hashes, numbers) before anything is written.
#[derive(Debug, Clone)]
pub struct ExportedUser {
    pub id: String,
    pub username: Option<String>,
    pub email: Option<String>,
    /// As exported; a number that does not parse is kept (with a note) but cannot log in.
    pub mobile_phone: Option<String>,
    pub email_verified: bool,
    pub mobile_verified: bool,
    pub password: Option<ExportedPassword>,
    /// Third-party logins, a JSON object.
    pub auth_data: Option<Map<String, Value>>,
    pub session_token: Option<String>,
    /// Custom fields.
    pub fields: Map<String, Value>,
    pub created_at: NaiveDateTime,
    /// `created_at` when the export has none.
    pub updated_at: NaiveDateTime,
    /// Names this version of the record: the same digest on a re-run means unchanged.
    pub digest: String,
}

/// A password hash as exported; stored as it is, rehashed at the first login.
#[derive(Debug, Clone)]
pub enum ExportedPassword {
    /// LeanCloud's salted SHA-512 (`password` and `salt`).
    LeanCloud { hash: String, salt: String },
    /// A bcrypt hash (`bcryptPassword`).
    Bcrypt(String),
}

/// One exported record as read and mapped: where it came from, its objectId when it has one,
/// and the user or why it cannot be one.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    pub file: Arc<str>,
    pub line: u64,
    pub object_id: Option<String>,
    pub user: std::result::Result<ExportedUser, String>,
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

/// Checks one exported user and makes it a user row: the one rule, shared by the import and
/// lazy migration. Public for the fuzz target `import_leancloud`.
#[doc(hidden)]
pub fn user_row(app_id: &str, user: ExportedUser) -> std::result::Result<UserRow, String> {
    prepare(app_id, user).map(|p| p.row)
}

/// A record mapped to a row, before anything is decided against the database.
#[derive(Debug, Clone)]
struct Prepared {
    row: UserRow,
    digest: String,
    session_token: Option<String>,
    notes: Vec<String>,
}

/// Checks one exported user and maps it to a user row (pure: no database, no clock). Takes the
/// user: its custom fields move into the row rather than being copied.
fn prepare(app_id: &str, user: ExportedUser) -> std::result::Result<Prepared, String> {
    let ExportedUser {
        id,
        username,
        email,
        mobile_phone,
        email_verified,
        mobile_verified,
        password,
        auth_data,
        session_token,
        fields,
        created_at,
        updated_at,
        digest,
    } = user;
    if id.is_empty()
        || id.chars().count() > MAX_OBJECT_ID_CHARS
        || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("objectId {id:?} is not 1 to {MAX_OBJECT_ID_CHARS} letters, digits, - or _"));
    }
    let username = checked_username(username).map_err(|e| e.to_string())?;
    let mut notes = Vec::new();
    let email = match email.as_deref().filter(|e| !e.trim().is_empty()) {
        None => None,
        Some(e) => Some(checked_email(e).map_err(|_| format!("email {e:?} is invalid"))?),
    };
    let (mobile_phone, phone_e164) = match mobile_phone.filter(|p| !p.trim().is_empty()) {
        None => (None, None),
        Some(raw) => match Phone::parse(&raw) {
            Ok(phone) => (Some(raw.trim().to_string()), Some(phone.e164().to_string())),
            Err(_) => {
                notes.push(format!(
                    "mobilePhoneNumber {raw:?} is not a valid mobile number: kept as it is, but it cannot log in or receive codes"
                ));
                (Some(raw), None)
            }
        },
    };
    let password_hash = match password {
        Some(ExportedPassword::LeanCloud { hash, salt }) => {
            Some(passwords::leancloud_hash(&hash, &salt).map_err(|e| e.to_string())?)
        }
        Some(ExportedPassword::Bcrypt(bcrypt)) => Some(passwords::bcrypt_hash(&bcrypt).map_err(|e| e.to_string())?),
        None => None,
    };
    let session_token = match session_token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) if t.chars().count() > MAX_TOKEN_CHARS => return Err("sessionToken is too long".into()),
        other => other.map(str::to_string),
    };
    let row = UserRow {
        id,
        // Allocated when the row is inserted.
        seq: 0,
        app_id: app_id.to_string(),
        username,
        email: email.as_ref().map(|(e, _)| e.clone()),
        email_key: email.map(|(_, key)| key),
        mobile_phone,
        phone_e164,
        mobile_verified,
        email_verified,
        password_hash,
        auth_data: auth_data.map(|a| Value::Object(a).to_string()),
        fields: Value::Object(fields).to_string(),
        created_at,
        updated_at,
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
            .map(|source| PreparedRecord {
                file: source.file,
                line: source.line,
                object_id: source.object_id,
                result: source.user.and_then(|user| prepare(&self.app_id, user)),
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

/// A record the first pass decided to write, with where it came from.
struct Pending<'b> {
    /// Its place in the batch (refusals are reported in batch order).
    at: usize,
    source: &'b PreparedRecord,
    prepared: &'b Prepared,
    location: String,
}

/// What the ids alone decide (the first pass).
struct ById<'b> {
    /// Users with the batch's ids, in any app.
    existing: HashMap<String, store::imports::ExistingUser>,
    /// Import records of those ids (and, after the second pass, of identifier holders).
    records: HashMap<String, ImportedUserRow>,
    /// Where each id of this batch was first seen.
    batch_ids: HashMap<&'b str, String>,
    refused: Vec<(usize, Remark)>,
    unchanged: u64,
    to_write: Vec<Pending<'b>>,
}

/// The rows, records and sessions to write (the third pass).
#[derive(Default)]
struct Writes<'b> {
    inserts: Vec<&'b UserRow>,
    updates: Vec<&'b UserRow>,
    records: Vec<ImportedUserRow>,
    /// Ids whose earlier import record the new one replaces.
    replaced_records: Vec<&'b str>,
    sessions: Vec<SessionRow>,
}

/// Users here holding identifiers: what (`username`...) → value → their id.
type Held = HashMap<&'static str, HashMap<String, String>>;

/// Identifiers claimed by records of this batch: (what, value) → (objectId, location).
type Claimed<'b> = HashMap<(&'static str, &'b str), (&'b str, String)>;

impl Run {
    /// One batch, in four passes: decide by id; find who holds the identifiers of what will be
    /// written; claim identifiers and build the rows; write them. A dry run then rolls back.
    fn decide_and_write(
        &mut self,
        conn: &mut DbConn,
        batch: &[PreparedRecord],
    ) -> std::result::Result<ImportReport, TxError> {
        let now = self.core.clock.now_naive();
        let mut by_id = self.decide_by_id(conn, batch)?;
        let held = self.identifier_holders(conn, &mut by_id)?;
        let mut report = ImportReport { unchanged: by_id.unchanged, ..Default::default() };
        let (writes, claimed) = self.claim_and_build(&mut by_id, &held, &mut report, now);
        by_id.refused.sort_by_key(|(at, _)| *at);
        report.refused.extend(by_id.refused.drain(..).map(|(_, remark)| remark));
        self.write(conn, &by_id.existing, writes, now)?;

        if let Some(seen) = &mut self.dry_seen {
            seen.ids.extend(by_id.batch_ids.into_iter().map(|(id, at)| (id.to_string(), at)));
            seen.identifiers
                .extend(claimed.into_iter().map(|((what, v), (id, at))| ((what, v.to_string()), (id.to_string(), at))));
            return Err(TxError::RolledBack(report));
        }
        Ok(report)
    }

    /// First pass, what the ids alone decide: repeats, unchanged, refused, and what to write.
    fn decide_by_id<'b>(
        &self,
        conn: &mut DbConn,
        batch: &'b [PreparedRecord],
    ) -> std::result::Result<ById<'b>, TxError> {
        let app_id = self.app.id.as_str();
        let ids: Vec<&str> = batch.iter().filter_map(|r| r.result.as_ref().ok()).map(|p| p.row.id.as_str()).collect();
        let mut pass = ById {
            existing: store::imports::existing_users(conn, &ids)?.into_iter().map(|u| (u.id.clone(), u)).collect(),
            records: store::imports::records(conn, app_id, &ids)?.into_iter().map(|r| (r.user_id.clone(), r)).collect(),
            batch_ids: HashMap::new(),
            refused: Vec::new(),
            unchanged: 0,
            to_write: Vec::new(),
        };
        for (at, source) in batch.iter().enumerate() {
            let p = match &source.result {
                Ok(p) => p,
                Err(reason) => {
                    pass.refused.push((at, source.remark(reason.clone())));
                    continue;
                }
            };
            let id = p.row.id.as_str();
            let record = pass.records.get(id);
            let first_copy = pass
                .batch_ids
                .get(id)
                .or_else(|| self.dry_seen.as_ref().and_then(|d| d.ids.get(id)))
                .cloned()
                .or_else(|| record.filter(|r| r.run_id == self.run_id).map(|r| r.source.clone()));
            if let Some(first) = first_copy {
                pass.refused
                    .push((at, source.remark(format!("objectId {id} appears again in the export (first at {first})"))));
                continue;
            }
            let existing_user = pass.existing.get(id);
            if existing_user.is_some_and(|u| u.app_id != app_id) {
                pass.refused.push((at, source.remark(format!("objectId {id} belongs to a user of another app"))));
                continue;
            }
            match self.decide(existing_user, record, &p.digest) {
                Decision::Unchanged => {
                    pass.batch_ids.insert(id, source.location());
                    pass.unchanged += 1;
                }
                Decision::Refuse(reason) => pass.refused.push((at, source.remark(reason))),
                Decision::Write => {
                    let location = source.location();
                    pass.batch_ids.insert(id, location.clone());
                    pass.to_write.push(Pending { at, source, prepared: p, location });
                }
            }
        }
        Ok(pass)
    }

    /// Created, updated, unchanged or refused, by what is here under the record's id.
    fn decide(
        &self,
        existing_user: Option<&store::imports::ExistingUser>,
        record: Option<&ImportedUserRow>,
        digest: &str,
    ) -> Decision {
        match (existing_user, record) {
            (Some(_), Some(r)) if r.digest == digest => Decision::Unchanged,
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
        }
    }

    /// Second pass: the users here holding an identifier of what will be written, as
    /// (what, value) → their id; their import records join `pass.records` (named in refusals).
    fn identifier_holders(&self, conn: &mut DbConn, pass: &mut ById<'_>) -> std::result::Result<Held, TxError> {
        let app_id = self.app.id.as_str();
        let list = |what: &str| -> Vec<&str> {
            pass.to_write
                .iter()
                .flat_map(|w| row_identifiers(&w.prepared.row))
                .filter(|(w, _)| *w == what)
                .map(|(_, v)| v)
                .collect()
        };
        let holders =
            store::imports::holders(conn, app_id, &list("username"), &list("email"), &list("mobilePhoneNumber"))?;
        let mut held = Held::new();
        for h in &holders {
            for (what, v) in identifiers(&h.username, h.email_key.as_deref(), h.phone_e164.as_deref()) {
                held.entry(what).or_default().insert(v.to_string(), h.id.clone());
            }
        }
        let holder_ids: Vec<&str> = held
            .values()
            .flat_map(HashMap::values)
            .map(String::as_str)
            .filter(|id| !pass.records.contains_key(*id))
            .collect();
        for r in store::imports::records(conn, app_id, &holder_ids)? {
            pass.records.insert(r.user_id.clone(), r);
        }
        Ok(held)
    }

    /// Third pass: each record to write claims its identifiers (refused when a user here or an
    /// earlier record holds one) and becomes its row, import record and adopted session.
    fn claim_and_build<'b>(
        &self,
        pass: &mut ById<'b>,
        held: &Held,
        report: &mut ImportReport,
        now: NaiveDateTime,
    ) -> (Writes<'b>, Claimed<'b>) {
        let app_id = self.app.id.as_str();
        let mut claimed: Claimed<'b> = HashMap::new();
        let mut writes = Writes::default();
        for Pending { at, source, prepared: p, location } in std::mem::take(&mut pass.to_write) {
            let id = p.row.id.as_str();
            let conflict = row_identifiers(&p.row).find_map(|(what, value)| {
                let holder = held.get(what).and_then(|by_value| by_value.get(value));
                if let Some(holder) = holder.filter(|h| h.as_str() != id) {
                    let from =
                        pass.records.get(holder).map(|r| format!(", imported from {}", r.source)).unwrap_or_default();
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
                pass.refused.push((at, source.remark(reason)));
                continue;
            }
            for (what, value) in row_identifiers(&p.row) {
                claimed.insert((what, value), (id, location.clone()));
            }
            let record = pass.records.get(id);
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
                writes.sessions.push(self.core.session_row(&self.app, id, hash.clone(), now));
            }
            if record.is_some() {
                writes.replaced_records.push(id);
            }
            writes.records.push(ImportedUserRow {
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
            if pass.existing.contains_key(id) {
                report.updated += 1;
                writes.updates.push(&p.row);
            } else {
                report.created += 1;
                writes.inserts.push(&p.row);
            }
        }
        (writes, claimed)
    }

    /// Fourth pass: the writes, in bulk where the store can.
    fn write(
        &self,
        conn: &mut DbConn,
        existing: &HashMap<String, store::imports::ExistingUser>,
        mut writes: Writes<'_>,
        now: NaiveDateTime,
    ) -> std::result::Result<(), TxError> {
        let app_id = self.app.id.as_str();
        store::imports::insert_users(conn, &writes.inserts)?;
        for row in writes.updates {
            store::users::update(conn, row)?;
            if existing.get(&row.id).is_some_and(|u| u.password_hash != row.password_hash) {
                // A password changed by the import: the one rule for password changes (every
                // session ends; a session token of the export is adopted below).
                self.core
                    .password_changed(conn, &row.id, crate::core::accounts::users::PasswordChange::ByOther, now)
                    .map_err(TxError::Core)?;
            }
        }
        store::imports::put_records(conn, app_id, &writes.replaced_records, &writes.records)?;
        // A token already known (adopted before, or a collision) is not adopted twice.
        let hashes: Vec<&str> = writes.sessions.iter().map(|s: &SessionRow| s.token_hash.as_str()).collect();
        let known = store::imports::existing_token_hashes(conn, &hashes)?;
        writes.sessions.retain(|s| !known.contains(&s.token_hash));
        store::imports::insert_sessions(conn, &writes.sessions)?;
        Ok(())
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

    fn user(id: &str) -> ExportedUser {
        let at = chrono::DateTime::from_timestamp(1_436_841_110, 0).unwrap().naive_utc();
        ExportedUser {
            id: id.into(),
            username: Some("tom".into()),
            email: None,
            mobile_phone: None,
            email_verified: false,
            mobile_verified: false,
            password: None,
            auth_data: None,
            session_token: None,
            fields: Map::new(),
            created_at: at,
            updated_at: at,
            digest: "d".into(),
        }
    }

    #[test]
    fn maps_an_exported_user() {
        let digest = passwords::leancloud_export_digest("salt1", "pw");
        let mut u = user("55a47496e4b05001a7732c5f");
        u.email = Some("Tom@Example.com".into());
        u.email_verified = true;
        u.mobile_phone = Some(" 18612340000".into());
        u.mobile_verified = true;
        u.auth_data = json!({"weixin": {"openid": "o1"}}).as_object().cloned();
        u.password = Some(ExportedPassword::LeanCloud { hash: digest, salt: "salt1".into() });
        u.session_token = Some(" qmdj8pdidnmyzp0c7yqil91oc ".into());
        u.fields = json!({"nickname": "T"}).as_object().unwrap().clone();
        let p = prepare("app", u).unwrap();
        assert_eq!(p.row.phone_e164.as_deref(), Some("+8618612340000"));
        assert_eq!(p.row.mobile_phone.as_deref(), Some("18612340000"));
        assert_eq!(p.row.email_key.as_deref(), Some("tom@example.com"));
        assert!(p.row.password_hash.as_deref().unwrap().starts_with("$leancloud-sha512$"));
        assert_eq!(p.session_token.as_deref(), Some("qmdj8pdidnmyzp0c7yqil91oc"));
        assert_eq!(p.row.auth_data.as_deref(), Some(r#"{"weixin":{"openid":"o1"}}"#));
        assert_eq!(serde_json::from_str::<Value>(&p.row.fields).unwrap(), json!({"nickname": "T"}));
        assert!(p.row.mobile_verified && p.row.email_verified);
        assert!(p.notes.is_empty());
    }

    #[test]
    fn refuses_and_notes() {
        let bad = |u: ExportedUser| prepare("app", u).unwrap_err();
        assert!(bad(user("a b")).contains("objectId"));
        assert!(bad(user("")).contains("objectId"));
        assert!(bad(user(&"x".repeat(65))).contains("objectId"));
        assert!(bad(ExportedUser { username: None, ..user("x1") }).contains("sername"));
        assert!(bad(ExportedUser { email: Some("not an email".into()), ..user("x1") }).contains("email"));
        let lc = ExportedPassword::LeanCloud { hash: "abc".into(), salt: "s".into() };
        assert!(bad(ExportedUser { password: Some(lc), ..user("x1") }).contains("SHA-512"));
        let bcrypt = ExportedPassword::Bcrypt("x".into());
        assert!(bad(ExportedUser { password: Some(bcrypt), ..user("x1") }).contains("bcrypt"));
        assert!(bad(ExportedUser { session_token: Some("t".repeat(129)), ..user("x1") }).contains("sessionToken"));
        let odd = prepare("app", ExportedUser { mobile_phone: Some("12345".into()), ..user("x1") }).unwrap();
        assert_eq!(odd.row.mobile_phone.as_deref(), Some("12345"));
        assert_eq!(odd.row.phone_e164, None);
        assert_eq!(odd.notes.len(), 1);
    }
}
