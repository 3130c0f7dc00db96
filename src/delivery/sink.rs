//! The development sink: no SMS account needed. Each message is logged and appended as one JSON
//! line (`to`, `text`, `channel`, `app`, `at`, `id`) to a file, where a developer reads the code.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::{Outcome, Outgoing, SendError, SendFuture, Sender};

pub struct Sink {
    path: PathBuf,
    /// The file, kept open between messages (opening it for each cost two system calls and three
    /// hops to the blocking pool per message). One writer at a time keeps lines whole.
    file: Arc<Mutex<Option<File>>>,
}

impl Sink {
    pub fn new(path: PathBuf) -> Self {
        Self { path, file: Arc::new(Mutex::new(None)) }
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
        let (path, file) = (self.path.clone(), self.file.clone());
        tokio::task::spawn_blocking(move || {
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            // A developer may delete or move the file to start afresh: write where the path
            // points now, not to the old file.
            let current = std::fs::metadata(&path).ok().map(|m| (m.dev(), m.ino()));
            let open = file.as_ref().and_then(|f| f.metadata().ok()).map(|m| (m.dev(), m.ino()));
            if current.is_none() || current != open {
                *file = Some(std::fs::OpenOptions::new().create(true).append(true).open(&path)?);
            }
            // One write of the whole line: an O_APPEND write lands at the end in one piece.
            file.as_mut().expect("opened above").write_all(&line)
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

/// The text with every run of 4 or more digits (the code, whatever the template) masked.
fn masked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() >= 4 {
            out.extend(std::iter::repeat_n('*', digits.len()));
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

impl Sender for Sink {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(async move {
            self.append(message)
                .await
                .map_err(|e| SendError::transient(format!("sink {}: {e}", self.path.display())))?;
            // The file is where a developer reads the code; the log line shows the text without it.
            tracing::info!(to = %message.to, channel = %message.channel, text = %masked(&message.text), "sink delivered message");
            Ok(Outcome::Delivered { provider_id: Some(format!("sink-{}", message.id)) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Outgoing, Sender, Sink};

    fn message(id: &str) -> Outgoing {
        Outgoing {
            id: id.into(),
            app_id: "app".into(),
            to: "+8613800138000".into(),
            channel: "sms".into(),
            text: "code 123456".into(),
            template: None,
            valid_for: None,
        }
    }

    fn ids(path: &std::path::Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// The file is kept open, yet a developer who deletes or moves it to start afresh finds the
    /// next messages in a new file at the configured path.
    #[tokio::test]
    async fn a_deleted_or_moved_file_is_created_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sink.jsonl");
        let sink = Sink::new(path.clone());
        sink.send(&message("m1")).await.unwrap();
        sink.send(&message("m2")).await.unwrap();
        assert_eq!(ids(&path), ["m1", "m2"]);

        std::fs::remove_file(&path).unwrap();
        sink.send(&message("m3")).await.unwrap();
        assert_eq!(ids(&path), ["m3"]);

        let moved = dir.path().join("old.jsonl");
        std::fs::rename(&path, &moved).unwrap();
        sink.send(&message("m4")).await.unwrap();
        assert_eq!(ids(&path), ["m4"]);
        assert_eq!(ids(&moved), ["m3"], "the moved file is left alone");
    }

    #[test]
    fn codes_are_masked_in_the_log_line() {
        assert_eq!(super::masked("验证码 123456，5 分钟内有效"), "验证码 ******，5 分钟内有效");
        assert_eq!(super::masked("code 9876"), "code ****");
        assert_eq!(super::masked("123"), "123");
    }
}
