//! The console's dashboard: for one app or all of them, over the last 24 hours or 7 days, the
//! codes sent and verified (their conversion: a fall is the first sign of SMS pumping), delivery
//! per provider, refused sends by reason, and where the codes went (countries, number prefixes).
//!
//! Everything is read from the database (`store::stats`), so every instance sharing one
//! PostgreSQL shows the same figures, and they survive restarts: code messages (kept for the
//! message retention) with the time their code was verified, and the hourly refusal counts.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, TimeDelta, Timelike};

use super::clock::hour_of;
use super::message::Purpose;
use super::phone::region_of;
use super::{Core, Error, Result};
use crate::store;

/// How far back the dashboard looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// The last 24 hours, in 24 buckets of an hour.
    Day,
    /// The last 7 days, in 28 buckets of 6 hours.
    Week,
}

impl Range {
    pub const ALL: [Range; 2] = [Range::Day, Range::Week];

    /// `24h` or `7d` (what the console's URLs say).
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Error::InvalidParameter("range is 24h or 7d".into()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Range::Day => "24h",
            Range::Week => "7d",
        }
    }

    /// Hours in one bucket.
    pub fn bucket_hours(self) -> u32 {
        match self {
            Range::Day => 1,
            Range::Week => 6,
        }
    }

    pub fn buckets(self) -> usize {
        match self {
            Range::Day => 24,
            Range::Week => 28,
        }
    }
}

/// Codes sent (queued as messages) and how many of them were verified.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conversion {
    pub sent: i64,
    pub verified: i64,
}

impl Conversion {
    /// Verified of sent, 0 to 1; `None` when nothing was sent.
    pub fn rate(&self) -> Option<f64> {
        (self.sent > 0).then(|| self.verified as f64 / self.sent as f64)
    }

    fn add(&mut self, sent: i64, verified: i64) {
        self.sent += sent;
        self.verified += verified;
    }
}

/// An alert needs this many codes on each side of the comparison: a handful of codes says
/// nothing about a rate.
pub const ALERT_MIN_SENT: i64 = 20;
/// The newest quarter of the range converting below this share of the rest is a fall.
pub const ALERT_FALL: f64 = 0.7;
/// A whole range converting below this (with `ALERT_LOW_MIN_SENT` codes) is low even without a
/// fall: pumping that began before the range shows no fall within it. Real users verify most
/// codes they ask for; pumped numbers never verify.
pub const ALERT_LOW: f64 = 0.4;
pub const ALERT_LOW_MIN_SENT: i64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// The newest quarter converts below `ALERT_FALL` of the rest.
    Falling,
    /// The whole range converts below `ALERT_LOW`.
    Low,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Falling => "falling",
            AlertKind::Low => "low",
        }
    }
}

/// What the dashboard warns of. `recent` is the newest quarter of the buckets (`Falling`) or the
/// whole range (`Low`); `before` the rest of the range (`Falling`) or the same (`Low`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConversionAlert {
    pub kind: AlertKind,
    pub since: NaiveDateTime,
    pub recent: Conversion,
    pub before: Conversion,
}

/// One provider's messages queued in the range that it answered for (the provider that has, or
/// last had, each message; '' when none did).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderFigures {
    pub provider: String,
    /// Accepted, no delivery report (yet, or ever: not every provider sends them).
    pub accepted: i64,
    pub delivered: i64,
    pub failed: i64,
    /// Mean seconds from due to the provider's acceptance, and to the delivery report.
    pub mean_accept_secs: Option<f64>,
    pub mean_deliver_secs: Option<f64>,
    /// Per bucket: the share of its messages that did not fail, and the mean seconds to accepted.
    pub success: Vec<Option<f64>>,
    pub latency: Vec<Option<f64>>,
}

impl ProviderFigures {
    pub fn messages(&self) -> i64 {
        self.accepted + self.delivered + self.failed
    }

    /// Messages that did not fail, of all it answered for (0 to 1).
    pub fn success_rate(&self) -> Option<f64> {
        let n = self.messages();
        (n > 0).then(|| (n - self.failed) as f64 / n as f64)
    }
}

/// Refused sends of one reason (`limit`, `captcha`, `balance`, `template`, ...), per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonSeries {
    pub reason: String,
    pub counts: Vec<i64>,
    pub total: i64,
}

/// Codes sent to one country, or to one number prefix (`+86 138`: the country code and the first
/// three digits of the national number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The region ("CN") for a country, the prefix for a prefix.
    pub key: String,
    pub region: String,
    pub calling_code: u16,
    pub codes: Conversion,
}

