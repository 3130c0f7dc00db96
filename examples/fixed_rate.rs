//! Fixed-rate (open-loop) HTTP load for `bench/run.sh --rate`: request `i` is due at
//! `start + i / rate`, whether or not earlier ones have been answered, and its latency is counted
//! from that due time (so a stall shows in the tail instead of slowing the load down: what wrk2
//! does, and what a closed-loop tool like wrk cannot). Each request comes from a file of JSON lines
//! `{"method": "POST", "path": "/1.1/...", "headers": {"k": "v"}, "body": "..."}`, used in order and
//! each once (verify codes are single use); a run ends after `--duration` or when the lines run out.
//!
//! Why not oha or vegeta: oha sends one fixed body, and the SMS scenarios need a new number or a
//! new code on every request; vegeta needs a Go toolchain.
//!
//! ```sh
//! cargo run --release --example fixed_rate -- --base http://127.0.0.1:8080 --rate 1000 \
//!     --duration 10 --conns 64 --requests reqs.jsonl --out result.json
//! ```
//! The result is one JSON object: due and sent requests, the achieved rate, status counts,
//! errors, and p50/p90/p99/p99.9/max latency in microseconds.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Line {
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
}

struct Args {
    base: String,
    rate: f64,
    duration: f64,
    conns: usize,
    requests: String,
    out: Option<String>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args { base: String::new(), rate: 0.0, duration: 10.0, conns: 64, requests: String::new(), out: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow::anyhow!("{flag} needs a value"));
        match flag.as_str() {
            "--base" => a.base = value()?,
            "--rate" => a.rate = value()?.parse()?,
            "--duration" => a.duration = value()?.parse()?,
            "--conns" => a.conns = value()?.parse()?,
            "--requests" => a.requests = value()?,
            "--out" => a.out = Some(value()?),
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    anyhow::ensure!(!a.base.is_empty() && !a.requests.is_empty(), "--base and --requests are needed");
    anyhow::ensure!(a.rate > 0.0 && a.duration > 0.0 && a.conns > 0, "--rate, --duration and --conns must be > 0");
    Ok(a)
}

/// The `q`-quantile of sorted values (nearest rank).
fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let lines: Vec<Line> = std::io::BufReader::new(std::fs::File::open(&a.requests)?)
        .lines()
        .filter(|l| l.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(|l| Ok(serde_json::from_str(&l?)?))
        .collect::<anyhow::Result<_>>()?;
    let due_total = ((a.rate * a.duration) as usize).min(lines.len());
    // Two threads: the load generator shares the machine with the server it measures.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let result = runtime.block_on(async move {
        let client =
            reqwest::Client::builder().pool_max_idle_per_host(a.conns).timeout(Duration::from_secs(10)).build()?;
        let permits = Arc::new(tokio::sync::Semaphore::new(a.conns));
        let start = tokio::time::Instant::now() + Duration::from_millis(50);
        let mut tasks = Vec::with_capacity(due_total);
        for (i, line) in lines.into_iter().take(due_total).enumerate() {
            let due = start + Duration::from_secs_f64(i as f64 / a.rate);
            tokio::time::sleep_until(due).await;
            let (client, permits, url) = (client.clone(), permits.clone(), format!("{}{}", a.base, line.path));
            tasks.push(tokio::spawn(async move {
                // Waiting for a free connection counts: the latency starts at the due time.
                let _permit = permits.acquire_owned().await.expect("semaphore is never closed");
                let method = reqwest::Method::from_bytes(line.method.as_bytes()).unwrap_or(reqwest::Method::GET);
                let mut req = client.request(method, url);
                for (k, v) in &line.headers {
                    req = req.header(k, v);
                }
                if let Some(body) = line.body {
                    req = req.body(body);
                }
                let outcome = match req.send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        // The whole body is read: the response is complete only then.
                        match resp.bytes().await {
                            Ok(_) => Ok(status),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    Err(e) => Err(e.to_string()),
                };
                (due.into_std().elapsed(), outcome)
            }));
        }
        let mut latencies = Vec::with_capacity(tasks.len());
        let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
        let mut errors = 0u64;
        let mut first_error = None;
        for t in tasks {
            let (latency, outcome) = t.await?;
            match outcome {
                Ok(status) => {
                    latencies.push(latency.as_micros() as u64);
                    *statuses.entry(status.to_string()).or_default() += 1;
                }
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        let wall = start.into_std().elapsed().as_secs_f64();
        latencies.sort_unstable();
        let ok = statuses.iter().filter(|(k, _)| k.starts_with('2')).map(|(_, v)| v).sum::<u64>();
        anyhow::Ok(serde_json::json!({
            "rate": a.rate,
            "due": due_total,
            "answered": latencies.len(),
            "achieved_rps": latencies.len() as f64 / wall,
            "ok": ok,
            "statuses": statuses,
            "errors": errors,
            "first_error": first_error,
            "latency_us": {
                "p50": quantile(&latencies, 0.5),
                "p90": quantile(&latencies, 0.9),
                "p99": quantile(&latencies, 0.99),
                "p999": quantile(&latencies, 0.999),
                "max": latencies.last().copied().unwrap_or(0),
            },
        }))
    })?;
    let text = result.to_string();
    match &a.out {
        Some(path) => std::fs::write(path, &text)?,
        None => println!("{text}"),
    }
    Ok(())
}
