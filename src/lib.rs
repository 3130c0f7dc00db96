//! Phonebase: self-hosted user accounts with phone authentication that the LeanCloud, Bmob, JPush
//! and MinCloud SDKs talk to unchanged.
//!
//! Rooms: `core` (the rules) over `store` (Diesel, SQLite or PostgreSQL); `delivery` (outbox worker
//! and senders); `http` (shared edge) with one folder per dialect; `upstream` (the LeanCloud API
//! that lazy migration asks); `import` (export files into core); `startup` assembles them.

pub mod config;
pub mod core;
pub mod delivery;
pub mod http;
pub mod import;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod upstream;
