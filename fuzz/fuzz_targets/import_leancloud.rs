//! `phonebase import leancloud`: an export file (JSON lines of `_User` objects, a JSON array, or
//! `{"results": [...]}`, with or without a byte-order mark) read by `import::read_source`, each
//! record mapped by `import::leancloud::source_record` and checked by the core's `user_row` (the
//! rule lazy migration shares). What holds: no panic; records come in line order, within the
//! file's lines; a record maps to the same digest twice; an accepted user keeps its objectId, and
//! its phone number, when it has one, is an E.164 number that parses to itself.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use phonebase::core::accounts::import::user_row;
use phonebase::core::phone::Phone;
use phonebase::import::leancloud::{RawRecord, exported_user, source_record};
use phonebase::import::read_source;

fuzz_target!(|data: &[u8]| {
    let Some((&which, file)) = data.split_first() else { return };
    // The name decides JSON lines (`.jsonl`) or a look at the first bytes.
    let name: Arc<str> = if which & 1 == 0 { "_User.jsonl".into() } else { "_User.json".into() };
    let lines = file.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let mut last_line = 0;
    let mut sink = |raw: RawRecord| -> anyhow::Result<()> {
        assert!(raw.line >= 1 && raw.line <= lines, "line {} of {lines}", raw.line);
        assert!(raw.line >= last_line, "line {} after {last_line}", raw.line);
        last_line = raw.line;
        if let Ok(record) = &raw.record {
            let once = exported_user(record.clone()).map(|u| u.digest);
            let twice = exported_user(record.clone()).map(|u| u.digest);
            assert_eq!(once, twice, "the digest of a record is stable");
        }
        let source = source_record(raw);
        let Ok(user) = source.user else { return Ok(()) };
        let Ok(row) = user_row("app", user) else { return Ok(()) };
        assert_eq!(Some(&row.id), source.object_id.as_ref());
        if let Some(e164) = &row.phone_e164 {
            let phone = Phone::parse(e164).unwrap_or_else(|e| panic!("{e164:?} does not parse again: {e}"));
            assert_eq!(phone.e164(), e164);
        }
        serde_json::from_str::<serde_json::Value>(&row.fields).expect("custom fields are JSON");
        Ok(())
    };
    let _ = read_source(&name, file, &mut sink);
});
