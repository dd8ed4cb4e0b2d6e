//! `fused-ls run` of UDFs returning what a map draws besides a GeoDataFrame, on the built binary
//! with the SDK venv's real numpy (and xarray, pinned in tests/sdk/setup.sh): every raster shape
//! (2-D, bands first, bands last, masked, NaN, the `(array, bounds)` tuple, an xarray.DataArray)
//! decoded from the PNG the run JSON carries and from `-o out.png`, placed at the right bounds;
//! and a DataFrame of H3 cells as hexagons.

mod common;
use base64::Engine;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A loose UDF file `name` in `dir`: `def udf(<sig>):` with `body` (numpy imported as np).
fn udf(dir: &Path, name: &str, sig: &str, body: &str) -> PathBuf {
    let f = dir.join(name);
    let body: String = body.lines().map(|l| format!("    {l}\n")).collect();
    std::fs::write(
        &f,
        format!("import fused\n\n\n@fused.udf\ndef udf({sig}):\n    import numpy as np\n{body}"),
    )
    .unwrap();
    f
}

fn run_udf(python: &str, file: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let f = file.to_str().unwrap();
    let mut args = vec!["run", f, "--format", "json", "--python", python];
    args.extend_from_slice(extra);
    let out = run(file.parent().unwrap(), &args);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

/// `(width, height, RGBA bytes)` of a PNG.
fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut dec = png::Decoder::new(std::io::Cursor::new(png_bytes.to_vec()))
        .read_info()
        .expect("a PNG");
    let mut buf = vec![0; dec.output_buffer_size().unwrap()];
    let info = dec.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// The raster of a run: its JSON description and its decoded PNG.
fn raster(r: &Value) -> (&Value, (u32, u32, Vec<u8>)) {
    let raster = &r["result"]["raster"];
    let b64 = raster["png_base64"]
        .as_str()
        .unwrap_or_else(|| panic!("no PNG: {r}"));
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    (raster, decode(&png))
}

/// The RGBA pixels, row by row.
fn pixels(img: &(u32, u32, Vec<u8>)) -> Vec<[u8; 4]> {
    img.2.chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect()
}

#[test]
fn grayscale_arrays_are_drawn_with_their_range_and_nan_or_masked_pixels_transparent() {
    let py = sdk_python();
    let t = tempfile::tempdir().unwrap();

    // uint8 is drawn as it is.
    let f = udf(
        t.path(),
        "gray8.py",
        "",
        "return np.array([[0, 128], [255, 7]], dtype=np.uint8)",
    );
    let (code, r) = run_udf(&py, &f, &[]);
    assert_eq!(code, Some(0), "{r}");
    let (meta, img) = raster(&r);
    assert_eq!(
        (
            &meta["width"],
            &meta["height"],
            &meta["bands"],
            &meta["dtype"]
        ),
        (&2.into(), &2.into(), &1.into(), &"uint8".into())
    );
    assert_eq!((&meta["min"], &meta["max"]), (&0.into(), &255.into()));
    assert!(meta["bounds"].is_null(), "a file run has no tile: {meta}");
    assert_eq!((img.0, img.1), (2, 2));
    assert_eq!(
        pixels(&img),
        [
            [0, 0, 0, 255],
            [128, 128, 128, 255],
            [255, 255, 255, 255],
            [7, 7, 7, 255]
        ]
    );

    // float: min→max onto 0..255 (rounded), NaN transparent and out of the range.
    let f = udf(
        t.path(),
        "float.py",
        "",
        "return np.array([[0, 1, np.nan], [2, 3, 4]], dtype='float32')",
    );
    let (_, r) = run_udf(&py, &f, &[]);
    let (meta, img) = raster(&r);
    assert_eq!(meta["dtype"], "float32");
    assert_eq!(
        (meta["min"].as_f64(), meta["max"].as_f64()),
        (Some(0.0), Some(4.0))
    );
    let px: Vec<[u8; 4]> = pixels(&img);
    let gray: Vec<u8> = px.iter().map(|p| p[0]).collect();
    let alpha: Vec<u8> = px.iter().map(|p| p[3]).collect();
    assert_eq!(gray, [0, 64, 0, 128, 191, 255]);
    assert_eq!(alpha, [255, 255, 0, 255, 255, 255]);

    // A masked array: masked pixels transparent and out of the range.
    let f = udf(
        t.path(),
        "masked.py",
        "",
        "return np.ma.masked_array([[1, 100], [3, 4]], mask=[[False, True], [False, False]])",
    );
    let (_, r) = run_udf(&py, &f, &[]);
    let (meta, img) = raster(&r);
    assert_eq!((&meta["min"], &meta["max"]), (&1.into(), &4.into()));
    assert_eq!(meta["dtype"], "int64");
    assert_eq!(
        pixels(&img),
        [
            [0, 0, 0, 255],
            [0, 0, 0, 0],
            [170, 170, 170, 255],
            [255, 255, 255, 255]
        ]
    );
    // Human output says what was drawn instead of the array's repr.
    let out = run(t.path(), &["run", f.to_str().unwrap(), "--python", &py]);
    let text = stdout(&out);
    assert!(
        text.contains("a raster 2×2, 1 band, int64, range 1..4, no bounds"),
        "{text}"
    );
}

#[test]
fn rgb_and_rgba_bands_first_or_last() {
    let py = sdk_python();
    let t = tempfile::tempdir().unwrap();
    // (3, H, W), as rasterio reads: band b of pixel (y, x) is 100*b + 10*y + x.
    let f = udf(
        t.path(),
        "first.py",
        "",
        "b, y, x = np.indices((3, 2, 3))\nreturn (100 * b + 10 * y + x).astype(np.uint8)",
    );
    let (code, r) = run_udf(&py, &f, &[]);
    assert_eq!(code, Some(0), "{r}");
    let (meta, img) = raster(&r);
    assert_eq!(
        (&meta["bands"], &meta["width"], &meta["height"]),
        (&3.into(), &3.into(), &2.into())
    );
    let px = pixels(&img);
    for y in 0..2u8 {
        for x in 0..3u8 {
            let v = 10 * y + x;
            assert_eq!(px[(y * 3 + x) as usize], [v, 100 + v, 200 + v, 255]);
        }
    }
    // (H, W, 4): the fourth band is the alpha.
    let f = udf(
        t.path(),
        "last.py",
        "",
        "a = np.zeros((2, 2, 4), dtype=np.uint8)\na[0, 0] = [255, 0, 0, 255]\na[0, 1] = [0, 255, 0, 128]\na[1, 0] = [0, 0, 255, 0]\na[1, 1] = [10, 20, 30, 40]\nreturn a",
    );
    let (_, r) = run_udf(&py, &f, &[]);
    let (meta, img) = raster(&r);
    assert_eq!(meta["bands"], 4);
    assert_eq!(
        pixels(&img),
        [
            [255, 0, 0, 255],
            [0, 255, 0, 128],
            [0, 0, 255, 0],
            [10, 20, 30, 40]
        ],
        "a uint8 alpha band is kept as it is"
    );
    // Float RGB: one range for every band, so colours keep their balance.
    let f = udf(
        t.path(),
        "floatrgb.py",
        "",
        "return np.array([[[0.0]], [[0.5]], [[1.0]]])",
    );
    let (_, r) = run_udf(&py, &f, &[]);
    let (meta, img) = raster(&r);
    assert_eq!(
        (meta["min"].as_f64(), meta["max"].as_f64()),
        (Some(0.0), Some(1.0))
    );
    assert_eq!(pixels(&img), [[0, 128, 255, 255]]);
}

/// Tile 13/2411/3079's bounds as the SDK computes them (mercantile, in the SDK venv).
fn sdk_tile_bounds(py: &str) -> [f64; 4] {
    let out = std::process::Command::new(py)
        .args([
            "-c",
            "import json, mercantile; print(json.dumps(list(mercantile.bounds(2411, 3079, 13))))",
        ])
        .output()
        .unwrap();
    let v: Vec<f64> = serde_json::from_slice(&out.stdout).unwrap();
    [v[0], v[1], v[2], v[3]]
}

#[test]
fn a_raster_is_placed_at_the_returned_bounds_else_at_the_tile() {
    let py = sdk_python();
    let t = tempfile::tempdir().unwrap();
    let f = udf(
        t.path(),
        "tile.py",
        "bounds: fused.types.Bounds = None",
        "return np.full((4, 4), 7, dtype=np.uint8)",
    );
    let (code, r) = run_udf(&py, &f, &["--tile", "13/2411/3079"]);
    assert_eq!(code, Some(0), "{r}");
    let (meta, img) = raster(&r);
    assert_bounds(&meta["bounds"], sdk_tile_bounds(&py));
    assert_eq!(meta["bounds_from"], "tile");
    assert_eq!(pixels(&img)[5], [7, 7, 7, 255]);

    // The documented tuple: the returned bounds win, in a tile run too.
    let f = udf(
        t.path(),
        "tuple.py",
        "bounds: fused.types.Bounds = None",
        "return np.zeros((2, 3), dtype=np.uint8), [-1.5, 2.0, 3.5, 4.25]",
    );
    for extra in [&[][..], &["--tile", "13/2411/3079"][..]] {
        let (code, r) = run_udf(&py, &f, extra);
        assert_eq!(code, Some(0), "{r}");
        let (meta, img) = raster(&r);
        assert_bounds(&meta["bounds"], [-1.5, 2.0, 3.5, 4.25]);
        assert_eq!(meta["bounds_from"], "returned");
        assert_eq!((img.0, img.1), (3, 2));
        assert_eq!(r["result"]["type"], "builtins.tuple");
    }
    // A tuple whose second item is not four numbers is not a placed image.
    let f = udf(
        t.path(),
        "pair.py",
        "",
        "return np.zeros((2, 3), dtype=np.uint8), 'label'",
    );
    let (code, r) = run_udf(&py, &f, &[]);
    assert_eq!(code, Some(0), "{r}");
    assert!(r["result"]["raster"].is_null(), "{r}");
}

#[test]
fn an_xarray_data_array_is_placed_by_its_coordinates_north_up() {
    let py = sdk_python();
    let t = tempfile::tempdir().unwrap();
    // y ascending (south first), pixel centres 0.5 apart: the image is flipped to north-up and
    // its bounds are the pixels' edges.
    let f = udf(
        t.path(),
        "xr.py",
        "",
        "import xarray as xr\nreturn xr.DataArray(np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8), dims=('y', 'x'), coords={'y': [10.0, 10.5], 'x': [0.0, 0.5, 1.0]})",
    );
    let (code, r) = run_udf(&py, &f, &[]);
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["result"]["type"], "xarray.core.dataarray.DataArray");
    let (meta, img) = raster(&r);
    assert_bounds(&meta["bounds"], [-0.25, 9.75, 1.25, 10.75]);
    assert_eq!(meta["bounds_from"], "coords");
    let gray: Vec<u8> = pixels(&img).iter().map(|p| p[0]).collect();
    assert_eq!(gray, [4, 5, 6, 1, 2, 3], "the northern row first");

    // lat/lon names, bands as a leading dimension, given in (lon, lat, band) order.
    let f = udf(
        t.path(),
        "xr_rgb.py",
        "",
        "import xarray as xr\nv = np.zeros((2, 1, 3), dtype=np.uint8)\nv[0, 0] = [255, 0, 0]\nv[1, 0] = [0, 0, 255]\nreturn xr.DataArray(v, dims=('lon', 'lat', 'band'), coords={'lon': [5.0, 6.0], 'lat': [45.0]})",
    );
    let (code, r) = run_udf(&py, &f, &[]);
    assert_eq!(code, Some(0), "{r}");
    let (meta, img) = raster(&r);
    assert_eq!(
        (&meta["bands"], &meta["width"], &meta["height"]),
        (&3.into(), &2.into(), &1.into())
    );
    // One latitude: no pixel size, so no bounds from the coordinates.
    assert!(meta["bounds"].is_null(), "{meta}");
    assert_eq!(pixels(&img), [[255, 0, 0, 255], [0, 0, 255, 255]]);

    // Other dimensions are bands, whatever the sizes of x and y: a time of 1 and 3 bands is
    // RGB (x has 3 values, yet it is never read as bands-last); 5 times is not an image.
    let f = udf(
        t.path(),
        "xr_time.py",
        "",
        "import xarray as xr\nreturn xr.DataArray(np.zeros((1, 3, 2, 3), dtype=np.uint8), dims=('time', 'band', 'y', 'x'))",
    );
    let (_, r) = run_udf(&py, &f, &[]);
    let (meta, _) = raster(&r);
    assert_eq!(
        (&meta["bands"], &meta["width"], &meta["height"]),
        (&3.into(), &3.into(), &2.into())
    );
    let f = udf(
        t.path(),
        "xr_times.py",
        "",
        "import xarray as xr\nreturn xr.DataArray(np.zeros((5, 2, 3)), dims=('time', 'y', 'x'))",
    );
    let (code, r) = run_udf(&py, &f, &[]);
    assert_eq!(code, Some(0), "{r}");
    assert!(r["result"]["raster"].is_null(), "{r}");

    // In a tile run, a DataArray without coordinates goes at the tile.
    let f = udf(
        t.path(),
        "xr_tile.py",
        "bounds: fused.types.Bounds = None",
        "import xarray as xr\nreturn xr.DataArray(np.ones((2, 2)))",
    );
    let (_, r) = run_udf(&py, &f, &["--tile", "13/2411/3079"]);
    let (meta, _) = raster(&r);
    assert_eq!(meta["bounds_from"], "tile");
    assert_bounds(&meta["bounds"], sdk_tile_bounds(&py));
}

