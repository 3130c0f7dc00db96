//! SMPP delivery receipts: the Appendix B text (`id:... stat:... text:...`, vendor specific) read
//! by `smpp::parse_receipt_text`, and a whole `deliver_sm` (decoded from the wire by rusmpp, or
//! built around the text) read by `smpp::receipt`. What holds: no panic; an id is non-empty and
//! has no blanks; the text's id and state are words of the text before `text:`; a receipt built
//! from a text without TLVs carries the text's id and says delivered exactly for `DELIVRD`.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use phonebase::delivery::smpp::{IdFormat, parse_receipt_text, receipt};
use rusmpp::decode::DecodeWithLength;
use rusmpp::pdus::DeliverSm;
use rusmpp::types::OctetString;
use rusmpp::values::EsmClass;
use rusmpp::{Command, CommandStatus};

fuzz_target!(|data: &[u8]| {
    // The bytes as a command after its length field, as the session's codec hands it over.
    let mut wire = BytesMut::from(data);
    if let Ok((command, _)) = Command::decode(&mut wire, data.len()) {
        for ids in [IdFormat::Same, IdFormat::HexDecimal, IdFormat::DecimalHex] {
            let _ = receipt(&command, ids);
        }
    }
    let text = String::from_utf8_lossy(data);
    let parsed = parse_receipt_text(&text);
    if let Some((id, stat)) = &parsed {
        assert!(!id.is_empty() && !id.contains(char::is_whitespace), "{id:?}");
        assert!(!stat.contains(char::is_whitespace), "{stat:?}");
        let head = &text[..text.to_ascii_lowercase().find("text:").unwrap_or(text.len())];
        assert!(head.contains(id.as_str()) && head.contains(stat.as_str()));
    }
    // The same text as the short message of a receipt without TLVs.
    let Ok(short) = OctetString::new(data.to_vec()) else { return };
    let sm = DeliverSm::builder().esm_class(EsmClass::from(0x04)).short_message(short).build();
    let report = receipt(&Command::new(CommandStatus::EsmeRok, 1, sm), IdFormat::Same);
    match (&parsed, report) {
        (None, Some(r)) => panic!("a receipt without an id: {r:?}"),
        (Some((id, stat)), Some(r)) => {
            let trimmed = id.trim_matches(|c: char| c == '\0' || c.is_whitespace());
            assert_eq!(r.provider_message_id, trimmed);
            let upper = stat.to_ascii_uppercase();
            assert_eq!(r.delivered, upper == "DELIVRD" || upper == "DELIVERED", "{stat:?}");
        }
        _ => {}
    }
});
