//! Review of SMS templates and signatures: one state machine for both.
//!
//! An item (a template or a signature, named per app) has numbered revisions. A revision moves
//! `draft → pending` (submitted, after the automatic checks), `pending → approved | rejected`
//! (a reviewer, with a reason for a rejection), `approved ⇄ disabled`. A text once submitted is
//! never rewritten: only a draft is edited in place; editing a rejected or an approved item
//! starts a new draft revision (the rejected one stays as it was judged, the approved one keeps
//! serving). When a new revision is approved it replaces the old at once (`superseded`). A
//! decision names the revision the reviewer saw and is refused unless that revision is the one
//! pending. Every step is recorded with who, when and why; anything else is refused.

pub mod extras;
mod live;

pub use live::LiveTemplate;

use chrono::NaiveDateTime;

use super::apps::App;
use super::{Core, Error, Result};
use crate::core::texts::templates::{self, Category, Placement};
use crate::store::templates::{EventRow, ItemRow, RevisionRow};
use crate::store::{self, DbConn};

/// Items of one kind an app may have.
pub const MAX_ITEMS_PER_APP: i64 = 10;
const MAX_NAME_CHARS: usize = 32;
const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Template,
    Signature,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Template => "template",
            Kind::Signature => "signature",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "template" => Some(Kind::Template),
            "signature" => Some(Kind::Signature),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Draft,
    Pending,
    Approved,
    Rejected,
    Disabled,
    Superseded,
}

impl State {
    pub const ALL: [State; 6] =
        [State::Draft, State::Pending, State::Approved, State::Rejected, State::Disabled, State::Superseded];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Pending => "pending",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Disabled => "disabled",
            State::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown review state {s:?}")))
    }

    /// A revision in one of these states is the item's work in progress (at most one).
    fn is_open(self) -> bool {
        matches!(self, State::Draft | State::Pending | State::Rejected)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Edit,
    Submit,
    Approve,
    Reject,
    Disable,
    Enable,
    /// A newer revision was approved.
    Supersede,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::Edit,
        Action::Submit,
        Action::Approve,
        Action::Reject,
        Action::Disable,
        Action::Enable,
        Action::Supersede,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Edit => "edit",
            Action::Submit => "submit",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Disable => "disable",
            Action::Enable => "enable",
            Action::Supersede => "supersede",
        }
    }
}

/// The state machine: where `action` takes a revision in `state`, or why it may not.
pub fn next_state(state: State, action: Action) -> Result<State> {
    use Action as A;
    use State as S;
    match (state, action) {
        (S::Draft, A::Edit) => Ok(S::Draft),
        (S::Draft, A::Submit) => Ok(S::Pending),
        (S::Pending, A::Approve) => Ok(S::Approved),
        (S::Pending, A::Reject) => Ok(S::Rejected),
        (S::Approved, A::Disable) => Ok(S::Disabled),
        (S::Disabled, A::Enable) => Ok(S::Approved),
        (S::Approved | S::Disabled, A::Supersede) => Ok(S::Superseded),
        _ => Err(Error::IllegalTransition { from: state.as_str(), action: action.as_str() }),
    }
}

/// The content of a revision, as its owner writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Template {
        body: String,
        category: Category,
        /// The name of one of the app's signatures.
        signature: Option<String>,
        /// A send with this template needs a captcha (enforced on the send path).
        captcha_required: bool,
    },
    Signature {
        text: String,
        placement: Placement,
    },
}

impl Content {
    pub fn kind(&self) -> Kind {
        match self {
            Content::Template { .. } => Kind::Template,
            Content::Signature { .. } => Kind::Signature,
        }
    }