#[test]
fn dash_o_writes_the_png_whole_and_refuses_what_is_not_a_raster() {
    let py = sdk_python();
    let t = tempfile::tempdir().unwrap();
    // Wider than the JSON's 1,024 pixels: the JSON's PNG is sampled down, `-o` is whole.
    let f = udf(
        t.path(),
        "wide.py",
        "",
        "a = np.zeros((10, 2000), dtype=np.uint8)\na[:, 1000:] = 255\nreturn a",
    );
    let out_png = t.path().join("out.png");
    let (code, r) = run_udf(&py, &f, &["-o", out_png.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{r}");
    let (meta, small) = raster(&r);
    assert_eq!(
        (&meta["width"], &meta["height"]),
        (&2000.into(), &10.into())
    );
    assert_eq!(
        (&meta["png_width"], &meta["png_height"]),
        (&1024.into(), &5.into())
    );
    assert_eq!((small.0, small.1), (1024, 5));
    let whole = decode(&std::fs::read(&out_png).unwrap());
    assert_eq!((whole.0, whole.1), (2000, 10));
    let px = pixels(&whole);
    assert_eq!((px[999], px[1000]), ([0, 0, 0, 255], [255, 255, 255, 255]));

    // Small: the file is the very PNG the JSON carries.
    let f = udf(t.path(), "small.py", "", "return np.eye(3)");
    let small_png = t.path().join("small.png");
    let (_, r) = run_udf(&py, &f, &["-o", small_png.to_str().unwrap()]);
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(r["result"]["raster"]["png_base64"].as_str().unwrap())
            .unwrap(),
        std::fs::read(&small_png).unwrap()
    );

    // Not a raster: refused, with the reason, and nothing written.
    let f = udf(
        t.path(),
        "table.py",
        "",
        "import pandas as pd\nreturn pd.DataFrame({'a': [1]})",
    );
    let refused = t.path().join("table.png");
    let (code, r) = run_udf(&py, &f, &["-o", refused.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert_eq!(r["error"]["class"], "OutputError");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("returned pandas.DataFrame, not a raster"),
        "{msg}"
    );
    assert_eq!(r["error"]["traceback"], "");
    assert!(!refused.exists());
    // A raster to a table format: refused too.
    let f = udf(t.path(), "arr.py", "", "return np.eye(2)");
    let (code, r) = run_udf(
        &py,
        &f,
        &["-o", t.path().join("arr.geojson").to_str().unwrap()],
    );
    assert_eq!(code, Some(1));
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("write it to a .png"),
        "{r}"
    );
    // The output is still never a file of the package.
    let pkg = write_package(t.path(), &[("logo.png", b"not to be lost")]);
    let logo = pkg.join("logo.png");
    let out = run(
        t.path(),
        &[
            "run",
            pkg.to_str().unwrap(),
            "--python",
            &py,
            "-o",
            logo.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("would overwrite"));
    assert_eq!(std::fs::read(&logo).unwrap(), b"not to be lost");
}

/// Whether `p` is inside the ring (even-odd rule).
fn inside(ring: &[[f64; 2]], p: [f64; 2]) -> bool {
    let mut c = false;
    for i in 0..ring.len() - 1 {
        let (a, b) = (ring[i], ring[i + 1]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            c = !c;
        }
    }
    c
}

/// The features of `fc` are the hexagons of `cells` (all of them, or their first ones when
/// the collection was capped), in order.
fn check_hexagons(fc: &Value, cells: &[h3o::CellIndex], props: impl Fn(usize, &Value)) {
    let features = fc["features"].as_array().unwrap();
    assert!(!features.is_empty() && features.len() <= cells.len());
    for (i, (f, cell)) in features.iter().zip(cells).enumerate() {
        assert_eq!(f["id"], cell.to_string());
        assert_eq!(f["geometry"]["type"], "Polygon");
        let ring: Vec<[f64; 2]> = f["geometry"]["coordinates"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
            .collect();
        assert_eq!(ring.len(), 7, "a closed hexagon: {ring:?}");
        assert_eq!(ring[0], ring[6]);
        let centre = h3o::LatLng::from(*cell);
        assert!(inside(&ring, [centre.lng(), centre.lat()]), "{cell}");
        props(i, &f["properties"]);
    }
}

#[test]
fn a_dataframe_of_h3_cells_is_drawn_as_hexagons() {
    let py = sdk_python();
    let t = tempfile::tempdir().unwrap();
    let origin = h3o::LatLng::new(40.73, -74.0)
        .unwrap()
        .to_cell(h3o::Resolution::Nine);
    // 1,519 cells: more than the 1,000 features the JSON carries.
    let cells: Vec<h3o::CellIndex> = origin.grid_disk(22);
    assert!(cells.len() > 1000 && cells.iter().all(|c| !c.is_pentagon()));
    let ints: Vec<String> = cells.iter().map(|c| u64::from(*c).to_string()).collect();
    let f = udf(
        t.path(),
        "hexes.py",
        "",
        &format!(
            "import pandas as pd\ncells = [{}]\nreturn pd.DataFrame({{'hex': cells, 'n': range(len(cells))}})",
            ints.join(", ")
        ),
    );
    let out = t.path().join("hexes.geojson");
    let (code, r) = run_udf(&py, &f, &["-o", out.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{r}");
    let res = &r["result"];
    assert_eq!(res["h3"]["column"], "hex");
    assert_eq!(res["h3"]["cells"], cells.len());
    // The JSON's GeoJSON has the caps of a GeoDataFrame's: 1,000 features, 256 KiB.
    assert_eq!(res["geojson_truncated"], true);
    let shown = res["geojson"]["features"].as_array().unwrap().len();
    assert!((800..=1000).contains(&shown), "{shown}");
    assert!(res["geojson"].to_string().len() <= 256 << 10);
    check_hexagons(&res["geojson"], &cells, |i, p| {
        assert_eq!(p, &serde_json::json!({"n": i}))
    });
    // `-o`: every row, as hexagons with the other columns as properties.
    let all: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(all["features"].as_array().unwrap().len(), cells.len());
    check_hexagons(&all, &cells, |i, p| assert_eq!(p["n"], i));

    // Hex strings in an `h3` column (any case), a row that is not a cell skipped and counted.
    let strs: Vec<String> = cells[..3].iter().map(|c| format!("'{c}'")).collect();
    let f = udf(
        t.path(),
        "strings.py",
        "",
        &format!(
            "import pandas as pd\nreturn pd.DataFrame({{'H3': [{}, 'not-a-cell'], 'name': ['a', 'b', 'c', 'd']}})",
            strs.join(", ")
        ),
    );
    let (code, r) = run_udf(&py, &f, &[]);
    assert_eq!(code, Some(0), "{r}");
    let res = &r["result"];
    assert_eq!(res["h3"]["column"], "H3");
    assert_eq!(res["h3"]["invalid"], 1);
    assert_eq!(res["geojson_truncated"], false);
    assert_eq!(res["geojson"]["features"].as_array().unwrap().len(), 3);
    check_hexagons(&res["geojson"], &cells[..3], |i, p| {
        assert_eq!(p["name"], ["a", "b", "c"][i])
    });

    // A `cell` column of plain counters is not H3: a table as before.
    let f = udf(
        t.path(),
        "counters.py",
        "",
        "import pandas as pd\nreturn pd.DataFrame({'cell': [1, 2, 3]})",
    );
    let (_, r) = run_udf(&py, &f, &[]);
    assert!(
        r["result"]["h3"].is_null() && r["result"]["geojson"].is_null(),
        "{r}"
    );
}

/// The pixels travel in a file of the run's folder, which the UDF can reach (`sys.argv[2]` is
/// the result file): a file cut short, replaced by a FIFO or by a link to `/dev/zero` after the
/// runner wrote it is a `BadResult`, never a hang, a huge read or a wrong image.
#[test]
fn pixels_tampered_with_after_the_run_are_a_bad_result() {
    let py = sdk_python();
    let t = tempfile::tempdir().unwrap();
    for (name, tamper) in [
        ("cut", "open(p, 'wb').close()"),
        ("fifo", "(os.remove(p), os.mkfifo(p))"),
        ("zero", "(os.remove(p), os.symlink('/dev/zero', p))"),
    ] {
        let f = udf(
            t.path(),
            &format!("{name}.py"),
            "",
            &format!(
                "import atexit, os, sys\np = os.path.splitext(sys.argv[2])[0] + '.rgba'\natexit.register(lambda: {tamper})\nreturn np.zeros((64, 64), dtype=np.uint8)"
            ),
        );
        let started = std::time::Instant::now();
        let (code, r) = run_udf(&py, &f, &[]);
        assert_eq!(code, Some(1), "{name}: {r}");
        assert_eq!(r["error"]["class"], "BadResult", "{name}: {r}");
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap()
                .contains("the raster's pixels cannot be read back"),
            "{name}: {r}"
        );
        assert!(started.elapsed().as_secs() < 30, "{name}");
    }
}
