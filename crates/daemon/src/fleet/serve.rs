//! `anyns fleet serve`: the fleet view as a read-only web page. A poller thread runs the
//! same polls as `anyns fleet status` every interval and keeps the last hour of each
//! site's figures in memory (queries/s, clouds announced, largest zone lag); an axum
//! server on a loopback or unicast address serves the page (assets embedded: no CDN), its
//! JSON (`/api/fleet`, `/api/site/NAME`), and nothing that changes anything. With
//! `--token-file`, every request needs the token (`Authorization: Bearer TOKEN`, or
//! `?token=TOKEN`, which the page passes on to its own requests).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};
use tracing::{info, warn};

use super::inventory::Inventory;
use super::poll::{Poll, poll_all};
use super::view::{FleetView, compute};
use crate::cli::FleetServeArgs;
use crate::error::Error;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// How much history the plots show.
const HISTORY: Duration = Duration::from_secs(3600);
/// Samples of each site's history in `/api/fleet` (the overview's sparklines).
const SPARKLINE_SAMPLES: usize = 300;

/// One poll's figures for one site.
#[derive(Clone, Debug, Serialize)]
struct Sample {
    /// Unix seconds.
    t: f64,
    qps: Option<f64>,
    /// Clouds announced at the site (none when unreachable).
    announced: Option<usize>,
    /// The largest lag of its zones, seconds (0 when none lags).
    lag: Option<f64>,
}

/// What the pages show: the latest view, each site's raw status answers and history.
#[derive(Default)]
struct Board {
    view: Option<FleetView>,
    /// Per site, the status answers of its reachable processes.
    statuses: HashMap<String, Vec<Value>>,
    history: HashMap<String, VecDeque<Sample>>,
    updated_unix_ms: u64,
}

impl Board {
    fn update(&mut self, inventory: &Inventory, poll: &Poll, view: FleetView, keep: usize) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        for (site, (polled, shown)) in inventory
            .sites
            .iter()
            .zip(poll.sites.iter().zip(&view.sites))
        {
            let answers: Vec<Value> = polled
                .iter()
                .filter_map(|p| p.as_ref().ok().cloned())
                .collect();
            let lag = answers
                .iter()
                .flat_map(|a| a["zones"].as_array().cloned().unwrap_or_default())
                .filter_map(|z| z["lag_seconds"].as_f64())
                .fold(0.0, f64::max);
            let reachable = shown.reachable > 0;
            let history = self.history.entry(site.name.clone()).or_default();
            history.push_back(Sample {
                t: now.as_secs_f64(),
                qps: shown.queries_per_second.filter(|_| reachable),
                announced: reachable
                    .then(|| shown.clouds.iter().filter(|c| c.is_announced()).count()),
                lag: reachable.then_some(lag),
            });
            while history.len() > keep {
                history.pop_front();
            }
            self.statuses.insert(site.name.clone(), answers);
        }
        self.view = Some(view);
        self.updated_unix_ms = now.as_millis() as u64;
    }
}

/// What every handler reads.
#[derive(Clone)]
struct Shared {
    board: Arc<Mutex<Board>>,
    token: Option<Arc<str>>,
    interval: Duration,
}

