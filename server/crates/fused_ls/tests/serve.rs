//! `fused-ls serve` end to end: the built binary, the SDK venv's interpreter, and plain HTTP/1.1
//! over a `TcpStream` (so the tests control the `Host` header and can hang up mid-request).

mod common;
use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    /// `127.0.0.1:PORT`
    authority: String,
    /// `/<token>/`
    base: String,
    marker: String,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    fn start(paths: &[&Path], extra: &[&str]) -> Server {
        let marker = format!(
            "FUSED_SERVE_TEST_{}_{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos() ^ rand_ish()
        );
        let python = sdk_python();
        let mut cmd = bin();
        cmd.arg("serve")
            .args(paths)
            .args(["--no-open", "--python", &python, "--port", "0"])
            .args(extra)
            .env("FUSED_SERVE_MARKER", &marker)
            .current_dir(repo_root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("fused-ls serve starts");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (err, sink) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first.trim();
        let rest = url
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("the first line is the base URL: {url:?}"));
        let (authority, path) = rest.split_at(rest.find('/').unwrap());
        assert!(authority.starts_with("127.0.0.1:"), "{url}");
        // 128 random bits as hex.
        let token = path.trim_matches('/');
        assert_eq!(token.len(), 32, "{url}");
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
        Server {
            child,
            authority: authority.to_string(),
            base: path.to_string(),
            marker,
            stderr,
        }
    }

    fn get(&self, rel: &str) -> Resp {
        self.request(&format!("{}{rel}", self.base), &[])
    }

    fn request(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut s = TcpStream::connect(&self.authority).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut req = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            req.push_str(&format!("Host: {}\r\n", self.authority));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        Resp::parse(&raw)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rand_ish() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn parse(raw: &[u8]) -> Resp {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete response");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Resp {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{e}: {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

fn fixture(rel: &str) -> PathBuf {
    repo_root().join(rel)
}

const NYC: [f64; 4] = [
    -74.0478515625,
    40.713955826286046,
    -74.00390625,
    40.74725696280421,
];

#[test]
fn tiles_get_the_sdk_bounds_and_query_strings_are_coerced_as_the_sdk_does() {
    let s = Server::start(&[&fixture("fixtures/run")], &["--workers", "1"]);
    let r = s.get("Tile_Receivers/run/tiles/13/2411/3079?format=json&label=a%2Bb%26c%3D%C3%A9");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["mode"], "tile");
    assert_bounds(&v["bounds"], NYC);
    assert_bounds(&v["result"]["value"]["bounds"], NYC);
    assert_eq!(
        v["tile"],
        serde_json::json!({"x": 2411, "y": 3079, "z": 13})
    );
    assert_eq!(v["result"]["value"]["label"], "a+b&c=é");

    // The same strings through the query and through `fused-ls run -p`: the same result, and the
    // same contract (every key of `run --format json`).
    let params = [
        ("count", " 7 "),
        ("ratio", "1e3"),
        ("enabled", "false"),
        ("ids", "[1, 2]"),
        ("options", "{\"a\": 1}"),
        ("pair", "[1, \"x\"]"),
        ("floats", "[1.5, 2]"),
        ("token", "12345678-1234-5678-1234-567812345678"),
        ("when", "2024-02-29"),
        ("maybe", "3"),
        ("either", "5"),
        ("mode", "slow"),
        ("label", "no"),
    ];
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    let served = s.get(&format!(
        "Coercion_Table/run/file?format=json&{}",
        query.join("&")
    ));
    assert_eq!(
        served.status,
        200,
        "{}",
        String::from_utf8_lossy(&served.body)
    );
    let served = served.json();
    let mut args = vec![
        "run".to_string(),
        "--format".into(),
        "json".into(),
        "--python".into(),
        sdk_python(),
        "fixtures/run/Coercion_Table".into(),
    ];
    for (k, v) in params {
        args.push("-p".into());
        args.push(format!("{k}={v}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ran: Value = serde_json::from_slice(&run(&repo_root(), &args).stdout).unwrap();
    assert_eq!(served["result"], ran["result"]);
    assert_eq!(served["params"], ran["params"]);
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&served), keys(&ran));
    let got = &served["result"]["value"];
    assert_eq!(got["count"], serde_json::json!(["int", 7]));
    assert_eq!(got["ratio"], serde_json::json!(["float", 1000.0]));
    assert_eq!(got["enabled"], serde_json::json!(["bool", false]));
    assert_eq!(got["label"], serde_json::json!(["str", "no"]));
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// lon/lat → the pixel of a z/x/y tile's 4096 grid (Web Mercator).
fn to_tile(z: u8, x: u32, y: u32, lon: f64, lat: f64) -> (f64, f64) {
    let n = f64::from(1u32 << z);
    let lat = lat.to_radians();
    let wx = (lon + 180.0) / 360.0 * n;
    let wy = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    ((wx - f64::from(x)) * 4096.0, (wy - f64::from(y)) * 4096.0)
}

#[test]
fn geojson_and_mvt_decode_to_what_the_udf_returned() {
    let s = Server::start(&[&fixture("fixtures/serve")], &["--workers", "1"]);
    let g = s.get("Points_Tile/run/tiles/13/2411/3079?format=geojson&count=2&label=x%20y");
    assert_eq!(g.status, 200, "{}", String::from_utf8_lossy(&g.body));
    assert_eq!(g.header("content-type"), Some("application/geo+json"));
    assert_eq!(g.header("access-control-allow-origin"), None);
    let fc = g.json();
    let features = fc["features"].as_array().unwrap();
    let kinds: Vec<&str> = features
        .iter()
        .map(|f| f["properties"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["point", "point", "line", "polygon"]);
    let p0 = &features[0];
    assert_eq!(p0["properties"]["label"], "x y");
    assert_eq!(p0["properties"]["n"], 0);
    assert_eq!(p0["properties"]["v"], 0.5);
    assert_eq!(p0["properties"]["flag"], true);
    // The first point is at 1/3 of the tile's width, half its height (the UDF's arithmetic on
    // the bounds it received), to GeoJSON's 7 decimals.
    let c = &p0["geometry"]["coordinates"];
    let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
    assert!(
        (lon - (NYC[0] + (NYC[2] - NYC[0]) / 3.0)).abs() < 1e-7,
        "{lon}"
    );
    assert!((lat - (NYC[1] + NYC[3]) / 2.0).abs() < 1e-7, "{lat}");

    // The same features as `fused-ls run --format json` puts in `result.geojson` (its capped
    // copy for the editor): ids, properties and coordinates.
    let python = sdk_python();
    let ran = run(
        &repo_root(),
        &[
            "run",
            "--format",
            "json",
            "--python",
            &python,
            "--tile",
            "13/2411/3079",
            "-p",
            "count=2",
            "-p",
            "label=x y",
            "fixtures/serve/Points_Tile",
        ],
    );
    let ran: Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(&ran["result"]["geojson"]["features"], &fc["features"]);

    let m = s.get("Points_Tile/run/tiles/13/2411/3079?format=mvt&count=2&label=x%20y");
    assert_eq!(m.status, 200, "{}", String::from_utf8_lossy(&m.body));
    assert_eq!(
        m.header("content-type"),
        Some("application/vnd.mapbox-vector-tile")
    );
    let reader = mvt_reader::Reader::new(m.body.clone()).expect("a valid vector tile");
    assert_eq!(reader.get_layer_names().unwrap(), ["udf"]);
    let meta = reader.get_layer_metadata().unwrap();
    assert_eq!(meta[0].extent, 4096);
    let decoded = reader.get_features_as::<f64>(0).unwrap();
    assert_eq!(decoded.len(), 4);
    use mvt_reader::feature::Value as V;
    for (f, want) in decoded.iter().zip(features) {
        let props = f.properties.as_ref().unwrap();
        let wp = &want["properties"];
        assert_eq!(
            props["kind"],
            V::String(wp["kind"].as_str().unwrap().into())
        );
        assert_eq!(props["label"], V::String("x y".into()));
        assert_eq!(props["n"], V::SInt(wp["n"].as_i64().unwrap()));
        assert_eq!(props["v"], V::Double(wp["v"].as_f64().unwrap()));
        assert_eq!(props["flag"], V::Bool(wp["flag"].as_bool().unwrap()));
    }
    // Tile-local integer coordinates: the point where the GeoJSON puts it.
    let (px, py) = to_tile(13, 2411, 3079, lon, lat);
    // (The reader gives every point geometry as a MultiPoint: the format does not tell them apart.)
    let point = match &decoded[0].geometry {
        geo_types::Geometry::Point(p) => *p,
        geo_types::Geometry::MultiPoint(m) if m.0.len() == 1 => m.0[0],
        other => panic!("a point: {other:?}"),
    };
    assert!(
        (point.x() - px).abs() <= 1.0 && (point.y() - py).abs() <= 1.0,
        "{point:?} vs {px},{py}"
    );
    let polygon = match &decoded[3].geometry {
        geo_types::Geometry::Polygon(p) => p.clone(),
        geo_types::Geometry::MultiPolygon(m) if m.0.len() == 1 => m.0[0].clone(),
        other => panic!("a polygon: {other:?}"),
    };
    // The box from 1/4 to 3/4 of the tile, in the 4096 grid (y down), with its hole.
    let xs: Vec<f64> = polygon.exterior().coords().map(|c| c.x).collect();
    let min = xs.iter().cloned().fold(f64::MAX, f64::min);
    let max = xs.iter().cloned().fold(f64::MIN, f64::max);
    assert!(
        (min - 1024.0).abs() <= 1.0 && (max - 3072.0).abs() <= 1.0,
        "{xs:?}"
    );
    assert_eq!(polygon.interiors().len(), 1);
    // A projected result is served in EPSG:4326 all the same.
    let projected = s
        .get("Points_Tile/run/tiles/13/2411/3079?format=geojson&count=2&label=x%20y&crs=3857")
        .json();
    let c = &projected["features"][0]["geometry"]["coordinates"];
    assert!((c[0].as_f64().unwrap() - lon).abs() < 2e-7, "{c}");
    assert!((c[1].as_f64().unwrap() - lat).abs() < 2e-7, "{c}");
    assert_eq!(projected["features"][3]["geometry"]["type"], "Polygon");
    assert_eq!(
        projected["features"][3]["geometry"]["coordinates"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "an exterior and a hole"
    );
}

/// A Tile UDF returning shapes much larger than its tile, and beside it.
const BEYOND_TILE: &str = r#"import fused


@fused.udf
def udf(bounds: fused.types.Bounds = None, hole: bool = True):
    import geopandas as gpd
    from shapely.geometry import LineString, Point, box

    minx, miny, maxx, maxy = bounds
    w, h = maxx - minx, maxy - miny
    huge = box(minx - 50 * w, miny - 50 * h, maxx + 50 * w, maxy + 50 * h)
    if hole:
        huge = huge.difference(box(minx + 0.4 * w, miny + 0.4 * h, minx + 0.6 * w, miny + 0.6 * h))
    rows = [
        # 101 x 101 tiles, with a hole around the tile's centre: both cut to the tile.
        {"kind": "huge", "geometry": huge},
        {"kind": "inside", "geometry": Point(minx + w / 2, miny + h / 2)},
        {"kind": "east", "geometry": Point(maxx + 3 * w, miny + h / 2)},
        {"kind": "across", "geometry": LineString([(minx - 20 * w, miny + h / 2), (maxx + 20 * w, miny + h / 2)])},
        {"kind": "beside", "geometry": box(maxx + 5 * w, miny, maxx + 6 * w, maxy)},
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
"#;

#[test]
fn mvt_features_are_clipped_to_the_tile_and_its_buffer() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("Beyond_Tile.py"), BEYOND_TILE).unwrap();
    let s = Server::start(&[t.path()], &["--workers", "1"]);
    // With the hole, the rows are handed over as WKB; without it, as plain coordinate arrays
    // (every shape a point, a line or a polygon without holes): both are cut the same way.
    for hole in [true, false] {
        let m = s.get(&format!(
            "Beyond_Tile/run/tiles/13/2411/3079?format=mvt&hole={hole}"
        ));
        assert_eq!(m.status, 200, "{}", String::from_utf8_lossy(&m.body));
        let reader = mvt_reader::Reader::new(m.body.clone()).expect("a valid vector tile");
        let decoded = reader.get_features_as::<f64>(0).unwrap();
        use mvt_reader::feature::Value as V;
        let kind =
            |f: &mvt_reader::feature::Feature<f64>| match &f.properties.as_ref().unwrap()["kind"] {
                V::String(k) => k.clone(),
                other => panic!("{other:?}"),
            };
        let kinds: Vec<String> = decoded.iter().map(kind).collect();
        // The point 3 tiles east and the polygon 5 tiles east are dropped.
        assert_eq!(kinds, ["huge", "inside", "across"]);
        // Buffer: 256 units past each edge of the 4096 grid.
        let (lo, hi) = (-256.0, 4096.0 + 256.0);
        let coords = |g: &geo_types::Geometry<f64>| -> Vec<(f64, f64)> {
            use geo_types::Geometry as G;
            let mut out = Vec::new();
            let ring = |l: &geo_types::LineString<f64>, out: &mut Vec<(f64, f64)>| {
                out.extend(l.coords().map(|c| (c.x, c.y)))
            };
            match g {
                G::Polygon(p) => {
                    ring(p.exterior(), &mut out);
                    p.interiors().iter().for_each(|r| ring(r, &mut out));
                }
                G::MultiPolygon(m) => m.0.iter().for_each(|p| {
                    ring(p.exterior(), &mut out);
                    p.interiors().iter().for_each(|r| ring(r, &mut out));
                }),
                G::LineString(l) => ring(l, &mut out),
                G::MultiLineString(m) => m.0.iter().for_each(|l| ring(l, &mut out)),
                other => panic!("{other:?}"),
            }
            out
        };
        for f in [&decoded[0], &decoded[2]] {
            let c = coords(&f.geometry);
            assert!(
                c.iter()
                    .all(|&(x, y)| (lo..=hi).contains(&x) && (lo..=hi).contains(&y)),
                "{}: {c:?}",
                kind(f)
            );
            // Cut at the buffer's edges, not short of them.
            let xmin = c.iter().map(|p| p.0).fold(f64::MAX, f64::min);
            let xmax = c.iter().map(|p| p.0).fold(f64::MIN, f64::max);
            assert_eq!((xmin, xmax), (lo, hi), "{}: {c:?}", kind(f));
        }
        // The huge polygon is the buffered square with the hole kept.
        let polygon = match &decoded[0].geometry {
            geo_types::Geometry::Polygon(p) => p.clone(),
            geo_types::Geometry::MultiPolygon(m) if m.0.len() == 1 => m.0[0].clone(),
            other => panic!("a polygon: {other:?}"),
        };
        assert_eq!(polygon.interiors().len(), usize::from(hole));
        let ys: Vec<f64> = polygon.exterior().coords().map(|c| c.y).collect();
        assert_eq!(
            (
                ys.iter().cloned().fold(f64::MAX, f64::min),
                ys.iter().cloned().fold(f64::MIN, f64::max)
            ),
            (lo, hi)
        );
    }
    // GeoJSON is not cut: it is the UDF's rows as they are.
    let g = s
        .get("Beyond_Tile/run/tiles/13/2411/3079?format=geojson")
        .json();
    assert_eq!(g["features"].as_array().unwrap().len(), 5);
}

#[test]
fn empty_tiles_are_204_and_bad_requests_say_what_is_wrong() {
    let s = Server::start(
        &[
            &fixture("fixtures/serve"),
            &fixture("fixtures/run"),
            &fixture("fixtures/broken/Bad_Engine"),
        ],
        &["--workers", "1"],
    );
    // A UDF the SDK would refuse is checked first and not run, as `fused-ls run` does.
    let r = s.get("Bad_Engine/run/file");
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["error"]["class"], "CheckFailed");
    assert_eq!(v["error"]["diagnostics"][0]["code"], "FUSED042");
    assert_eq!(v["elapsed_ms"], 0.0, "the whole run JSON for format=json");
    for format in ["geojson", "mvt"] {
        let r = s.get(&format!(
            "Points_Tile/run/tiles/13/2411/3079?format={format}&empty=true"
        ));
        assert_eq!(
            r.status,
            204,
            "{format}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(r.body.is_empty());
    }
    let params =
        serde_json::json!(["bounds", "count", "label", "empty", "pause", "pidfile", "crs"]);
    let r = s.get("Points_Tile/run/tiles/13/2411/3079?cuont=2");
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["error"]["class"], "BadParameter");
    assert_eq!(v["parameters"], params);
    // A value the SDK's coercion refuses: the runner's message, and the list.
    let r = s.get("Points_Tile/run/tiles/13/2411/3079?count=4.0");
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["error"]["class"], "ValueError");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("'count'"),
        "{v}"
    );
    assert_eq!(v["parameters"], params);
    for bad in ["1/5/0", "31/0/0", "a/0/0", "13/-1/0"] {
        let r = s.get(&format!("Points_Tile/run/tiles/{bad}"));
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.json()["error"]["class"], "BadTile", "{bad}");
        assert_eq!(r.json()["parameters"], params, "{bad}");
    }
    let r = s.get("Points_Tile/run/tiles/13/2411/3079?bounds=[0,0,1,1]");
    assert_eq!(r.status, 400);
    // A vector result has no PNG: 422 saying which formats it has.
    let r = s.get("Points_Tile/run/tiles/13/2411/3079?format=png");
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["error"]["class"], "NotRaster");
    let r = s.get("Points_Tile/run/tiles/13/2411/3079?format=csv");
    assert_eq!(r.status, 400);
    let r = s.get("Nope/run/tiles/13/2411/3079");
    assert_eq!(r.status, 404);
    assert!(r.json()["udfs"]
        .as_array()
        .unwrap()
        .contains(&"Points_Tile".into()));
    // A UDF that raises: its error, line and traceback, as a server error.
    let r = s.get("Failing_Udf/run/file?format=geojson");
    assert_eq!(r.status, 500);
    let v = r.json();
    assert_eq!(v["error"]["class"], "ZeroDivisionError");
    assert_eq!(v["error"]["line"], 14);
    assert!(v["error"]["traceback"]
        .as_str()
        .unwrap()
        .contains("Failing_Udf.py"));
    // format=json is the whole `run --format json` contract, failure included.
    let v = s.get("Failing_Udf/run/file?format=json").json();
    assert_eq!(
        (v["ok"].clone(), v["mode"].clone()),
        (false.into(), "file".into())
    );
    // A file run as CSV.
    let r = s.get("Points_Tile/run/file?format=csv&count=1");
    assert_eq!(r.status, 200);
    let csv = String::from_utf8_lossy(&r.body).into_owned();
    // Parquet (pandas' writer) and GeoJSON for a file run; GeoJSON of a dict is refused.
    let r = s.get("Points_Tile/run/file?format=parquet&count=1");
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with(b"PAR1") && r.body.ends_with(b"PAR1"));
    let r = s.get("Points_Tile/run/file?format=geojson&count=1");
    assert_eq!(r.json()["features"].as_array().unwrap().len(), 3);
    let r = s.get("Coercion_Table/run/file?format=geojson");
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["error"]["class"], "NotGeoData");
    assert!(
        csv.starts_with("kind,n,v,flag,label,geometry\npoint,0,0.5,True,p,POINT"),
        "{csv}"
    );
}

