//! `phonebase import leancloud`: reads a LeanCloud `_User` export (the console's zip, a folder,
//! or files), maps its records to core's exported users ([`leancloud`], on the reading thread),
//! streams them in batches to the core's importer, shows progress, and prints the summary. Formats: JSON lines (`.jsonl`, an optional `#filetype` header line), the REST
//! scan/query shape `{"results":[...]}`, and a `.json` file holding one array. Files are
//! streamed, never read whole, so memory stays flat whatever their size.

use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

pub mod leancloud;

use self::leancloud::RawRecord;
use crate::core::Core;
use crate::core::accounts::import::{ImportOptions, ImportReport, PreparedRecord, Preparer};

pub struct ImportArgs {
    pub app_id: String,
    pub options: ImportOptions,
    pub paths: Vec<PathBuf>,
    pub batch_size: usize,
    pub pause: Duration,
    pub json: bool,
}

/// One file to read: on disk, or an entry of a zip archive.
#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    ZipEntry { archive: PathBuf, index: usize, name: String },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::ZipEntry { archive, name, .. } => write!(f, "{}!{name}", archive.display()),
        }
    }
}

fn is_export_file(name: &str) -> bool {
    name.ends_with(".jsonl") || name.ends_with(".json")
}

/// In folders and archives only the `_User` class is read (an export may hold other classes).
fn is_user_export(name: &str) -> bool {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.starts_with("_User") && is_export_file(base)
}

fn is_zip(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; 4];
    let n = File::open(path)?.read(&mut magic)?;
    Ok(n == 4 && magic == *b"PK\x03\x04")
}

/// The files to read, in a stable order: arguments in order, folder and archive entries sorted.
fn sources(paths: &[PathBuf]) -> anyhow::Result<Vec<Source>> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            anyhow::ensure!(!found.is_empty(), "{} holds no _User*.jsonl or _User*.json file", path.display());
            out.extend(found.into_iter().map(Source::File));
        } else if is_zip(path)? {
            let mut archive = zip::ZipArchive::new(File::open(path)?)
                .with_context(|| format!("{} is not a readable zip archive", path.display()))?;
            let mut entries = Vec::new();
            for index in 0..archive.len() {
                let entry = archive.by_index(index)?;
                let name = entry.name()?.to_string();
                if !entry.is_dir() && is_user_export(&name) {
                    entries.push((name, index));
                }
            }
            entries.sort();
            anyhow::ensure!(!entries.is_empty(), "{} holds no _User*.jsonl or _User*.json file", path.display());
            out.extend(entries.into_iter().map(|(name, index)| Source::ZipEntry {
                archive: path.clone(),
                index,
                name,
            }));
        } else {
            out.push(Source::File(path.clone()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if path.file_name().and_then(|n| n.to_str()).is_some_and(is_user_export) {
            found.push(path);
        }
    }
    Ok(())
}

/// Counts the lines a reader has handed out, so that streamed array elements can be located.
struct LineCounter<R> {
    inner: R,
    newlines: Rc<Cell<u64>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.newlines.set(self.newlines.get() + buf[..n].iter().filter(|&&b| b == b'\n').count() as u64);
        Ok(n)
    }
}

type Sink<'a> = dyn FnMut(RawRecord) -> anyhow::Result<()> + 'a;

fn record_of(value: Value) -> Result<Map<String, Value>, String> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(format!("not a JSON object but {}", kind(&other))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// JSON lines: one record per line; blank lines and `#` lines (the `#filetype` header) skipped.
/// A line that is not a JSON object is a refused record, and reading goes on.
fn read_lines(file: &Arc<str>, mut reader: impl BufRead, sink: &mut Sink<'_>) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        line += 1;
        let text = buf.trim_ascii();
        if text.is_empty() || text.starts_with(b"#") {
            continue;
        }
        let record =
            serde_json::from_slice::<Value>(text).map_err(|e| format!("not valid JSON: {e}")).and_then(record_of);
        sink(RawRecord { file: file.clone(), line, record })?;
    }
}

/// Streams the elements of a JSON array to the sink, one at a time.
struct ArrayStream<'s, 'a> {
    file: &'s Arc<str>,
    /// Newlines read so far: an element ends on line `newlines + 1`.
    newlines: Rc<Cell<u64>>,
    sink: &'s mut Sink<'a>,
    /// An error of the sink (not of the JSON), carried out through serde.
    failed: &'s mut Option<anyhow::Error>,
}

