//! SMPP delivery against a real SMSC: the `smpp34` crate's server, in-process on a free port,
//! scripted to check the bind credentials, answer message ids, push `deliver_sm` receipts (Appendix
//! B text and TLVs), throttle one number once and drop the session once.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use smpp34::server::ESME;
use smpp34::{
    SmppConnectionInformation, SmppError, SmppServer, SmppServerListener, TlvTag, bind_transceiver,
    bind_transceiver_resp, submit_sm, submit_sm_resp,
};
use tokio::sync::Mutex;

use crate::helpers::{Options, TestApp, TestDb};
use phonebase::config::ProviderConfig;
use phonebase::core::review::{Content, Decision};
use phonebase::core::texts::templates::{Category, size};
use phonebase::store;

const THROTTLED: &str = "8613800138402";
const DROPS: &str = "8613800138401";
/// Numbers the SMSC takes its time with.
const SLOW: &str = "86138001385";

#[derive(Debug, Clone)]
struct Submitted {
    to: String,
    esm_class: u8,
    data_coding: u8,
    registered_delivery: u8,
    validity_period: String,
    short_message: Vec<u8>,
}

#[derive(Default)]
struct Smsc {
    esmes: Mutex<HashMap<String, Arc<ESME>>>,
    binds: AtomicUsize,
    refused_binds: AtomicUsize,
    ids: AtomicUsize,
    throttled: AtomicBool,
    dropped: AtomicBool,
    submitted: std::sync::Mutex<Vec<Submitted>>,
    /// Submits being answered now, and the most there ever were.
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    /// Receipts as some SMSCs write them: the id in decimal (zero-padded) in the text only, while
    /// `submit_sm_resp` gave it in hex.
    decimal_receipts: AtomicBool,
}

#[async_trait]
impl SmppServerListener for Smsc {
    async fn on_bind_transceiver(
        &self,
        req: bind_transceiver,
        _c: &SmppConnectionInformation,
        _s: &String,
    ) -> bind_transceiver_resp {
        if req.system_id != "phonebase" || req.password != "s3cret" {
            self.refused_binds.fetch_add(1, Ordering::SeqCst);
            return req.reject(SmppError::ESME_RINVPASWD);
        }
        self.binds.fetch_add(1, Ordering::SeqCst);
        req.accept("TestSMSC".to_string(), Some(0x34))
    }

    async fn on_esme_bound(&self, esme: ESME, session_id: &String) {
        self.esmes.lock().await.insert(session_id.clone(), Arc::new(esme));
    }

    async fn on_esme_unbound(&self, session_id: &String) {
        self.esmes.lock().await.remove(session_id);
    }

    async fn on_submit_sm(
        &self,
        req: submit_sm,
        _c: &SmppConnectionInformation,
        session_id: &String,
    ) -> submit_sm_resp {
        self.submitted.lock().unwrap().push(Submitted {
            to: req.destination_addr.clone(),
            esm_class: req.esm_class,
            data_coding: req.data_coding,
            registered_delivery: req.registered_delivery,
            validity_period: req.validity_period.clone(),
            short_message: req.short_message.clone(),
        });
        if req.destination_addr.starts_with(SLOW) {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(300)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        if req.destination_addr == THROTTLED && !self.throttled.swap(true, Ordering::SeqCst) {
            return req.reject(SmppError::ESME_RTHROTTLED);
        }
        let number = 0xA000 + self.ids.fetch_add(1, Ordering::SeqCst);
        let id = format!("{number:08X}");
        let decimal = self.decimal_receipts.load(Ordering::SeqCst);
        let drop_after = req.destination_addr == DROPS && !self.dropped.swap(true, Ordering::SeqCst);
        if req.registered_delivery & 1 == 1
            && let Some(esme) = self.esmes.lock().await.get(session_id).cloned()
        {
            let (to, from, receipted) = (req.source_addr.clone(), req.destination_addr.clone(), id.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let shown = if decimal { format!("{number:010}") } else { receipted.clone() };
                let text = format!(
                    "id:{shown} sub:001 dlvrd:001 submit date:2611302201 done date:2611302201 stat:DELIVRD err:000 text:"
                );
                let receipt = esme.deliver_sm().source_addr(from).destination_addr(to).esm_class(0x04);
                let receipt = receipt.short_message(text.into_bytes());
                let _ = if decimal {
                    receipt.send().await
                } else {
                    receipt
                        .tlv(TlvTag::ReceiptedMessageId, format!("{receipted}\0").into_bytes())
                        .tlv(TlvTag::MessageStateTlv, [2])
                        .send()
                        .await
                };
                if drop_after {
                    // The SMSC ends the session: the next message needs a new bind.
                    let _ = esme.send_unbind().await;
                }
            });
        }
        req.accept(id)
    }
}

