//! `fused-ls new`: the files of a new package, in the published shape (SDK-FACTS).

use crate::meta::json_string;

pub struct NewPackage {
    /// `(file name, content)`, in the order they are written.
    pub files: Vec<(String, String)>,
}

/// The smallest meta.json in the published shape, on one line as the SDK writes it.
pub fn meta_json(name: &str, source: &str, headers: &[&str]) -> String {
    let n = json_string(name);
    let headers: Vec<String> = headers
        .iter()
        .map(|m| {
            format!(
                "{{\"module_name\":{},\"source_file\":{}}}",
                json_string(m),
                json_string(&format!("{m}.py"))
            )
        })
        .collect();
    format!(
        "{{\"version\":\"0.0.3\",\"job_config\":{{\"version\":\"0.0.3\",\"name\":null,\"steps\":[{{\"type\":\"udf\",\"udf\":{{\"type\":\"geopandas_v2\",\"name\":{n},\"entrypoint\":\"udf\",\"parameters\":{{}},\"metadata\":{{\"fused:name\":{n},\"fused:slug\":{n},\"fused:udfType\":\"auto\"}},\"headers\":[{}],\"source\":{}}}}}],\"metadata\":null}}}}\n",
        headers.join(","),
        json_string(source)
    )
}

const FILE_UDF: &str = r#"import fused


@fused.udf
def udf(name: str = "world", n: int = 3):
    """A File-mode UDF: runs once and returns a small table."""
    import pandas as pd

    return pd.DataFrame({"greeting": [f"Hello, {name}!"] * n, "i": list(range(n))})
"#;

const TILE_UDF: &str = r#"import fused


@fused.udf
def udf(
    bounds: fused.types.Bounds = [-74.0478515625, 40.713955826286046, -74.00390625, 40.74725696280421],
    buffer_deg: float = 0.0,
):
    """A Tile-mode UDF: runs once per map tile and returns the tile's outline."""
    import geopandas as gpd
    from shapely.geometry import box

    outline = box(*bounds).buffer(buffer_deg) if buffer_deg else box(*bounds)
    return gpd.GeoDataFrame({"bounds": [str(bounds)]}, geometry=[outline], crs=4326)
"#;

const FILE_UDF_UTILS: &str = r#"import fused


@fused.udf
def udf(name: str = "world", n: int = 3):
    """A File-mode UDF: runs once and returns a small table built by a helper in utils.py."""
    from utils import greetings

    return greetings(name, n)
"#;

const TILE_UDF_UTILS: &str = r#"import fused


@fused.udf
def udf(
    bounds: fused.types.Bounds = [-74.0478515625, 40.713955826286046, -74.00390625, 40.74725696280421],
    buffer_deg: float = 0.0,
):
    """A Tile-mode UDF: runs once per map tile; the geometry comes from a helper in utils.py."""
    from utils import tile_outline

    return tile_outline(bounds, buffer_deg)
"#;

const UTILS_FILE: &str = r#""""Helpers for the UDF, importable from it as `utils`."""


def greetings(name, n):
    import pandas as pd

    return pd.DataFrame({"greeting": [f"Hello, {name}!"] * n, "i": list(range(n))})
"#;

const UTILS_TILE: &str = r#""""Helpers for the UDF, importable from it as `utils`."""


def tile_outline(bounds, buffer_deg=0.0):
    import geopandas as gpd
    from shapely.geometry import box

    outline = box(*bounds).buffer(buffer_deg) if buffer_deg else box(*bounds)
    return gpd.GeoDataFrame({"bounds": [str(bounds)]}, geometry=[outline], crs=4326)
"#;

/// The files of a new package `name`: README.md, `<name>.py`, meta.json, and utils.py on request.
pub fn new_package(name: &str, tile: bool, utils: bool) -> NewPackage {
    let source = format!("{name}.py");
    let code = match (tile, utils) {
        (false, false) => FILE_UDF,
        (true, false) => TILE_UDF,
        (false, true) => FILE_UDF_UTILS,
        (true, true) => TILE_UDF_UTILS,
    };
    let mode = if tile {
        "It runs in **Tile** mode: once per web-map tile, receiving the tile as `bounds` (`[minx, miny, maxx, maxy]`)."
    } else {
        "It runs in **File** mode: once, returning all its output."
    };
    let params = if tile {
        "- `bounds` (`fused.types.Bounds`): the tile, `[minx, miny, maxx, maxy]` in degrees.\n- `buffer_deg` (`float`): grow the outline by this many degrees.\n"
    } else {
        "- `name` (`str`): who to greet.\n- `n` (`int`): how many rows.\n"
    };
    let readme = format!(
        "# {name}\n\nA Fused UDF. {mode}\n\n## Parameters\n\n{params}\n## Files\n\n- `{source}`: the UDF.\n- `meta.json`: what the Fused SDK needs to load it (`fused-ls sync` keeps it in line with the code).\n{}",
        if utils { "- `utils.py`: helpers, imported by the UDF as `utils`.\n" } else { "" }
    );
    let mut files = vec![
        ("README.md".to_string(), readme),
        (source.clone(), code.to_string()),
        (
            "meta.json".to_string(),
            meta_json(name, &source, if utils { &["utils"] } else { &[] }),
        ),
    ];
    if utils {
        files.push((
            "utils.py".to_string(),
            if tile { UTILS_TILE } else { UTILS_FILE }.to_string(),
        ));
    }
    NewPackage { files }
}
