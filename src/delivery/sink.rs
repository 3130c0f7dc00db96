//! The development sink: no SMS account needed. Each message is logged and appended as one JSON
//! line (`to`, `text`, `channel`, `app`, `at`, `id`) to a file, where a developer reads the code.

use std::path::PathBuf;

use tokio::io::AsyncWriteExt;

use super::{Outcome, Outgoing, SendError, SendFuture, Sender};

pub struct Sink {
    path: PathBuf,
    // One writer at a time keeps lines whole.
    lock: tokio::sync::Mutex<()>,
}

impl Sink {
    pub fn new(path: PathBuf) -> Self {
        Self { path, lock: tokio::sync::Mutex::new(()) }
    }

    async fn append(&self, message: &Outgoing) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&serde_json::json!({
            "to": message.to,
            "text": message.text,
            "channel": message.channel,
            "app": message.app_id,
            "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "id": message.id,
        }))?;
        line.push(b'\n');
        let _guard = self.lock.lock().await;
        let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(&self.path).await?;
        file.write_all(&line).await?;
        file.flush().await
    }
}

impl Sender for Sink {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(async move {
            self.append(message)
                .await
                .map_err(|e| SendError::transient(format!("sink {}: {e}", self.path.display())))?;
            tracing::info!(to = %message.to, channel = %message.channel, text = %message.text, "sink delivered message");
            Ok(Outcome::Delivered { provider_id: Some(format!("sink-{}", message.id)) })
        })
    }
}