#[test]
fn the_token_and_the_host_are_checked_and_nothing_is_shared_cross_origin() {
    let s = Server::start(&[&fixture("fixtures/serve")], &["--workers", "1"]);
    let port = s.authority.rsplit(':').next().unwrap().to_string();
    assert_eq!(s.get("").status, 200);
    let page = s.get("");
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    // The map (when this build has its bundle: it lists the UDFs from `udfs`), else the list.
    let body = String::from_utf8_lossy(&page.body).into_owned();
    if body.contains("assets/map.js") {
        let js = s.get("assets/map.js");
        assert_eq!(js.status, 200);
        assert!(js
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript"));
        assert!(page
            .header("content-security-policy")
            .unwrap()
            .contains("connect-src 'self'"));
    } else {
        assert!(body.contains("Points_Tile"), "{body}");
        assert!(
            body.contains("web/build.sh"),
            "says how to build the map: {body}"
        );
    }
    assert_eq!(s.get("Points_Tile/").status, 200);
    // Without the token, or with another one: nothing there.
    for path in [
        "/udfs".to_string(),
        "/Points_Tile/run/tiles/13/2411/3079".to_string(),
        "/".to_string(),
        format!("/{}/udfs", "0".repeat(32)),
    ] {
        assert_eq!(s.request(&path, &[]).status, 404, "{path}");
    }
    // DNS rebinding: another name for 127.0.0.1 is refused; localhost is not.
    let udfs = format!("{}udfs", s.base);
    let evil = format!("evil.example:{port}");
    assert_eq!(s.request(&udfs, &[("Host", &evil)]).status, 403);
    assert_eq!(s.request(&udfs, &[("Host", "127.0.0.1")]).status, 403);
    let localhost = format!("localhost:{port}");
    assert_eq!(s.request(&udfs, &[("Host", &localhost)]).status, 200);
    let r = s.request(&udfs, &[("Origin", "http://evil.example")]);
    assert_eq!(r.status, 200);
    assert!(
        r.headers
            .iter()
            .all(|(k, _)| !k.starts_with("access-control-")),
        "{:?}",
        r.headers
    );
    // The list: name, mode, parameters with what a string becomes, meta.json's view and viz.
    let list = r.json();
    let u = &list[0];
    assert_eq!(u["name"], "Points_Tile");
    assert_eq!(u["mode"], "tile");
    assert_eq!(u["parameters"][0]["name"], "bounds");
    assert_eq!(u["parameters"][0]["tile"], true);
    assert_eq!(u["parameters"][1]["annotation"], "int");
    assert_eq!(u["parameters"][1]["default"], "3");
    assert!(u["parameters"][1]["receives"]
        .as_str()
        .unwrap()
        .contains("int(s, 10)"));
    assert_eq!(u["fused:defaultViewState"]["zoom"], 13);
    assert_eq!(
        u["fused:vizConfig"]["vectorLayer"]["@@type"],
        "GeoJsonLayer"
    );
    assert!(u["last_modified"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn a_proxy_the_starter_names_is_accepted_under_its_prefix_and_no_other_host() {
    // code-server's `/proxy/PORT/` forwards with the editor's own Host (`--allow-host`) and the
    // prefix stripped; `/absproxy/PORT/` keeps the prefix.
    let s = Server::start(
        &[&fixture("fixtures/serve")],
        &[
            "--workers",
            "1",
            "--allow-host",
            "editor.example:8443",
            "--allow-host",
            "code.test",
        ],
    );
    let port = s.authority.rsplit(':').next().unwrap().to_string();
    let udfs = format!("{}udfs", s.base);
    for ok in ["editor.example:8443", "EDITOR.example:8443", "code.test"] {
        assert_eq!(s.request(&udfs, &[("Host", ok)]).status, 200, "{ok}");
    }
    for refused in [
        "editor.example",
        "editor.example:8444",
        "code.test:80",
        "evil.example",
        &format!("evil.example:{port}"),
        "",
    ] {
        assert_eq!(
            s.request(&udfs, &[("Host", refused)]).status,
            403,
            "{refused}"
        );
    }
    // The token is still required with an accepted Host, with or without a prefix.
    let proxied = [("Host", "editor.example:8443")];
    assert_eq!(s.request("/udfs", &proxied).status, 404);
    assert_eq!(
        s.request(&format!("/absproxy/{port}/udfs"), &proxied)
            .status,
        404
    );
    assert_eq!(
        s.request(
            &format!("/absproxy/{port}/{}/udfs", "0".repeat(32)),
            &proxied
        )
        .status,
        404
    );
    // Under a kept prefix: every endpoint, query strings included.
    let prefixed = format!("/absproxy/{port}{}", s.base);
    let r = s.request(&format!("{prefixed}udfs"), &proxied);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()[0]["name"], "Points_Tile");
    let r = s.request(&format!("{prefixed}Points_Tile/coerce?count=5"), &proxied);
    assert_eq!(r.json()["count"]["repr"], "5");
    // The page's own URLs are relative, so any prefix works; the base's redirect too.
    for (page, base) in [("", "./"), ("Points_Tile/", "../")] {
        let r = s.request(&format!("{prefixed}{page}"), &proxied);
        assert_eq!(r.status, 200, "{page}");
        let body = String::from_utf8_lossy(&r.body).into_owned();
        assert!(!body.contains(s.base.as_str()), "no absolute path: {body}");
        if body.contains("assets/map.js") {
            assert!(body.contains(&format!("\"base\":\"{base}\"")), "{body}");
            assert!(
                body.contains(&format!("src=\"{base}assets/map.js\"")),
                "{body}"
            );
        }
    }
    let r = s.request(prefixed.trim_end_matches('/'), &proxied);
    assert_eq!(r.status, 308);
    let token = s.base.trim_matches('/');
    assert_eq!(r.header("location"), Some(format!("{token}/").as_str()));
}

#[test]
fn allow_host_takes_a_host_header_value_only() {
    for bad in [
        "http://editor.example",
        "editor.example/proxy",
        "a b",
        "x:port",
        "",
    ] {
        let out = bin()
            .args(["serve", "--no-open", "--allow-host", bad])
            .arg(fixture("fixtures/serve"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--allow-host"),
            "{bad}"
        );
    }
}

#[test]
fn coerce_previews_what_each_string_becomes_without_running() {
    let s = Server::start(&[&fixture("fixtures/serve")], &["--workers", "1"]);
    let r = s.get("Points_Tile/coerce?count=3&pause=1e3&empty=no&label=it%27s");
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["count"], json!({"ok": true, "repr": "3", "type": "int"}));
    assert_eq!(v["pause"]["repr"], "1000.0");
    assert_eq!(v["empty"]["repr"], "True");
    assert_eq!(v["label"]["repr"], "\"it's\"");
    let v = s.get("Points_Tile/coerce?count=3.5&empty=FALSE").json();
    assert_eq!(v["count"]["ok"], false);
    assert_eq!(v["count"]["error"]["class"], "ValueError");
    assert_eq!(
        v["count"]["error"]["message"],
        "invalid literal for int() with base 10: '3.5'"
    );
    assert_eq!(v["empty"]["repr"], "False");
    let v = s
        .get(&format!(
            "Points_Tile/coerce?bounds={}",
            encode("[-74, 40.7, -73.9, 40.8]")
        ))
        .json();
    assert_eq!(v["bounds"]["repr"], "[-74, 40.7, -73.9, 40.8]");
    let v = s
        .get(&format!("Points_Tile/coerce?bounds={}", encode("[1, 2")))
        .json();
    assert_eq!(v["bounds"]["error"]["class"], "JSONDecodeError");
    // The same value in a run fails the same way, before the UDF is called.
    let run = s.get("Points_Tile/run/tiles/13/2411/3079?format=json&count=3.5");
    let e = &run.json()["error"];
    assert_eq!(e["class"], "ValueError", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("invalid literal for int() with base 10: '3.5'"),
        "{e}"
    );
    // A name the UDF does not take: 400 with the list.
    let r = s.get("Points_Tile/coerce?nope=1");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["class"], "BadParameter");
    assert!(r.json()["parameters"]
        .as_array()
        .unwrap()
        .contains(&json!("count")));
}

/// Every process (not a zombie) whose environment holds `marker`, with its command line.
fn processes_marked(marker: &str) -> Vec<(u32, String)> {
    let needle = marker.as_bytes();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| !is_gone(*pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle))
        })
        .map(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            (pid, String::from_utf8_lossy(&cmd).replace('\0', " "))
        })
        .collect()
}

fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
    }
}

/// The warm workers: the server's children running `runner.py --worker`.
fn workers(s: &Server) -> Vec<u32> {
    processes_marked(&s.marker)
        .into_iter()
        .filter(|(pid, cmd)| cmd.contains("--worker") && ppid(*pid) == Some(s.child.id()))
        .map(|(pid, _)| pid)
        .collect()
}

fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_slow_tile_whose_client_disconnects_is_cancelled_and_its_process_killed() {
    let s = Server::start(&[&fixture("fixtures/serve")], &["--workers", "1"]);
    let t = tempfile::tempdir().unwrap();
    let pidfile = t.path().join("pid");
    let mut conn = TcpStream::connect(&s.authority).unwrap();
    write!(
        conn,
        "GET {}Points_Tile/run/tiles/13/2411/3080?pause=60&pidfile={} HTTP/1.1\r\nHost: {}\r\n\r\n",
        s.base,
        encode(&pidfile.to_string_lossy()),
        s.authority
    )
    .unwrap();
    assert!(
        wait_until(60, || std::fs::read_to_string(&pidfile)
            .is_ok_and(|p| !p.is_empty())),
        "the slow tile never started"
    );
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!is_gone(pid));
    // The map panned away: the client hangs up.
    let hung_up = Instant::now();
    drop(conn);
    let gone = wait_until(10, || is_gone(pid));
    let ms = hung_up.elapsed().as_millis();
    assert!(gone, "the run's process {pid} outlived its client");
    eprintln!("the slow tile's process was gone {ms} ms after its client hung up");
    // (The goal is 100 ms, ≈11 ms measured; the bound leaves room for a loaded machine.)
    assert!(ms < 500, "{ms} ms");
    // The worker goes on serving.
    let r = s.get("Points_Tile/run/tiles/13/2411/3080?count=1");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[test]
