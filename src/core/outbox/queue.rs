//! Putting a message in the outbox (its handle, its cost against the app's balance), and what a
//! dialect may ask of it afterwards: its status, a cancel before it is due.

use chrono::NaiveDateTime;

use crate::core::apps::App;
use crate::core::message::Channel;
use crate::core::texts::templates;
use crate::core::{Core, Error, Result};
use crate::store::balances::Charge;
use crate::store::{self, DbConn};

/// One message to queue, inside the send's write transaction.
pub(crate) struct Outgoing<'a> {
    pub handle: i64,
    pub phone: &'a str,
    pub channel: Channel,
    /// `purpose` column: a code's purpose, or "notice".
    pub purpose: &'a str,
    pub text: &'a str,
    pub redacted: &'a str,
    pub template: Option<&'a str>,
    pub text_ref: &'a str,
    pub vars_json: &'a str,
    /// Due at (now, or a scheduled time).
    pub due_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub send_at: Option<NaiveDateTime>,
    pub now: NaiveDateTime,
}

/// What became of a queued message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// In the outbox (scheduled, or waiting for a provider).
    Queued,
    /// A provider accepted it.
    Sent,
    /// The carrier reported it delivered.
    Delivered,
    /// It failed for good (its parts were given back).
    Failed,
    /// Cancelled before it was due.
    Cancelled,
    /// Nothing was sent: a test number's code.
    Skipped,
}

impl Delivery {
    /// The statuses a message in the log can have, in the order a message goes through them
    /// (the console's filter lists them).
    pub const LOGGED: [Delivery; 5] =
        [Delivery::Queued, Delivery::Sent, Delivery::Delivered, Delivery::Failed, Delivery::Cancelled];

    /// The status as the log stores and filters it.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Queued => store::messages::QUEUED,
            Delivery::Sent => store::messages::SENT,
            Delivery::Delivered => store::messages::DELIVERED,
            Delivery::Failed => store::messages::FAILED,
            Delivery::Cancelled => store::messages::CANCELLED,
            Delivery::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone)]
pub struct MessageStatus {
    pub delivery: Delivery,
    /// The code the message carried was used (always false for a notice).
    pub verified: bool,
    /// Billable parts (0 for a skipped one).
    pub parts: i32,
    /// When a scheduled message is (or was) due.
    pub send_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// A message ready to be written: its id, sealed text and variables, and size.
pub(crate) struct Sealed {
    pub id: String,
    body: Vec<u8>,
    vars: Vec<u8>,
    chars: i32,
    pub parts: i32,
}

impl Sealed {
    /// The message's row, with `charged` parts taken from the app's balance.
    pub(crate) fn row<'a>(
        &'a self,
        app: &'a App,
        m: &'a Outgoing<'a>,
        charged: i32,
    ) -> store::messages::NewMessage<'a> {
        store::messages::NewMessage {
            id: &self.id,
            app_id: &app.id,
            to_phone: m.phone,
            channel: m.channel.as_str(),
            purpose: m.purpose,
            body_sealed: Some(&self.body),
            body_redacted: m.redacted,
            status: store::messages::QUEUED,
            attempts: 0,
            next_attempt_at: m.due_at,
            expires_at: m.expires_at,
            created_at: m.now,
            updated_at: m.now,
            chars: self.chars,
            parts: self.parts,
            template: m.template,
            text_ref: Some(m.text_ref),
            vars_sealed: Some(&self.vars),
            handle: m.handle,
            send_at: m.send_at,
            charged,
        }
    }
}

impl Core {
    /// Seals a message's text and variables and measures it, before it is written.
    pub(crate) fn seal_message(&self, m: &Outgoing<'_>) -> Sealed {
        let size = templates::size(m.text);
        Sealed {
            id: uuid::Uuid::now_v7().to_string(),
            body: self.keys.seal(m.text),
            vars: self.keys.seal(m.vars_json),
            chars: size.chars as i32,
            parts: size.parts as i32,
        }
    }

    /// Charges the app's balance for the text's parts (refused with `BalanceExhausted`, and then
    /// the caller's transaction rolls back: nothing is queued) and inserts the message. Returns
    /// its id and parts.
    pub(crate) fn queue_message(&self, conn: &mut DbConn, app: &App, m: &Outgoing<'_>) -> Result<(String, i32)> {
        let sealed = self.seal_message(m);
        let charged = match store::balances::charge(conn, &app.id, i64::from(sealed.parts), m.now)? {
            Charge::Unlimited => 0,
            Charge::Charged => sealed.parts,
            Charge::Exhausted => return Err(Error::BalanceExhausted),
        };
        store::messages::insert(conn, &sealed.row(app, m, charged))?;
        Ok((sealed.id.clone(), sealed.parts))
    }

    /// The status of the app's message `handle` (Bmob querySms): `UnknownMessage` when the app
    /// has none.
    pub fn message_status(&self, app: &App, handle: i64) -> Result<MessageStatus> {
        let mut conn = self.conn()?;
        let code = store::codes::find_by_message(&mut conn, &app.id, handle)?;
        let verified = code.as_ref().is_some_and(|c| c.used_at.is_some());
        let Some(row) = store::messages::find_by_handle(&mut conn, &app.id, handle)? else {
            // A test number's code has a handle and no message.
            return match code {
                Some(c) => Ok(MessageStatus {
                    delivery: Delivery::Skipped,
                    verified,
                    parts: 0,
                    send_at: None,
                    created_at: c.created_at,
                }),
                None => Err(Error::UnknownMessage),
            };
        };
        let delivery = match row.status.as_str() {
            store::messages::QUEUED => Delivery::Queued,
            store::messages::SENT => Delivery::Sent,
            store::messages::DELIVERED => Delivery::Delivered,
            store::messages::CANCELLED => Delivery::Cancelled,
            _ => Delivery::Failed,
        };
        Ok(MessageStatus { delivery, verified, parts: row.parts, send_at: row.send_at, created_at: row.created_at })
    }

    /// Cancels the app's scheduled message `handle` before it is due (its parts are given back).
    /// `UnknownMessage` when the app has none; `NotCancellable` once it was taken by the outbox,
    /// sent, cancelled, or when it was never scheduled.
    pub fn cancel_message(&self, app: &App, handle: i64) -> Result<()> {
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| -> Result<()> {
            if store::messages::find_by_handle(conn, &app.id, handle)?.is_none() {
                return Err(Error::UnknownMessage);
            }
            if store::messages::cancel(conn, &app.id, handle, now)? { Ok(()) } else { Err(Error::NotCancellable) }
        })
    }
}