/// One app's totals, in the view of every app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppFigures {
    pub app_id: String,
    pub name: String,
    pub codes: Conversion,
    pub refused: i64,
}

/// What the dashboard shows. Buckets are UTC and aligned to their size (6-hour buckets start at
/// 00, 06, 12 and 18 UTC); the last one holds now.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub range: Range,
    /// The app looked at (id, name); `None` for every app.
    pub app: Option<(String, String)>,
    pub now: NaiveDateTime,
    /// The start of each bucket.
    pub buckets: Vec<NaiveDateTime>,
    pub sent: Vec<i64>,
    pub verified: Vec<i64>,
    pub codes: Conversion,
    pub alert: Option<ConversionAlert>,
    /// By messages handled, most first.
    pub providers: Vec<ProviderFigures>,
    /// By total, most first.
    pub refusals: Vec<ReasonSeries>,
    pub refused: i64,
    /// The `TOP` countries and prefixes by codes sent.
    pub countries: Vec<Place>,
    pub prefixes: Vec<Place>,
    /// Each app looked at (all of them, or the one), in the order they were created.
    pub apps: Vec<AppFigures>,
}

/// One provider's messages in one bucket: (messages, failed, accepted, summed seconds to accepted).
type BucketDelivery = (i64, i64, i64, f64);

/// Countries and prefixes shown.
pub const TOP: usize = 10;

/// The purposes of messages that carry a code.
const CODE_PURPOSES: [Purpose; 5] =
    [Purpose::Generic, Purpose::Login, Purpose::ResetPassword, Purpose::VerifyPhone, Purpose::ChangePhone];

/// Reads an "YYYY-MM-DD HH" hour from the store.
fn parse_hour(hour: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(&format!("{hour}:00:00"), "%Y-%m-%d %H:%M:%S").ok()
}

/// The buckets of a range ending with the one that holds `now`.
fn buckets(range: Range, now: NaiveDateTime) -> Vec<NaiveDateTime> {
    let hour = hour_of(now);
    let size = range.bucket_hours();
    let last = hour - TimeDelta::hours(i64::from(hour.hour() % size));
    let step = TimeDelta::hours(i64::from(size));
    let n = range.buckets() as i32;
    (0..n).map(|i| last - step * (n - 1 - i)).collect()
}

/// The index of the bucket that holds `t`.
fn bucket_of(buckets: &[NaiveDateTime], size_hours: u32, t: NaiveDateTime) -> Option<usize> {
    let first = *buckets.first()?;
    if t < first {
        return None;
    }
    let i = ((t - first).num_hours() / i64::from(size_hours)) as usize;
    (i < buckets.len()).then_some(i)
}

/// Compares the newest quarter of the buckets with the rest, then the whole range with
/// `ALERT_LOW` (see the constants).
fn conversion_alert(buckets: &[NaiveDateTime], sent: &[i64], verified: &[i64]) -> Option<ConversionAlert> {
    let split = buckets.len() - buckets.len() / 4;
    let sum = |range: std::ops::Range<usize>| Conversion {
        sent: sent[range.clone()].iter().sum(),
        verified: verified[range].iter().sum(),
    };
    let (before, recent) = (sum(0..split), sum(split..buckets.len()));
    if let (Some(b), Some(r)) = (before.rate(), recent.rate())
        && before.sent >= ALERT_MIN_SENT
        && recent.sent >= ALERT_MIN_SENT
        && r < b * ALERT_FALL
    {
        return Some(ConversionAlert { kind: AlertKind::Falling, since: buckets[split], recent, before });
    }
    let whole = sum(0..buckets.len());
    match whole.rate() {
        Some(rate) if whole.sent >= ALERT_LOW_MIN_SENT && rate < ALERT_LOW => {
            Some(ConversionAlert { kind: AlertKind::Low, since: buckets[0], recent: whole, before: whole })
        }
        _ => None,
    }
}

/// `prefix` ("+" and up to 7 digits) cut to the country code and 3 national digits, with the
/// region of `sample` (a number of the group).
fn place_of(prefix: &str, sample: &str) -> (String, String, u16) {
    match region_of(sample) {
        Some((region, code)) => {
            let national: String =
                prefix.trim_start_matches('+').chars().skip(code.to_string().len()).take(3).collect();
            (format!("+{code} {national}"), region, code)
        }
        None => (prefix.to_string(), "?".to_string(), 0),
    }
}

