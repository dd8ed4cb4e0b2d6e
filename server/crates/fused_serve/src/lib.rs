//! `fused-ls serve`: the UDFs under a folder as local HTTP endpoints, modelled on Fused's
//! shared-UDF URLs (`<udf>/run/tiles/{z}/{x}/{y}`, `<udf>/run/file`), on a pool of warm
//! workers, with a result cache keyed by the package's files.
//!
//! HTTP is axum on tokio: kept, async, and a handler's future is dropped when its client
//! disconnects, which is how a tile the map panned away from is cancelled (see `pool`). The
//! pure core stays out of it: this crate is a front end like the CLI and the language server.
//!
//! It runs code, so: loopback by default, every URL under an unguessable per-start token (a URL
//! without it is 404), a `Host` that is not the address served is refused (DNS rebinding), and no
//! CORS header at all (the page is same-origin).

pub mod cache;
pub mod catalog;
pub mod features;
pub mod map;
mod page;
pub mod pool;
mod routes;
pub mod vector_tile;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use catalog::{Catalog, Discover, Entry, Origin};

/// The error-level diagnostics `fused-ls check` finds for a served path (a package folder, zip
/// or `.py`), as `check --format json` records; empty when it has none. The CLI supplies it: the
/// checking lives there, and a run checks first as `fused-ls run` does.
pub type Checker = Arc<dyn Fn(&std::path::Path) -> Vec<serde_json::Value> + Send + Sync>;

pub struct Config {
    pub host: IpAddr,
    /// 0: any free port.
    pub port: u16,
    pub workers: usize,
    pub python: PathBuf,
    pub timeout: Duration,
    pub cache_bytes: usize,
    pub memory_limit: Option<u64>,
    /// `None`: run without checking (`--no-check`).
    pub check: Option<Checker>,
    /// More `Host` values to accept (`--allow-host`): the name a reverse proxy the starter
    /// trusts forwards under (code-server's `/proxy/PORT/`), exactly as it arrives.
    pub allow_hosts: Vec<String>,
    /// Let the runs of one package version share a forked child (`RunOptions::reuse`);
    /// `false`: a fresh child per run (`--fork-per-run`).
    pub reuse_children: bool,
}

/// What every handler shares.
pub struct App {
    pub token: String,
    pub catalog: Catalog,
    pub pool: Arc<pool::Pool>,
    pub python: PathBuf,
    pub cache: cache::Cache,
    pub timeout: Duration,
    pub memory_limit: Option<u64>,
    pub reuse_children: bool,
    /// The `Host` values accepted: the address served, by number and (for loopback) by name,
    /// and the ones the starter allowed (more may be added while it runs: `Service::allow_host`).
    /// Empty: any (bound to every interface).
    pub hosts: Arc<RwLock<Vec<String>>>,
    pub check: Option<Checker>,
    /// What `check` found, by package path and the hash of its files (`Snapshot::hash`): the
    /// same files give the same diagnostics, so a tile after the first skips the check (about
    /// a millisecond of each cold tile).
    pub checked: std::sync::Mutex<std::collections::HashMap<String, Vec<serde_json::Value>>>,
}

/// 128 random bits, hex: the path prefix of every URL of this start.
pub fn new_token() -> Result<String, String> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).map_err(|e| format!("no randomness for the URL token: {e}"))?;
    Ok(catalog::hex(&b))
}

/// A `Host` header value (`--allow-host`, `allowHost`): a name, IPv4 or `[IPv6]`, and an
/// optional numeric port; no scheme, path or credentials (a value with them would never match,
/// and hides a mistake).
pub fn valid_host(h: &str) -> bool {
    let (name, port) = match h.rsplit_once(':') {
        Some((n, p)) if !n.ends_with(':') && (n.starts_with('[') || !n.contains(':')) => {
            (n, Some(p))
        }
        _ => (h, None),
    };
    let name_ok = if let Some(v6) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    name_ok && port.is_none_or(|p| p.parse::<u16>().is_ok())
}

/// The `Host` header values that name `addr`, and the `extra` ones the starter named.
fn accepted_hosts(addr: SocketAddr, extra: &[String]) -> Vec<String> {
    let port = addr.port();
    let mut out = vec![match addr.ip() {
        IpAddr::V4(ip) => format!("{ip}:{port}"),
        IpAddr::V6(ip) => format!("[{ip}]:{port}"),
    }];
    if addr.ip().is_unspecified() {
        // Bound to every interface (`--host 0.0.0.0`): clients name the machine as they know
        // it; the token is then the only guard, as the warning at start says.
        return Vec::new();
    }
    if addr.ip().is_loopback() {
        out.push(format!("localhost:{port}"));
    }
    out.extend(extra.iter().cloned());
    out
}

/// A service running on the caller's tokio runtime (the language server's `fused.preview`).
/// Dropping it stops it: the listener closes; runs in flight are cancelled with their requests.
pub struct Service {
    /// `http://127.0.0.1:PORT/<token>/`.
    pub base: String,
    hosts: Arc<RwLock<Vec<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Service {
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// Accepts `Host: host` from now on too (an editor's proxy, `fused.preview`'s `allowHost`).
    pub fn allow_host(&self, host: &str) {
        let mut hosts = self.hosts.write().unwrap_or_else(|p| p.into_inner());
        // Empty means any Host (every interface): nothing to add.
        if !hosts.is_empty() && !hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            hosts.push(host.to_string());
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds and starts serving on the current tokio runtime; returns once the port is open. The
/// workers are the caller's (`pool`): the language server puts its own warm worker in it.
pub async fn start(
    config: Config,
    catalog: Catalog,
    pool: Arc<pool::Pool>,
) -> Result<Service, String> {
    let listener = tokio::net::TcpListener::bind((config.host, config.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let token = new_token()?;
    let hosts = Arc::new(RwLock::new(accepted_hosts(addr, &config.allow_hosts)));
    pool.prewarm();
    pool.watch();
    let app = Arc::new(App {
        token: token.clone(),
        catalog,
        pool,
        python: config.python.clone(),
        cache: cache::Cache::new(config.cache_bytes),
        timeout: config.timeout,
        memory_limit: config.memory_limit,
        reuse_children: config.reuse_children,
        hosts: hosts.clone(),
        check: config.check.clone(),
        checked: Default::default(),
    });
    let host = match addr.ip() {
        // Every interface: loopback is one of them, and a URL this machine can open.
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let base = format!("http://{host}:{}/{token}/", addr.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, routes::router(app))
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Service {
        base,
        hosts,
        stop: Some(stop),
        task,
    })
}

/// `fused-ls serve`: binds, prints the base URL on the first line of stdout, and serves until
/// killed. `on_ready` gets the URL (the CLI opens a browser with it).
pub fn serve(
    config: Config,
    catalog: Catalog,
    on_ready: impl FnOnce(&str) + Send + 'static,
) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(async move {
        let pool = pool::Pool::new(config.python.clone(), config.workers);
        let mut service = start(config, catalog, pool).await?;
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", service.base);
            let _ = out.flush();
        }
        on_ready(&service.base);
        (&mut service.task)
            .await
            .map_err(|e| format!("the service stopped: {e}"))
    })
}
