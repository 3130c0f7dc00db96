//! Getting messages out: the outbox worker and the `Sender`s it hands messages to. Only this
//! module knows a concrete way of sending; everything else sees the `Sender` trait.

pub mod sink;
pub mod worker;

use std::future::Future;
use std::pin::Pin;

/// A message taken from the outbox, body opened.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: String,
    pub app_id: String,
    pub to: String,
    /// `sms` or `voice`.
    pub channel: String,
    pub text: String,
}

/// How far a sender got with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the provider; a delivery report may follow.
    Sent { provider_id: Option<String> },
    /// Known to have reached its destination (the development sink stores it at once).
    Delivered { provider_id: Option<String> },
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub message: String,
    /// A permanent failure is not retried (a number the provider refuses, a rejected template).
    pub permanent: bool,
}

impl SendError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self { message: message.into(), permanent: false }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), permanent: true }
    }
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Outcome, SendError>> + Send + 'a>>;

pub trait Sender: Send + Sync + 'static {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a>;
}
