//! Servers that call an app's open API on its behalf (MinCloud's `/oserve`), and the OAuth grants
//! that let them: authorization codes, access and refresh tokens.

pub mod oauth;
