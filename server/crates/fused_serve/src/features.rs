//! The rows the runner hands over for GeoJSON and vector tiles (its `_write_features`):
//! `<path>.wkb`, each geometry as 2-D WKB after its length (little-endian u32, 0 for none), and
//! `<path>.json`, `{"ids": [...], "properties": [...]}`. Read back into [`Feature`]s, then
//! written as GeoJSON here or encoded as a vector tile (`vector_tile`).

use serde_json::Value;
use std::path::Path;

pub type Pt = (f64, f64);

/// A geometry as the Simple Features (and GeoJSON) shape it, in lon/lat.
#[derive(Debug, Clone, PartialEq)]
pub enum Geom {
    Point(Pt),
    MultiPoint(Vec<Pt>),
    LineString(Vec<Pt>),
    MultiLineString(Vec<Vec<Pt>>),
    Polygon(Vec<Vec<Pt>>),
    MultiPolygon(Vec<Vec<Vec<Pt>>>),
    Collection(Vec<Geom>),
}

pub struct Feature {
    /// The row's index, as JSON text (a string).
    pub id: Value,
    pub properties: Value,
    pub geometry: Option<Geom>,
}

/// Reads the two files; `None` when the runner wrote nothing (the result is not a
/// GeoDataFrame).
pub fn read(base: &Path) -> Result<Option<Vec<Feature>>, String> {
    let wkb_path = base.with_extension("wkb");
    let Ok(bytes) = std::fs::read(&wkb_path) else {
        return Ok(None);
    };
    let json_path = base.with_extension("json");
    let meta: Value = std::fs::read(&json_path)
        .map_err(|e| format!("the result's properties cannot be read: {e}"))
        .and_then(|t| serde_json::from_slice(&t).map_err(|e| e.to_string()))?;
    let ids = meta["ids"].as_array().cloned().unwrap_or_default();
    let props = meta["properties"].as_array().cloned().unwrap_or_default();
    let mut out = Vec::with_capacity(ids.len());
    let mut r = Reader { b: &bytes, at: 0 };
    let mut i = 0;
    while r.at < bytes.len() {
        let len = r.u32(true)? as usize;
        let geometry = if len == 0 {
            None
        } else {
            let end = r.at.checked_add(len).filter(|e| *e <= bytes.len());
            let end = end.ok_or("a truncated WKB record")?;
            let mut g = Reader {
                b: &bytes[..end],
                at: r.at,
            };
            let geom = g.geometry(0)?;
            r.at = end;
            geom
        };
        out.push(Feature {
            id: ids.get(i).cloned().unwrap_or(Value::Null),
            properties: props
                .get(i)
                .cloned()
                .unwrap_or(Value::Object(Default::default())),
            geometry,
        });
        i += 1;
    }
    if out.len() != ids.len() || out.len() != props.len() {
        return Err(format!(
            "the runner wrote {} geometries for {} rows",
            out.len(),
            ids.len()
        ));
    }
    Ok(Some(out))
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let s = self
            .b
            .get(self.at..self.at + N)
            .ok_or("a truncated WKB geometry")?;
        self.at += N;
        Ok(s.try_into().expect("N bytes"))
    }

    fn u32(&mut self, le: bool) -> Result<u32, String> {
        let b = self.take::<4>()?;
        Ok(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self, le: bool) -> Result<f64, String> {
        let b = self.take::<8>()?;
        Ok(if le {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }

    fn pt(&mut self, le: bool) -> Result<Pt, String> {
        Ok((self.f64(le)?, self.f64(le)?))
    }

    /// A count, checked against the bytes left (each item takes at least `min` bytes), so a
    /// corrupt count cannot ask for a huge allocation.
    fn count(&mut self, le: bool, min: usize) -> Result<usize, String> {
        let n = self.u32(le)? as usize;
        if n.saturating_mul(min) > self.b.len() - self.at {
            return Err("a WKB count larger than its data".into());
        }
        Ok(n)
    }

    fn points(&mut self, le: bool) -> Result<Vec<Pt>, String> {
        let n = self.count(le, 16)?;
        (0..n).map(|_| self.pt(le)).collect()
    }

    fn rings(&mut self, le: bool) -> Result<Vec<Vec<Pt>>, String> {
        let n = self.count(le, 4)?;
        (0..n).map(|_| self.points(le)).collect()
    }

    /// One WKB geometry (2-D: the runner asks shapely for `output_dimension=2`). `None` for an
    /// empty point (NaN coordinates).
    fn geometry(&mut self, depth: u32) -> Result<Option<Geom>, String> {
        if depth > 32 {
            return Err("WKB nested too deep".into());
        }
        let le = self.take::<1>()?[0] == 1;
        let kind = self.u32(le)?;
        let parts = |r: &mut Self, min| -> Result<Vec<Geom>, String> {
            let n = r.count(le, min)?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                if let Some(g) = r.geometry(depth + 1)? {
                    out.push(g);
                }
            }
            Ok(out)
        };
        Ok(Some(match kind {
            1 => {
                let p = self.pt(le)?;
                if p.0.is_nan() || p.1.is_nan() {
                    return Ok(None);
                }
                Geom::Point(p)
            }
            2 => Geom::LineString(self.points(le)?),
            3 => Geom::Polygon(self.rings(le)?),
            4 => Geom::MultiPoint(
                parts(self, 21)?
                    .into_iter()
                    .filter_map(|g| match g {
                        Geom::Point(p) => Some(p),
                        _ => None,
                    })
                    .collect(),
            ),
            5 => Geom::MultiLineString(
                parts(self, 9)?
                    .into_iter()
                    .filter_map(|g| match g {
                        Geom::LineString(l) => Some(l),
                        _ => None,
                    })
                    .collect(),
            ),
            6 => Geom::MultiPolygon(
                parts(self, 9)?
                    .into_iter()
                    .filter_map(|g| match g {
                        Geom::Polygon(p) => Some(p),
                        _ => None,
                    })
                    .collect(),
            ),
            7 => Geom::Collection(parts(self, 5)?),
            other => return Err(format!("WKB geometry type {other} is not read")),
        }))
    }
}

/// A coordinate as the runner's GeoJSON writes it: rounded to 7 decimal places (≈1 cm).
fn num(out: &mut String, v: f64) {
    let r = (v * 1e7).round() / 1e7;
    if r.is_finite() {
        // (ryu, serde_json's float writer: twice as fast as `{:?}` on a 130,000-point tile.)
        out.push_str(ryu::Buffer::new().format_finite(r));
    } else {
        out.push_str("null");
    }
}

fn pt(out: &mut String, p: Pt) {
    out.push('[');
    num(out, p.0);
    out.push(',');
    num(out, p.1);
    out.push(']');
}

fn list<T>(out: &mut String, items: &[T], mut each: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, x);
    }
    out.push(']');
}

