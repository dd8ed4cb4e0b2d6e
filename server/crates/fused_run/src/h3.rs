//! H3 results as hexagons. A DataFrame with an H3 cell column (`hex`, `h3` or `cell`) is what
//! Workbench draws as hexagons; the runner hands its rows over (the cell as a hex string, the
//! other columns as properties) and this module makes the GeoJSON polygons with the `h3o` crate.
//! Pure: no I/O, so `serve` builds its GeoJSON with the same functions.

use h3o::{CellIndex, LatLng};
use serde_json::{json, Map, Value};

/// The cell of a value as DataFrames hold it: an integer (the 64-bit index) or its hex string
/// (as h3-py's string API writes it, with or without `0x`).
pub fn parse_cell(v: &Value) -> Result<CellIndex, String> {
    let cell = match v {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| format!("{n} is not an H3 cell index"))
            .and_then(|n| CellIndex::try_from(n).map_err(|e| e.to_string())),
        Value::String(s) => {
            let t = s.trim();
            let t = t
                .strip_prefix("0x")
                .or_else(|| t.strip_prefix("0X"))
                .unwrap_or(t);
            t.parse::<CellIndex>().map_err(|e| e.to_string())
        }
        other => Err(format!("{other} is not an H3 cell")),
    };
    cell.map_err(|e| format!("{v}: {e}"))
}

/// The cell's outline as a GeoJSON Polygon: one ring of `[lng, lat]` in degrees,
/// counter-clockwise as RFC 7946 asks, closed (the first position repeated at the end). A hexagon
/// has 6 vertices, a pentagon 5 (more where an edge crosses an icosahedron face).
pub fn cell_polygon(cell: CellIndex) -> Value {
    let mut ring: Vec<[f64; 2]> = cell
        .boundary()
        .iter()
        .map(|ll| [round7(ll.lng()), round7(ll.lat())])
        .collect();
    if signed_area(&ring) < 0.0 {
        ring.reverse();
    }
    if let Some(first) = ring.first().copied() {
        ring.push(first);
    }
    json!({"type": "Polygon", "coordinates": [ring]})
}

/// The cell's centre as `[lng, lat]` in degrees.
pub fn cell_center(cell: CellIndex) -> [f64; 2] {
    let ll = LatLng::from(cell);
    [ll.lng(), ll.lat()]
}

/// One GeoJSON Feature: the cell's polygon, `properties` as given, the cell's hex string as `id`.
pub fn feature(cell: CellIndex, properties: Map<String, Value>) -> Value {
    json!({"id": cell.to_string(), "type": "Feature", "properties": properties,
           "geometry": cell_polygon(cell)})
}

/// A FeatureCollection of rows `(cell, properties)`, whole features only, at most `max_features`
/// and `max_bytes` of JSON (at least one feature when there is one). Rows whose cell is not an
/// H3 cell are skipped. Returns the text, the rows written and the rows skipped.
pub fn feature_collection(
    rows: impl IntoIterator<Item = (Value, Map<String, Value>)>,
    max_features: usize,
    max_bytes: usize,
) -> (String, usize, usize) {
    let head = r#"{"type": "FeatureCollection", "features": ["#;
    let mut text = String::from(head);
    let (mut written, mut skipped) = (0, 0);
    for (cell, props) in rows {
        if written >= max_features {
            break;
        }
        let Ok(cell) = parse_cell(&cell) else {
            skipped += 1;
            continue;
        };
        let f = feature(cell, props).to_string();
        if written > 0 && text.len() + f.len() + 4 > max_bytes {
            break;
        }
        if written > 0 {
            text.push_str(", ");
        }
        text.push_str(&f);
        written += 1;
    }
    text.push_str("]}");
    (text, written, skipped)
}

/// A row as the runner writes it, one JSON line: `[cell, {properties}]`.
pub fn parse_row(line: &str) -> Option<(Value, Map<String, Value>)> {
    match serde_json::from_str::<Value>(line).ok()? {
        Value::Array(mut a) if a.len() == 2 => {
            let props = match a.pop()? {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            Some((a.pop()?, props))
        }
        _ => None,
    }
}

/// GeoJSON positions to 7 decimals (≈1 cm), as the runner writes a GeoDataFrame's.
fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// Twice the signed area of a ring (positive when counter-clockwise).
fn signed_area(ring: &[[f64; 2]]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_parse_from_integers_and_hex_strings() {
        let c = parse_cell(&json!("8a2a1072b59ffff")).unwrap();
        assert_eq!(parse_cell(&json!(u64::from(c))).unwrap(), c);
        assert_eq!(parse_cell(&json!(" 0x8a2a1072b59ffff")).unwrap(), c);
        assert!(parse_cell(&json!("zz")).is_err());
        assert!(parse_cell(&json!(12)).is_err());
        assert!(parse_cell(&Value::Null).is_err());
    }

    #[test]
    fn a_polygon_is_a_closed_counter_clockwise_hexagon() {
        let c = parse_cell(&json!("8a2a1072b59ffff")).unwrap();
        let g = cell_polygon(c);
        let ring = g["coordinates"][0].as_array().unwrap();
        assert_eq!(ring.len(), 7);
        assert_eq!(ring[0], ring[6]);
        let pts: Vec<[f64; 2]> = ring
            .iter()
            .map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
            .collect();
        assert!(signed_area(&pts[..6]) > 0.0);
    }

    #[test]
    fn collections_are_capped_and_skip_what_is_not_a_cell() {
        let c = parse_cell(&json!("8a2a1072b59ffff")).unwrap();
        let rows = vec![
            (json!("nope"), Map::new()),
            (json!(c.to_string()), Map::new()),
            (json!(c.to_string()), Map::new()),
        ];
        let (text, n, skipped) = feature_collection(rows.clone(), 1, 1 << 20);
        assert_eq!((n, skipped), (1, 1));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["features"].as_array().unwrap().len(), 1);
        // A byte cap below one feature still keeps the first.
        assert_eq!(feature_collection(rows, 10, 10).1, 1);
        assert_eq!(
            parse_row(r#"["8a2a1072b59ffff", {"v": 1}]"#).unwrap().1["v"],
            1
        );
    }
}
