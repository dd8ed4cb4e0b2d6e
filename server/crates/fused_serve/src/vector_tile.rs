//! The rows of a GeoDataFrame (EPSG:4326, see `features`) as a Mapbox vector tile:
//! one layer `udf`, coordinates in the tile's own integer grid (extent 4096, Web Mercator),
//! properties as attributes. The protobuf encoding is the `mvt` crate's.

use crate::features::{Feature, Geom, Pt};
use fused_core::tile::Tile;
use mvt::{GeomEncoder, GeomType};
use serde_json::Value;

pub const EXTENT: u32 = 4096;

/// lon/lat → the tile's pixel grid (y down), unrounded.
fn project(tile: Tile, lon: f64, lat: f64) -> (f64, f64) {
    let n = f64::from(1u32 << tile.z);
    let lat = lat
        .clamp(-85.051_128_779_806_6, 85.051_128_779_806_6)
        .to_radians();
    let wx = (lon + 180.0) / 360.0 * n;
    let wy = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (
        (wx - f64::from(tile.x)) * f64::from(EXTENT),
        (wy - f64::from(tile.y)) * f64::from(EXTENT),
    )
}

fn point(tile: Tile, c: Pt) -> Option<(i64, i64)> {
    if !(c.0.is_finite() && c.1.is_finite()) {
        return None;
    }
    let (x, y) = project(tile, c.0, c.1);
    // (Far outside the tile only for absurd input: clamp, the encoder works in i32.)
    let lim = 1i64 << 28;
    Some((
        (x.round() as i64).clamp(-lim, lim),
        (y.round() as i64).clamp(-lim, lim),
    ))
}

