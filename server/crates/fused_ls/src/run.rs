//! `fused-ls run PATH`: run a UDF locally, in File or Tile mode, through the bundled runner.

use crate::output::{self, Record};
use fused_core::tile::{self, Bounds, Tile};
use fused_run::{find_python, Mode, RunOptions, RunRequest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

#[derive(clap::Args)]
pub struct RunArgs {
    /// A package folder, a `.py` file or a zipped package.
    pub path: PathBuf,
    /// A parameter, as the string a caller would send: `-p year=2020 -p tags='["a"]'`.
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Tile mode, the tile as Z/X/Y (e.g. 13/2411/3079).
    #[arg(long, value_name = "Z/X/Y", conflicts_with_all = ["lat", "bbox", "wkt", "geojson"])]
    pub tile: Option<String>,
    /// Tile mode, the tile containing this point (with --lng and --z).
    #[arg(long, requires_all = ["lng", "z"], allow_hyphen_values = true)]
    pub lat: Option<f64>,
    #[arg(long, allow_hyphen_values = true)]
    pub lng: Option<f64>,
    /// The zoom for --lat/--lng (and the tile reported for --bbox/--wkt/--geojson; default 13).
    #[arg(long)]
    pub z: Option<u8>,
    /// Tile mode, bounds as minx,miny,maxx,maxy.
    #[arg(long, allow_hyphen_values = true)]
    pub bbox: Option<String>,
    /// Tile mode, the total bounds of a WKT geometry (a box or a polygon).
    #[arg(long)]
    pub wkt: Option<String>,
    /// Tile mode, the total bounds of a GeoJSON file (geometry, feature or collection).
    #[arg(long, value_name = "FILE")]
    pub geojson: Option<PathBuf>,
    /// The Python interpreter (default: the configuration's `python`, else a .venv/venv in or
    /// above the package, up to its repository, else python3). A path is taken from the current
    /// folder; a bare name is looked up on PATH.
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Seconds before the run is stopped, at most a day (default: the configuration's
    /// `run-timeout`, else 120).
    #[arg(long, allow_negative_numbers = true)]
    pub timeout: Option<f64>,
    /// The run's memory limit in MiB (address space); past it the UDF gets a MemoryError.
    /// Default: half of the machine's memory; 0: no limit.
    #[arg(long, value_name = "MIB")]
    pub memory_mib: Option<u64>,
    #[arg(long, value_enum, default_value_t = RunFormat::Human)]
    pub format: RunFormat,
    /// Write the result: `.geojson`, `.parquet` or `.csv`, or `.png` for a raster (never a file
    /// of the package or an input). An H3 DataFrame's `.geojson` holds its hexagons.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Run even when `check` finds errors (by default a UDF the SDK would refuse is not run).
    #[arg(long)]
    pub no_check: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RunFormat {
    Human,
    Json,
}

/// `--timeout` when neither the flag nor the configuration's `run-timeout` says.
pub const DEFAULT_TIMEOUT_SECS: f64 = 120.0;

fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// The tile spec, if any: the bounds and a tile.
fn tile_spec(a: &RunArgs) -> Result<Option<(Bounds, Tile)>, String> {
    let around = |b: Bounds| tile::with_center_tile(b, a.z.unwrap_or(13));
    if let Some(spec) = &a.tile {
        let t = Tile::parse(spec)?;
        return Ok(Some((t.bounds(), t)));
    }
    if let (Some(lat), Some(lng), Some(z)) = (a.lat, a.lng, a.z) {
        let t = Tile::containing(lng, lat, z)?;
        return Ok(Some((t.bounds(), t)));
    }
    if let Some(b) = &a.bbox {
        return around(tile::parse_bbox(b)?).map(Some);
    }
    if let Some(w) = &a.wkt {
        return around(tile::wkt_bounds(w)?).map(Some);
    }
    if let Some(f) = &a.geojson {
        let text = fused_fs::read::read_text_capped(f, fused_fs::MAX_FILE)
            .map_err(|e| format!("cannot read `{}`: {e}", f.display()))?;
        return around(tile::geojson_bounds(&text)?).map(Some);
    }
    Ok(None)
}

/// What PATH names: the UDF's file, its entrypoint, the package folder and header modules.
struct Resolved {
    /// The zip the package was read from, if it was one.
    from_zip: Option<PathBuf>,
    source: PathBuf,
    entrypoint: Option<String>,
    dir: PathBuf,
    headers: Vec<(String, PathBuf)>,
}

fn resolve(path: &Path, keep: &mut Option<tempfile::TempDir>) -> Result<Resolved, String> {
    let path = std::fs::canonicalize(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let dir = if path.extension().is_some_and(|e| e == "zip") {
        let bytes = fused_fs::read::read_regular_capped(&path, fused_fs::MAX_ZIP)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let tmp = fused_run::unpack_zip(&bytes, &path)?;
        let d = tmp.path().to_path_buf();
        *keep = Some(tmp);
        d
    } else if path.is_dir() {
        path.clone()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let meta = fused_run::package_meta(&dir);
    let source = if path.is_file() && path.extension().is_some_and(|e| e == "py") {
        path.clone()
    } else if let Some(src) = meta.as_ref().and_then(|m| m.source.as_ref()) {
        dir.join(&src.value)
    } else {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        dir.join(format!("{name}.py"))
    };
    if !source.is_file() {
        return Err(format!("no UDF file to run at `{}`", source.display()));
    }
    let same = meta
        .as_ref()
        .and_then(|m| m.source.as_ref())
        .is_none_or(|s| dir.join(&s.value) == source);
    let entrypoint = meta
        .as_ref()
        .filter(|_| same)
        .and_then(|m| m.entrypoint.as_ref())
        .map(|e| e.value.clone());
    let headers = fused_run::header_modules(&dir, meta.as_ref());
    Ok(Resolved {
        from_zip: keep.as_ref().map(|_| path.clone()),
        source,
        entrypoint,
        dir,
        headers,
    })
}

/// The extensions `-o` writes (the runner's `_write_output`; a raster's `.png` is written by
/// `fused_run`). `.json` is refused: the result as JSON is `--format json`, and GeoJSON is
/// `.geojson`.
const OUTPUT_EXTENSIONS: [&str; 4] = ["geojson", "parquet", "csv", "png"];

fn check_output_extension(o: &Path) -> Result<(), String> {
    let ext = o.extension().and_then(|e| e.to_str()).unwrap_or("");
    if OUTPUT_EXTENSIONS.contains(&ext) {
        return Ok(());
    }
    let shown = output::escape_line(&o.display().to_string()).into_owned();
    Err(if ext == "json" {
        format!(
            "`-o {shown}`: `.json` is not an output format; write GeoJSON to a `.geojson` file, or print the whole result as JSON with `--format json`"
        )
    } else {
        format!("`-o {shown}`: the output must end in .geojson, .parquet or .csv (or .png for a raster)")
    })
}

/// The same file (a symlink or a hard link to it included).
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Refuses an `-o` that would overwrite a file of the package or an input of the run.
fn check_output_target(o: &Path, a: &RunArgs, r: &Resolved) -> Result<(), String> {
    let Ok(out) = std::fs::metadata(o) else {
        return Ok(()); // a new file
    };
    let shown = output::escape_line(&o.display().to_string()).into_owned();
    if out.is_dir() {
        return Err(format!("`-o {shown}` is a folder"));
    }
    let mut inputs: Vec<PathBuf> = vec![a.path.clone(), r.source.clone()];
    inputs.extend(a.geojson.clone());
    inputs.extend(r.headers.iter().map(|(_, p)| p.clone()));
    // Every top-level file of a package folder (a zip's package is a temp copy: the zip is the
    // input above). A loose `.py`'s folder is not a package: its other files are not inputs.
    if r.from_zip.is_none() && r.dir.join("meta.json").is_file() {
        if let Ok(entries) = std::fs::read_dir(&r.dir) {
            inputs.extend(entries.flatten().map(|e| e.path()));
        }
    }
    for input in inputs {
        if std::fs::metadata(&input).is_ok_and(|m| same_file(&m, &out)) {
            return Err(format!(
                "`-o {shown}` would overwrite `{}`, a file of the package or an input of the run; write the output elsewhere",
                output::escape_line(&input.display().to_string())
            ));
        }
    }
    Ok(())
}

/// `--python`: a path (it has a separator) is taken from the current folder, as every other path
/// argument is (the run's working directory is the package); a bare name is looked up on PATH.
fn python_arg(p: &Path) -> PathBuf {
    if p.components().count() > 1 || p.is_absolute() {
        std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
    } else {
        p.to_path_buf()
    }
}

/// The function the runner will call, when the model sees it, and whether the file has a UDF
/// the runner can pick at all.
fn target_udf(text: &str, entrypoint: Option<&str>) -> (Option<fused_core::model::Udf>, bool) {
    let model = fused_core::python::model(text);
    let udf = match entrypoint {
        // In a package the entrypoint is the function meta.json names, decorated or not.
        Some(e) => model.function(e).cloned(),
        None => model.udfs.first().cloned(),
    };
    // An undecorated entrypoint named by meta.json is runnable; without one a decorated
    // function is needed.
    let runnable = entrypoint.is_some() || !model.udfs.is_empty();
    (udf, runnable)
}

/// `-p NAME` for a parameter the UDF does not take: the SDK's call would fail with TypeError.
fn check_param_names(
    udf: &fused_core::model::Udf,
    params: &BTreeMap<String, String>,
) -> Result<(), String> {
    use fused_core::model::ParamKind;
    if udf.has_kwargs() {
        return Ok(());
    }
    let names: Vec<&str> = udf
        .params
        .iter()
        .filter(|p| p.kind == ParamKind::Normal)
        .map(|p| p.name.as_str())
        .collect();
    for given in params.keys() {
        if names.contains(&given.as_str()) {
            continue;
        }
        let near = fused_core::rules::decorator::closest(given, &names)
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        let list = if names.is_empty() {
            "it takes no parameters".to_string()
        } else {
            format!(
                "its parameters: {}",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(format!(
            "`-p {}=...`: the UDF `{}` has no parameter `{}`{near}; {list}",
            output::escape_line(given),
            udf.name,
            output::escape_line(given)
        ));
    }
    Ok(())
}

/// The error-severity diagnostics of what `path` names, exactly as `fused-ls check` finds them.
pub(crate) fn check_errors(path: &Path) -> Vec<Record> {
    let path = path.to_path_buf();
    // As in `check`: deeply nested expressions recurse in the exact parser, so a deep stack.
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let found = crate::discover::discover(
                std::slice::from_ref(&path),
                &crate::discover::no_exclude(),
                false,
            );
            // Every rule: what the SDK refuses does not depend on what the user selected.
            let over = fused_fs::config::Overrides::default();
            let scope = crate::check::Scope {
                cfg: None,
                over: &over,
            };
            let mut records: Vec<Record> = found
                .items
                .iter()
                .flat_map(|item| crate::check::check_item(item, scope, None).records)
                .filter(|r| r.rule.severity() == fused_core::Severity::Error)
                .collect();
            records.sort_by(|a, b| {
                (&a.path, a.start.line, a.start.col, a.rule.code()).cmp(&(
                    &b.path,
                    b.start.line,
                    b.start.col,
                    b.rule.code(),
                ))
            });
            records
        });
    worker.ok().and_then(|w| w.join().ok()).unwrap_or_default()
}

pub fn run(a: RunArgs) -> ExitCode {
    let mut params = BTreeMap::new();
    for p in &a.params {
        match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                params.insert(k.trim().to_string(), v.to_string());
            }
            _ => {
                return usage(format!(
                    "`-p {}`: write parameters as NAME=VALUE",
                    output::escape_line(p)
                ))
            }
        }
    }
    let spec = match tile_spec(&a) {
        Ok(s) => s,
        Err(e) => return usage(output::escape_line(&e)),
    };
    // The configuration that applies to the UDF gives `python` and `run-timeout` when the flags
    // do not (a broken configuration is an error, as in `check`).
    let cfg = match crate::check::config_for_root(&fused_fs::config::Resolver::new(), &a.path) {
        Ok(c) => c,
        Err(e) => return usage(output::escape_line(&e)),
    };
    let secs = a
        .timeout
        .or_else(|| cfg.as_ref().and_then(|c| c.config.run_timeout))
        .unwrap_or(DEFAULT_TIMEOUT_SECS);
    let Ok(timeout) = fused_run::timeout_from_secs(secs) else {
        return usage(format!(
            "--timeout {secs}: give a positive number of seconds (larger than a day counts as a day)"
        ));
    };
    if let Some(o) = &a.output {
        if let Err(e) = check_output_extension(o) {
            return usage(e);
        }
    }
    let mut keep = None;
    let resolved = match resolve(&a.path, &mut keep) {
        Ok(r) => r,
        Err(e) => return usage(output::escape_line(&e)),
    };
    let text = std::fs::read_to_string(&resolved.source).unwrap_or_default();
    let (udf, runnable) = target_udf(&text, resolved.entrypoint.as_deref());
    if !runnable {
        let file = resolved
            .source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let main = fused_run::package_meta(&resolved.dir)
            .and_then(|m| m.source.map(|s| s.value))
            .filter(|m| *m != file);
        let more = match main {
            Some(m) => format!(
                "; it is a helper of its package, whose UDF is in `{m}`: run the package folder"
            ),
            None => String::new(),
        };
        return usage(format!(
            "`{}` holds no UDF (no function decorated with `@fused.udf`){more}",
            output::escape_line(&resolved.source.display().to_string())
        ));
    }
    if let Some(udf) = &udf {
        if let Err(e) = check_param_names(udf, &params) {
            return usage(e);
        }
    }
    if let Some(o) = &a.output {
        if let Err(e) = check_output_target(o, &a, &resolved) {
            return usage(e);
        }
    }
    let Resolved {
        source,
        entrypoint,
        dir,
        headers,
        ..
    } = resolved;
    // Discovery stops at the repository (or the current folder): a .venv planted above it
    // never runs.
    let cwd = std::env::current_dir().unwrap_or_default();
    let python = find_python(
        a.python
            .as_deref()
            .map(python_arg)
            .or_else(|| cfg.as_ref().and_then(|c| c.python()))
            .as_deref(),
        &dir,
        &fused_run::cli_search_root(&dir, &cwd),
    );
    let req = RunRequest {
        source_path: source,
        entrypoint,
        package_dir: Some(dir),
        headers,
        mode: if spec.is_some() {
            Mode::Tile
        } else {
            Mode::File
        },
        bounds: spec.map(|s| s.0),
        tile: spec.map(|s| s.1),
        params,
        output_path: a
            .output
            .as_ref()
            .map(|o| std::path::absolute(o).unwrap_or_else(|_| o.clone())),
        features_path: None,
    };
    if !a.no_check {
        let errors = check_errors(&a.path);
        if !errors.is_empty() {
            return check_failed(&a, &req, &python, &errors);
        }
    }
    let opts = RunOptions {
        python,
        timeout,
        output_cap: 1 << 20,
        memory_limit: fused_run::memory_limit_mib(a.memory_mib),
        reuse: None,
    };
    // Ctrl-C, SIGTERM and SIGHUP stop the run (the UDF and all it started) before fused-ls
    // exits; `kill -9` cannot be caught, and the runner's lifeline covers it.
    let stop = on_signals_stop();
    let result = fused_run::run(&req, &opts, stop);
    drop(keep);
    let signal = SIGNAL.load(Ordering::SeqCst);
    if signal != 0 {
        eprintln!("fused-ls: the run was stopped by signal {signal}");
        return ExitCode::from(128u8.saturating_add(signal as u8));
    }
    let result = match result {
        Ok(r) => r,
        Err(e) => return usage(output::escape_line(&e)),
    };
    let ok = result["ok"].as_bool().unwrap_or(false);
    // The run is over and cleaned up: only printing is left.
    crate::quiet_on_closed_pipe();
    match a.format {
        RunFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        ),
        RunFormat::Human => print_human(&result),
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The UDF has errors `check` reports (the SDK would fail at load or run): it is not run.
fn check_failed(a: &RunArgs, req: &RunRequest, python: &Path, errors: &[Record]) -> ExitCode {
    let result = fused_run::check_failed_result(req, python, output::json::to_value(errors));
    crate::quiet_on_closed_pipe();
    match a.format {
        RunFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        ),
        RunFormat::Human => {
            let stdout = std::io::stdout();
            let color = output::use_color(crate::ColorChoice::Auto);
            let opts = output::human::Options {
                fixed: 0,
                fix_mode: false,
                color,
                complete: true,
                quiet: false,
                unsafe_fixes: false,
            };
            let _ = output::human::write(&mut stdout.lock(), errors, &opts);
            println!(
                "error: not run: {}",
                result["error"]["message"].as_str().unwrap_or("")
            );
        }
    }
    ExitCode::from(1)
}

static STOP: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only atomics here: the run's loop sees the flag within 10 ms and stops the run.
    SIGNAL.store(sig, Ordering::SeqCst);
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP; returns the flag it sets.
fn on_signals_stop() -> &'static AtomicBool {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a handler that only stores to atomics is async-signal-safe.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
    &STOP
}

fn print_human(r: &serde_json::Value) {
    let stdout = r["stdout"].as_str().unwrap_or("");
    if !stdout.is_empty() {
        println!("--- stdout\n{}", output::escape(stdout.trim_end()));
    }
    let stderr = r["stderr"].as_str().unwrap_or("");
    if !stderr.is_empty() {
        println!("--- stderr\n{}", output::escape(stderr.trim_end()));
    }
    let mode = r["mode"].as_str().unwrap_or("file");
    let ms = r["elapsed_ms"].as_f64().unwrap_or(0.0);
    if r["ok"].as_bool() == Some(true) {
        let res = &r["result"];
        let mut line = format!(
            "ok: {mode} run in {ms:.0} ms, returned {}",
            res["type"].as_str().unwrap_or("?")
        );
        if let Some(rows) = res["rows"].as_u64() {
            line.push_str(&format!(", {rows} rows"));
        }
        if let Some(cols) = res["columns"].as_array() {
            let names: Vec<&str> = cols.iter().filter_map(|c| c.as_str()).collect();
            line.push_str(&format!(
                " × {} columns ({})",
                names.len(),
                names.join(", ")
            ));
        }
        if let Some(b) = res["total_bounds"].as_array() {
            line.push_str(&format!(", bounds {}", serde_json::Value::Array(b.clone())));
        }
        if let Some(h3) = res["h3"].as_object() {
            line.push_str(&format!(
                ", {} H3 cells in `{}`",
                h3.get("cells").and_then(|c| c.as_u64()).unwrap_or(0),
                h3.get("column").and_then(|c| c.as_str()).unwrap_or("")
            ));
        }
        let raster = &res["raster"];
        if raster.is_object() {
            line.push_str(&format!(
                ", a raster {}×{}, {} band{}, {}, range {}..{}",
                raster["width"],
                raster["height"],
                raster["bands"],
                if raster["bands"] == 1 { "" } else { "s" },
                raster["dtype"].as_str().unwrap_or("?"),
                raster["min"],
                raster["max"]
            ));
            match raster["bounds"].as_array() {
                Some(b) => line.push_str(&format!(
                    ", placed at {} ({})",
                    serde_json::Value::Array(b.clone()),
                    raster["bounds_from"].as_str().unwrap_or("?")
                )),
                None => line.push_str(", no bounds"),
            }
        }
        println!("{}", output::escape(&line));
        if raster.is_object() {
            return; // (the array's repr says nothing more)
        }
        if let Some(rows) = res["preview"].as_array() {
            for row in rows.iter().take(10) {
                println!("  {}", output::escape_line(&row.to_string()));
            }
        } else if !res["value"].is_null() {
            println!("  {}", output::escape_line(&res["value"].to_string()));
        }
    } else {
        let e = &r["error"];
        let at = e["line"]
            .as_u64()
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        println!(
            "error: {}: {}{at}",
            output::escape_line(e["class"].as_str().unwrap_or("Error")),
            output::escape(e["message"].as_str().unwrap_or(""))
        );
        if let Some(hint) = e["hint"].as_str() {
            println!("hint: {}", output::escape(hint));
        }
        let tb = e["traceback"].as_str().unwrap_or("");
        if !tb.is_empty() {
            println!("{}", output::escape(tb.trim_end()));
        }
    }
}