fn a_killed_worker_is_replaced() {
    let s = Server::start(&[&fixture("fixtures/serve")], &["--workers", "1"]);
    assert_eq!(s.get("Points_Tile/run/tiles/13/2411/3079").status, 200);
    let before = workers(&s);
    assert_eq!(before.len(), 1, "{before:?}");
    // SAFETY: a signal to a process this test found as the server's worker.
    unsafe {
        libc::kill(before[0] as i32, libc::SIGKILL);
    }
    assert!(wait_until(5, || is_gone(before[0])));
    let r = s.get("Points_Tile/run/tiles/13/2411/3079?count=1");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let after = workers(&s);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after, before);
    // An idle worker that dies is replaced without waiting for a request.
    // SAFETY: as above.
    unsafe {
        libc::kill(after[0] as i32, libc::SIGKILL);
    }
    assert!(
        wait_until(30, || {
            let now = workers(&s);
            now.len() == 1 && now != after
        }),
        "the idle worker was not replaced"
    );
    // The server gone (even by SIGKILL), nothing it started is left.
    let marker = s.marker.clone();
    drop(s);
    assert!(
        wait_until(10, || processes_marked(&marker).is_empty()),
        "{:?}",
        processes_marked(&marker)
    );
}

#[test]
fn a_run_past_the_timeout_is_a_504_and_another_host_is_warned_about() {
    let s = Server::start(
        &[&fixture("fixtures/serve")],
        &["--workers", "1", "--timeout", "1", "--host", "0.0.0.0"],
    );
    // (stderr is read by a thread: the warning, printed before the URL, may land after it.)
    assert!(
        wait_until(10, || s
            .stderr
            .lock()
            .unwrap()
            .contains("warning: listening on 0.0.0.0")),
        "{}",
        s.stderr.lock().unwrap()
    );
    let r = s.get("Points_Tile/run/tiles/13/2411/3079?pause=30");
    assert_eq!(r.status, 504, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"]["class"], "Timeout");
    assert_eq!(s.get("Points_Tile/run/tiles/13/2411/3079").status, 200);
}

#[test]
fn results_are_cached_until_a_file_of_the_package_changes() {
    let t = tempfile::tempdir().unwrap();
    let pkg = t.path().join("Points_Tile");
    copy_dir(&fixture("fixtures/serve/Points_Tile"), &pkg);
    let s = Server::start(&[t.path()], &["--workers", "1"]);
    let url = "Points_Tile/run/tiles/13/2411/3079?format=geojson&count=1";
    let a = s.get(url);
    assert_eq!(a.status, 200);
    assert_eq!(a.header("x-fused-cache"), Some("miss"));
    assert_eq!(a.header("cache-control"), Some("private, no-cache"));
    let etag = a.header("etag").unwrap().to_string();
    let started = Instant::now();
    let b = s.get(url);
    let hit_ms = started.elapsed().as_secs_f64() * 1000.0;
    eprintln!("a cache hit took {hit_ms:.1} ms");
    assert_eq!(b.header("x-fused-cache"), Some("hit"));
    assert_eq!(b.header("etag"), Some(etag.as_str()));
    assert_eq!(a.body, b.body);
    // Revalidation: unchanged, so 304 with no body.
    let c = s.request(&format!("{}{url}", s.base), &[("If-None-Match", &etag)]);
    assert_eq!(c.status, 304);
    assert!(c.body.is_empty());
    // Other parameters are another result.
    assert_eq!(
        s.get("Points_Tile/run/tiles/13/2411/3079?format=geojson&count=2")
            .header("x-fused-cache"),
        Some("miss")
    );
    // An edit of the UDF: a new result, at once.
    let src = pkg.join("Points_Tile.py");
    let text = std::fs::read_to_string(&src).unwrap();
    std::fs::write(
        &src,
        text.replace("\"label\": label", "\"label\": label + \"!\""),
    )
    .unwrap();
    let d = s.get(url);
    assert_eq!(d.header("x-fused-cache"), Some("miss"));
    assert_ne!(d.header("etag"), Some(etag.as_str()));
    assert_eq!(d.json()["features"][0]["properties"]["label"], "p!");
    let e = s.request(&format!("{}{url}", s.base), &[("If-None-Match", &etag)]);
    assert_eq!(e.status, 200, "a stale ETag is not revalidated");
    // A data file of the package counts too (by size and modification time).
    std::fs::write(pkg.join("data.csv"), "a\n1\n").unwrap();
    assert_eq!(s.get(url).header("x-fused-cache"), Some("miss"));
    assert_eq!(s.get(url).header("x-fused-cache"), Some("hit"));
    std::fs::write(pkg.join("data.csv"), "a\n1\n2\n").unwrap();
    assert_eq!(s.get(url).header("x-fused-cache"), Some("miss"));
}

/// A UDF added after the start is served (at once when named; listed within seconds), and one
/// deleted is no longer listed or run.
#[test]
fn udfs_added_or_removed_after_the_start_are_picked_up() {
    let t = tempfile::tempdir().unwrap();
    copy_dir(
        &fixture("fixtures/serve/Points_Tile"),
        &t.path().join("Points_Tile"),
    );
    let s = Server::start(&[t.path()], &["--workers", "1"]);
    let names = |s: &Server| -> Vec<String> {
        let list = s.get("udfs").json();
        let mut v: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&s), ["Points_Tile"]);
    // A loose UDF file dropped into the folder: named, it runs.
    std::fs::write(
        t.path().join("later.py"),
        "import fused\n\n\n@fused.udf\ndef udf(bounds: fused.types.Bounds = None, n: int = 1):\n    import pandas as pd\n    return pd.DataFrame({\"n\": [n]})\n",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let r = s.get("later/run/tiles/13/2411/3079?format=json&n=7");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["ok"], true);
    assert!(wait_until(10, || names(&s) == ["Points_Tile", "later"]));
    // One UDF's entry alone (what the map polls).
    let one = s.get("udfs?name=later").json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["name"], "later");
    assert_eq!(one[0]["mode"], "tile");
    assert_eq!(s.get("udfs?name=nope").status, 404);
    // The package deleted: gone from the list, and its URL is 404 with what is served.
    std::fs::remove_dir_all(t.path().join("Points_Tile")).unwrap();
    assert!(wait_until(10, || names(&s) == ["later"]));
    let r = s.get("Points_Tile/run/tiles/13/2411/3079?format=geojson");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["udfs"], serde_json::json!(["later"]));
}

