//! `fused-ls run PATH`: run a UDF locally, in File or Tile mode, through the bundled runner.

use fused_core::tile::{self, Bounds, Tile};
use fused_core::zip_package::{read_zip, ZipLimits};
use fused_run::{find_python, Mode, RunOptions, RunRequest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

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
    /// The Python interpreter (default: a .venv/venv in or above the package, up to its
    /// repository, else python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Seconds before the run is stopped (at most a day).
    #[arg(long, default_value_t = 120.0, allow_negative_numbers = true)]
    pub timeout: f64,
    #[arg(long, value_enum, default_value_t = RunFormat::Human)]
    pub format: RunFormat,
    /// Write the result: `.geojson`, `.parquet` or `.csv`.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RunFormat {
    Human,
    Json,
}

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
        let text = std::fs::read_to_string(f)
            .map_err(|e| format!("cannot read `{}`: {e}", f.display()))?;
        return around(tile::geojson_bounds(&text)?).map(Some);
    }
    Ok(None)
}

/// What PATH names: the UDF's file, its entrypoint, the package folder and header modules.
struct Resolved {
    source: PathBuf,
    entrypoint: Option<String>,
    dir: PathBuf,
    headers: Vec<(String, PathBuf)>,
}

fn resolve(path: &Path, keep: &mut Option<tempfile::TempDir>) -> Result<Resolved, String> {
    let path = std::fs::canonicalize(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let dir = if path.extension().is_some_and(|e| e == "zip") {
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let zp = read_zip(&bytes, &stem, ZipLimits::default())
            .map_err(|e| format!("`{}` is not a usable package zip: {e}", path.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix("fused-ls-zip-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        for f in &zp.package.files {
            // Names come from the checked zip: no separators, no `..`.
            if let Some(text) = f.content.text() {
                std::fs::write(tmp.path().join(&f.name), text).map_err(|e| e.to_string())?;
            }
        }
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
        source,
        entrypoint,
        dir,
        headers,
    })
}

pub fn run(a: RunArgs) -> ExitCode {
    let mut params = BTreeMap::new();
    for p in &a.params {
        match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                params.insert(k.trim().to_string(), v.to_string());
            }
            _ => return usage(format!("`-p {p}`: write parameters as NAME=VALUE")),
        }
    }
    let spec = match tile_spec(&a) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let Ok(timeout) = fused_run::timeout_from_secs(a.timeout) else {
        return usage(format!(
            "--timeout {}: give a positive number of seconds (larger than a day counts as a day)",
            a.timeout
        ));
    };
    let mut keep = None;
    let Resolved {
        source,
        entrypoint,
        dir,
        headers,
    } = match resolve(&a.path, &mut keep) {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    // Discovery stops at the repository (or the current folder): a .venv planted above it
    // never runs.
    let cwd = std::env::current_dir().unwrap_or_default();
    let python = find_python(
        a.python.as_deref(),
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
    };
    let opts = RunOptions {
        python,
        timeout,
        output_cap: 1 << 20,
    };
    let result = match fused_run::run(&req, &opts, &AtomicBool::new(false)) {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let ok = result["ok"].as_bool().unwrap_or(false);
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

fn print_human(r: &serde_json::Value) {
    let stdout = r["stdout"].as_str().unwrap_or("");
    if !stdout.is_empty() {
        println!("--- stdout\n{}", stdout.trim_end());
    }
    let stderr = r["stderr"].as_str().unwrap_or("");
    if !stderr.is_empty() {
        println!("--- stderr\n{}", stderr.trim_end());
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
        println!("{line}");
        if let Some(rows) = res["preview"].as_array() {
            for row in rows.iter().take(10) {
                println!("  {row}");
            }
        } else if !res["value"].is_null() {
            println!("  {}", res["value"]);
        }
    } else {
        let e = &r["error"];
        let at = e["line"]
            .as_u64()
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        println!(
            "error: {}: {}{at}",
            e["class"].as_str().unwrap_or("Error"),
            e["message"].as_str().unwrap_or("")
        );
        if let Some(hint) = e["hint"].as_str() {
            println!("hint: {hint}");
        }
        let tb = e["traceback"].as_str().unwrap_or("");
        if !tb.is_empty() {
            println!("{}", tb.trim_end());
        }
    }
}