impl<'de> DeserializeSeed<'de> for ArrayStream<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArrayStream<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            let line = self.newlines.get() + 1;
            if let Err(e) = (self.sink)(RawRecord { file: self.file.clone(), line, record: record_of(value) }) {
                *self.failed = Some(e);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// `{"results": [...], ...}`: streams `results`, skips every other key.
struct ResultsStream<'s, 'a>(ArrayStream<'s, 'a>);

impl<'de> Visitor<'de> for ResultsStream<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"an object with "results""#)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut stream = Some(self.0);
        while let Some(key) = map.next_key::<String>()? {
            match (key.as_str(), stream.take()) {
                ("results", Some(s)) => map.next_value_seed(s)?,
                (_, s) => {
                    stream = s;
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if stream.is_some() {
            return Err(de::Error::custom(r#"no "results" array"#));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Lines,
    Array,
    Results,
}

/// Tells the shape from the name and the first bytes, without consuming them.
fn shape(name: &str, reader: &mut impl BufRead) -> io::Result<Shape> {
    if name.ends_with(".jsonl") {
        return Ok(Shape::Lines);
    }
    let head = reader.fill_buf()?;
    let text = String::from_utf8_lossy(&head[..head.len().min(256)]);
    let text = text.trim_start();
    Ok(if text.starts_with('[') {
        Shape::Array
    } else if text
        .strip_prefix('{')
        .map(str::trim_start)
        .is_some_and(|t| t.starts_with("\"results\"") || t.starts_with("\"cursor\""))
    {
        Shape::Results
    } else {
        Shape::Lines
    })
}

/// Skips a UTF-8 byte-order mark (Windows tools write one) at the start of a file.
fn skip_bom(reader: &mut impl BufRead) -> io::Result<()> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let mut seen = 0;
    // A reader may hand out fewer than three bytes at a time.
    while seen < BOM.len() {
        let head = reader.fill_buf()?;
        if head.is_empty() {
            return Ok(());
        }
        let n = head.len().min(BOM.len() - seen);
        if head[..n] != BOM[seen..seen + n] {
            // Not a BOM: nothing was consumed unless a partial match was, which cannot be a
            // valid start of JSON anyway.
            return Ok(());
        }
        reader.consume(n);
        seen += n;
    }
    Ok(())
}

/// Reads one export file (JSON lines, an array, or `{"results": [...]}`), handing each record to
/// `sink`. Public for the fuzz target `import_leancloud`.
#[doc(hidden)]
pub fn read_source(name: &Arc<str>, reader: impl Read, sink: &mut Sink<'_>) -> anyhow::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    skip_bom(&mut reader)?;
    let shape = shape(name, &mut reader)?;
    if shape == Shape::Lines {
        return read_lines(name, reader, sink);
    }
    let newlines = Rc::new(Cell::new(0));
    let counter = LineCounter { inner: reader, newlines: newlines.clone() };
    let mut failed = None;
    let mut de = serde_json::Deserializer::from_reader(counter);
    let stream = ArrayStream { file: name, newlines, sink, failed: &mut failed };
    let result = match shape {
        Shape::Array => de.deserialize_seq(stream),
        _ => de.deserialize_map(ResultsStream(stream)),
    };
    let result = result.and_then(|()| de.end());
    if let Some(e) = failed {
        return Err(e);
    }
    if let Err(e) = result {
        // The rest of this file cannot be read (JSON arrays do not resynchronise); say where.
        sink(RawRecord {
            file: name.clone(),
            line: e.line() as u64,
            record: Err(format!("the file is not valid JSON from here on ({e}); the rest of it was not read")),
        })?;
    }
    Ok(())
}

/// Maps a batch from LeanCloud's format and checks it, on the reading thread.
fn prepare(preparer: &Preparer, batch: Vec<RawRecord>) -> Vec<PreparedRecord> {
    preparer.prepare(batch.into_iter().map(leancloud::source_record).collect())
}

/// Reads every source on its own thread, maps full batches to rows there and sends them down
/// `batches`, so that reading, parsing and mapping overlap with the database writes; at most two
/// batches wait in between, which keeps memory flat.
fn read_all(
    sources: &[Source],
    batch_size: usize,
    preparer: &Preparer,
    batches: SyncSender<Vec<PreparedRecord>>,
) -> anyhow::Result<()> {
    let mut batch = Vec::with_capacity(batch_size);
    for source in sources {
        let name: Arc<str> = source.to_string().into();
        let mut sink = |r: RawRecord| -> anyhow::Result<()> {
            batch.push(r);
            if batch.len() >= batch_size {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                batches.send(prepare(preparer, full)).map_err(|_| anyhow::anyhow!("the import stopped"))?;
            }
            Ok(())
        };
        match source {
            Source::File(path) => {
                let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
                read_source(&name, file, &mut sink)?;
            }
            Source::ZipEntry { archive, index, .. } => {
                let mut zip = zip::ZipArchive::new(File::open(archive)?)?;
                let entry = zip.by_index(*index)?;
                read_source(&name, entry, &mut sink)?;
            }
        }
    }
    if !batch.is_empty() {
        batches.send(prepare(preparer, batch)).map_err(|_| anyhow::anyhow!("the import stopped"))?;
    }
    Ok(())
}

/// Runs the import (blocking) and prints the summary.
pub fn run(core: &Core, args: ImportArgs) -> anyhow::Result<()> {
    let sources = sources(&args.paths)?;
    let mut importer = core.importer(&args.app_id, args.options).with_context(|| format!("app {}", args.app_id))?;
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {human_pos} users ({per_sec}) {msg}")
            .expect("the template is valid"),
    );
    progress.enable_steady_tick(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let batch_size = args.batch_size.max(1);
    let preparer = importer.preparer();
    let reader = std::thread::Builder::new()
        .name("import-reader".into())
        .spawn(move || read_all(&sources, batch_size, &preparer, tx))?;
    let mut report = ImportReport::default();
    for batch in rx {
        report.add(importer.import_batch(&batch)?);
        progress.inc(batch.len() as u64);
        progress.set_message(format!(
            "created {}, updated {}, unchanged {}, refused {}",
            report.created,
            report.updated,
            report.unchanged,
            report.refused.len()
        ));
        if !args.pause.is_zero() {
            std::thread::sleep(args.pause);
        }
    }
    reader.join().map_err(|_| anyhow::anyhow!("the reading thread panicked"))??;
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        v["dryRun"] = args.options.dry_run.into();
        v["seconds"] = seconds.into();
        println!("{v}");
        return Ok(());
    }
    let rate = if seconds > 0.0 { report.records() as f64 / seconds } else { 0.0 };
    println!(
        "{}{} records in {seconds:.1} s ({rate:.0}/s): created {}, updated {}, unchanged {}, refused {}",
        if args.options.dry_run { "dry run, nothing written: " } else { "" },
        report.records(),
        report.created,
        report.updated,
        report.unchanged,
        report.refused.len()
    );
    for r in &report.refused {
        println!("refused  {}:{}  {}  {}", r.file, r.line, r.object_id.as_deref().unwrap_or("-"), r.reason);
    }
    for r in &report.notes {
        println!("note     {}:{}  {}  {}", r.file, r.line, r.object_id.as_deref().unwrap_or("-"), r.reason);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Lines = Vec<(u64, Result<Map<String, Value>, String>)>;

    fn read(name: &str, text: &str) -> Lines {
        let mut out = Vec::new();
        let name: Arc<str> = name.into();
        read_source(&name, text.as_bytes(), &mut |r: RawRecord| {
            out.push((r.line, r.record));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn json_lines_with_header() {
        let got = read(
            "_User.0.jsonl",
            "#filetype:JSON-streaming {\"type\":\"Class\"}\n{\"objectId\":\"a\"}\n\nnot json\n[1]\n{\"objectId\":\"b\"}",
        );
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].0, 2);
        assert_eq!(got[0].1.as_ref().unwrap()["objectId"], "a");
        assert!(got[1].1.as_ref().unwrap_err().contains("not valid JSON"));
        assert_eq!(got[1].0, 4);
        assert!(got[2].1.as_ref().unwrap_err().contains("array"));
        assert_eq!(got[3].0, 6);
    }

    #[test]
    fn arrays_and_results() {
        let got = read("u.json", "[\n{\"objectId\":\"a\"},\n{\"objectId\":\"b\"},\n\"x\"\n]");
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), vec![2, 3, 4]);
        assert!(got[2].1.is_err());
        let got = read("u.json", "{\"results\":[{\"objectId\":\"a\"},{\"objectId\":\"b\"}],\"cursor\":\"x\"}");
        assert_eq!(got.len(), 2);
        let got = read("u.json", "{\"cursor\":\"x\",\"results\":[{\"objectId\":\"a\"}]}");
        assert_eq!(got.len(), 1);
        // A .json file of JSON lines is read as lines.
        let got = read("_User.json", "{\"objectId\":\"a\"}\n{\"objectId\":\"b\"}\n");
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn broken_array_is_reported_not_fatal() {
        let got = read("u.json", "[\n{\"objectId\":\"a\"},\n{\"objectId\":\n");
        assert_eq!(got.len(), 2);
        assert!(got[1].1.as_ref().unwrap_err().contains("not valid JSON from here on"));
    }

    #[test]
    fn picks_user_files() {
        assert!(is_user_export("export/_User.0.jsonl"));
        assert!(is_user_export("_User.json"));
        assert!(!is_user_export("_Installation.0.jsonl"));
        assert!(!is_user_export("_User.0.csv"));
    }
}
