//! Scheduled sends: a schedule groups the notices queued for one time (JPush `/v1/schedule`).
//! Each message waits in the outbox until then (`send_notice` with `send_at`), so a schedule
//! survives restarts like any queued message; the schedule row keeps who gets which message, to
//! read it back, replace it or cancel it while its time has not come.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, TimeDelta};

use crate::core::apps::App;
use crate::core::message::Origin;
use crate::core::outbox::notices::{MAX_BATCH, MAX_SCHEDULE_DAYS, NoticeRequest, SignRef, TemplateRef};
use crate::core::phone::Phone;
use crate::core::{Core, Error, Result};
use crate::store::{self, schedules::RecipientRow, schedules::ScheduleRow};

#[derive(Debug, Clone)]
pub struct Recipient {
    pub phone: Phone,
    pub vars: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct NewSchedule {
    /// The handles of an approved template and (optionally) signature.
    pub template: i64,
    pub sign: Option<i64>,
    pub send_at: NaiveDateTime,
    pub tag: Option<String>,
    /// Made as a batch (answered and read back as one).
    pub batch: bool,
    pub recipients: Vec<Recipient>,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Scheduled {
    /// The message's handle (JPush `msg_id`).
    pub handle: i64,
    /// E.164.
    pub phone: String,
    pub vars: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub id: String,
    pub send_at: NaiveDateTime,
    pub template: i64,
    pub sign: Option<i64>,
    pub tag: Option<String>,
    pub batch: bool,
    pub recipients: Vec<Scheduled>,
}

/// A schedule as made, with the recipients that were refused (their position in the request and
/// why: an unknown number, a limit...).
#[derive(Debug)]
pub struct ScheduleOutcome {
    pub schedule: Schedule,
    pub failures: Vec<(usize, Error)>,
}

impl Core {
    /// Queues one notice per recipient for `send_at` and records them as one schedule. Refused
    /// whole when the time is not in the future, when there is no recipient or too many, and
    /// when no recipient could be queued (then with the first recipient's reason).
    pub fn create_schedule(&self, app: &App, req: NewSchedule) -> Result<ScheduleOutcome> {
        self.check_schedule(&req)?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        let row = ScheduleRow {
            id: id.clone(),
            app_id: app.id.clone(),
            send_at: req.send_at,
            template_handle: req.template,
            sign_handle: req.sign,
            tag: req.tag.clone(),
            batch: req.batch,
            created_at: now,
            updated_at: now,
        };
        store::write_tx(&mut conn, |c| store::schedules::insert(c, &row))?;
        drop(conn);
        match self.queue_recipients(app, &id, &req) {
            Ok(failures) => Ok(ScheduleOutcome { schedule: self.schedule(app, &id)?, failures }),
            Err(e) => {
                let mut conn = self.conn()?;
                store::write_tx(&mut conn, |c| store::schedules::delete(c, &app.id, &id))?;
                Err(e)
            }
        }
    }

    /// A schedule of the app, with its recipients.
    pub fn schedule(&self, app: &App, id: &str) -> Result<Schedule> {
        let mut conn = self.conn()?;
        let row = store::schedules::find(&mut conn, &app.id, id)?.ok_or(Error::ScheduleNotFound)?;
        let recipients = store::schedules::recipients(&mut conn, id)?
            .into_iter()
            .map(|r| {
                let vars = self
                    .keys
                    .open(&r.vars_sealed)
                    .and_then(|json| serde_json::from_str(&json).ok())
                    .unwrap_or_default();
                Scheduled { handle: r.message_handle, phone: r.phone, vars }
            })
            .collect();
        Ok(Schedule {
            id: row.id,
            send_at: row.send_at,
            template: row.template_handle,
            sign: row.sign_handle,
            tag: row.tag,
            batch: row.batch,
            recipients,
        })
    }

    /// Replaces a schedule that has not started: its messages are cancelled and the new ones
    /// queued under the same id.
    pub fn replace_schedule(&self, app: &App, id: &str, req: NewSchedule) -> Result<ScheduleOutcome> {
        self.check_schedule(&req)?;
        self.cancel_schedule_messages(app, id)?;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        let row = ScheduleRow {
            id: id.to_string(),
            app_id: app.id.clone(),
            send_at: req.send_at,
            template_handle: req.template,
            sign_handle: req.sign,
            tag: req.tag.clone(),
            batch: req.batch,
            created_at: now,
            updated_at: now,
        };
        store::write_tx(&mut conn, |c| -> Result<()> {
            store::schedules::delete_recipients(c, id)?;
            store::schedules::update(c, &row)?;
            Ok(())
        })?;
        drop(conn);
        let failures = self.queue_recipients(app, id, &req)?;
        Ok(ScheduleOutcome { schedule: self.schedule(app, id)?, failures })
    }

    /// Cancels a schedule that has not started and forgets it.
    pub fn delete_schedule(&self, app: &App, id: &str) -> Result<()> {
        self.cancel_schedule_messages(app, id)?;
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |c| store::schedules::delete(c, &app.id, id))?;
        Ok(())
    }

    fn check_schedule(&self, req: &NewSchedule) -> Result<()> {
        let now = self.clock.now_naive();
        if req.send_at <= now || req.send_at > now + TimeDelta::days(MAX_SCHEDULE_DAYS) {
            return Err(Error::InvalidSendTime);
        }
        if req.recipients.is_empty() {
            return Err(Error::InvalidParameter("a schedule needs at least one recipient".into()));
        }
        if req.recipients.len() > MAX_BATCH {
            return Err(Error::InvalidParameter(format!("a schedule has at most {MAX_BATCH} recipients")));
        }
        Ok(())
    }

    /// Cancels every message of a schedule whose time has not come; refused once it has (the
    /// outbox may be sending them).
    fn cancel_schedule_messages(&self, app: &App, id: &str) -> Result<()> {
        let schedule = self.schedule(app, id)?;
        if schedule.send_at <= self.clock.now_naive() {
            return Err(Error::ScheduleStarted);
        }
        for r in &schedule.recipients {
            match self.cancel_message(app, r.handle) {
                // Gone already (purged or cancelled by a retry of this call): nothing to stop.
                Ok(()) | Err(Error::UnknownMessage) => {}
                // Claimed by the outbox meanwhile: the schedule has started.
                Err(Error::NotCancellable) => return Err(Error::ScheduleStarted),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Queues each recipient's notice and records it; the failures by position. All failing is
    /// the first failure.
    fn queue_recipients(&self, app: &App, id: &str, req: &NewSchedule) -> Result<Vec<(usize, Error)>> {
        let notices = req
            .recipients
            .iter()
            .map(|r| NoticeRequest {
                phone: r.phone.clone(),
                template: TemplateRef::Handle(req.template),
                sign: req.sign.map(SignRef::Handle),
                vars: r.vars.clone(),
                origin: req.origin.clone(),
                send_at: Some(req.send_at),
            })
            .collect();
        let results = self.send_notices(app, notices)?;
        let mut rows = Vec::new();
        let mut failures = Vec::new();
        for (position, (result, recipient)) in results.into_iter().zip(&req.recipients).enumerate() {
            match result {
                Ok(issued) => {
                    let vars = serde_json::to_string(&recipient.vars).map_err(|e| Error::Internal(e.into()))?;
                    rows.push(RecipientRow {
                        schedule_id: id.to_string(),
                        position: position as i32,
                        message_handle: issued.handle,
                        phone: recipient.phone.e164().to_string(),
                        vars_sealed: self.keys.seal(&vars),
                    });
                }
                Err(e) => failures.push((position, e)),
            }
        }
        if rows.is_empty() {
            let (_, first) = failures.into_iter().next().ok_or(Error::InvalidSendTime)?;
            return Err(first);
        }
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |c| store::schedules::insert_recipients(c, &rows))?;
        Ok(failures)
    }
}
