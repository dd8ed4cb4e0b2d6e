//! Tile math: a tile spec of any of the seed's forms → the bounds a Tile-mode run receives.
//! Web-mercator tiles in WGS84 degrees, with mercantile's formulas (the SDK's), so the bounds
//! equal SDK-FACTS' measured examples to 1e-9.

use geo::{BoundingRect, Geometry};
use std::f64::consts::PI;

/// `[minx, miny, maxx, maxy]` in degrees.
pub type Bounds = [f64; 4];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub x: u32,
    pub y: u32,
    pub z: u8,
}

/// mercantile's EPSILON in `tile()`.
const EPSILON: f64 = 1e-14;

/// The upper-left corner of tile `x, y` at zoom `z` (mercantile.ul): `(lng, lat)`.
fn ul(x: f64, y: f64, z: u8) -> (f64, f64) {
    let n = 2f64.powi(z as i32);
    let lng = x / n * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * y / n)).sinh().atan().to_degrees();
    (lng, lat)
}

impl Tile {
    pub fn new(x: u32, y: u32, z: u8) -> Result<Tile, String> {
        if z > 30 {
            return Err(format!("zoom {z} is out of range (0–30)"));
        }
        let n = 1u64 << z;
        if x as u64 >= n || y as u64 >= n {
            return Err(format!(
                "tile {z}/{x}/{y} does not exist: at zoom {z}, x and y run from 0 to {}",
                n - 1
            ));
        }
        Ok(Tile { x, y, z })
    }