struct Peer {
    smsc: Arc<Smsc>,
    server: SmppServer,
    port: u16,
}

async fn start_smsc() -> Peer {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let smsc = Arc::new(Smsc::default());
    let mut server = SmppServer::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port, smsc.clone());
    server.start().await;
    assert!(server.is_alive(), "SMSC listening on {port}");
    Peer { smsc, server, port }
}

fn smpp_config(port: u16, password: &str) -> ProviderConfig {
    serde_json::from_value(json!({
        "name": "smsc", "kind": "smpp", "endpoint": format!("127.0.0.1:{port}"),
        "system_id": "phonebase", "password": password, "from": "Phonebase",
        "window": 4, "enquire_link_secs": 5, "timeout_secs": 3,
    }))
    .unwrap()
}

fn messages(app: &TestApp) -> Vec<store::messages::MessageRow> {
    let mut conn = app.core.pool().get().unwrap();
    store::messages::list_for_app(&mut conn, &app.app.id, 100).unwrap()
}

fn attempts(app: &TestApp, message_id: &str) -> Vec<store::delivery::AttemptRow> {
    let mut conn = app.core.pool().get().unwrap();
    store::delivery::attempts_of(&mut conn, message_id).unwrap()
}

async fn wait_status(app: &TestApp, to: &str, status: &str) -> store::messages::MessageRow {
    for _ in 0..400 {
        if let Some(m) = messages(app).into_iter().find(|m| m.to_phone == to)
            && m.status == status
        {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "no message to {to} reached {status}: {:?}",
        messages(app).iter().map(|m| (&m.to_phone, &m.status, &m.last_error)).collect::<Vec<_>>()
    );
}

fn ucs2(bytes: &[u8]) -> String {
    String::from_utf16(&bytes.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect::<Vec<_>>()).unwrap()
}

fn submitted_to(peer: &Peer, to: &str) -> Vec<Submitted> {
    peer.smsc.submitted.lock().unwrap().iter().filter(|s| s.to == to).cloned().collect()
}

#[tokio::test]
async fn smpp_sends_reconnects_retries_throttling_and_records_receipts() {
    let db = TestDb::new();
    let mut peer = start_smsc().await;
    let app =
        TestApp::spawn_with(&db, Options { providers: vec![smpp_config(peer.port, "s3cret")], ..Default::default() })
            .await;
    app.update_settings(json!({"limits": {"phone_per_minute": 0, "phone_per_hour": 0, "phone_per_day": 0}}));

    // A short GSM text: one part, receipt requested, the SMSC's id kept, the receipt applied.
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138401"})).await.0, 200);
    let first = wait_status(&app, "+8613800138401", "delivered").await;
    assert_eq!(first.provider.as_deref(), Some("smsc"));
    let parts = submitted_to(&peer, DROPS);
    assert_eq!(parts.len(), 1);
    assert_eq!((parts[0].esm_class, parts[0].registered_delivery), (0, 1));
    assert_eq!(first.provider_id.as_deref(), Some("0000A000"));
    let tried = attempts(&app, &first.id);
    assert_eq!(
        tried.iter().map(|a| (a.outcome.as_str(), a.provider_message_id.as_deref())).collect::<Vec<_>>(),
        vec![("delivered", Some("0000A000"))],
        "the receipt reached the attempt too"
    );
    // The code that went out is the code that verifies.
    // The Chinese built-in text: UCS-2, big-endian.
    assert_eq!(parts[0].data_coding, 0x08);
    let text = ucs2(&parts[0].short_message);
    let code = text.split(|c: char| !c.is_ascii_digit()).find(|run| run.len() == 6).unwrap();
    assert_eq!(app.verify_code(code, "13800138401").await.0, 200, "{text}");

    // The SMSC dropped the session after that receipt; the next message binds again, is throttled
    // once (retryable), and goes through on the retry.
    for _ in 0..100 {
        if peer.smsc.esmes.lock().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(peer.smsc.esmes.lock().await.is_empty(), "the SMSC ended the session");
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138402"})).await.0, 200);
    let second = wait_status(&app, "+8613800138402", "delivered").await;
    assert_eq!(peer.smsc.binds.load(Ordering::SeqCst), 2, "one reconnect");
    let tried = attempts(&app, &second.id);
    assert_eq!(tried.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(), vec!["retry", "delivered"]);
    assert_eq!(tried[0].error_code.as_deref(), Some("ESME_RTHROTTLED"));
    assert_eq!(submitted_to(&peer, THROTTLED).len(), 2);

    // A long Chinese text: UCS-2 parts with a concatenation UDH, as many as we count.
    let body = "尊敬的用户您好，您正在登录小卖部会员中心，本次操作的验证码为 {{code}}，有效期 {{ttl}} 分钟。为了保障您的账户安全，请勿将验证码告诉任何人，包括自称客服的人员。如果这不是您本人的操作，请立即修改密码并联系我们的客服热线。感谢您一直以来对小卖部的支持与信任，祝您生活愉快，万事如意！";
    let content = Content::Template {
        body: body.into(),
        category: Category::Verification,
        signature: None,
        captcha_required: false,
    };
    let item = app.core.create_item(&app.app, "long", content, true, "owner").unwrap();
    app.core.review(&item.open.as_ref().unwrap().id, Decision::Approve, "operator:op").unwrap();
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138403", "template": "long"})).await;
    assert_eq!(status, 200, "{body}");
    let third = wait_status(&app, "+8613800138403", "delivered").await;
    let parts = submitted_to(&peer, "8613800138403");
    assert!(parts.len() > 1, "{} parts", parts.len());
    let mut text = String::new();
    for (i, p) in parts.iter().enumerate() {
        assert_eq!((p.data_coding, p.esm_class), (0x08, 0x40), "part {i}");
        let udh = &p.short_message[..6];
        assert_eq!((udh[0], udh[1], udh[2]), (0x05, 0x00, 0x03));
        assert_eq!((usize::from(udh[4]), usize::from(udh[5])), (parts.len(), i + 1));
        assert_eq!(udh[3], parts[0].short_message[3], "one reference for every part");
        assert_eq!(p.registered_delivery, u8::from(i + 1 == parts.len()), "a receipt for the last part only");
        text.push_str(&ucs2(&p.short_message[6..]));
    }
    assert!(text.contains("感谢您一直以来对小卖部的支持与信任"), "{text}");
    assert_eq!(parts.len() as u32, size(&text).parts, "the SMSC got as many parts as we count");
    assert_eq!(third.provider_id.as_deref(), Some(format!("{:08X}", 0xA000 + 1 + parts.len()).as_str()));
    assert_eq!(peer.smsc.refused_binds.load(Ordering::SeqCst), 0);
    peer.server.stop().await;
}

#[tokio::test]
async fn smpp_wrong_password_is_a_retryable_bind_failure() {
    let db = TestDb::new();
    let mut peer = start_smsc().await;
    let app =
        TestApp::spawn_with(&db, Options { providers: vec![smpp_config(peer.port, "wrong")], ..Default::default() })
            .await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138404"})).await.0, 200);
    let mut tried = Vec::new();
    for _ in 0..200 {
        if let Some(m) = messages(&app).into_iter().find(|m| m.to_phone == "+8613800138404") {
            tried = attempts(&app, &m.id);
            if !tried.is_empty() {
                assert_eq!(m.status, "queued", "a bind failure is retried later");
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(tried.len(), 1, "{tried:?}");
    assert_eq!((tried[0].outcome.as_str(), tried[0].error_code.as_deref()), ("retry", Some("SMPP_BIND")));
    assert!(tried[0].error.as_deref().unwrap().contains("ESME_RINVPASWD"), "{tried:?}");
    assert!(peer.smsc.refused_binds.load(Ordering::SeqCst) >= 1);
    assert_eq!(peer.smsc.binds.load(Ordering::SeqCst), 0);
    assert!(peer.smsc.submitted.lock().unwrap().is_empty());
    peer.server.stop().await;
}

#[tokio::test]
async fn smpp_keeps_at_most_window_messages_outstanding() {
    let db = TestDb::new();
    let mut peer = start_smsc().await;
    let mut config = smpp_config(peer.port, "s3cret");
    config.window = Some(2);
    let app = TestApp::spawn_with(&db, Options { providers: vec![config], ..Default::default() }).await;
    app.update_settings(json!({"limits": {"phone_per_minute": 0, "phone_per_hour": 0, "phone_per_day": 0}}));
    for i in 1..=5 {
        let phone = format!("1380013850{i}");
        assert_eq!(app.request_code(json!({"mobilePhoneNumber": phone})).await.0, 200);
    }
    for i in 1..=5 {
        wait_status(&app, &format!("+861380013850{i}"), "delivered").await;
    }
    // The worker sends up to 8 at once; the session lets 2 through at a time.
    assert_eq!(peer.smsc.most_in_flight.load(Ordering::SeqCst), 2);
    assert_eq!(peer.smsc.binds.load(Ordering::SeqCst), 1, "one session for all");
    peer.server.stop().await;
}

#[tokio::test]
async fn smpp_sets_the_codes_validity_and_reconciles_hex_and_decimal_ids() {
    let db = TestDb::new();
    let mut peer = start_smsc().await;
    peer.smsc.decimal_receipts.store(true, Ordering::SeqCst);
    let mut config = smpp_config(peer.port, "s3cret");
    config.message_id_format = Some("hex-decimal".into());
    let app = TestApp::spawn_with(&db, Options { providers: vec![config], ..Default::default() }).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138406", "ttl": 5})).await.0, 200);
    // The receipt says id:0000040960 in its text only; submit_sm_resp said 0000A000.
    let message = wait_status(&app, "+8613800138406", "delivered").await;
    assert_eq!(message.provider_id.as_deref(), Some("40960"));
    let tried = attempts(&app, &message.id);
    assert_eq!(
        tried.iter().map(|a| (a.outcome.as_str(), a.provider_message_id.as_deref())).collect::<Vec<_>>(),
        vec![("delivered", Some("40960"))]
    );
    // The code's remaining lifetime, relative (SMPP 3.4 §7.1.1): just under five minutes.
    let parts = submitted_to(&peer, "8613800138406");
    let validity = &parts[0].validity_period;
    assert!(validity.starts_with("000000000") && validity.ends_with("000R") && validity.len() == 16, "{validity}");
    let secs = |s: &str| {
        s[6..8].parse::<u64>().unwrap() * 3600
            + s[8..10].parse::<u64>().unwrap() * 60
            + s[10..12].parse::<u64>().unwrap()
    };
    assert!((290..=300).contains(&secs(validity)), "{validity}");
    peer.server.stop().await;
}