#[test]
fn zips_and_loose_files_are_served_and_helpers_are_not() {
    let t = tempfile::tempdir().unwrap();
    let zip = t.path().join("Zipped.zip");
    let out = run(
        &repo_root(),
        &[
            "pack",
            "fixtures/serve/Points_Tile",
            "-o",
            zip.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = Server::start(&[t.path(), &fixture("fixtures/loose")], &["--workers", "1"]);
    let list = s.get("udfs").json();
    let mut names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert!(names.contains(&"Zipped"), "{names:?}");
    assert!(names.contains(&"loose_tile_udf"), "{names:?}");
    assert!(!names.contains(&"not_a_udf"), "{names:?}");
    let r = s.get("Zipped/run/tiles/13/2411/3079?format=geojson&count=1");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["features"].as_array().unwrap().len(), 3);
}

/// A raster tile as PNG: the runner's pixels (the west half blue, the east half transparent),
/// 256 px, decoded as a map client would.
#[test]
fn raster_tiles_are_served_as_png() {
    let s = Server::start(&[&fixture("fixtures/serve")], &["--workers", "1"]);
    let r = s.get("Raster_Tile/run/tiles/13/2411/3079?format=png");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("image/png"));
    let decoder = png::Decoder::new(std::io::Cursor::new(r.body.clone()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (256, 256));
    assert_eq!(info.color_type, png::ColorType::Rgba);
    let px = |x: usize, y: usize| &buf[(y * 256 + x) * 4..(y * 256 + x) * 4 + 4];
    assert_eq!(px(10, 100), [30, 60, 220, 255]);
    assert_eq!(px(200, 100)[3], 0, "the east half is transparent");
    // The same run as JSON carries the raster's description and places it at the tile.
    let v = s
        .get("Raster_Tile/run/tiles/13/2411/3079?format=json")
        .json();
    assert_eq!(v["result"]["raster"]["bounds_from"], "tile", "{v}");
    assert_eq!(
        v["result"]["raster"]["bounds"][0].as_f64().unwrap(),
        -74.0478515625
    );
}

/// The preview (`<udf>/coerce`, Rust) and the runner (`runner.py`, Python) are two readings of
/// one table: the same strings through both give the same `repr`, or the same exception.
#[test]
fn coerce_agrees_with_what_the_runner_passes() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("reprs.py"),
        r#"import datetime
import json
import uuid

import fused


@fused.udf
def udf(i: int = 0, f: float = 0.0, b: bool = False, s: str = "", l: list = [], d: dict = {},
        t: tuple = (), u: uuid.UUID = None, day: datetime.date = None,
        at: datetime.datetime = None, box: fused.types.Bounds = None, n=None):
    print("REPRS " + json.dumps({k: repr(v) for k, v in locals().items()}))
"#,
    )
    .unwrap();
    let s = Server::start(&[t.path()], &["--workers", "1", "--no-check"]);
    let ok: &[&[(&str, &str)]] = &[
        &[
            ("i", " 7 "),
            ("f", "1e3"),
            ("b", "FALSE"),
            ("s", "it's"),
            ("l", r#"[1, 2.5, "a", null, true]"#),
            ("d", r#"{"b": 1, "a": [2, {"c": false}]}"#),
            ("t", "[1]"),
            ("u", "{12345678-1234-5678-1234-56781234567A}"),
            ("day", "2024-05-01"),
            ("at", "2024-05-01T10:30"),
            ("box", "[-74, 40.7, -73.9, 40.8]"),
            ("n", "3"),
        ],
        &[
            ("i", "-007"),
            ("f", "0.00001"),
            ("b", "no"),
            ("s", "a\"b'c\\"),
            ("l", "3"),
            ("t", r#"{"x": 1, "y": 2}"#),
            ("at", "2024-05-01 10:30:05.250Z"),
            ("box", "[1, 2]"),
        ],
        &[
            ("i", "1_000"),
            ("f", "1e16"),
            ("b", "0"),
            ("t", "\"ab\""),
            ("at", "2024-05-01T10:30:00+02:00"),
            ("f", "-inf"),
        ],
        &[("f", ".5"), ("at", "2024-05-01T10:30:00-05:30")],
    ];
    for set in ok {
        let set: std::collections::BTreeMap<&str, &str> = set.iter().copied().collect();
        let q: Vec<String> = set
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let q = q.join("&");
        let preview = s.get(&format!("reprs/coerce?{q}")).json();
        let run = s.get(&format!("reprs/run/file?format=json&{q}")).json();
        let stdout = run["stdout"].as_str().unwrap_or_default();
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("REPRS "))
            .unwrap_or_else(|| panic!("{run}"));
        let reprs: Value = serde_json::from_str(line).unwrap();
        for k in set.keys() {
            assert_eq!(
                preview[*k]["repr"], reprs[*k],
                "{k}={:?}: preview {} vs the runner",
                set[k], preview[*k]
            );
        }
    }
    let fails: &[(&str, &str)] = &[
        ("i", "3.5"),
        ("i", ""),
        ("f", "abc"),
        ("l", "1, 2"),
        ("l", "[1, 2"),
        ("d", "{'a': 1}"),
        ("t", "3"),
        ("u", "x"),
        ("day", "2023-02-29"),
        ("day", "2023-13-01"),
        ("at", "2024-05-01T25:00"),
    ];
    for (k, v) in fails {
        let q = format!("{k}={}", encode(v));
        let preview = s.get(&format!("reprs/coerce?{q}")).json();
        let run = s.get(&format!("reprs/run/file?format=json&{q}")).json();
        let (p, e) = (&preview[*k], &run["error"]);
        assert_eq!(p["ok"], false, "{k}={v:?}: {p}");
        assert_eq!(p["error"]["class"], e["class"], "{k}={v:?}: {p} vs {e}");
        let msg = e["message"].as_str().unwrap_or_default();
        assert!(
            msg.ends_with(p["error"]["message"].as_str().unwrap()),
            "{k}={v:?}: {p} vs {msg}"
        );
    }
}

/// Tiles of one version of a package follow each other in one forked child (what the SDK's own
/// loop does in one process, without its fork and fresh-process cost); an edit of the package
/// runs in a fresh child, and `--fork-per-run` forks one per tile.
#[test]
fn tiles_of_one_package_version_share_a_child_unless_fork_per_run() {
    let t = tempfile::tempdir().unwrap();
    let pkg = t.path().join("Points_Tile");
    copy_dir(&fixture("fixtures/serve/Points_Tile"), &pkg);
    let pid_of = |s: &Server, tile: &str, n: u32| -> u32 {
        let pidfile = t.path().join(format!("pid-{n}"));
        let r = s.get(&format!(
            "Points_Tile/run/tiles/{tile}?count=1&pidfile={}",
            encode(&pidfile.to_string_lossy())
        ));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let s = Server::start(&[t.path()], &["--workers", "1"]);
    let first = pid_of(&s, "13/2411/3079", 1);
    assert_eq!(pid_of(&s, "13/2411/3080", 2), first, "a tile forked anew");
    assert_eq!(pid_of(&s, "13/2412/3080", 3), first);
    let src = pkg.join("Points_Tile.py");
    let text = std::fs::read_to_string(&src).unwrap();
    std::fs::write(&src, text.replace("count: int = 3", "count: int = 4")).unwrap();
    let edited = pid_of(&s, "13/2411/3079", 4);
    assert_ne!(
        edited, first,
        "the edited package ran in the old version's process"
    );
    assert!(
        wait_until(5, || is_gone(first)),
        "the old version's child lives on"
    );
    assert_eq!(pid_of(&s, "13/2411/3080", 5), edited);
    drop(s);

    let s = Server::start(&[t.path()], &["--workers", "1", "--fork-per-run"]);
    let a = pid_of(&s, "13/2411/3079", 6);
    let b = pid_of(&s, "13/2411/3080", 7);
    assert_ne!(a, b, "--fork-per-run shared a child");
}
