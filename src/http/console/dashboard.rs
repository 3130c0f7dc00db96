//! The dashboard: the first page after sign-in (`/console/dashboard?app=&range=`) and its JSON
//! (`/console/api/dashboard?app=&range=`). Both show the same figures, built once here from
//! `core::stats::Dashboard`; the page draws its charts from that JSON with uPlot.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::pages::{query, render};
use super::{ConsoleError, session};
use crate::core::stats::{Conversion, Dashboard, Range};
use crate::http::{AppState, blocking};

/// ISO 8601 in UTC, for the charts (JavaScript's `Date.parse` reads it).
fn utc(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn conversion_json(c: &Conversion) -> Value {
    json!({"sent": c.sent, "verified": c.verified, "conversion": c.rate()})
}

/// The dashboard as JSON: what `GET /console/api/dashboard` answers and the page draws.
pub(super) fn dashboard_json(d: &Dashboard) -> Value {
    let conversion: Vec<Option<f64>> =
        d.sent.iter().zip(&d.verified).map(|(&sent, &verified)| Conversion { sent, verified }.rate()).collect();
    let providers: Vec<Value> = d
        .providers
        .iter()
        .map(|p| {
            json!({"provider": p.provider, "messages": p.messages(), "accepted": p.accepted,
                   "delivered": p.delivered, "failed": p.failed, "successRate": p.success_rate(),
                   "meanAcceptSeconds": p.mean_accept_secs, "meanDeliverSeconds": p.mean_deliver_secs,
                   "success": p.success, "latency": p.latency})
        })
        .collect();
    let refusals: Vec<Value> =
        d.refusals.iter().map(|r| json!({"reason": r.reason, "total": r.total, "counts": r.counts})).collect();
    let place = |p: &crate::core::stats::Place, key: &str| {
        let mut v = conversion_json(&p.codes);
        v[key] = json!(p.key);
        v["region"] = json!(p.region);
        v["callingCode"] = json!(p.calling_code);
        v
    };
    json!({
        "range": d.range.as_str(),
        "bucketHours": d.range.bucket_hours(),
        "app": d.app.as_ref().map(|(id, name)| json!({"appId": id, "name": name})),
        "now": utc(d.now),
        "buckets": d.buckets.iter().map(|&t| utc(t)).collect::<Vec<_>>(),
        "codes": {"sent": d.sent, "verified": d.verified, "conversion": conversion, "totals": conversion_json(&d.codes)},
        "alert": d.alert.as_ref().map(|a| json!({"kind": a.kind.as_str(), "since": utc(a.since),
            "recent": conversion_json(&a.recent), "before": conversion_json(&a.before)})),
        "providers": providers,
        "refusals": {"total": d.refused, "byReason": refusals},
        "countries": d.countries.iter().map(|p| place(p, "country")).collect::<Vec<_>>(),
        "prefixes": d.prefixes.iter().map(|p| place(p, "prefix")).collect::<Vec<_>>(),
        "apps": d.apps.iter().map(|a| {
            let mut v = conversion_json(&a.codes);
            v["appId"] = json!(a.app_id);
            v["name"] = json!(a.name);
            v["refused"] = json!(a.refused);
            v
        }).collect::<Vec<_>>(),
    })
}

/// The query's app (absent or empty: every app) and range (absent: 24h).
fn selection(req: &HttpRequest) -> Result<(Option<String>, Range), ConsoleError> {
    let range = match query(req, "range") {
        None => Range::Day,
        Some(r) => Range::parse(&r).map_err(ConsoleError::from)?,
    };
    Ok((query(req, "app"), range))
}

async fn load(state: &web::Data<AppState>, app: Option<String>, range: Range) -> crate::core::Result<Dashboard> {
    let core = state.core.clone();
    blocking(move || core.dashboard(app.as_deref(), range)).await
}

/// `GET /console/api/dashboard?app=<appId>&range=24h|7d`
#[utoipa::path(get, path = "/console/api/dashboard", tag = "Console API", security(("ConsoleSession" = [])),
    params(("app" = Option<String>, Query, description = "An app's id; absent or empty: every app"),
           ("range" = Option<String>, Query, description = "`24h` (default) or `7d`")),
    responses((status = 200, body = super::openapi::ConsoleDashboard), super::openapi::Errors))]
pub async fn api(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    session(&req, &state).await.map_err(ConsoleError::as_json)?;
    let (app, range) = selection(&req).map_err(ConsoleError::as_json)?;
    let d = load(&state, app, range).await.map_err(|e| ConsoleError::from(e).as_json())?;
    Ok(HttpResponse::Ok().json(dashboard_json(&d)))
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".to_string(), |r| format!("{:.0}%", r * 100.0))
}

fn seconds(secs: Option<f64>) -> String {
    match secs {
        None => "–".to_string(),
        Some(s) if s < 1.0 => format!("{:.0} ms", s * 1000.0),
        Some(s) if s < 120.0 => format!("{s:.1} s"),
        Some(s) => format!("{:.0} min", s / 60.0),
    }
}

