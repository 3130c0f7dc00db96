//! MinCloud's `Authorization: Hydrogen-r1 <session token>` (client API) and `Bearer <access
//! token>` (open API), as `mincloud::auth::authorization` reads them. What holds: no panic; a
//! credential is 1 to 128 characters without surrounding blanks, under the asked scheme (in any
//! case), and written again reads the same.
#![no_main]

use actix_web::test::TestRequest;
use libfuzzer_sys::fuzz_target;
use phonebase::http::mincloud::auth::authorization;

fuzz_target!(|data: &[u8]| {
    let Some((&which, value)) = data.split_first() else { return };
    let scheme = if which & 1 == 0 { "Hydrogen-r1" } else { "Bearer" };
    let Ok(header) = actix_web::http::header::HeaderValue::from_bytes(value) else { return };
    let req = TestRequest::default().insert_header(("Authorization", header)).to_http_request();
    let Some(credential) = authorization(&req, scheme) else { return };
    assert!(!credential.is_empty() && credential.len() <= 128, "{credential:?}");
    assert_eq!(credential, credential.trim());
    let text = std::str::from_utf8(value).expect("a credential is read only from a text header").trim();
    let (given, _) = text.split_once(' ').expect("scheme, then the credential");
    assert!(given.eq_ignore_ascii_case(scheme), "{given:?} is not {scheme}");
    let again =
        TestRequest::default().insert_header(("Authorization", format!("{scheme} {credential}"))).to_http_request();
    assert_eq!(authorization(&again, scheme), Some(credential));
});