    /// Shape checks that hold for drafts too (sizes, known values). The review checks come at
    /// submission.
    fn shaped(self) -> Result<Self> {
        match self {
            Content::Template { body, category, signature, captcha_required } => {
                if body.trim().is_empty() || body.chars().count() > templates::MAX_BODY_CHARS {
                    return Err(Error::InvalidParameter(format!(
                        "the body must be 1 to {} characters",
                        templates::MAX_BODY_CHARS
                    )));
                }
                let signature = signature.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
                Ok(Content::Template { body, category, signature, captcha_required })
            }
            Content::Signature { text, placement } => {
                Ok(Content::Signature { text: templates::check_signature(&text)?, placement })
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Revision {
    pub id: String,
    pub number: i32,
    pub state: State,
    pub content: Content,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl TryFrom<RevisionRow> for Revision {
    type Error = Error;
    fn try_from(row: RevisionRow) -> Result<Self> {
        let content = match (row.category.as_deref(), row.placement.as_deref()) {
            (Some(category), None) => Content::Template {
                body: row.body,
                category: Category::parse(category)?,
                signature: row.signature,
                captcha_required: row.captcha_required,
            },
            (None, Some(placement)) => Content::Signature { text: row.body, placement: Placement::parse(placement)? },
            _ => return Err(Error::Internal(anyhow::anyhow!("revision {} has no kind", row.id))),
        };
        Ok(Revision {
            id: row.id,
            number: row.number,
            state: State::parse(&row.state)?,
            content,
            reason: row.reason,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A template or signature with its serving revision and its work in progress.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub app_id: String,
    pub kind: Kind,
    pub name: String,
    /// The item's number, unique in the instance (JPush `temp_id` / `sign_id`, MinCloud
    /// `signature_id`).
    pub handle: i64,
    /// The approved (or disabled) revision.
    pub live: Option<Revision>,
    /// The newest draft, pending or rejected revision.
    pub open: Option<Revision>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub revision_id: String,
    pub revision: i32,
    pub from: Option<State>,
    pub to: State,
    pub actor: String,
    pub reason: Option<String>,
    pub at: NaiveDateTime,
}

/// A revision waiting for a reviewer, with what the reviewer needs to judge it.
#[derive(Debug, Clone)]
pub struct QueueEntry {
    pub item: Item,
    pub revision: Revision,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject { reason: String },
}

fn checked_name(name: &str) -> Result<String> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !ok {
        return Err(Error::InvalidParameter(format!(
            "a name is 1 to {MAX_NAME_CHARS} letters, digits, '_', '-' or '.'"
        )));
    }
    Ok(name.to_string())
}

fn revision_row(item: &ItemRow, id: String, number: i32, content: &Content, now: NaiveDateTime) -> RevisionRow {
    let (body, category, signature, placement, captcha_required) = match content {
        Content::Template { body, category, signature, captcha_required } => {
            (body.clone(), Some(category.as_str().to_string()), signature.clone(), None, *captcha_required)
        }
        Content::Signature { text, placement } => {
            (text.clone(), None, None, Some(placement.as_str().to_string()), false)
        }
    };
    RevisionRow {
        id,
        item_id: item.id.clone(),
        app_id: item.app_id.clone(),
        number,
        state: State::Draft.as_str().into(),
        body,
        category,
        signature,
        placement,
        captcha_required,
        reason: None,
        created_at: now,
        updated_at: now,
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl Core {
    /// Creates a template or signature as a draft; `submit` sends it to review at once (as
    /// LeanCloud did).
    pub fn create_item(&self, app: &App, name: &str, content: Content, submit: bool, actor: &str) -> Result<Item> {
        let name = checked_name(name)?;
        let content = content.shaped()?;
        let kind = content.kind();
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        let item_id = store::write_tx(&mut conn, |conn| -> Result<String> {
            store::lock_key(conn, &format!("sms-items:{}", app.id))?;
            if store::templates::find_item_by_name(conn, &app.id, kind.as_str(), &name)?.is_some() {
                return Err(Error::NameTaken);
            }
            if store::templates::count_items(conn, &app.id, kind.as_str())? >= MAX_ITEMS_PER_APP {
                return Err(Error::InvalidParameter(format!(
                    "an app may have at most {MAX_ITEMS_PER_APP} {}s",
                    kind.as_str()
                )));
            }
            let item = ItemRow {
                id: new_id(),
                app_id: app.id.clone(),
                kind: kind.as_str().into(),
                name: name.clone(),
                live_revision_id: None,
                created_at: now,
                updated_at: now,
                handle: store::counters::allocate(conn, store::templates::HANDLES, 1)?,
            };
            store::templates::insert_item(conn, &item)?;
            let revision = revision_row(&item, new_id(), 1, &content, now);
            store::templates::insert_revision(conn, &revision)?;
            record(conn, &item.id, &revision.id, None, State::Draft, actor, None, now)?;
            if submit {
                self.submit_in(conn, app, &item, &Revision::try_from(revision)?, actor, now)?;
            }
            Ok(item.id)
        })?;
        self.item(&app.id, &item_id)
    }

    /// New content for an item: a draft (never submitted) is rewritten in place; a rejected item,
    /// or one with only a live revision, gets a new draft revision, so that every submitted text
    /// stays as it was reviewed. Pending is under review and cannot change.
    pub fn edit_item(&self, app: &App, item_id: &str, content: Content, submit: bool, actor: &str) -> Result<Item> {
        let content = content.shaped()?;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| -> Result<()> {
            let (item, live, open) = self.load_locked(conn, &app.id, item_id)?;
            if content.kind().as_str() != item.kind {
                return Err(Error::InvalidParameter(format!("this item is a {}", item.kind)));
            }
            let revision = match open {
                Some(open) if open.state != State::Rejected => {
                    next_state(open.state, Action::Edit)?;
                    let mut row = revision_row(&item, open.id.clone(), open.number, &content, now);
                    row.created_at = open.created_at;
                    // Only a draft is rewritten, whatever happened since it was read.
                    if store::templates::update_content(conn, &row, State::Draft.as_str())? != 1 {
                        return Err(Error::IllegalTransition {
                            from: open.state.as_str(),
                            action: "concurrent change",
                        });
                    }
                    row
                }
                _ => {
                    let newest = store::templates::revisions_of(conn, &item.id)?.first().map_or(0, |r| r.number);
                    let number = newest.max(live.as_ref().map_or(0, |l| l.number)) + 1;
                    let row = revision_row(&item, new_id(), number, &content, now);
                    store::templates::insert_revision(conn, &row)?;
                    record(conn, &item.id, &row.id, None, State::Draft, actor, None, now)?;
                    row
                }
            };
            store::templates::touch_item(conn, &item.id, now)?;
            if submit {
                self.submit_in(conn, app, &item, &Revision::try_from(revision)?, actor, now)?;
            }
            Ok(())
        })?;
        self.item(&app.id, item_id)
    }

    /// Sends the item's draft to review, after the automatic checks.
    pub fn submit_item(&self, app: &App, item_id: &str, actor: &str) -> Result<Item> {
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| -> Result<()> {
            let (item, live, open) = self.load_locked(conn, &app.id, item_id)?;
            let Some(open) = open else {
                let from = live.map_or("none", |l| l.state.as_str());
                return Err(Error::IllegalTransition { from, action: Action::Submit.as_str() });
            };
            self.submit_in(conn, app, &item, &open, actor, now)
        })?;
        self.item(&app.id, item_id)
    }

    fn submit_in(
        &self,
        conn: &mut DbConn,
        app: &App,
        item: &ItemRow,
        revision: &Revision,
        actor: &str,
        now: NaiveDateTime,
    ) -> Result<()> {
        let to = next_state(revision.state, Action::Submit)?;
        match &revision.content {
            Content::Template { body, category, signature, .. } => {
                templates::check_template(body, *category)?;
                if let Some(signature) = signature
                    && store::templates::find_item_by_name(conn, &app.id, Kind::Signature.as_str(), signature)?
                        .is_none()
                {
                    return Err(Error::InvalidParameter(format!("the app has no signature named {signature:?}")));
                }
            }
            Content::Signature { text, .. } => {
                templates::check_signature(text)?;
            }
        }
        move_state(conn, item, revision, to, actor, None, now)
    }

    /// A reviewer's decision on a pending revision. Approval makes it serve at once, and the
    /// revision it replaces is superseded.
    pub fn review(&self, revision_id: &str, decision: Decision, reviewer: &str) -> Result<Item> {
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        let (app_id, item_id) = store::write_tx(&mut conn, |conn| -> Result<(String, String)> {
            let row = store::templates::find_revision(conn, revision_id)?.ok_or(Error::ItemNotFound)?;
            let (item, live, _) = self.load_locked(conn, &row.app_id, &row.item_id)?;
            // Read again under the lock: the state may have moved while we waited.
            let revision =
                Revision::try_from(store::templates::find_revision(conn, revision_id)?.ok_or(Error::ItemNotFound)?)?;
            match decision {
                Decision::Approve => {
                    let to = next_state(revision.state, Action::Approve)?;
                    if let Some(old) = live {
                        let superseded = next_state(old.state, Action::Supersede)?;
                        move_state(conn, &item, &old, superseded, reviewer, None, now)?;
                    }
                    move_state(conn, &item, &revision, to, reviewer, None, now)?;
                    store::templates::set_live(conn, &item.id, &revision.id, now)?;
                }
                Decision::Reject { reason } => {
                    let reason = reason.trim();
                    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
                        return Err(Error::InvalidParameter(format!(
                            "a rejection needs a reason of 1 to {MAX_REASON_CHARS} characters"
                        )));
                    }
                    let to = next_state(revision.state, Action::Reject)?;
                    move_state(conn, &item, &revision, to, reviewer, Some(reason), now)?;
                }
            }
            Ok((item.app_id, item.id))
        })?;
        self.item(&app_id, &item_id)
    }

    /// Stops (or resumes) serving an approved item.
    pub fn set_item_disabled(&self, app_id: &str, item_id: &str, disabled: bool, actor: &str) -> Result<Item> {
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| -> Result<()> {
            let (item, live, _) = self.load_locked(conn, app_id, item_id)?;
            let action = if disabled { Action::Disable } else { Action::Enable };
            let Some(live) = live else {
                return Err(Error::IllegalTransition { from: "unapproved", action: action.as_str() });
            };
            let to = next_state(live.state, action)?;
            move_state(conn, &item, &live, to, actor, None, now)
        })?;
        self.item(app_id, item_id)
    }

    /// Locks the item for the rest of the transaction and reads it with its revisions.
    fn load_locked(
        &self,
        conn: &mut DbConn,
        app_id: &str,
        item_id: &str,
    ) -> Result<(ItemRow, Option<Revision>, Option<Revision>)> {
        store::lock_key(conn, &format!("sms-item:{item_id}"))?;
        let item =
            store::templates::find_item(conn, item_id)?.filter(|i| i.app_id == app_id).ok_or(Error::ItemNotFound)?;
        let (live, open) = split_revisions(&item, store::templates::revisions_of(conn, item_id)?)?;
        Ok((item, live, open))
    }

    pub fn item(&self, app_id: &str, item_id: &str) -> Result<Item> {
        let mut conn = self.conn()?;
        let item = store::templates::find_item(&mut conn, item_id)?
            .filter(|i| i.app_id == app_id)
            .ok_or(Error::ItemNotFound)?;
        let revisions = store::templates::revisions_of(&mut conn, item_id)?;
        to_item(item, revisions)
    }

    pub fn item_by_name(&self, app_id: &str, kind: Kind, name: &str) -> Result<Option<Item>> {
        let mut conn = self.conn()?;
        let Some(item) = store::templates::find_item_by_name(&mut conn, app_id, kind.as_str(), name)? else {
            return Ok(None);
        };
        let revisions = store::templates::revisions_of(&mut conn, &item.id)?;
        to_item(item, revisions).map(Some)
    }

    /// The app's template or signature with this handle.
    pub fn item_by_handle(&self, app_id: &str, kind: Kind, handle: i64) -> Result<Option<Item>> {
        let mut conn = self.conn()?;
        let Some(item) = store::templates::find_item_by_handle(&mut conn, app_id, kind.as_str(), handle)? else {
            return Ok(None);
        };
        let revisions = store::templates::revisions_of(&mut conn, &item.id)?;
        to_item(item, revisions).map(Some)
    }

    /// The app's template with this handle (`ItemNotFound` when none).
    pub fn template_by_handle(&self, app: &App, handle: i64) -> Result<Item> {
        self.item_by_handle(&app.id, Kind::Template, handle)?.ok_or(Error::ItemNotFound)
    }

    /// The app's signature with this handle (`ItemNotFound` when none).
    pub fn signature_by_handle(&self, app: &App, handle: i64) -> Result<Item> {
        self.item_by_handle(&app.id, Kind::Signature, handle)?.ok_or(Error::ItemNotFound)
    }

    pub fn items(&self, app_id: &str, kind: Kind) -> Result<Vec<Item>> {
        let mut conn = self.conn()?;
        let rows = store::templates::list_items(&mut conn, app_id, kind.as_str())?;
        rows.into_iter()
            .map(|item| {
                let revisions = store::templates::revisions_of(&mut conn, &item.id)?;
                to_item(item, revisions)
            })
            .collect()
    }

    /// Every revision of an item, newest first.
    pub fn item_revisions(&self, app_id: &str, item_id: &str) -> Result<Vec<Revision>> {
        let mut conn = self.conn()?;
        store::templates::find_item(&mut conn, item_id)?.filter(|i| i.app_id == app_id).ok_or(Error::ItemNotFound)?;
        store::templates::revisions_of(&mut conn, item_id)?.into_iter().map(Revision::try_from).collect()
    }

    /// Every transition of an item's revisions, oldest first.
    pub fn item_history(&self, app_id: &str, item_id: &str) -> Result<Vec<Event>> {
        let mut conn = self.conn()?;
        store::templates::find_item(&mut conn, item_id)?.filter(|i| i.app_id == app_id).ok_or(Error::ItemNotFound)?;
        let numbers: std::collections::HashMap<String, i32> =
            store::templates::revisions_of(&mut conn, item_id)?.into_iter().map(|r| (r.id, r.number)).collect();
        store::templates::events_of(&mut conn, item_id)?
            .into_iter()
            .map(|e| {
                Ok(Event {
                    revision: numbers.get(&e.revision_id).copied().unwrap_or_default(),
                    revision_id: e.revision_id,
                    from: e.from_state.as_deref().map(State::parse).transpose()?,
                    to: State::parse(&e.to_state)?,
                    actor: e.actor,
                    reason: e.reason,
                    at: e.at,
                })
            })
            .collect()
    }

    /// What waits for a reviewer, oldest first.
    pub fn review_queue(&self, limit: i64) -> Result<Vec<QueueEntry>> {
        let mut conn = self.conn()?;
        let pending = store::templates::pending(&mut conn, limit)?;
        pending
            .into_iter()
            .map(|(revision, item)| {
                let revisions = store::templates::revisions_of(&mut conn, &item.id)?;
                Ok(QueueEntry { item: to_item(item, revisions)?, revision: Revision::try_from(revision)? })
            })
            .collect()
    }

    /// The app and item a revision belongs to (for reviewers, who start from a revision).
    pub fn revision_owner(&self, revision_id: &str) -> Result<(String, String)> {
        let mut conn = self.conn()?;
        let row = store::templates::find_revision(&mut conn, revision_id)?.ok_or(Error::ItemNotFound)?;
        Ok((row.app_id, row.item_id))
    }
}

fn split_revisions(item: &ItemRow, rows: Vec<RevisionRow>) -> Result<(Option<Revision>, Option<Revision>)> {
    let mut live = None;
    let mut open = None;
    // Newest first: only the newest revision can be in progress; an older rejected one is history.
    for (i, row) in rows.into_iter().enumerate() {
        let revision = Revision::try_from(row)?;
        if Some(&revision.id) == item.live_revision_id.as_ref() {
            live = Some(revision);
        } else if i == 0 && revision.state.is_open() {
            open = Some(revision);
        }
    }
    Ok((live, open))
}

fn to_item(row: ItemRow, revisions: Vec<RevisionRow>) -> Result<Item> {
    let (live, open) = split_revisions(&row, revisions)?;
    Ok(Item {
        kind: Kind::parse(&row.kind).ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown kind {}", row.kind)))?,
        id: row.id,
        app_id: row.app_id,
        name: row.name,
        handle: row.handle,
        live,
        open,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Moves a revision (conditionally on its current state) and records the step.
fn move_state(
    conn: &mut DbConn,
    item: &ItemRow,
    revision: &Revision,
    to: State,
    actor: &str,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<()> {
    let moved = store::templates::transition(conn, &revision.id, revision.state.as_str(), to.as_str(), reason, now)?;
    if moved != 1 {
        return Err(Error::IllegalTransition { from: revision.state.as_str(), action: "concurrent change" });
    }
    record(conn, &item.id, &revision.id, Some(revision.state), to, actor, reason, now)
}

#[allow(clippy::too_many_arguments)]
fn record(
    conn: &mut DbConn,
    item_id: &str,
    revision_id: &str,
    from: Option<State>,
    to: State,
    actor: &str,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<()> {
    store::templates::insert_event(
        conn,
        &EventRow {
            id: new_id(),
            item_id: item_id.into(),
            revision_id: revision_id.into(),
            from_state: from.map(|s| s.as_str().to_string()),
            to_state: to.as_str().into(),
            actor: actor.into(),
            reason: reason.map(Into::into),
            at: now,
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_of_state_and_action() {
        use Action as A;
        use State as S;
        let legal = [
            (S::Draft, A::Edit, S::Draft),
            (S::Draft, A::Submit, S::Pending),
            (S::Pending, A::Approve, S::Approved),
            (S::Pending, A::Reject, S::Rejected),
            (S::Approved, A::Disable, S::Disabled),
            (S::Disabled, A::Enable, S::Approved),
            (S::Approved, A::Supersede, S::Superseded),
            (S::Disabled, A::Supersede, S::Superseded),
        ];
        let mut checked = 0;
        for state in State::ALL {
            for action in Action::ALL {
                checked += 1;
                match legal.iter().find(|(s, a, _)| *s == state && *a == action) {
                    Some((_, _, to)) => assert_eq!(next_state(state, action).unwrap(), *to),
                    None => assert!(
                        matches!(next_state(state, action), Err(Error::IllegalTransition { .. })),
                        "{state:?} {action:?} must be refused"
                    ),
                }
            }
        }
        assert_eq!(checked, 42);
    }

    #[test]
    fn names() {
        assert_eq!(checked_name(" verify_login ").unwrap(), "verify_login");
        assert!(checked_name("活动-1").is_ok());
        assert!(checked_name("").is_err());
        assert!(checked_name("a b").is_err());
        assert!(checked_name(&"x".repeat(33)).is_err());
    }
}
