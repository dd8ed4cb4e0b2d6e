//! Parity with the real SDK: the same UDFs with the same string arguments through fused 2.9.5's
//! `fused.run(..., engine="local", cache=False)` and through fused-ls's runner, under both the
//! plain `python3` (the runner's stand-in `fused`) and the SDK's own interpreter (the real
//! package). Results must agree. The SDK venv is made once by tests/sdk/setup.sh.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;

/// `fused.run(fused.load(pkg), engine="local", cache=False, **params)` → `{"value": ...}` or
/// `{"error": "<message>"}`.
fn sdk_run(python: &str, pkg: &str, params: &[(&str, &str)]) -> Value {
    let kwargs: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let script = format!(
        "import json, warnings, fused\nwarnings.simplefilter('ignore')\nkw = json.loads({:?})\nkw = {{k: (int(v) if k in ('x', 'y', 'z') else v) for k, v in kw.items()}}\ntry:\n    r = fused.run(fused.load({pkg:?}), engine='local', cache=False, **kw)\n    print('RESULT ' + json.dumps({{'value': r}}, default=str))\nexcept Exception as e:\n    print('RESULT ' + json.dumps({{'error': str(e)}}))\n",
        Value::Object(kwargs).to_string()
    );
    let out = std::process::Command::new(python)
        .args(["-c", &script])
        .current_dir(repo_root().join("fixtures/run"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("no result: {text} {}", String::from_utf8_lossy(&out.stderr)));
    serde_json::from_str(line).unwrap()
}

fn ours(python: Option<&str>, pkg: &str, params: &[(&str, &str)], tile: Option<&str>) -> Value {
    let mut args: Vec<String> = vec![
        "run".into(),
        "--format".into(),
        "json".into(),
        format!("fixtures/run/{pkg}"),
    ];
    for (k, v) in params {
        args.push("-p".into());
        args.push(format!("{k}={v}"));
    }
    if let Some(t) = tile {
        args.push("--tile".into());
        args.push(t.into());
    }
    if let Some(py) = python {
        args.push("--python".into());
        args.push(py.into());
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&repo_root(), &argv);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// `fused-ls run --format json FILE ARGS... --python PYTHON`: (exit code, the result JSON).
fn run_file(python: &str, file: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let mut argv = vec!["run", "--format", "json", file.to_str().unwrap()];
    argv.extend_from_slice(args);
    argv.extend(["--python", python]);
    let out = run(&repo_root(), &argv);
    let r = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), r)
}

#[test]
fn every_coercion_row_agrees_with_fused_2_9_5() {
    let sdk = sdk_python();
    let cases: &[&[(&str, &str)]] = &[
        &[
            ("count", " 7 "),
            ("ratio", "1e3"),
            ("enabled", "no"),
            ("label", "42"),
        ],
        &[
            ("enabled", "FALSE"),
            ("ids", "[1, 2]"),
            ("options", "{\"a\": 1}"),
            ("pair", "[1, 2]"),
        ],
        &[
            ("enabled", ""),
            ("floats", "[1.5, 2]"),
            ("names", "{\"k\": \"v\"}"),
            ("maybe", "5"),
        ],
        &[
            ("enabled", "0"),
            ("stream", "[1, 2]"),
            ("either", "5"),
            ("mode", "slow"),
        ],
        &[
            ("token", "12345678-1234-5678-1234-567812345678"),
            ("when", "2024-01-31"),
            ("at", "2024-01-31T10:00:00"),
        ],
    ];
    for case in cases {
        let want = sdk_run(&sdk, "Coercion_Table", case);
        for python in [None, Some(sdk.as_str())] {
            let got = ours(python, "Coercion_Table", case, None);
            assert_eq!(got["ok"], true, "{got}");
            assert_eq!(
                got["result"]["value"], want["value"],
                "{case:?} with {python:?}"
            );
        }
    }
    // int("4.0") fails in both.
    let want = sdk_run(&sdk, "Coercion_Table", &[("count", "4.0")]);
    assert!(
        want["error"]
            .as_str()
            .unwrap()
            .contains("invalid literal for int()"),
        "{want}"
    );
    let got = ours(None, "Coercion_Table", &[("count", "4.0")], None);
    assert!(got["error"]["message"]
        .as_str()
        .unwrap()
        .contains("invalid literal for int()"));
}

#[test]
fn the_x_y_z_tile_example_agrees_and_x_y_z_are_not_filled() {
    let sdk = sdk_python();
    let want = sdk_run(
        &sdk,
        "Tile_Receivers",
        &[("x", "2411"), ("y", "3079"), ("z", "13")],
    );
    for python in [None, Some(sdk.as_str())] {
        let got = ours(python, "Tile_Receivers", &[], Some("13/2411/3079"));
        assert_eq!(got["result"]["value"], want["value"], "with {python:?}");
    }
}

