//! `GET /api/v1/history/pool` and `GET /api/v1/history/miners/{address}`:
//! the charts' time series (`crate::history`), read from the store.
//!
//! `?range=hour|day|week|year` (default `day`) picks the span;
//! `?resolution=minute|hour` the bucket (default: minutes for an hour and a
//! day, hours for a week and a year; minutes are kept a week).

use std::str::FromStr;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use share_verifier::Address;
use shareproof_sources::clock::unix_now;

use super::{error, ApiState};
use crate::history::{Resolution, Series};

/// The query of a history request.
#[derive(Debug, Deserialize)]
pub(super) struct HistoryQuery {
    range: Option<String>,
    resolution: Option<String>,
}

impl HistoryQuery {
    /// (range name, seconds, resolution), or the reason it is refused.
    fn parse(&self) -> Result<(&str, u64, Resolution), String> {
        let range = self.range.as_deref().unwrap_or("day");
        let (secs, default) = match range {
            "hour" => (3_600, Resolution::Minute),
            "day" => (86_400, Resolution::Minute),
            "week" => (7 * 86_400, Resolution::Hour),
            "year" => (365 * 86_400, Resolution::Hour),
            other => return Err(format!("range {other:?}: expected hour, day, week or year")),
        };
        let resolution = match self.resolution.as_deref() {
            None => default,
            Some("minute") => Resolution::Minute,
            Some("hour") => Resolution::Hour,
            Some(other) => return Err(format!("resolution {other:?}: expected minute or hour")),
        };
        if secs > resolution.retention_secs() {
            return Err(format!(
                "{range} at one-{} resolution: only {} days of it are kept",
                if resolution == Resolution::Minute {
                    "minute"
                } else {
                    "hour"
                },
                resolution.retention_secs() / 86_400
            ));
        }
        Ok((range, secs, resolution))
    }
}

pub(super) async fn pool(State(s): State<ApiState>, Query(q): Query<HistoryQuery>) -> Response {
    respond(s, q, Series::Pool).await
}

pub(super) async fn miner(
    State(s): State<ApiState>,
    Path(address): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Response {
    match Address::from_str(&address) {
        Ok(a) => respond(s, q, Series::Address(a)).await,
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn respond(s: ApiState, q: HistoryQuery, series: Series) -> Response {
    let (range, secs, resolution) = match q.parse() {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let range = range.to_owned();
    let now = unix_now();
    // The last bucket is the current one; the first is a whole range before.
    let from = now.saturating_sub(secs - resolution.bucket_secs());
    let store = s.inner.store.clone();
    match tokio::task::spawn_blocking(move || store.history(resolution, series, from, now)).await {
        Ok(Ok(points)) => Json(json!({
            "range": range,
            "resolution_secs": resolution.bucket_secs(),
            "points": points,
        }))
        .into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
