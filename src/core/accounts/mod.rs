//! Users and what they do with their account: sign-up and login, the phone flows, sessions and
//! tokens, passwords and the lockout, the move-in import and lazy migration.

pub mod import;
pub mod lockout;
pub mod passwords;
pub mod sessions;
pub mod tokens;
pub mod upstream;
pub mod users;
