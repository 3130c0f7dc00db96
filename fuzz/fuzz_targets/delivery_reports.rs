//! The delivery reports Aliyun and Tencent Cloud push (unsigned JSON arrays, behind a token in the
//! path). What holds: no panic; a body is read only when it is a JSON array, into at most one
//! report per element, each naming a message id found in its element.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phonebase::delivery::{aliyun, tencent};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let array = serde_json::from_slice::<Vec<Value>>(data).ok();
    for (name, reports) in [("aliyun", aliyun::parse_reports(data)), ("tencent", tencent::parse_reports(data))] {
        assert_eq!(reports.is_some(), array.is_some(), "{name}: read only a JSON array");
        let (Some(reports), Some(items)) = (reports, &array) else { continue };
        assert!(reports.len() <= items.len(), "{name}: more reports than elements");
        let text = |v: &Value| v.as_str().map(str::to_string);
        let ids: Vec<String> =
            items.iter().flat_map(|i| [text(&i["biz_id"]), text(&i["MessageId"]), text(&i["sid"])]).flatten().collect();
        for r in &reports {
            assert!(ids.contains(&r.provider_message_id), "{name}: {r:?}");
        }
    }
});