fn geometry_json(out: &mut String, g: &Geom) {
    let kind = match g {
        Geom::Point(_) => "Point",
        Geom::MultiPoint(_) => "MultiPoint",
        Geom::LineString(_) => "LineString",
        Geom::MultiLineString(_) => "MultiLineString",
        Geom::Polygon(_) => "Polygon",
        Geom::MultiPolygon(_) => "MultiPolygon",
        Geom::Collection(gs) => {
            out.push_str("{\"type\":\"GeometryCollection\",\"geometries\":");
            list(out, gs, geometry_json);
            out.push('}');
            return;
        }
    };
    out.push_str("{\"type\":\"");
    out.push_str(kind);
    out.push_str("\",\"coordinates\":");
    let line = |o: &mut String, l: &Vec<Pt>| list(o, l, |o, p| pt(o, *p));
    let rings = |o: &mut String, rs: &Vec<Vec<Pt>>| list(o, rs, line);
    match g {
        Geom::Point(p) => pt(out, *p),
        Geom::MultiPoint(ps) | Geom::LineString(ps) => line(out, ps),
        Geom::MultiLineString(ls) | Geom::Polygon(ls) => rings(out, ls),
        Geom::MultiPolygon(ps) => list(out, ps, rings),
        Geom::Collection(_) => {}
    }
    out.push('}');
}

/// The rows as a GeoJSON FeatureCollection, shaped as the runner's `result.geojson`.
pub fn geojson(features: &[Feature]) -> String {
    let mut out = String::with_capacity(features.len() * 256);
    out.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    for (i, f) in features.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"id\":");
        out.push_str(&f.id.to_string());
        out.push_str(",\"type\":\"Feature\",\"properties\":");
        out.push_str(&f.properties.to_string());
        out.push_str(",\"geometry\":");
        match &f.geometry {
            Some(g) => geometry_json(&mut out, g),
            None => out.push_str("null"),
        }
        out.push('}');
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wkb_point(le: bool, x: f64, y: f64) -> Vec<u8> {
        let mut v = vec![u8::from(le)];
        let e = |n: u32| if le { n.to_le_bytes() } else { n.to_be_bytes() };
        let f = |n: f64| if le { n.to_le_bytes() } else { n.to_be_bytes() };
        v.extend(e(1));
        v.extend(f(x));
        v.extend(f(y));
        v
    }

    #[test]
    fn points_in_both_byte_orders_and_bad_counts() {
        for le in [true, false] {
            let b = wkb_point(le, -74.5, 40.25);
            let mut r = Reader { b: &b, at: 0 };
            assert_eq!(r.geometry(0).unwrap(), Some(Geom::Point((-74.5, 40.25))));
        }
        // A line claiming a billion points in 20 bytes: refused, not allocated.
        let mut b = vec![1u8];
        b.extend(2u32.to_le_bytes());
        b.extend(1_000_000_000u32.to_le_bytes());
        b.extend([0u8; 16]);
        assert!(Reader { b: &b, at: 0 }.geometry(0).is_err());
    }

    #[test]
    fn geojson_rounds_to_seven_places() {
        let f = Feature {
            id: "0".into(),
            properties: serde_json::json!({"a": 1}),
            geometry: Some(Geom::LineString(vec![
                (1.123456789, 2.0),
                (3.5, -4.00000004),
            ])),
        };
        assert_eq!(
            geojson(&[f]),
            r#"{"type":"FeatureCollection","features":[{"id":"0","type":"Feature","properties":{"a":1},"geometry":{"type":"LineString","coordinates":[[1.1234568,2.0],[3.5,-4.0]]}}]}"#
        );
    }
}