#[test]
fn a_raising_udf_fails_alike() {
    let sdk = sdk_python();
    let want = sdk_run(&sdk, "Failing_Udf", &[("how", "raise")]);
    assert_eq!(want["error"], "ZeroDivisionError: division by zero");
    for python in [None, Some(sdk.as_str())] {
        let got = ours(python, "Failing_Udf", &[("how", "raise")], None);
        assert_eq!(
            format!(
                "{}: {}",
                got["error"]["class"].as_str().unwrap(),
                got["error"]["message"].as_str().unwrap()
            ),
            want["error"].as_str().unwrap()
        );
        assert_eq!(got["error"]["line"], 14);
    }
}

/// Receivers of every `fused.types` annotation and a GeoDataFrame result, under the SDK's
/// interpreter (it has geopandas, shapely and mercantile): what the runner hands the UDF, what it
/// reports back, and `-o` output files.
#[test]
fn geo_receivers_results_and_output_files() {
    let sdk = sdk_python();
    let t = tempfile::tempdir().unwrap();
    let cases = [
        (
            "fused.types.Bbox",
            "type(bounds).__name__ + ' ' + str(tuple(round(v, 6) for v in bounds.bounds))",
            "Polygon (-74.047852, 40.713956, -74.003906, 40.747257)",
        ),
        (
            "fused.types.TileXYZ",
            "repr(tuple(bounds))",
            "(2411, 3079, 13)",
        ),
        (
            "fused.types.Tile",
            "str(list(bounds.columns)) + ' ' + str(bounds[['x', 'y', 'z']].values.tolist())",
            "['x', 'y', 'z', 'geometry'] [[2411, 3079, 13]]",
        ),
        (
            "fused.types.TileGDF",
            "str(bounds[['x', 'y', 'z']].values.tolist())",
            "[[2411, 3079, 13]]",
        ),
        (
            "",
            "str(bounds[['x', 'y', 'z']].values.tolist())",
            "[[2411, 3079, 13]]",
        ),
    ];
    for (i, (ann, expr, want)) in cases.iter().enumerate() {
        let sig = if ann.is_empty() {
            "bounds=None".to_string()
        } else {
            format!("bounds: {ann} = None")
        };
        let f = t.path().join(format!("r{i}.py"));
        std::fs::write(
            &f,
            format!("import fused\n\n@fused.udf\ndef udf({sig}):\n    return {expr}\n"),
        )
        .unwrap();
        let (_, r) = run_file(&sdk, &f, &["--tile", "13/2411/3079"]);
        assert_eq!(r["result"]["value"], *want, "{ann}: {r}");
    }
    // A GeoDataFrame result: rows, columns, CRS, total bounds, a preview and GeoJSON for a map.
    let f = t.path().join("gdf.py");
    std::fs::write(&f, "import fused\n\n@fused.udf\ndef udf(bounds: fused.types.Bounds = None, n: int = 3):\n    import geopandas as gpd\n    from shapely.geometry import Point\n    minx, miny, maxx, maxy = bounds\n    pts = [Point(minx + (maxx - minx) * i / n, miny) for i in range(n)]\n    return gpd.GeoDataFrame({'i': list(range(n)), 'name': [f'p{i}' for i in range(n)]}, geometry=pts, crs=4326)\n").unwrap();
    let out_file = t.path().join("out.geojson");
    let (_, r) = run_file(
        &sdk,
        &f,
        &[
            "--tile",
            "13/2411/3079",
            "-p",
            "n=4",
            "-o",
            out_file.to_str().unwrap(),
        ],
    );
    let res = &r["result"];
    assert_eq!(res["type"], "geopandas.geodataframe.GeoDataFrame", "{r}");
    assert_eq!(res["rows"], 4);
    assert_eq!(res["columns"], serde_json::json!(["i", "name", "geometry"]));
    assert_eq!(res["crs"], "EPSG:4326");
    assert_eq!(res["preview"][1], serde_json::json!({"i": 1, "name": "p1"}));
    assert_eq!(res["geojson"]["features"].as_array().unwrap().len(), 4);
    assert_eq!(res["total_bounds"][0], -74.0478515625);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(written["features"].as_array().unwrap().len(), 4);
    let csv = t.path().join("out.csv");
    run(
        &repo_root(),
        &[
            "run",
            f.to_str().unwrap(),
            "--tile",
            "13/2411/3079",
            "--python",
            &sdk,
            "-o",
            csv.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read_to_string(&csv)
        .unwrap()
        .starts_with("i,name,geometry\n0,p0,POINT"));
}

/// The GeoJSON sent to the editor's map (README "run --format json"): in EPSG:4326, coordinates
/// rounded to 7 decimal places, dates as ISO text, whole features only up to the byte cap.
#[test]
fn the_map_geojson_is_rounded_capped_and_keeps_every_column() {
    const GEOJSON_MAX_BYTES: usize = 256 << 10;
    let sdk = sdk_python();
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("shapes.py");
    std::fs::write(
        &f,
        "import fused\n\n@fused.udf\ndef udf(n: int = 2, crs: int = 4326):\n    import geopandas as gpd\n    import pandas as pd\n    from shapely.geometry import Point\n    pts = [Point(-74.0123456789 + i * 1e-3, 40.7123456789).buffer(1e-4) if i else Point(-74.0123456789, 40.7123456789) for i in range(n)]\n    gdf = gpd.GeoDataFrame({'i': range(n), 'when': pd.to_datetime(['2020-01-02'] * n)}, geometry=pts, crs=4326)\n    if crs == 0:\n        gdf['other'] = gpd.GeoSeries([Point(1, 2)] * n)\n        return gdf\n    return gdf.to_crs(crs)\n",
    )
    .unwrap();
    let run_with = |params: &[&str]| -> Value {
        let args: Vec<&str> = params.iter().flat_map(|p| ["-p", p]).collect();
        run_file(&sdk, &f, &args).1
    };
    for crs in ["crs=4326", "crs=3857"] {
        let r = run_with(&["n=2", crs]);
        let gj = &r["result"]["geojson"];
        assert_eq!(gj["type"], "FeatureCollection", "{r}");
        let first = &gj["features"][0];
        assert_eq!(first["id"], "0");
        assert_eq!(first["type"], "Feature");
        assert_eq!(
            first["properties"],
            serde_json::json!({"i": 0, "when": "2020-01-02T00:00:00.000"})
        );
        let xy = first["geometry"]["coordinates"].as_array().unwrap();
        assert!(
            (xy[0].as_f64().unwrap() + 74.0123457).abs() < 2e-7,
            "{crs}: {first}"
        );
        assert!(
            (xy[1].as_f64().unwrap() - 40.7123457).abs() < 2e-7,
            "{crs}: {first}"
        );
        if crs == "crs=4326" {
            assert_eq!(
                xy,
                &[
                    serde_json::json!(-74.0123457),
                    serde_json::json!(40.7123457)
                ]
            );
        }
        assert_eq!(gj["features"][1]["geometry"]["type"], "Polygon");
        assert_eq!(r["result"]["geojson_truncated"], false);
    }
    // No rows, and a second geometry column: still a result.
    let r = run_with(&["n=0"]);
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["result"]["geojson"]["features"], serde_json::json!([]));
    assert_eq!(
        r["result"]["total_bounds"],
        serde_json::json!([null, null, null, null])
    );
    let r = run_with(&["n=2", "crs=0"]);
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["result"]["preview"][0]["other"], "POINT (1 2)", "{r}");
    let props = &r["result"]["geojson"]["features"][0]["properties"];
    assert_eq!(props["other"], "POINT (1 2)", "{r}");
    // Many detailed polygons: cut at the byte cap, whole features, flagged.
    let r = run_with(&["n=1000"]);
    let res = &r["result"];
    let features = res["geojson"]["features"].as_array().unwrap();
    assert!(
        features.len() > 10 && features.len() < 1000,
        "{}",
        features.len()
    );
    assert_eq!(res["geojson_truncated"], true);
    assert!(res["geojson"].to_string().len() <= GEOJSON_MAX_BYTES);
    let last = features.last().unwrap();
    assert_eq!(last["id"], (features.len() - 1).to_string());
    assert_eq!(last["geometry"]["type"], "Polygon");
    assert_eq!(res["rows"], 1000);
}

/// A result the runner cannot describe (pandas refuses `to_json(orient="records")` with
/// duplicate column names) is a failed run with the reason, never `ok` with an error beside it.
#[test]
fn a_result_that_cannot_be_described_is_an_error_not_ok() {
    let sdk = sdk_python();
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("dup.py");
    std::fs::write(
        &f,
        "import fused\n\n@fused.udf\ndef udf():\n    import pandas as pd\n    return pd.DataFrame([[1, 2]], columns=['a', 'a'])\n",
    )
    .unwrap();
    let (code, r) = run_file(&sdk, &f, &[]);
    assert_eq!(r["ok"], false, "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("unique"),
        "{r}"
    );
    assert_eq!(code, Some(1));
}
