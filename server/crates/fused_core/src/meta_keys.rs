//! The meta.json keys the SDK knows (SDK-FACTS: the published shape), with a line of
//! documentation each: the editor's completion and hover on meta.json read this table.

/// `(key, where it goes, what it means)`.
pub const KEYS: &[(&str, &str, &str)] = &[
    ("version", "top level, `job_config`", "Format version: `\"0.0.3\"` in published packages."),
    ("job_config", "top level", "Holds `steps`: a list of exactly one step of type `\"udf\"`."),
    ("steps", "`job_config`", "Exactly one step: `{\"type\": \"udf\", \"udf\": {...}}`. The SDK refuses any other count."),
    ("type", "a step; `udf`", "In a step: `\"udf\"` (the only type the SDK loads). In `udf`: the UDF type, `\"geopandas_v2\"` in published packages."),
    ("udf", "a step", "The UDF: `name`, `entrypoint`, `source`, `headers`, `parameters`, `metadata`."),
    ("name", "`udf`", "The UDF's name; published packages name their folder and `<name>.py` after it (`fused-ls sync` keeps them equal)."),
    ("entrypoint", "`udf`", "The name of the `@fused.udf` function the SDK calls (`udf` in files written by `to_directory()`)."),
    ("source", "`udf`", "The file holding the UDF's code, next to meta.json (`<name>.py`)."),
    ("code", "`udf`", "The UDF's code inline, written by newer exporters. fused 2.9.5 cannot load a package without `source`."),
    ("headers", "`udf`", "Helper modules made importable to the UDF: `[{\"module_name\": \"utils\", \"source_file\": \"utils.py\"}]`. Required (may be empty)."),
    ("module_name", "a header", "The name the UDF imports the helper by (`utils`)."),
    ("source_file", "a header", "The helper's file, next to meta.json (`utils.py`)."),
    ("parameters", "`udf`", "Saved parameter values, an object (often `{}`)."),
    ("metadata", "`udf`", "Workbench metadata: `fused:name`, `fused:slug`, `fused:udfType`, `fused:vizConfig`..."),
    ("fused:name", "`metadata`", "The name shown in the Workbench; kept equal to `name` by `fused-ls sync`."),
    ("fused:slug", "`metadata`", "The URL slug of the UDF; kept equal to `name` by `fused-ls sync`."),
    ("fused:udfType", "`metadata`", "How the Workbench treats the UDF (`\"auto\"` lets it decide from the output)."),
    ("fused:vizConfig", "`metadata`", "Map layer configuration (deck.gl `TileLayer`, `BitmapLayer`, `GeoJsonLayer` settings)."),
    ("fused:description", "`metadata`", "A one-line description."),
    ("fused:defaultViewState", "`metadata`", "The map view to open on: `latitude`, `longitude`, `zoom`, `pitch`, `bearing`, `enable`."),
    ("fused:id", "`metadata`", "The platform id of a saved UDF (null locally)."),
    ("fused:assetUrl", "`metadata`", "A preview image URL."),
    ("fused:gitRepo", "`metadata`", "The GitHub repository the UDF was published from."),
    ("fused:gitPath", "`metadata`", "The UDF's folder inside `fused:gitRepo`."),
    ("fused:gitRef", "`metadata`", "The commit or branch of `fused:gitRepo`."),
    ("fused:tags", "`metadata`", "Tags: `[{\"id\": ..., \"label\": ...}]`."),
    ("fused:explorerTab", "`metadata`", "The Workbench catalogue tab it is listed under."),
    ("fused:defaultParameters", "`metadata`", "Default parameter values shown in the Workbench."),
    ("isNodeTemplate", "`metadata`", "A canvas node, not a UDF: its `.py` holds prose (`textbox`) or JSON (`json_ui`); fused-ls checks only its meta.json."),
    ("nodeTemplateType", "`metadata`", "The canvas node kind: `\"textbox\"` or `\"json_ui\"`."),
];

pub fn doc(key: &str) -> Option<(&'static str, &'static str)> {
    KEYS.iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, w, d)| (*w, *d))
}
