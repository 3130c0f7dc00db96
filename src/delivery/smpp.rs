//! SMPP 3.4 (`kind = "smpp"`): one transceiver session per provider, opened on the first send and
//! kept (rusmppc sends `enquire_link` every `enquire_link_secs` and answers the SMSC's), reopened
//! with back-off when it drops. At most `window` messages are outstanding at once. The text goes as
//! GSM-7 (unpacked, `data_coding` 0) when every character is in the GSM alphabet, else as UCS-2
//! (`data_coding` 8); a longer text is split into parts carrying a concatenation UDH (`05 00 03 ref
//! total seq`, `esm_class` 0x40), exactly as many as `core::texts::templates::size` counts. The
//! SMSC's `submit_sm_resp` message id of the last part (the one asking for a receipt) becomes the
//! provider message id; `deliver_sm` receipts are recorded through `Core::record_reports`, the path
//! the HTTP receivers use. SMSCs that write an id in hex in one place and in decimal in the other
//! are reconciled by `message_id_format` ([`IdFormat`]). Every part carries the code's remaining
//! lifetime as a relative `validity_period`, so the SMSC stops retrying once the code is dead.

use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rusmpp::pdus::{BindTransceiver, DeliverSmResp, SubmitSm};
use rusmpp::tlvs::TlvValue;
use rusmpp::types::{COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, InterfaceVersion, MessageState, Npi, RegisteredDelivery, Ton};
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use rusmppc::{Client, ConnectionBuilder, Event};
use tokio::sync::{Mutex, Semaphore};

use super::{Outcome, Outgoing, SendError, SendFuture, Sender};
use crate::config::ProviderConfig;
use crate::core::Core;
use crate::core::outbox::routing::Report;

/// Outstanding messages per session unless `window` says otherwise.
const DEFAULT_WINDOW: usize = 10;
/// The longest wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub struct Smpp {
    name: String,
    url: String,
    system_id: String,
    password: String,
    source: Option<String>,
    timeout: Duration,
    enquire_link: Duration,
    window: Semaphore,
    session: Mutex<Session>,
    core: Arc<OnceLock<Core>>,
    reference: AtomicU8,
    ids: IdFormat,
}

/// How an SMSC writes message ids in `submit_sm_resp` (and `receipted_message_id`) and in
/// receipt texts (`id:`). Ids written in different bases are both brought to the decimal value
/// (leading zeros dropped), so they meet; an id that does not parse in its base is kept as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdFormat {
    Same,
    HexDecimal,
    DecimalHex,
}

impl IdFormat {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("hex-decimal") => IdFormat::HexDecimal,
            Some("decimal-hex") => IdFormat::DecimalHex,
            _ => IdFormat::Same,
        }
    }

    fn canonical(id: &str, radix: u32) -> String {
        let id = normalise_id(id);
        match u128::from_str_radix(&id, radix) {
            Ok(value) if !id.is_empty() => value.to_string(),
            _ => id,
        }
    }

    /// The provider message id of a `submit_sm_resp` id (or a `receipted_message_id` TLV).
    pub fn of_submit(self, id: &str) -> String {
        match self {
            IdFormat::Same => normalise_id(id),
            IdFormat::HexDecimal => Self::canonical(id, 16),
            IdFormat::DecimalHex => Self::canonical(id, 10),
        }
    }

    /// The provider message id of a receipt text's `id:`.
    pub fn of_receipt_text(self, id: &str) -> String {
        match self {
            IdFormat::Same => normalise_id(id),
            IdFormat::HexDecimal => Self::canonical(id, 10),
            IdFormat::DecimalHex => Self::canonical(id, 16),
        }
    }
}