/// Runs `anyns fleet serve` until interrupted.
pub(crate) fn serve_command(args: &FleetServeArgs) -> Result<(), Error> {
    let inventory = Inventory::from_file(&args.inventory)?;
    let token = match &args.token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("token file {}", path.display()), e))?;
            let token = text.trim().to_string();
            if token.len() < 16 {
                return Err(Error::Usage(format!(
                    "{}: the token must have at least 16 characters",
                    path.display()
                )));
            }
            Some(Arc::from(token.as_str()))
        }
        None => None,
    };
    if args.listen.ip().is_unspecified() {
        warn!(address = %args.listen, "the dashboard listens on every address: bind a unicast or loopback one");
    }
    let interval = Duration::from_secs_f64(args.interval.clamp(0.5, 60.0));
    let keep = (HISTORY.as_secs_f64() / interval.as_secs_f64()).ceil() as usize;
    let shared = Shared {
        board: Arc::default(),
        token,
        interval,
    };
    let board = shared.board.clone();
    std::thread::Builder::new()
        .name("fleet-poller".into())
        .spawn(move || {
            let mut previous: Option<Poll> = None;
            loop {
                let started = Instant::now();
                let poll = poll_all(&inventory);
                let view = compute(&inventory, &poll, previous.as_ref());
                board
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .update(&inventory, &poll, view, keep);
                previous = Some(poll);
                std::thread::sleep(interval.saturating_sub(started.elapsed()));
            }
        })
        .map_err(|e| Error::io("fleet poller thread", e))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("tokio runtime", e))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Error::io(format!("dashboard listener {}", args.listen), e))?;
        let address: SocketAddr = listener
            .local_addr()
            .map_err(|e| Error::io("dashboard listener", e))?;
        info!(%address, "fleet dashboard listening");
        println!("fleet dashboard: http://{address}/");
        axum::serve(listener, router(shared))
            .await
            .map_err(|e| Error::io("dashboard", e))
    })
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/site/{name}", get(page))
        .route("/app.js", get(app_js))
        .route("/style.css", get(style_css))
        .route("/api/fleet", get(api_fleet))
        .route("/api/site/{name}", get(api_site))
        .with_state(shared)
}

/// Whether the request carries the token (when one is required).
fn authorized(shared: &Shared, headers: &HeaderMap, query: &HashMap<String, String>) -> bool {
    let Some(token) = &shared.token else {
        return true;
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let given = bearer.or_else(|| query.get("token").map(String::as_str));
    // Compared in constant time: the token is a password.
    given.is_some_and(|g| {
        g.len() == token.len()
            && g.bytes()
                .zip(token.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    })
}

fn denied() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "a token is required: ?token=... or Authorization: Bearer ...\n",
    )
        .into_response()
}

/// An embedded asset with its type and the headers every answer carries.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    secure(headers);
    response
}

/// Nothing from elsewhere, no framing, no caching of live data.
fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

async fn page(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&shared, &headers, &query) {
        return denied();
    }
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn app_js(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&shared, &headers, &query) {
        return denied();
    }
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn style_css(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&shared, &headers, &query) {
        return denied();
    }
    asset("text/css; charset=utf-8", STYLE_CSS)
}

fn json_response(value: Value) -> Response {
    let mut response = axum::Json(value).into_response();
    secure(response.headers_mut());
    response
}

async fn api_fleet(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&shared, &headers, &query) {
        return denied();
    }
    let board = shared.board.lock().unwrap_or_else(|e| e.into_inner());
    let history: HashMap<&String, Vec<&Sample>> = board
        .history
        .iter()
        .map(|(site, samples)| {
            let skip = samples.len().saturating_sub(SPARKLINE_SAMPLES);
            (site, samples.iter().skip(skip).collect())
        })
        .collect();
    json_response(json!({
        "view": board.view,
        "history": history,
        "interval_ms": shared.interval.as_millis() as u64,
        "updated_unix_ms": board.updated_unix_ms,
    }))
}

async fn api_site(
    State(shared): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&shared, &headers, &query) {
        return denied();
    }
    let board = shared.board.lock().unwrap_or_else(|e| e.into_inner());
    if board.view.is_some() && !board.statuses.contains_key(&name) {
        return (
            StatusCode::NOT_FOUND,
            format!("no site {name:?} in the inventory\n"),
        )
            .into_response();
    }
    json_response(json!({
        "view": board.view,
        "history": { name.clone(): board.history.get(&name) },
        "statuses": board.statuses.get(&name),
        "interval_ms": shared.interval.as_millis() as u64,
        "updated_unix_ms": board.updated_unix_ms,
    }))
}