fn top(places: BTreeMap<String, Place>) -> Vec<Place> {
    let mut places: Vec<Place> = places.into_values().collect();
    places.sort_by(|a, b| b.codes.sent.cmp(&a.codes.sent).then_with(|| a.key.cmp(&b.key)));
    places.truncate(TOP);
    places
}

impl Core {
    /// The dashboard of one app (`UnknownApp` if there is none with this id) or of every app.
    pub fn dashboard(&self, app_id: Option<&str>, range: Range) -> Result<Dashboard> {
        let mut conn = self.conn()?;
        let names = store::stats::app_names(&mut conn)?;
        let looked_at: Vec<(String, String)> = match app_id {
            Some(id) => vec![names.into_iter().find(|(i, _)| i == id).ok_or(Error::UnknownApp)?],
            None => names,
        };
        let ids: Vec<String> = looked_at.iter().map(|(id, _)| id.clone()).collect();
        let now = self.clock.now_naive();
        let buckets = buckets(range, now);
        let since = buckets[0];
        let size = range.bucket_hours();
        let purposes: Vec<&str> = CODE_PURPOSES.iter().map(|p| p.as_str()).collect();
        let message_hours = store::stats::message_hours(&mut conn, &ids, &purposes, since)?;
        let prefix_counts = store::stats::prefix_counts(&mut conn, &ids, &purposes, since)?;
        let refusal_hours = store::stats::refusal_hours(&mut conn, &ids, since)?;
        drop(conn);

        let n = buckets.len();
        let slot = |hour: &str| parse_hour(hour).and_then(|t| bucket_of(&buckets, size, t));
        let mut per_app: BTreeMap<String, (Conversion, i64)> = BTreeMap::new();
        let (mut sent, mut verified) = (vec![0; n], vec![0; n]);
        for row in message_hours.iter().filter(|r| r.code == 1) {
            if let Some(i) = slot(&row.hour) {
                sent[i] += row.messages;
                verified[i] += row.verified;
            }
            per_app.entry(row.app_id.clone()).or_default().0.add(row.messages, row.verified);
        }
        let mut codes = Conversion::default();
        codes.add(sent.iter().sum(), verified.iter().sum());

        // provider → (figures, per bucket)
        let mut by_provider: BTreeMap<String, (ProviderFigures, Vec<BucketDelivery>)> = BTreeMap::new();
        let mut accept_secs: BTreeMap<String, (i64, f64, i64, f64)> = BTreeMap::new();
        // Delivery: the messages a provider answered for (not those still queued or cancelled).
        let answered = [store::messages::SENT, store::messages::DELIVERED, store::messages::FAILED];
        for row in message_hours.iter().filter(|r| answered.contains(&r.status.as_str())) {
            let (figures, series) = by_provider.entry(row.provider.clone()).or_insert_with(|| {
                (ProviderFigures { provider: row.provider.clone(), ..Default::default() }, vec![(0, 0, 0, 0.0); n])
            });
            match row.status.as_str() {
                store::messages::DELIVERED => figures.delivered += row.messages,
                store::messages::FAILED => figures.failed += row.messages,
                _ => figures.accepted += row.messages,
            }
            let failed = if row.status == store::messages::FAILED { row.messages } else { 0 };
            if let Some(i) = slot(&row.hour) {
                let s = &mut series[i];
                s.0 += row.messages;
                s.1 += failed;
                s.2 += row.accepted;
                s.3 += row.accept_secs.unwrap_or(0.0);
            }
            let t = accept_secs.entry(row.provider.clone()).or_default();
            t.0 += row.accepted;
            t.1 += row.accept_secs.unwrap_or(0.0);
            t.2 += row.delivered;
            t.3 += row.deliver_secs.unwrap_or(0.0);
        }
        let mean = |n: i64, secs: f64| (n > 0).then(|| secs / n as f64);
        let mut providers: Vec<ProviderFigures> = by_provider
            .into_iter()
            .map(|(name, (mut figures, series))| {
                let (accepted, a_secs, delivered, d_secs) = accept_secs.get(&name).copied().unwrap_or_default();
                figures.mean_accept_secs = mean(accepted, a_secs);
                figures.mean_deliver_secs = mean(delivered, d_secs);
                figures.success =
                    series.iter().map(|&(m, failed, _, _)| (m > 0).then(|| (m - failed) as f64 / m as f64)).collect();
                figures.latency = series.iter().map(|&(_, _, a, secs)| mean(a, secs)).collect();
                figures
            })
            .collect();
        providers.sort_by(|a, b| b.messages().cmp(&a.messages()).then_with(|| a.provider.cmp(&b.provider)));

        let mut by_reason: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (app, hour, reason, count) in &refusal_hours {
            if let Some(i) = bucket_of(&buckets, size, *hour) {
                by_reason.entry(reason.clone()).or_insert_with(|| vec![0; n])[i] += count;
            }
            per_app.entry(app.clone()).or_default().1 += count;
        }
        let mut refusals: Vec<ReasonSeries> = by_reason
            .into_iter()
            .map(|(reason, counts)| ReasonSeries { total: counts.iter().sum(), reason, counts })
            .collect();
        refusals.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.reason.cmp(&b.reason)));
        let refused = refusals.iter().map(|r| r.total).sum();

        let (mut countries, mut prefixes) = (BTreeMap::new(), BTreeMap::new());
        for row in &prefix_counts {
            let (prefix, region, calling_code) = place_of(&row.prefix, &row.sample);
            for (map, key) in [(&mut countries, region.clone()), (&mut prefixes, prefix)] {
                map.entry(key.clone())
                    .or_insert_with(|| Place {
                        key,
                        region: region.clone(),
                        calling_code,
                        codes: Conversion::default(),
                    })
                    .codes
                    .add(row.sent, row.verified);
            }
        }

        let apps = looked_at
            .iter()
            .map(|(id, name)| {
                let (codes, refused) = per_app.get(id).copied().unwrap_or_default();
                AppFigures { app_id: id.clone(), name: name.clone(), codes, refused }
            })
            .collect();
        Ok(Dashboard {
            range,
            app: app_id.and_then(|_| looked_at.first().cloned()),
            now,
            alert: conversion_alert(&buckets, &sent, &verified),
            buckets,
            sent,
            verified,
            codes,
            providers,
            refusals,
            refused,
            countries: top(countries),
            prefixes: top(prefixes),
            apps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn buckets_are_aligned_and_end_with_now() {
        let now = at("2026-11-30 23:41:26");
        let day = buckets(Range::Day, now);
        assert_eq!((day.len(), day[0], day[23]), (24, at("2026-11-30 00:00:00"), at("2026-11-30 23:00:00")));
        let week = buckets(Range::Week, now);
        assert_eq!((week.len(), week[27]), (28, at("2026-11-30 18:00:00")));
        assert_eq!(week[0], at("2026-11-24 00:00:00"));
        assert_eq!(bucket_of(&week, 6, at("2026-11-30 20:59:59")), Some(27));
        assert_eq!(bucket_of(&week, 6, at("2026-11-24 05:00:00")), Some(0));
        assert_eq!(bucket_of(&week, 6, at("2026-11-23 23:00:00")), None);
        assert_eq!(parse_hour("2026-11-30 07"), Some(at("2026-11-30 07:00:00")));
        assert_eq!(parse_hour("nonsense"), None);
    }

    #[test]
    fn a_falling_conversion_is_told_apart_from_noise() {
        let b = buckets(Range::Day, at("2026-11-30 23:00:00"));
        // 18 hours at 90 %, then 6 hours at 20 %: a fall.
        let sent = vec![10; 24];
        let mut verified = vec![9; 24];
        verified[18..].fill(2);
        let alert = conversion_alert(&b, &sent, &verified).expect("a fall");
        assert_eq!(alert.kind, AlertKind::Falling);
        assert_eq!((alert.recent, alert.before.sent), (Conversion { sent: 60, verified: 12 }, 180));
        assert_eq!(alert.since, at("2026-11-30 18:00:00"));
        // The same fall on too few codes says nothing.
        let sent = vec![1; 24];
        let mut verified = vec![1; 24];
        verified[18..].fill(0);
        assert_eq!(conversion_alert(&b, &sent, &verified), None);
        // Low all along: no fall, but low.
        let alert = conversion_alert(&b, &[10; 24], &[3; 24]).expect("low");
        assert_eq!((alert.kind, alert.recent.sent), (AlertKind::Low, 240));
        assert_eq!(conversion_alert(&b, &[10; 24], &[8; 24]), None);
    }

    #[test]
    fn prefixes_keep_the_country_code_and_three_digits() {
        assert_eq!(place_of("+8613800", "+8613800138000"), ("+86 138".into(), "CN".into(), 86));
        assert_eq!(place_of("+1650253", "+16502530000").0, "+1 650");
        assert_eq!(place_of("+4474001", "+447400123456"), ("+44 740".into(), "GB".into(), 44));
        assert_eq!(Range::parse("7d").unwrap(), Range::Week);
        assert!(Range::parse("1y").is_err());
    }
}