/// SMPP 3.4 relative time (§7.1.1, `YYMMDDhhmmsstnnR`): the remaining lifetime as days, hours,
/// minutes and seconds, rounded down, at least one second and at most 99 days.
pub fn relative_validity(valid_for: Duration) -> String {
    let secs = valid_for.as_secs().clamp(1, 99 * 86_400 + 86_399);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    format!("0000{days:02}{:02}{:02}{:02}000R", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[derive(Default)]
struct Session {
    client: Option<Client>,
    /// Connection attempts that failed in a row, and when the next may be made.
    failures: u32,
    not_before: Option<Instant>,
}

impl Smpp {
    pub fn new(p: &ProviderConfig) -> anyhow::Result<Self> {
        let endpoint = p.endpoint();
        let url = if endpoint.contains("://") { endpoint } else { format!("smpp://{endpoint}") };
        let system_id = p.system_id.clone().unwrap_or_default();
        let password = p.password.as_ref().map(|s| s.expose().to_string()).unwrap_or_default();
        anyhow::ensure!(
            !system_id.is_empty() && system_id.len() <= 15,
            "provider {}: system_id must be 1 to 15 characters",
            p.name
        );
        anyhow::ensure!(password.len() <= 8, "provider {}: an SMPP 3.4 password is at most 8 characters", p.name);
        Ok(Self {
            name: p.name.clone(),
            url,
            system_id,
            password,
            source: p.from.clone().map(|s| s.trim().trim_start_matches('+').to_string()).filter(|s| !s.is_empty()),
            timeout: Duration::from_secs(p.timeout_secs.unwrap_or(10).max(1)),
            enquire_link: Duration::from_secs(p.enquire_link_secs.unwrap_or(30).max(1)),
            window: Semaphore::new(p.window.unwrap_or(DEFAULT_WINDOW).max(1)),
            session: Mutex::new(Session::default()),
            core: Arc::new(OnceLock::new()),
            reference: AtomicU8::new(rand::random()),
            ids: IdFormat::parse(p.message_id_format.as_deref()),
        })
    }

    /// The bound session, opened now if there is none (or it dropped) and the back-off allows.
    async fn client(&self) -> Result<Client, SendError> {
        let mut session = self.session.lock().await;
        if let Some(client) = session.client.as_ref().filter(|c| !c.is_closed()) {
            return Ok(client.clone());
        }
        session.client = None;
        if let Some(at) = session.not_before.filter(|at| *at > Instant::now()) {
            return Err(SendError::transient(format!(
                "SMPP session to {} is down; reconnecting in {} ms",
                self.name,
                at.saturating_duration_since(Instant::now()).as_millis()
            ))
            .with_code("SMPP_RECONNECTING"));
        }
        match tokio::time::timeout(self.timeout, self.connect())
            .await
            .unwrap_or_else(|_| Err(format!("no bind within {} s", self.timeout.as_secs())))
        {
            Ok(client) => {
                *session = Session { client: Some(client.clone()), failures: 0, not_before: None };
                tracing::info!(provider = %self.name, "SMPP session bound");
                Ok(client)
            }
            Err(e) => {
                session.failures += 1;
                let wait = Duration::from_millis(500u64 << session.failures.min(7)).min(MAX_BACKOFF);
                session.not_before = Some(Instant::now() + wait);
                tracing::warn!(provider = %self.name, error = %e, retry_in_ms = wait.as_millis() as u64, "SMPP bind failed");
                Err(SendError::transient(format!("SMPP bind to {} failed: {e}", self.name)).with_code("SMPP_BIND"))
            }
        }
    }

    async fn connect(&self) -> Result<Client, String> {
        let (client, events) = ConnectionBuilder::new()
            .enquire_link_interval(self.enquire_link)
            .response_timeout(self.timeout)
            // rusmppc binds as SMPP 5.0 unless told: we bind as 3.4.
            .disable_interface_version_check()
            .connect(&self.url)
            .await
            .map_err(|e| e.to_string())?;
        let bind = BindTransceiver::builder()
            .system_id(COctetString::from_str(&self.system_id).map_err(|e| format!("system_id: {e}"))?)
            .password(COctetString::from_str(&self.password).map_err(|e| format!("password: {e}"))?)
            .interface_version(InterfaceVersion::Smpp3_4)
            .build();
        if let Err(e) = client.bind_transceiver(bind).await {
            let _ = client.close().await;
            return Err(describe(&e));
        }
        tokio::spawn(listen(self.name.clone(), client.clone(), events, self.core.clone(), self.ids));
        Ok(client)
    }

    /// Forgets a session that failed mid-request: the next send opens a new one.
    async fn drop_session(&self, client: &Client) {
        // Handles of one connection close together; a newer session stays.
        let _ = client.close().await;
        let mut session = self.session.lock().await;
        if session.client.as_ref().is_some_and(Client::is_closed) {
            session.client = None;
        }
    }

    fn submits(&self, message: &Outgoing) -> Result<Vec<SubmitSm>, SendError> {
        let destination = message.to.trim().trim_start_matches('+');
        let destination = COctetString::from_str(destination).map_err(|e| {
            SendError::permanent(format!("destination {destination:?}: {e}")).with_code("ESME_RINVDSTADR")
        })?;
        let (source_ton, source_npi, source) = match &self.source {
            Some(s) if s.chars().all(|c| c.is_ascii_digit()) => (Ton::International, Npi::Isdn, s.as_str()),
            Some(s) => (Ton::Alphanumeric, Npi::Unknown, s.as_str()),
            None => (Ton::Unknown, Npi::Unknown, ""),
        };
        let source = COctetString::from_str(source).map_err(|e| {
            SendError::permanent(format!("source address {source:?}: {e}")).with_code("ESME_RINVSRCADR")
        })?;
        let validity = match message.valid_for {
            Some(left) => EmptyOrFullCOctetString::from_str(&relative_validity(left))
                .map_err(|e| SendError::permanent(format!("validity_period: {e}")))?,
            None => EmptyOrFullCOctetString::empty(),
        };
        let parts = segments(&message.text, self.reference.fetch_add(1, Ordering::Relaxed));
        let last = parts.len() - 1;
        parts
            .into_iter()
            .enumerate()
            .map(|(i, part)| {
                let short_message = OctetString::from_vec(part.bytes)
                    .map_err(|e| SendError::permanent(format!("message part: {e}")).with_code("ESME_RINVMSGLEN"))?;
                Ok(SubmitSm::builder()
                    .source_addr_ton(source_ton)
                    .source_addr_npi(source_npi)
                    .source_addr(source.clone())
                    .dest_addr_ton(Ton::International)
                    .dest_addr_npi(Npi::Isdn)
                    .destination_addr(destination.clone())
                    // Never EsmClass::default(): in rusmpp 0.4 it encodes as 0x08.
                    .esm_class(EsmClass::from(if part.udh { 0x40u8 } else { 0 }))
                    // A receipt for the last part only: its id is the message's.
                    .registered_delivery(RegisteredDelivery::from(u8::from(i == last)))
                    .validity_period(validity.clone())
                    .data_coding(part.coding)
                    .short_message(short_message)
                    .build())
            })
            .collect()
    }
}

impl Sender for Smpp {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(async move {
            if message.channel != "sms" {
                return Err(SendError::permanent("SMPP sends text messages only, not voice"));
            }
            let submits = self.submits(message)?;
            let _permit =
                self.window.acquire().await.map_err(|_| SendError::transient("SMPP provider is shutting down"))?;
            let client = self.client().await?;
            let mut provider_id = None;
            for submit in submits {
                match client.submit_sm(submit).await {
                    Ok(resp) => provider_id = Some(self.ids.of_submit(&resp.message_id().to_string())),
                    Err(e) => {
                        let error = classify(&e);
                        if !matches!(e, rusmppc::error::Error::UnexpectedResponse { .. }) {
                            self.drop_session(&client).await;
                        }
                        return Err(error);
                    }
                }
            }
            Ok(Outcome::Sent { provider_id: provider_id.filter(|id| !id.is_empty()) })
        })
    }

    fn attach(&self, core: &Core) {
        let _ = self.core.set(core.clone());
    }
}

/// Reads the session's events: receipts go to the core, the SMSC's `unbind` is answered and
/// ends the session (the next send opens a new one).
async fn listen(
    provider: String,
    client: Client,
    mut events: impl futures_util::Stream<Item = Event> + Unpin,
    core: Arc<OnceLock<Core>>,
    ids: IdFormat,
) {
    while let Some(event) = events.next().await {
        match event {
            Event::Incoming(command) => match command.id() {
                CommandId::DeliverSm => {
                    if let Some(report) = receipt(&command, ids) {
                        match core.get() {
                            Some(core) => {
                                let (core, name) = (core.clone(), provider.clone());
                                let recorded =
                                    tokio::task::spawn_blocking(move || core.record_reports(&name, &[report])).await;
                                if !matches!(recorded, Ok(Ok(()))) {
                                    tracing::warn!(provider = %provider, "could not record an SMPP receipt");
                                }
                            }
                            None => {
                                tracing::info!(provider = %provider, "SMPP receipt outside the outbox (not recorded)")
                            }
                        }
                    }
                    let _ = client.deliver_sm_resp(command.sequence_number(), DeliverSmResp::default()).await;
                }
                CommandId::Unbind => {
                    tracing::info!(provider = %provider, "SMSC unbound the SMPP session");
                    let _ = client.unbind_resp(command.sequence_number()).await;
                    let _ = client.close().await;
                }
                _ => {}
            },
            Event::Error(e) => tracing::warn!(provider = %provider, error = %e, "SMPP session"),
        }
    }
    tracing::info!(provider = %provider, "SMPP session closed");
}

/// A delivery receipt in a `deliver_sm` (message type bits 0x04), from its TLVs when present,
/// else from its Appendix B text. Public for the fuzz target `smpp_receipt`.
#[doc(hidden)]
pub fn receipt(command: &Command, ids: IdFormat) -> Option<Report> {
    let Some(Pdu::DeliverSm(sm)) = command.pdu() else { return None };
    if u8::from(sm.esm_class) & 0x3C != 0x04 {
        return None;
    }
    let (mut id, mut state) = (None, None);
    for tlv in sm.tlvs() {
        match tlv.value() {
            Some(TlvValue::ReceiptedMessageId(v)) => id = Some(ids.of_submit(&v.to_string())),
            Some(TlvValue::MessageState(s)) => state = Some(*s),
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(sm.short_message().as_ref()).to_string();
    let parsed = parse_receipt_text(&text);
    let id = id.or_else(|| parsed.as_ref().map(|p| ids.of_receipt_text(&p.0)))?;
    let stat = match state {
        Some(MessageState::Delivered) => "DELIVRD".to_string(),
        Some(MessageState::Expired) => "EXPIRED".to_string(),
        Some(MessageState::Deleted) => "DELETED".to_string(),
        Some(MessageState::Undeliverable) => "UNDELIV".to_string(),
        Some(MessageState::Rejected) => "REJECTD".to_string(),
        Some(MessageState::Unknown) => "UNKNOWN".to_string(),
        _ => parsed.map(|p| p.1)?,
    };
    final_report(id, &stat)
}

fn final_report(id: String, stat: &str) -> Option<Report> {
    let stat = stat.to_ascii_uppercase();
    match stat.as_str() {
        "DELIVRD" | "DELIVERED" => Some(Report { provider_message_id: id, delivered: true, error_code: None }),
        // Intermediate states say nothing final.
        "ENROUTE" | "ACCEPTD" | "SCHEDULED" | "" => None,
        _ => Some(Report { provider_message_id: id, delivered: false, error_code: Some(stat) }),
    }
}

/// `id:` and `stat:` of a receipt text (SMPP 3.4 Appendix B, vendor specific: keys in any case,
/// fields in any order, `text:` last and free).
pub fn parse_receipt_text(text: &str) -> Option<(String, String)> {
    let head = match text.to_ascii_lowercase().find("text:") {
        Some(i) => &text[..i],
        None => text,
    };
    let (mut id, mut stat) = (None, None);
    for word in head.split_whitespace() {
        if let Some((key, value)) = word.split_once(':') {
            match key.to_ascii_lowercase().as_str() {
                "id" => id = Some(value.to_string()),
                "stat" => stat = Some(value.to_string()),
                _ => {}
            }
        }
    }
    Some((id.filter(|i| !i.is_empty())?, stat.unwrap_or_default()))
}

/// Message ids as both sides print them: no surrounding blanks or NULs, leading zeros of a decimal
/// id kept (an SMSC that answers in decimal reports in decimal).
fn normalise_id(id: &str) -> String {
    id.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string()
}

/// What a failed request means for the message.
fn classify(e: &rusmppc::error::Error) -> SendError {
    use rusmppc::error::Error;
    match e {
        Error::UnexpectedResponse { response } => {
            let status = response.status();
            let code = u32::from(status);
            let name = status_name(code);
            let message = format!("SMSC refused the message: {name} (0x{code:08X})");
            if is_permanent(status) {
                SendError::permanent(message).with_code(name)
            } else {
                SendError::transient(message).with_code(name)
            }
        }
        other => SendError::transient(format!("SMPP: {other}")).with_code("SMPP_LINK"),
    }
}

fn is_permanent(status: CommandStatus) -> bool {
    matches!(
        u32::from(status),
        0x01 // ESME_RINVMSGLEN
            | 0x0A // ESME_RINVSRCADR
            | 0x0B // ESME_RINVDSTADR
            | 0x43 // ESME_RINVESMCLASS
            | 0x48 // ESME_RINVSRCTON
            | 0x49 // ESME_RINVSRCNPI
            | 0x50 // ESME_RINVDSTTON
            | 0x51 // ESME_RINVDSTNPI
            | 0x62 // ESME_RINVEXPIRY
            | 0x65 // ESME_RX_P_APPN: permanent application error
    )
}

fn status_name(code: u32) -> String {
    let name = match code {
        0x01 => "ESME_RINVMSGLEN",
        0x05 => "ESME_RALYBND",
        0x08 => "ESME_RSYSERR",
        0x0A => "ESME_RINVSRCADR",
        0x0B => "ESME_RINVDSTADR",
        0x0D => "ESME_RBINDFAIL",
        0x0E => "ESME_RINVPASWD",
        0x0F => "ESME_RINVSYSID",
        0x14 => "ESME_RMSGQFUL",
        0x43 => "ESME_RINVESMCLASS",
        0x45 => "ESME_RSUBMITFAIL",
        0x48 => "ESME_RINVSRCTON",
        0x49 => "ESME_RINVSRCNPI",
        0x50 => "ESME_RINVDSTTON",
        0x51 => "ESME_RINVDSTNPI",
        0x58 => "ESME_RTHROTTLED",
        0x62 => "ESME_RINVEXPIRY",
        0x64 => "ESME_RX_T_APPN",
        0x65 => "ESME_RX_P_APPN",
        0x66 => "ESME_RX_R_APPN",
        _ => return format!("0x{code:08X}"),
    };
    name.to_string()
}

/// Describes a bind failure.
fn describe(e: &rusmppc::error::Error) -> String {
    match e {
        rusmppc::error::Error::UnexpectedResponse { response } => {
            let code = u32::from(response.status());
            format!("{} (0x{code:08X})", status_name(code))
        }
        other => other.to_string(),
    }
}

/// One `short_message`: its bytes (UDH first when `udh`) and coding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub bytes: Vec<u8>,
    pub udh: bool,
    pub coding: DataCoding,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡\
     ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: [(char, u8); 10] = [
    ('\u{c}', 0x0A),
    ('^', 0x14),
    ('{', 0x28),
    ('}', 0x29),
    ('\\', 0x2F),
    ('[', 0x3C),
    ('~', 0x3D),
    (']', 0x3E),
    ('|', 0x40),
    ('€', 0x65),
];

/// A character's GSM-7 septets (unpacked), `None` outside the alphabet.
fn gsm7(c: char) -> Option<Vec<u8>> {
    if c == '\u{1b}' {
        return None;
    }
    if let Some(i) = GSM7_BASIC.chars().position(|b| b == c) {
        return Some(vec![i as u8]);
    }
    GSM7_EXTENSION.iter().find(|(e, _)| *e == c).map(|(_, s)| vec![0x1B, *s])
}

/// The text as `short_message`s: GSM-7 up to 160 septets in one, else 153 per part; UCS-2 up
/// to 70 UTF-16 units in one, else 67 per part; an escape pair or a surrogate pair is never split
/// (the same rules as `core::texts::templates::size`).
pub fn segments(text: &str, reference: u8) -> Vec<Segment> {
    let gsm: Option<Vec<Vec<u8>>> = text.chars().map(gsm7).collect();
    let (units, coding, single, per_part, unit_len): (Vec<Vec<u8>>, DataCoding, usize, usize, usize) = match gsm {
        Some(units) => (units, DataCoding::McSpecific, 160, 153, 1),
        None => (
            text.chars()
                .map(|c| {
                    let mut buf = [0u16; 2];
                    c.encode_utf16(&mut buf).iter().flat_map(|u| u.to_be_bytes()).collect()
                })
                .collect(),
            DataCoding::Ucs2,
            70,
            67,
            2,
        ),
    };
    let total: usize = units.iter().map(|u| u.len() / unit_len).sum();
    if total <= single {
        return vec![Segment { bytes: units.concat(), udh: false, coding }];
    }
    let mut chunks: Vec<Vec<u8>> = vec![Vec::new()];
    let mut used = 0;
    for unit in units {
        let n = unit.len() / unit_len;
        if used + n > per_part {
            chunks.push(Vec::new());
            used = 0;
        }
        used += n;
        chunks.last_mut().expect("one chunk at least").extend(unit);
    }
    let count = u8::try_from(chunks.len()).unwrap_or(u8::MAX);
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut bytes = vec![0x05, 0x00, 0x03, reference, count, (i + 1) as u8];
            bytes.extend(chunk);
            Segment { bytes, udh: true, coding }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::texts::templates::size;

    #[test]
    fn parts_match_our_count() {
        let texts = [
            "Your code is 123456".to_string(),
            "a".repeat(160),
            "a".repeat(161),
            "€".repeat(80),
            "€".repeat(81),
            "验证码".repeat(23),
            "验证码".repeat(24),
            "【Phonebase】您的验证码是 123456，10 分钟内有效。请勿将验证码告诉他人，如非本人操作请忽略本短信。"
                .repeat(3),
            "😀".repeat(40),
        ];
        for text in &texts {
            let parts = segments(text, 7);
            assert_eq!(parts.len() as u32, size(text).parts, "{text}");
            for p in &parts {
                assert!(p.bytes.len() <= 160, "{text}: {} octets", p.bytes.len());
            }
        }
    }

    #[test]
    fn gsm_single_and_ucs2_long() {
        let single = segments("Code @ 1€", 1);
        assert_eq!(single.len(), 1);
        assert_eq!(single[0].coding, DataCoding::McSpecific);
        assert!(!single[0].udh);
        assert_eq!(single[0].bytes, [0x43, 0x6F, 0x64, 0x65, 0x20, 0x00, 0x20, 0x31, 0x1B, 0x65]);

        let long = segments(&"验".repeat(100), 9);
        assert_eq!(long.len(), 2);
        assert!(long.iter().all(|s| s.udh && s.coding == DataCoding::Ucs2));
        assert_eq!(long[0].bytes[..6], [0x05, 0x00, 0x03, 9, 2, 1]);
        assert_eq!(long[1].bytes[..6], [0x05, 0x00, 0x03, 9, 2, 2]);
        assert_eq!(long[0].bytes.len(), 6 + 67 * 2);
        assert_eq!(&long[0].bytes[6..8], &[0x9A, 0x8C]); // 验 U+9A8C
    }

    #[test]
    fn receipt_texts() {
        assert_eq!(
            parse_receipt_text(
                "id:0A1B2C sub:001 dlvrd:001 submit date:2611302201 done date:2611302202 stat:DELIVRD err:000 text:Your code"
            ),
            Some(("0A1B2C".into(), "DELIVRD".into()))
        );
        assert_eq!(parse_receipt_text("ID:77 Stat:undeliv err:001"), Some(("77".into(), "undeliv".into())));
        assert_eq!(parse_receipt_text("stat:DELIVRD"), None);
        assert_eq!(
            parse_receipt_text("id:5 stat:DELIVRD text:id:6 stat:UNDELIV"),
            Some(("5".into(), "DELIVRD".into()))
        );
        let r = final_report("5".into(), "undeliv").unwrap();
        assert!(!r.delivered && r.error_code.as_deref() == Some("UNDELIV"));
        assert!(final_report("5".into(), "DELIVRD").unwrap().delivered);
        assert_eq!(final_report("5".into(), "ENROUTE"), None);
    }

    fn receipt_same(command: &Command) -> Option<Report> {
        receipt(command, IdFormat::Same)
    }

    #[test]
    fn ids_in_hex_and_decimal_meet_and_validity_is_relative() {
        let hd = IdFormat::HexDecimal;
        assert_eq!((hd.of_submit("0000A00F"), hd.of_receipt_text("0000040975")), ("40975".into(), "40975".into()));
        let dh = IdFormat::DecimalHex;
        assert_eq!((dh.of_submit("40975\0"), dh.of_receipt_text("a00f")), ("40975".into(), "40975".into()));
        assert_eq!(IdFormat::Same.of_submit(" 0A1B "), "0A1B", "as written");
        assert_eq!(hd.of_submit("not-hex"), "not-hex", "kept when it does not parse");
        assert_eq!(IdFormat::parse(Some("hex-decimal")), hd);
        assert_eq!(relative_validity(Duration::from_secs(299)), "000000000459000R");
        assert_eq!(relative_validity(Duration::from_secs(90_061)), "000001010101000R");
        assert_eq!(relative_validity(Duration::from_millis(10)), "000000000001000R", "at least a second");
        assert_eq!(relative_validity(Duration::from_secs(u64::MAX)), "000099235959000R");
        assert_eq!(relative_validity(Duration::from_secs(1)).len(), 16);
    }

    #[test]
    fn receipts_from_text_or_tlvs() {
        let deliver = |esm: u8, text: &str, tlvs: Vec<rusmpp::tlvs::MessageDeliveryRequestTlvValue>| {
            let sm = rusmpp::pdus::DeliverSm::builder()
                .esm_class(EsmClass::from(esm))
                .short_message(OctetString::from_str(text).unwrap())
                .tlvs(tlvs)
                .build();
            Command::new(CommandStatus::EsmeRok, 1, sm)
        };
        let r = receipt_same(&deliver(0x04, "id:77 sub:001 dlvrd:000 stat:UNDELIV err:001 text:hi", vec![])).unwrap();
        assert_eq!(
            (r.provider_message_id.as_str(), r.delivered, r.error_code.as_deref()),
            ("77", false, Some("UNDELIV"))
        );
        // TLVs win over the text.
        let tlvs = vec![
            rusmpp::tlvs::MessageDeliveryRequestTlvValue::ReceiptedMessageId(COctetString::from_str("88").unwrap()),
            rusmpp::tlvs::MessageDeliveryRequestTlvValue::MessageState(MessageState::Delivered),
        ];
        let r = receipt_same(&deliver(0x04, "id:77 stat:UNDELIV", tlvs)).unwrap();
        assert_eq!((r.provider_message_id.as_str(), r.delivered), ("88", true));
        // A mobile-originated message is not a receipt; an intermediate state is not final.
        assert_eq!(receipt_same(&deliver(0x00, "id:77 stat:DELIVRD", vec![])), None);
        assert_eq!(receipt_same(&deliver(0x04, "id:77 stat:ENROUTE", vec![])), None);
    }

    #[test]
    fn statuses() {
        assert!(!is_permanent(CommandStatus::EsmeRthrottled));
        assert!(!is_permanent(CommandStatus::EsmeRmsgqful));
        assert!(is_permanent(CommandStatus::EsmeRinvdstadr));
        assert_eq!(status_name(0x58), "ESME_RTHROTTLED");
        assert_eq!(status_name(0x400), "0x00000400");
    }
}