    /// Parses `Z/X/Y`.
    pub fn parse(spec: &str) -> Result<Tile, String> {
        let parts: Vec<&str> = spec.trim().split('/').collect();
        let [z, x, y] = parts.as_slice() else {
            return Err(format!(
                "`{spec}` is not a tile: write it Z/X/Y, e.g. 13/2411/3079"
            ));
        };
        let num = |s: &str, what: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{s}` is not a valid {what} in `{spec}`"))
        };
        let z = num(z, "zoom")?;
        Tile::new(
            num(x, "x")?,
            num(y, "y")?,
            u8::try_from(z).map_err(|_| format!("zoom {z} is out of range (0–30)"))?,
        )
    }

    /// The tile containing a point (mercantile.tile).
    pub fn containing(lng: f64, lat: f64, z: u8) -> Result<Tile, String> {
        if !(-180.0..=180.0).contains(&lng) || !(-90.0..=90.0).contains(&lat) || z > 30 {
            return Err(format!(
                "lat {lat}, lng {lng}, z {z} is not a valid point and zoom"
            ));
        }
        let x = lng / 360.0 + 0.5;
        let sinlat = lat.to_radians().sin();
        let y = 0.5 - 0.25 * ((1.0 + sinlat) / (1.0 - sinlat)).ln() / PI;
        if y.is_nan() {
            return Err(format!("latitude {lat} has no web-mercator tile"));
        }
        let n = 2f64.powi(z as i32);
        let index = |v: f64| -> u32 {
            if v <= 0.0 {
                0
            } else if v >= 1.0 {
                (n - 1.0) as u32
            } else {
                ((v + EPSILON) * n).floor() as u32
            }
        };
        Ok(Tile {
            x: index(x),
            y: index(y),
            z,
        })
    }

    /// `[west, south, east, north]` (mercantile.bounds).
    pub fn bounds(self) -> Bounds {
        let (west, north) = ul(self.x as f64, self.y as f64, self.z);
        let (east, south) = ul(self.x as f64 + 1.0, self.y as f64 + 1.0, self.z);
        [west, south, east, north]
    }
}

/// Checks bounds given directly: four finite numbers with min <= max.
pub fn check_bounds(b: Bounds) -> Result<Bounds, String> {
    if b.iter().all(|v| v.is_finite()) && b[0] <= b[2] && b[1] <= b[3] {
        Ok(b)
    } else {
        Err(format!("{b:?} is not minx,miny,maxx,maxy with min <= max"))
    }
}

/// Bounds given directly (a bbox, a geometry's total bounds) with the tile reported beside them:
/// the one holding their center at zoom `z`.
pub fn with_center_tile(b: Bounds, z: u8) -> Result<(Bounds, Tile), String> {
    let b = check_bounds(b)?;
    Ok((
        b,
        Tile::containing((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0, z)?,
    ))
}

/// Parses `minx,miny,maxx,maxy`.
pub fn parse_bbox(spec: &str) -> Result<Bounds, String> {
    let nums: Result<Vec<f64>, _> = spec.split(',').map(|s| s.trim().parse::<f64>()).collect();
    match nums.as_deref() {
        Ok([a, b, c, d]) => check_bounds([*a, *b, *c, *d])
            .map_err(|_| format!("`{spec}` is not minx,miny,maxx,maxy with min <= max")),
        _ => Err(format!(
            "`{spec}` is not a bbox: write minx,miny,maxx,maxy, e.g. -77.34,38.41,-77.17,38.55"
        )),
    }
}

fn rect_bounds(g: &Geometry<f64>) -> Result<Bounds, String> {
    let r = g
        .bounding_rect()
        .ok_or("the geometry is empty, so it has no bounds")?;
    Ok([r.min().x, r.min().y, r.max().x, r.max().y])
}

/// The total bounds of a WKT geometry (seed cases c and d: a box or a polygon).
pub fn wkt_bounds(text: &str) -> Result<Bounds, String> {
    let parsed: wkt::Wkt<f64> = text
        .trim()
        .parse()
        .map_err(|e| format!("not valid WKT: {e}"))?;
    let g: Geometry<f64> = parsed
        .try_into()
        .map_err(|e| format!("unsupported WKT: {e:?}"))?;
    rect_bounds(&g)
}

/// The total bounds of a GeoJSON document: a geometry, a feature or a feature collection (seed
/// case e: a GeoDataFrame).
pub fn geojson_bounds(text: &str) -> Result<Bounds, String> {
    let gj: geojson::GeoJson = text
        .parse()
        .map_err(|e| format!("not valid GeoJSON: {e}"))?;
    let collection = geo::GeometryCollection::<f64>::try_from(&gj)
        .map_err(|e| format!("unsupported GeoJSON: {e}"))?;
    rect_bounds(&Geometry::GeometryCollection(collection))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Bounds, b: Bounds) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-9, "{a:?} != {b:?}");
        }
    }

    #[test]
    fn sdk_facts_examples() {
        close(
            Tile::parse("13/2411/3079").unwrap().bounds(),
            [
                -74.0478515625,
                40.713955826286046,
                -74.00390625,
                40.74725696280421,
            ],
        );
        let t = Tile::containing(-122.0, 37.1, 13).unwrap();
        assert_eq!(
            t,
            Tile {
                x: 1319,
                y: 3185,
                z: 13
            }
        );
        close(
            t.bounds(),
            [
                -122.0361328125,
                37.09023980307207,
                -121.9921875,
                37.12528628496679,
            ],
        );
    }

    #[test]
    fn shapes_and_errors() {
        close(
            parse_bbox("-77.34375, 38.41055, -77.167968, 38.54816").unwrap(),
            [-77.34375, 38.41055, -77.167968, 38.54816],
        );
        assert!(parse_bbox("1,2,3").is_err() && parse_bbox("3,2,1,4").is_err());
        close(
            wkt_bounds("POLYGON((-77.16796 38.54816, -77.16796 38.41055, -77.34375 38.41055, -77.34375 38.54816, -77.16796 38.54816))").unwrap(),
            [-77.34375, 38.41055, -77.16796, 38.54816],
        );
        let fc = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[-77.16796875,38.54816542304658],[-77.16796875,38.410558250946075],[-77.34375,38.410558250946075],[-77.34375,38.54816542304658],[-77.16796875,38.54816542304658]]]}}]}"#;
        close(
            geojson_bounds(fc).unwrap(),
            [
                -77.34375,
                38.410558250946075,
                -77.16796875,
                38.54816542304658,
            ],
        );
        assert!(
            Tile::parse("13/9000/1").is_err()
                && Tile::parse("a/b/c").is_err()
                && Tile::parse("1/2").is_err()
        );
        assert!(wkt_bounds("POLYGON((").is_err() && geojson_bounds("{").is_err());
        assert_eq!(Tile::containing(180.0, -85.0, 2).unwrap().x, 3);
    }
}
