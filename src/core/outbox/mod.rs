//! What happens to a message once it is queued, seen from the rules: the provider route it takes
//! and the outbox's housekeeping. Delivery itself lives in `crate::delivery`.

pub mod app_providers;
pub mod attempts;
pub mod balance;
pub mod maintenance;
pub mod notices;
pub mod queue;
pub mod routing;
pub mod schedules;