/// A line's points in tile pixels, consecutive duplicates (after rounding) dropped.
fn line(tile: Tile, coords: &[Pt]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &c in coords {
        if let Some(p) = point(tile, c) {
            if out.last() != Some(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// Twice the signed area in tile pixels (y down): positive is clockwise on screen, which the
/// vector tile specification requires of exterior rings.
fn area2(ring: &[(i64, i64)]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

/// A closed ring without its closing point, wound as the specification asks: exterior rings
/// clockwise on screen (positive area), holes the other way. None when it has no area left.
fn ring(tile: Tile, coords: &[Pt], exterior: bool) -> Option<Vec<(i64, i64)>> {
    let mut r = line(tile, coords);
    if r.len() > 1 && r.first() == r.last() {
        r.pop();
    }
    if r.len() < 3 {
        return None;
    }
    let a = area2(&r);
    if a == 0 {
        return None;
    }
    if (a > 0) != exterior {
        r.reverse();
    }
    Some(r)
}

fn add(enc: &mut GeomEncoder<f64>, pts: &[(i64, i64)]) -> Result<(), mvt::Error> {
    for &(x, y) in pts {
        enc.add_point(x as f64, y as f64)?;
    }
    Ok(())
}

fn polygons(tile: Tile, list: &[Vec<Vec<Pt>>]) -> Result<Option<mvt::GeomData>, mvt::Error> {
    let mut enc = GeomEncoder::new(GeomType::Polygon);
    let mut any = false;
    for rings in list {
        let Some(outer) = rings.first().and_then(|r| ring(tile, r, true)) else {
            continue;
        };
        add(&mut enc, &outer)?;
        enc.complete_geom()?;
        for hole in rings[1..].iter().filter_map(|r| ring(tile, r, false)) {
            add(&mut enc, &hole)?;
            enc.complete_geom()?;
        }
        any = true;
    }
    if any {
        enc.encode().map(Some)
    } else {
        Ok(None)
    }
}

fn lines(tile: Tile, list: &[Vec<Pt>]) -> Result<Option<mvt::GeomData>, mvt::Error> {
    let mut enc = GeomEncoder::new(GeomType::Linestring);
    let mut any = false;
    for l in list {
        let pts = line(tile, l);
        if pts.len() >= 2 {
            add(&mut enc, &pts)?;
            enc.complete_geom()?;
            any = true;
        }
    }
    if any {
        enc.encode().map(Some)
    } else {
        Ok(None)
    }
}

/// The tile geometry of one geometry; None when nothing of it is left (empty, degenerate).
fn geometry(tile: Tile, g: &Geom) -> Result<Option<mvt::GeomData>, mvt::Error> {
    match g {
        Geom::Point(p) => points(tile, std::slice::from_ref(p)),
        Geom::MultiPoint(ps) => points(tile, ps),
        Geom::LineString(l) => lines(tile, std::slice::from_ref(l)),
        Geom::MultiLineString(ls) => lines(tile, ls),
        Geom::Polygon(rs) => polygons(tile, std::slice::from_ref(rs)),
        Geom::MultiPolygon(ps) => polygons(tile, ps),
        // (A collection's parts are written as separate features by the caller.)
        Geom::Collection(_) => Ok(None),
    }
}

fn points(tile: Tile, ps: &[Pt]) -> Result<Option<mvt::GeomData>, mvt::Error> {
    let pts: Vec<(i64, i64)> = ps.iter().filter_map(|p| point(tile, *p)).collect();
    if pts.is_empty() {
        return Ok(None);
    }
    let mut enc = GeomEncoder::new(GeomType::Point);
    add(&mut enc, &pts)?;
    enc.encode().map(Some)
}

/// A geometry's parts that are not collections (a collection's members, flattened).
fn parts<'a>(g: &'a Geom, out: &mut Vec<&'a Geom>) {
    match g {
        Geom::Collection(gs) => gs.iter().for_each(|g| parts(g, out)),
        g => out.push(g),
    }
}

/// The rows as a vector tile of `tile`.
pub fn encode(tile: Tile, features: &[Feature]) -> Result<Vec<u8>, String> {
    let mut out = mvt::Tile::new(EXTENT);
    let mut layer = out.create_layer("udf");
    for (i, f) in features.iter().enumerate() {
        let mut geoms = Vec::new();
        if let Some(g) = &f.geometry {
            parts(g, &mut geoms);
        }
        for part in geoms {
            let Some(data) = geometry(tile, part).map_err(|e| e.to_string())? else {
                continue;
            };
            let mut feature = layer.into_feature(data);
            feature.set_id(i as u64 + 1);
            if let Some(props) = f.properties.as_object() {
                for (k, v) in props {
                    match v {
                        Value::Null => {}
                        Value::Bool(b) => feature.add_tag_bool(k, *b),
                        Value::Number(n) => {
                            if let Some(i) = n.as_i64() {
                                feature.add_tag_sint(k, i);
                            } else if let Some(u) = n.as_u64() {
                                feature.add_tag_uint(k, u);
                            } else {
                                feature.add_tag_double(k, n.as_f64().unwrap_or(f64::NAN));
                            }
                        }
                        Value::String(s) => feature.add_tag_string(k, s),
                        // Lists and objects: their JSON text (MVT values are scalars).
                        other => feature.add_tag_string(k, &other.to_string()),
                    }
                }
            }
            layer = feature.into_layer();
        }
    }
    out.add_layer(layer).map_err(|e| e.to_string())?;
    out.to_bytes().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_corners_project_to_the_grid_corners() {
        let t = Tile::new(2411, 3079, 13).unwrap();
        let b = t.bounds();
        let (x0, y0) = project(t, b[0], b[3]);
        let (x1, y1) = project(t, b[2], b[1]);
        for (got, want) in [(x0, 0.0), (y0, 0.0), (x1, 4096.0), (y1, 4096.0)] {
            assert!((got - want).abs() < 1e-6, "{got} != {want}");
        }
    }

    #[test]
    fn rings_are_wound_as_the_specification_asks() {
        let t = Tile::new(0, 0, 0).unwrap();
        // Counter-clockwise in lon/lat (RFC 7946) is clockwise on screen: kept as it is.
        let ccw = [
            (-10.0, -10.0),
            (10.0, -10.0),
            (10.0, 10.0),
            (-10.0, 10.0),
            (-10.0, -10.0),
        ];
        let r = ring(t, &ccw, true).unwrap();
        assert!(area2(&r) > 0);
        assert_eq!(r.len(), 4);
        let hole = ring(t, &ccw, false).unwrap();
        assert!(area2(&hole) < 0);
    }
}