/// A table row of places or apps: figures, and the share of the largest for its bar.
fn conversion_row(c: &Conversion, largest: i64) -> Value {
    let share = if largest > 0 { c.sent as f64 / largest as f64 } else { 0.0 };
    json!({"sent": c.sent, "verified": c.verified, "conversion": percent(c.rate()),
           "low": c.rate().is_some_and(|r| r < crate::core::stats::ALERT_LOW), "share": format!("{share:.3}")})
}

/// `GET /console/dashboard?app=<appId>&range=24h|7d`: the first page after sign-in.
pub async fn page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let s = session(&req, &state).await?;
    let (app, range) = selection(&req)?;
    let core = state.core.clone();
    let names = blocking(move || core.app_names()).await?;
    let d = load(&state, app.clone(), range).await?;
    let link = |app: Option<&str>, range: Range| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(a) = app {
            q.append_pair("app", a);
        }
        q.append_pair("range", range.as_str());
        format!("{}/console/dashboard?{}", state.config.route_prefix(), q.finish())
    };
    let ranges: Vec<Value> = Range::ALL
        .iter()
        .map(|&r| {
            let label = if r == Range::Day { "24 hours" } else { "7 days" };
            json!({"value": r.as_str(), "label": label, "selected": r == range, "href": link(app.as_deref(), r)})
        })
        .collect();
    let app_options: Vec<Value> = names
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name, "selected": app.as_deref() == Some(id.as_str())}))
        .collect();
    let largest = |places: &[crate::core::stats::Place]| places.iter().map(|p| p.codes.sent).max().unwrap_or(0);
    let largest_app = d.apps.iter().map(|a| a.codes.sent).max().unwrap_or(0);
    let place_rows = |places: &[crate::core::stats::Place], largest: i64| -> Vec<Value> {
        places
            .iter()
            .map(|p| {
                let mut v = conversion_row(&p.codes, largest);
                v["key"] = json!(p.key);
                v["region"] = json!(p.region);
                v["calling_code"] = json!(p.calling_code);
                v
            })
            .collect()
    };
    let apps: Vec<Value> = d
        .apps
        .iter()
        .map(|a| {
            let mut v = conversion_row(&a.codes, largest_app);
            v["id"] = json!(a.app_id);
            v["name"] = json!(a.name);
            v["refused"] = json!(a.refused);
            v["href"] = json!(link(Some(&a.app_id), range));
            v
        })
        .collect();
    let providers: Vec<Value> = d
        .providers
        .iter()
        .map(|p| {
            json!({"name": if p.provider.is_empty() { "(none)" } else { p.provider.as_str() },
                   "messages": p.messages(), "accepted": p.accepted, "delivered": p.delivered, "failed": p.failed,
                   "success": percent(p.success_rate()),
                   "low": p.success_rate().is_some_and(|r| r < 0.9),
                   "accept": seconds(p.mean_accept_secs), "deliver": seconds(p.mean_deliver_secs)})
        })
        .collect();
    let messages: i64 = d.providers.iter().map(|p| p.messages()).sum();
    let failed: i64 = d.providers.iter().map(|p| p.failed).sum();
    let delivery = (messages > 0).then(|| (messages - failed) as f64 / messages as f64);
    let alert = d.alert.as_ref().map(|a| {
        json!({"falling": a.kind == crate::core::stats::AlertKind::Falling, "since": super::iso(a.since),
               "recent": percent(a.recent.rate()), "before": percent(a.before.rate()),
               "recent_sent": a.recent.sent, "recent_verified": a.recent.verified})
    });
    let refusals: Vec<Value> = d.refusals.iter().map(|r| json!({"reason": r.reason, "total": r.total})).collect();
    // The chart data goes into a <script type="application/json">: no "<" may close it early.
    let data = dashboard_json(&d).to_string().replace('<', "\\u003c");
    let ctx = json!({
        "title": "Dashboard", "charts": true, "nav_dashboard": true,
        "scope": d.app.as_ref().map_or("All apps", |(_, name)| name.as_str()),
        "app": d.app.as_ref().map(|(id, name)| json!({"id": id, "name": name})),
        "app_options": app_options, "range": range.as_str(), "ranges": ranges,
        "range_label": if range == Range::Day { "Last 24 hours" } else { "Last 7 days" },
        "bucket": if range == Range::Day { "1 hour" } else { "6 hours" },
        "now": super::iso(d.now),
        "totals": {"sent": d.codes.sent, "verified": d.codes.verified, "conversion": percent(d.codes.rate()),
                   "refused": d.refused, "delivery": percent(delivery), "messages": messages},
        "conversion_low": d.alert.is_some(),
        "alert": alert, "refusals": refusals, "providers": providers,
        "countries": place_rows(&d.countries, largest(&d.countries)),
        "prefixes": place_rows(&d.prefixes, largest(&d.prefixes)),
        "apps": apps, "data": data,
    });
    Ok(render(&state, StatusCode::OK, "dashboard", Some(&s), ctx))
}
