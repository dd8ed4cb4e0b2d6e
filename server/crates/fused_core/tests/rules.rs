//! One test (or more) per rule, on small inline sources: what a user would see.

use fused_core::check::{check_package, FileContent, Package, PackageFile};
use fused_core::probe::{NoProbe, PathKind, PathProbe};
use fused_core::{analyze_python, apply_edits, Diagnostic, Rule, Selection};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn py(src: &str) -> Vec<Diagnostic> {
    // Every clean snippet here is also a case for the two model readers to agree on.
    if let Err(e) = fused_core::python::readers_agree(src) {
        panic!("{e}\nsource:\n{src}");
    }
    fused_core::check::finalize(
        Some(src),
        analyze_python(src, None, &NoProbe, None).diagnostics,
        &Selection::default(),
    )
}

fn codes(src: &str) -> Vec<&'static str> {
    py(src).iter().map(|d| d.rule.code()).collect()
}

/// The source text each diagnostic of `rule` points at.
fn spans(src: &str, rule: Rule) -> Vec<String> {
    py(src)
        .iter()
        .filter(|d| d.rule == rule)
        .map(|d| src[d.range.clone()].to_string())
        .collect()
}

fn fix_all(src: &str, rule: Rule) -> String {
    let edits: Vec<_> = py(src)
        .into_iter()
        .filter(|d| d.rule == rule)
        .filter_map(|d| d.fix)
        .flat_map(|f| f.edits)
        .collect();
    apply_edits(src, &edits).0
}

#[test]
fn fused001_syntax_error_with_exact_range_and_other_rules_still_run() {
    let src = "@fused.udf\ndef udf(n: Union[int, float] = 1):\n    x = (1 +\n";
    let c = codes(src);
    assert!(c.contains(&"FUSED001"), "{c:?}");
    // The half-typed line does not hide the annotation problem above it.
    assert!(c.contains(&"FUSED020"), "{c:?}");
    let nbsp = "@fused.udf\ndef udf(n: int = 1):\n    return\u{a0}n\n";
    let d: Vec<_> = py(nbsp)
        .into_iter()
        .filter(|d| d.rule == Rule::SyntaxError)
        .collect();
    assert!(!d.is_empty() && d[0].message.contains("U+00A0"), "{d:?}");
}

#[test]
fn fused001_rejects_what_311_rejects() {
    assert!(codes("1 = x\n").contains(&"FUSED001"));
}

#[test]
fn fused002_newer_syntax() {
    let src = "type Pair = tuple[int, int]\ndef f[T](x: T) -> T:\n    return x\n";
    let spans = spans(src, Rule::NewerSyntax);
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert!(codes("x = f\"{'a' + \"b\"}\"\n").contains(&"FUSED002"));
}

#[test]
fn fused020_uncoerced_annotations() {
    let src = "@fused.udf\ndef udf(a: Union[int, float] = 1, b: Literal[1, 2] = 1, c: np.ndarray = None, d: Literal['x', 'y'] = 'x', e: Optional[int] = None, f: int | None = None):\n    pass\n";
    assert_eq!(
        spans(src, Rule::UncoercedAnnotation),
        vec!["Union[int, float]", "Literal[1, 2]", "np.ndarray"]
    );
}

#[test]
fn fused021_future_annotations() {
    let src = "from __future__ import annotations\n@fused.udf\ndef udf(n: int = 4, s: str = 'a', b: fused.types.Bounds = None, g: gpd.GeoDataFrame = None, l: List[int] = None):\n    pass\n";
    assert_eq!(
        spans(src, Rule::FutureAnnotations),
        vec!["int", "List[int]"]
    );
    // Without the import, nothing to say.
    assert!(spans(
        &src.replace("from __future__ import annotations\n", ""),
        Rule::FutureAnnotations
    )
    .is_empty());
}

#[test]
fn fused022_iterable() {
    let src =
        "@fused.udf\ndef udf(ids: Iterable[int] = None, more: typing.Iterable = None):\n    pass\n";
    assert_eq!(
        spans(src, Rule::IterableNotCoerced),
        vec!["Iterable[int]", "typing.Iterable"]
    );
}

#[test]
fn fused023_unannotated() {
    let src = "@fused.udf\ndef udf(name, n: int = 1, *args, **kwargs):\n    pass\n";
    assert_eq!(spans(src, Rule::Unannotated), vec!["name"]);
    // Functions that are not UDFs are none of our business.
    assert!(codes("def helper(name):\n    pass\n").is_empty());
}

#[test]
fn fused024_default_contradicts_with_fix() {
    let src = "@fused.udf\ndef udf(year: int = \"2020\", n: int = 4.0, flag: bool = \"no\", ok: float = 1, s: str = None):\n    pass\n";
    assert_eq!(
        spans(src, Rule::DefaultContradicts),
        vec!["\"2020\"", "4.0", "\"no\""]
    );
    let fixed = fix_all(src, Rule::DefaultContradicts);
    assert!(
        fixed.contains("year: int = 2020,")
            && fixed.contains("n: int = 4,")
            && fixed.contains("flag: bool = \"no\""),
        "{fixed}"
    );
}

#[test]
fn fused030_bbox_rename_fix() {
    let src = "@fused.udf\ndef udf(bbox: fused.types.Bbox = None, n: int = 1):\n    minx = bbox.bounds[0]\n    gdf.clip(bbox)\n    return run(bbox=bbox, other=x.bbox)\n";
    assert_eq!(spans(src, Rule::BboxDeprecated), vec!["bbox"]);
    let fixed = fix_all(src, Rule::BboxDeprecated);
    assert_eq!(
        fixed,
        "@fused.udf\ndef udf(bounds: fused.types.Bbox = None, n: int = 1):\n    minx = bounds.bounds[0]\n    gdf.clip(bounds)\n    return run(bbox=bounds, other=x.bbox)\n"
    );
}

#[test]
fn fused031_receiver_type() {
    let src = "@fused.udf\ndef udf(bounds: int = 0):\n    pass\n";
    let d = py(src);
    let d: Vec<_> = d
        .iter()
        .filter(|d| d.rule == Rule::TileReceiverType)
        .collect();
    assert_eq!(d.len(), 1);
    assert!(d[0].message.contains("fused.types.Bounds") && d[0].message.contains("TileXYZ"));
    for ok in [
        "fused.types.Bounds",
        "fused.types.Tile",
        "fused.types.TileXYZ",
        "fused.types.Bbox",
        "gpd.GeoDataFrame",
        "List[float]",
    ] {
        let src = format!("@fused.udf\ndef udf(bounds: {ok} = None):\n    pass\n");
        assert!(spans(&src, Rule::TileReceiverType).is_empty(), "{ok}");
    }
}

#[test]
fn fused032_xyz_and_fused033_reserved() {
    let src = "@fused.udf\ndef udf(x: int = 1, y: int = 2, z: int = 3, engine: str = 'a', cache: bool = True):\n    pass\n";
    assert_eq!(codes(src).iter().filter(|c| **c == "FUSED032").count(), 1);
    assert_eq!(spans(src, Rule::ReservedParam), vec!["engine", "cache"]);
    assert!(
        !codes("@fused.udf\ndef udf(x: int = 1, y: int = 2):\n    pass\n").contains(&"FUSED032")
    );
}

#[test]
fn fused040_to_045_decorator_keywords() {
    let src = "@fused.udf(timeout=30, cache_max_age=\"10 minutes\", engine=\"realtme\", default_parameters={\"n\": 1, \"m\": 2})\ndef udf(n: int = 3):\n    pass\n";
    assert_eq!(spans(src, Rule::UnknownDecoratorKeyword), vec!["timeout"]);
    assert_eq!(spans(src, Rule::InvalidCacheMaxAge), vec!["\"10 minutes\""]);
    assert_eq!(
        fix_all(src, Rule::InvalidCacheMaxAge)
            .matches("cache_max_age=\"10m\"")
            .count(),
        1
    );
    let engine = py(src)
        .into_iter()
        .find(|d| d.rule == Rule::InvalidEngine)
        .unwrap();
    assert!(
        engine.message.contains("did you mean \"realtime\""),
        "{}",
        engine.message
    );
    assert_eq!(spans(src, Rule::DefaultParametersUnknown), vec!["\"m\""]);
    let it = "@fused.udf(instance_type=\"t3.small\", default_parameters=[1])\ndef udf(n: int = 3):\n    pass\n";
    assert_eq!(
        spans(it, Rule::InstanceTypeDeprecated),
        vec!["instance_type"]
    );
    assert!(fix_all(it, Rule::InstanceTypeDeprecated).starts_with("@fused.udf(engine=\"t3.small\""));
    assert_eq!(spans(it, Rule::DefaultParametersInvalid), vec!["[1]"]);
    // Every accepted form is quiet.
    let ok = "@fused.udf(name='x', cache_max_age='30m', engine='m5.large', disk_size_gb=10, region='us-west-2', default_parameters={'n': 1}, headers=[])\ndef udf(n: int = 3):\n    pass\n";
    assert!(codes(ok).is_empty(), "{:?}", codes(ok));
}

#[test]
fn udf_recognised_in_every_spelling() {
    for src in [
        "@fused.udf\ndef udf(a): pass\n",
        "@fused.udf()\ndef udf(a): pass\n",
        "from fused import udf\n@udf\ndef f(a): pass\n",
        "from fused import udf as u\n@u(engine='local')\ndef f(a): pass\n",
        "import fused as fu\n@fu.udf\ndef f(a): pass\n",
    ] {
        assert_eq!(codes(src), vec!["FUSED023"], "{src}");
    }
    assert!(codes("import other\n@other.udf\ndef f(a): pass\n").is_empty());
}

/// A probe over a fixed map of paths, relative to `/pkg`.
struct MapProbe(HashMap<PathBuf, PathKind>);

impl PathProbe for MapProbe {
    fn probe(&self, path: &Path) -> PathKind {
        let norm: PathBuf = path.components().fold(PathBuf::new(), |mut acc, c| {
            match c {
                std::path::Component::ParentDir => {
                    acc.pop();
                }
                std::path::Component::CurDir => {}
                other => acc.push(other),
            }
            acc
        });
        self.0.get(&norm).cloned().unwrap_or(PathKind::Missing)
    }
}

#[test]
fn fused050_to_054_load_targets() {
    let probe = MapProbe(HashMap::from([
        (PathBuf::from("/w/Other"), PathKind::Dir { has_meta: true }),
        (
            PathBuf::from("/w/pkg/helpers"),
            PathKind::Dir { has_meta: false },
        ),
        (
            PathBuf::from("/w/pkg/bad.zip"),
            PathKind::Zip {
                is_package: Err("no meta.json".into()),
            },
        ),
        (
            PathBuf::from("/w/Sibling"),
            PathKind::Dir { has_meta: false },
        ),
    ]));
    let src = r#"@fused.udf
def udf(n: int = 1):
    a = fused.load("../Other")
    b = fused.load("./missing")
    c = fused.load("./helpers")
    d = fused.load("bad.zip")
    e = fused.load("https://github.com/fusedio/udfs/pulls/main/x.py")
    f = fused.load("https://github.com/fusedio/udfs/tree/main/public/common/")
    g = fused.load("https://github.com/fusedio/udfs/tree/3c1a5b2e9f0d4c7a8b6e5d4c3b2a1f0e9d8c7b6a/public/common/")
    h = fused.load("some_platform_id")
    i = fused.load("Sibling")
"#;
    let diags = analyze_python(src, Some(Path::new("/w/pkg")), &probe, None).diagnostics;
    let got: Vec<(&str, &str)> = diags
        .iter()
        .map(|d| (d.rule.code(), &src[d.range.clone()]))
        .collect();
    assert_eq!(
        got,
        vec![
            ("FUSED050", "\"./missing\""),
            ("FUSED051", "\"./helpers\""),
            ("FUSED052", "\"bad.zip\""),
            (
                "FUSED053",
                "\"https://github.com/fusedio/udfs/pulls/main/x.py\""
            ),
            (
                "FUSED054",
                "\"https://github.com/fusedio/udfs/tree/main/public/common/\""
            ),
            ("FUSED051", "\"Sibling\""),
        ]
    );
}

const META: &str = r#"{"version":"0.0.3","job_config":{"version":"0.0.3","steps":[{"type":"udf","udf":{"type":"geopandas_v2","name":"Pkg","entrypoint":"udf","parameters":{},"metadata":{},"headers":[],"source":"Pkg.py"}}]}}"#;
const UDF: &str = "@fused.udf\ndef udf(n: int = 1):\n    return n\n";

fn package(files: &[(&str, &str)]) -> Package {
    Package {
        dir_name: "Pkg".into(),
        dir: None,
        files: files
            .iter()
            .map(|(n, t)| PackageFile {
                name: n.to_string(),
                content: FileContent::Text(t.to_string()),
            })
            .collect(),
    }
}

/// `(file, code, text at the range)` for every diagnostic of the package.
fn pkg_diags(files: &[(&str, &str)]) -> Vec<(String, &'static str, String)> {
    let pkg = package(files);
    let mut out = Vec::new();
    for r in check_package(&pkg, &NoProbe, &Selection::default()) {
        let text = files.iter().find(|(n, _)| *n == r.name).unwrap().1;
        for d in r.diagnostics {
            out.push((
                r.name.clone(),
                d.rule.code(),
                text[d.range.clone()].to_string(),
            ));
        }
    }
    out
}

#[test]
fn clean_package_is_quiet() {
    assert!(pkg_diags(&[
        ("meta.json", META),
        ("Pkg.py", UDF),
        ("README.md", "# Pkg\n")
    ])
    .is_empty());
}

#[test]
fn fused010_and_fused011() {
    // No function named by the entrypoint, and no decorated one: FUSED010 alone.
    let d = pkg_diags(&[
        ("meta.json", META),
        ("Pkg.py", "def main():\n    pass\n"),
        ("README.md", ""),
    ]);
    assert_eq!(d.iter().map(|x| x.1).collect::<Vec<_>>(), vec!["FUSED010"]);
    let renamed = UDF.replace("def udf", "def udf_v2");
    let pkg = package(&[("meta.json", META), ("Pkg.py", &renamed), ("README.md", "")]);
    let reports = check_package(&pkg, &NoProbe, &Selection::default());
    let meta = reports.iter().find(|r| r.name == "meta.json").unwrap();
    assert_eq!(meta.diagnostics[0].rule, Rule::EntrypointNotFound);
    let fixed = apply_edits(META, &meta.diagnostics[0].fix.as_ref().unwrap().edits).0;
    assert!(fixed.contains("\"entrypoint\":\"udf_v2\""));
}

#[test]
fn fused060_061_invalid_and_misshapen_meta() {
    let d = pkg_diags(&[
        ("meta.json", "{\"job_config\": {},}"),
        ("Pkg.py", UDF),
        ("README.md", ""),
    ]);
    assert_eq!(d, vec![("meta.json".into(), "FUSED060", ",".into())]);
    let d = pkg_diags(&[("meta.json", ""), ("Pkg.py", UDF), ("README.md", "")]);
    assert_eq!(d[0].1, "FUSED060");
    let d = pkg_diags(&[("meta.json", "[]"), ("Pkg.py", UDF), ("README.md", "")]);
    assert_eq!(d[0].1, "FUSED061");
    let two = META.replace(
        "}}]}}",
        "}},{\"type\":\"udf\",\"udf\":{\"entrypoint\":\"udf\"}}]}}",
    );
    let d = pkg_diags(&[("meta.json", &two), ("Pkg.py", UDF), ("README.md", "")]);
    assert_eq!(d[0].1, "FUSED061");
}

#[test]
fn fused062_to_066_meta_against_files() {
    let d = pkg_diags(&[
        ("meta.json", &META.replace("Pkg.py", "Gone.py")),
        ("Pkg.py", UDF),
        ("README.md", ""),
    ]);
    assert_eq!(
        d.iter().map(|x| (x.1, x.2.as_str())).collect::<Vec<_>>(),
        vec![("FUSED062", "\"Gone.py\"")]
    );
    let d = pkg_diags(&[
        (
            "meta.json",
            &META.replace("\"name\":\"Pkg\"", "\"name\":\"Other\""),
        ),
        ("Pkg.py", UDF),
        ("README.md", ""),
    ]);
    // (`Pkg.py` is named after the folder, so not FUSED071 as well: FUSED063 says it.)
    assert_eq!(
        d.iter().map(|x| (x.1, x.2.as_str())).collect::<Vec<_>>(),
        vec![("FUSED063", "\"Other\"")]
    );
    let with_header = META.replace(
        "\"headers\":[]",
        "\"headers\":[{\"module_name\":\"utils\",\"source_file\":\"utils.py\"}]",
    );
    let d = pkg_diags(&[
        ("meta.json", &with_header),
        ("Pkg.py", UDF),
        ("README.md", ""),
    ]);
    assert_eq!(
        d.iter().map(|x| (x.1, x.2.as_str())).collect::<Vec<_>>(),
        vec![("FUSED064", "\"utils.py\"")]
    );
    // utils.py imported, not declared: the fix declares it, and then all is quiet.
    let importer = "import utils\n\n@fused.udf\ndef udf(n: int = 1):\n    return utils.X + n\n";
    let pkg = package(&[
        ("meta.json", META),
        ("Pkg.py", importer),
        ("README.md", ""),
        ("utils.py", "X = 1\n"),
    ]);
    let reports = check_package(&pkg, &NoProbe, &Selection::default());
    let d = &reports[0].diagnostics[0];
    assert_eq!(d.rule, Rule::UtilsNotDeclared);
    let fixed = apply_edits(META, &d.fix.as_ref().unwrap().edits).0;
    // Declared, the top-level import is still not importable when the UDF runs: FUSED057.
    assert_eq!(
        pkg_diags(&[
            ("meta.json", &fixed),
            ("Pkg.py", importer),
            ("README.md", ""),
            ("utils.py", "X = 1\n")
        ])
        .iter()
        .map(|x| (x.1, x.2.as_str()))
        .collect::<Vec<_>>(),
        vec![("FUSED057", "utils")]
    );
    // Imported inside the UDF and declared: all is quiet.
    let inside = "@fused.udf\ndef udf(n: int = 1):\n    import utils\n    return utils.X + n\n";
    let reports = check_package(
        &package(&[
            ("meta.json", META),
            ("Pkg.py", inside),
            ("README.md", ""),
            ("utils.py", "X = 1\n"),
        ]),
        &NoProbe,
        &Selection::default(),
    );
    let d = &reports[0].diagnostics[0];
    assert_eq!(d.rule, Rule::UtilsNotDeclared);
    let fixed = apply_edits(META, &d.fix.as_ref().unwrap().edits).0;
    assert!(pkg_diags(&[
        ("meta.json", &fixed),
        ("Pkg.py", inside),
        ("README.md", ""),
        ("utils.py", "X = 1\n")
    ])
    .is_empty());
    // Inline code: a warning, and the code itself is checked.
    let inline = META.replace(
        ",\"source\":\"Pkg.py\"",
        ",\"code\":\"@fused.udf\\ndef udf(n: Union[int, float] = 1):\\n    pass\\n\"",
    );
    let d = pkg_diags(&[("meta.json", &inline), ("README.md", "")]);
    let codes: Vec<_> = d.iter().map(|x| x.1).collect();
    assert!(
        codes.contains(&"FUSED066") && codes.contains(&"FUSED020"),
        "{codes:?}"
    );
}

#[test]
fn fused070_071_layout() {
    let d = pkg_diags(&[("meta.json", META), ("Pkg.py", UDF)]);
    assert_eq!(d.iter().map(|x| x.1).collect::<Vec<_>>(), vec!["FUSED070"]);
    assert!(pkg_diags(&[("meta.json", META), ("Pkg.py", UDF), ("README.MD", "")]).is_empty());
    let d = pkg_diags(&[
        ("meta.json", &META.replace("Pkg.py", "main.py")),
        ("main.py", UDF),
        ("README.md", ""),
    ]);
    assert_eq!(
        d.iter().map(|x| (x.1, x.2.as_str())).collect::<Vec<_>>(),
        vec![("FUSED071", "\"main.py\"")]
    );
}

#[test]
fn canvas_nodes_get_no_python_diagnostics() {
    let meta = META.replace(
        "\"metadata\":{}",
        "\"metadata\":{\"isNodeTemplate\":true,\"nodeTemplateType\":\"textbox\"}",
    );
    assert!(pkg_diags(&[
        ("meta.json", &meta),
        ("Pkg.py", "# A note\n\nSome *prose* here: not Python.\n")
    ])
    .is_empty());
}

#[test]
fn non_text_files() {
    let pkg = Package {
        dir_name: "Pkg".into(),
        dir: None,
        files: vec![
            PackageFile {
                name: "meta.json".into(),
                content: FileContent::Text(META.into()),
            },
            PackageFile {
                name: "Pkg.py".into(),
                content: FileContent::from_bytes(vec![0x40, 0x00, 0xff]),
            },
            PackageFile {
                name: "utils.py".into(),
                content: FileContent::from_bytes(b"x = '\xe9'\n".to_vec()),
            },
            PackageFile {
                name: "README.md".into(),
                content: FileContent::Text(String::new()),
            },
        ],
    };
    let reports = check_package(&pkg, &NoProbe, &Selection::default());
    let codes: Vec<_> = reports
        .iter()
        .flat_map(|r| {
            r.diagnostics
                .iter()
                .map(move |d| (r.name.as_str(), d.rule.code()))
        })
        .collect();
    assert!(
        codes.contains(&("Pkg.py", "FUSED003")) && codes.contains(&("utils.py", "FUSED003")),
        "{codes:?}"
    );
}

#[test]
fn noqa_and_selection() {
    let src = "from typing import Union\n@fused.udf\ndef udf(a: Union[int, float] = 1,  # noqa: FUSED020\n        b=1):  # noqa\n    pass\n";
    assert!(codes(src).is_empty(), "{:?}", codes(src));
    let src =
        "from typing import Union\n@fused.udf\ndef udf(a: Union[int, float] = 1, b=1):\n    pass\n";
    let sel = Selection::new(vec!["FUSED02".into()], vec!["FUSED023".into()]).unwrap();
    let d = fused_core::check::finalize(
        Some(src),
        analyze_python(src, None, &NoProbe, None).diagnostics,
        &sel,
    );
    assert_eq!(
        d.iter().map(|d| d.rule.code()).collect::<Vec<_>>(),
        vec!["FUSED020"]
    );
    assert!(Selection::new(vec!["NOPE1".into()], vec![]).is_err());
}

#[test]
fn docs_are_generated_from_the_registry() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../docs/rules.md");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == fused_core::registry::rules_markdown(),
        "docs/rules.md is stale: run `cargo run -p fused_ls -- rules --markdown > docs/rules.md`"
    );
}

// ---- Findings of the review against fused 2.9.5 (measured), one test each.

#[test]
fn load_targets_follow_the_sdk_order() {
    let probe = MapProbe(HashMap::new());
    let src = "@fused.udf\ndef udf(n: int = 1):\n    a = fused.load(\"user@fused.io/my_udf\")\n    b = fused.load(\"@fused.udf\\ndef f(): pass\")\n    c = fused.load(\"helpers.py\")\n    d = fused.load(\"github.com/o/r/tree/main/x\")\n";
    let diags = analyze_python(src, Some(Path::new("/w/pkg")), &probe, None).diagnostics;
    let got: Vec<(&str, &str)> = diags
        .iter()
        .map(|d| (d.rule.code(), &src[d.range.clone()]))
        .collect();
    assert_eq!(
        got,
        vec![
            ("FUSED050", "\"helpers.py\""),
            ("FUSED053", "\"github.com/o/r/tree/main/x\"")
        ]
    );
    assert!(diags[0].message.contains("FileNotFoundError"));
}

#[test]
fn a_file_that_does_not_parse_gets_no_missing_udf_error() {
    let half = "@fused.udf(\ndef udf(n: int = 1):\n    return n\n";
    let d = pkg_diags(&[("meta.json", META), ("Pkg.py", half), ("README.md", "")]);
    let codes: Vec<_> = d.iter().map(|x| x.1).collect();
    assert!(
        codes.contains(&"FUSED001") && !codes.contains(&"FUSED010") && !codes.contains(&"FUSED011"),
        "{codes:?}"
    );
}

#[test]
fn receiver_types_that_crash_and_that_mangle() {
    // Measured with fused 2.9.5, `fused.run(udf, x=2411, y=3079, z=13, engine="local",
    // cache=False)`: the receiver's coercion gets the tile GeoDataFrame. `bool(gdf)` raises
    // ValueError; `str` gets `str(gdf)`; `list` and `dict` get the GeoDataFrame itself.
    for (ann, code) in [
        ("tuple", Some("FUSED031")),
        ("float", Some("FUSED031")),
        ("datetime", Some("FUSED031")),
        ("bool", Some("FUSED031")),
        ("str", Some("FUSED034")),
        ("dict", Some("FUSED034")),
        ("List[float]", Some("FUSED034")),
        ("fused.types.Bounds", None),
        ("gpd.GeoDataFrame", None),
    ] {
        let src = format!("@fused.udf\ndef udf(bounds: {ann} = None):\n    pass\n");
        let got: Vec<_> = codes(&src)
            .into_iter()
            .filter(|c| *c == "FUSED031" || *c == "FUSED034")
            .collect();
        assert_eq!(got, code.into_iter().collect::<Vec<_>>(), "{ann}");
    }
    // An unannotated receiver gets the tile GeoDataFrame: no "receives a string" hint.
    assert!(codes("@fused.udf\ndef udf(bounds=None, n: int = 1):\n    pass\n").is_empty());
}

#[test]
fn decorator_checks_match_the_sdk() {
    assert!(
        codes("@fused.udf(cache_max_age=\" 2H \")\ndef udf(n: int = 1):\n    pass\n").is_empty()
    );
    let both = "@fused.udf(engine=\"local\", instance_type=\"t3.small\")\ndef udf(n: int = 1):\n    pass\n";
    assert!(py(both)
        .iter()
        .any(|d| d.rule == Rule::InvalidEngine && d.message.contains("Cannot specify both")));
    assert_eq!(
        spans(
            "@fused.udf(instance_type=\"local\")\ndef udf(n: int = 1):\n    pass\n",
            Rule::InvalidEngine
        ),
        vec!["\"local\""]
    );
    assert_eq!(
        spans(
            "@fused.udf(disk_size_gb=50, region=\"us-east-1\")\ndef udf(n: int = 1):\n    pass\n",
            Rule::InvalidEngine
        ),
        vec!["disk_size_gb"]
    );
    assert!(codes(
        "@fused.udf(engine=\"m5.large\", disk_size_gb=50)\ndef udf(n: int = 1):\n    pass\n"
    )
    .is_empty());
}

#[test]
fn meta_shapes_the_sdk_cannot_load() {
    for (meta, needle) in [
        (META.replace(",\"headers\":[]", ""), "no `headers`"),
        (
            META.replace("\"headers\":[]", "\"headers\":[\"utils.py\"]"),
            "a header must be an object",
        ),
        (
            META.replace(",\"source\":\"Pkg.py\"", ""),
            "neither `source` nor `code`",
        ),
    ] {
        let pkg = package(&[("meta.json", &meta), ("Pkg.py", UDF), ("README.md", "")]);
        let reports = check_package(&pkg, &NoProbe, &Selection::default());
        let msgs: Vec<String> = reports
            .iter()
            .flat_map(|r| {
                r.diagnostics
                    .iter()
                    .filter(|d| d.rule == Rule::MetaWrongShape)
                    .map(|d| d.message.clone())
            })
            .collect();
        assert!(
            msgs.iter().any(|m| m.contains(needle)),
            "{needle}: {msgs:?}"
        );
    }
}

#[test]
fn utils_header_fix_on_an_udf_object_without_keys_is_valid_json() {
    let meta = r#"{"job_config":{"steps":[{"type":"udf","udf":{}}]}}"#;
    let pkg = package(&[
        ("meta.json", meta),
        (
            "Pkg.py",
            "from utils import helper\n\n@fused.udf\ndef udf(n: int = 1):\n    return helper(n)\n",
        ),
        ("README.md", ""),
        ("utils.py", ""),
    ]);
    let reports = check_package(&pkg, &NoProbe, &Selection::default());
    let d = reports[0]
        .diagnostics
        .iter()
        .find(|d| d.rule == Rule::UtilsNotDeclared)
        .unwrap();
    let fixed = apply_edits(meta, &d.fix.as_ref().unwrap().edits).0;
    assert!(
        serde_json::from_str::<serde_json::Value>(&fixed).is_ok(),
        "{fixed}"
    );
}

#[test]
fn deep_attribute_chains_and_unary_runs_are_safe_on_a_small_stack() {
    let decorator = format!(
        "@{}a\ndef udf(n: int = {}1):\n    pass\n",
        "a.".repeat(20_000),
        "-".repeat(20_000)
    );
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let tree = fused_core::python::parse_tree(&decorator, None);
            fused_core::model::build(&tree, &decorator).udfs.len()
        })
        .unwrap();
    assert_eq!(handle.join().expect("no stack overflow"), 0);
}

#[test]
fn import_aliases_are_resolved() {
    let src = "import fused as f\nimport shapely.geometry as geo\nfrom fused.types import Bounds as B\n\n@f.udf\ndef udf(bounds: B = None, area: geo.Polygon = None, t: f.types.TileXYZ = None):\n    pass\n";
    assert!(codes(src).is_empty(), "{:?}", codes(src));
}

#[test]
fn future_import_does_not_blame_itself_for_union() {
    let src = "from __future__ import annotations\nfrom typing import Union\n@fused.udf\ndef udf(a: Union[int, float] = 1):\n    pass\n";
    assert_eq!(codes(src), vec!["FUSED020"]);
}

// ---- False alarms removed (issue 14), each with what the SDK really does.

/// meta.json for package `Pkg` with `entrypoint` and `metadata` replaced.
fn meta_with(entrypoint: &str, metadata: &str) -> String {
    META.replace(
        "\"entrypoint\":\"udf\"",
        &format!("\"entrypoint\":\"{entrypoint}\""),
    )
    .replace("\"metadata\":{}", &format!("\"metadata\":{metadata}"))
}

fn pkg_reports(files: &[(&str, &str)]) -> Vec<fused_core::FileReport> {
    check_package(&package(files), &NoProbe, &Selection::default())
}

#[test]
fn fused013_undecorated_entrypoint_is_the_udf() {
    // fused 2.9.5 loads and runs an undecorated entrypoint of a package, with coercion and tile
    // bounds (SDK-FACTS "A UDF"): a hint, and every UDF rule runs on it.
    let src = "import fused\nfrom typing import Union\n\n\ndef udf(bounds: int = 0, year=2020, label: Union[int, float] = 1):\n    return year\n";
    let reports = pkg_reports(&[("meta.json", META), ("Pkg.py", src), ("README.md", "")]);
    let got: Vec<(&str, String)> = reports
        .iter()
        .flat_map(|r| {
            r.diagnostics.iter().map(|d| {
                (
                    d.rule.code(),
                    src.get(d.range.clone()).unwrap_or("").to_string(),
                )
            })
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("FUSED013", "udf".to_string()),
            ("FUSED031", "int".to_string()),
            ("FUSED023", "year".to_string()),
            ("FUSED020", "Union[int, float]".to_string()),
        ]
    );
    let d = &reports[0].diagnostics[0];
    assert_eq!(d.rule.severity(), fused_core::Severity::Hint);
    let fix = d.fix.as_ref().unwrap();
    assert_eq!(fix.applicability, fused_core::Applicability::Unsafe);
    let fixed = apply_edits(src, &fix.edits).0;
    assert!(fixed.contains("\n@fused.udf\ndef udf("), "{fixed}");
    assert!(fused_core::python::readers_agree(&fixed).unwrap());
    // Under another decorator: reported, no fix (where the decorator goes is a judgement call).
    let wrapped = "import functools\n\n@functools.lru_cache\ndef udf(n: int = 1):\n    return n\n";
    let reports = pkg_reports(&[("meta.json", META), ("Pkg.py", wrapped), ("README.md", "")]);
    let d = &reports[0].diagnostics;
    assert_eq!(d.len(), 1);
    assert!(d[0].rule == Rule::UndecoratedEntrypoint && d[0].fix.is_none());
    // A decorated helper and the undecorated entrypoint: no FUSED011 (the entrypoint exists).
    let both =
        "@fused.udf\ndef helper(n: int = 1):\n    return n\n\ndef udf(n: int = 1):\n    return n\n";
    let d = pkg_diags(&[("meta.json", META), ("Pkg.py", both), ("README.md", "")]);
    assert_eq!(d.iter().map(|x| x.1).collect::<Vec<_>>(), vec!["FUSED013"]);
    // The entrypoint names nothing: FUSED011 with the decorated function suggested.
    let d = pkg_diags(&[
        ("meta.json", &meta_with("main", "{}")),
        ("Pkg.py", both),
        ("README.md", ""),
    ]);
    assert_eq!(d.iter().map(|x| x.1).collect::<Vec<_>>(), vec!["FUSED011"]);
    // Inline code gets the same treatment.
    let inline = META.replace(
        ",\"source\":\"Pkg.py\"",
        ",\"code\":\"def udf(n: int = 1):\\n    return n\\n\"",
    );
    let d = pkg_diags(&[("meta.json", &inline), ("README.md", "")]);
    assert_eq!(
        d.iter().map(|x| x.1).collect::<Vec<_>>(),
        vec!["FUSED013", "FUSED066"]
    );
}

#[test]
fn undecorated_entrypoint_reads_the_same_from_both_readers() {
    let src = "import fused\n\n@functools.wraps(f)\nasync def udf(bounds: fused.types.Bounds = None, *a, n: int = 1, **kw):\n    pass\n\ndef other(x):  # note\n    pass\n";
    assert!(fused_core::python::readers_agree(src).unwrap());
    let parsed = fused_core::python::parse(src, None);
    assert!(parsed.model.udfs.is_empty());
    let f = parsed.model.function("udf").unwrap();
    assert!(!f.decorated && f.params.len() == 4);
    // Its statement starts at its (other) decorator: the fix must not go between them.
    assert_eq!(f.decorator_range, 14..14);
    assert_eq!(&src[f.def_range.start..f.def_range.start + 9], "async def");
}

#[test]
fn tile_receiver_rules_only_where_a_tile_can_arrive() {
    let file = "@fused.udf\ndef helper(bounds: str = \"\"):\n    return bounds\n\n@fused.udf\ndef udf(bounds: fused.types.Bounds = None, n: int = 1):\n    return fused.run(helper, bounds=str(bounds))\n";
    // A helper UDF's `bounds: str` is a string parameter.
    let d = pkg_diags(&[("meta.json", META), ("Pkg.py", file), ("README.md", "")]);
    assert!(d.is_empty(), "{d:?}");
    // Passed to a tile run in the file, it can receive a tile.
    let tiled = file.replace(
        "fused.run(helper, bounds=str(bounds))",
        "fused.run(helper, x=1, y=2, z=3)",
    );
    assert!(fused_core::python::readers_agree(&tiled).unwrap());
    let d = pkg_diags(&[("meta.json", META), ("Pkg.py", &tiled), ("README.md", "")]);
    assert_eq!(
        d.iter().map(|x| (x.1, x.2.as_str())).collect::<Vec<_>>(),
        vec![("FUSED034", "str")]
    );
    // The entrypoint of a File-only UDF gets no tile: `bounds: str`, `bbox`, unannotated are
    // plain parameters (an unannotated one is then FUSED023, like any other).
    let entry = "@fused.udf\ndef udf(bounds: str = \"\", bbox=None):\n    return bounds\n";
    for udf_type in ["vector_single", "vector_single_none"] {
        let meta = meta_with("udf", &format!("{{\"fused:udfType\":\"{udf_type}\"}}"));
        let d = pkg_diags(&[("meta.json", &meta), ("Pkg.py", entry), ("README.md", "")]);
        assert_eq!(
            d.iter().map(|x| x.1).collect::<Vec<_>>(),
            vec!["FUSED023"],
            "{udf_type}"
        );
    }
    let meta = meta_with("udf", "{\"fused:udfType\":\"auto\"}");
    let d = pkg_diags(&[("meta.json", &meta), ("Pkg.py", entry), ("README.md", "")]);
    assert_eq!(
        d.iter().map(|x| x.1).collect::<Vec<_>>(),
        vec!["FUSED034", "FUSED023"]
    );
    // A loose file: the entrypoint is what `fused.load` of it picks (the only UDF, else `udf`).
    assert_eq!(spans(file, Rule::TileReceiverMangled), Vec::<String>::new());
    assert_eq!(
        spans(
            "@fused.udf\ndef f(bounds: str = ''):\n    pass\n",
            Rule::TileReceiverMangled
        ),
        vec!["str"]
    );
    // The message says what a tile run passes (measured), not "[minx, ...]".
    let msg = py("@fused.udf\ndef f(bounds: str = ''):\n    pass\n")[0]
        .message
        .clone();
    assert!(
        msg.contains("receives `str()` of the tile GeoDataFrame") && !msg.contains("\"[minx"),
        "{msg}"
    );
}

#[test]
fn fused005_bom_is_an_error_with_a_safe_fix() {
    let src = "\u{feff}import fused\n\n@fused.udf\ndef udf(n: int = 1):\n    return n\n";
    let d = py(src);
    assert_eq!(
        d.iter().map(|d| d.rule.code()).collect::<Vec<_>>(),
        vec!["FUSED005"],
        "only the BOM, no syntax error on top: {d:?}"
    );
    assert!(d[0].message.contains("U+FEFF"));
    let fixed = fix_all(src, Rule::Utf8Bom);
    assert_eq!(fixed, &src[3..]);
    assert!(codes(&fixed).is_empty());
    // A U+FEFF further in is not a BOM (it is a syntax error of its own).
    assert!(!codes("x = 1\n\u{feff}\n").contains(&"FUSED005"));
}

#[test]
fn fused006_more_than_200_nested_brackets() {
    let nested = |n: usize| {
        format!(
            "@fused.udf\ndef udf(n: int = 1):\n    return {}n{}\n",
            "[".repeat(n),
            "]".repeat(n)
        )
    };
    assert!(codes(&nested(200)).is_empty(), "CPython 3.11 compiles 200");
    let src = nested(201);
    let d = py(&src);
    let deep: Vec<_> = d
        .iter()
        .filter(|d| d.rule == Rule::TooDeeplyNested)
        .collect();
    assert_eq!(deep.len(), 1, "{d:?}");
    // At the 201st bracket.
    let line_start = src.find("return ").unwrap() + "return ".len();
    assert_eq!(deep[0].range.start, line_start + 200);
    // Brackets inside strings and comments do not count.
    let quoted = format!(
        "@fused.udf\ndef udf(n: int = 1):\n    # {0}\n    return '{0}'\n",
        "(".repeat(300)
    );
    assert!(codes(&quoted).is_empty());
}

#[test]
fn fused025_unknown_fused_type_replaces_fused020() {
    let src = "@fused.udf\ndef udf(bounds: fused.types.Bound = None, n: int = 1):\n    pass\n";
    let d = py(src);
    assert_eq!(
        d.iter().map(|d| d.rule.code()).collect::<Vec<_>>(),
        vec!["FUSED025"],
        "{d:?}"
    );
    assert_eq!(&src[d[0].range.clone()], "fused.types.Bound");
    assert!(
        d[0].message.contains("`fused.types.Bounds`"),
        "{}",
        d[0].message
    );
    // Helpers, nested functions, return and module/class-level variable annotations are
    // evaluated too (measured); a local variable annotation is not.
    let src = "import fused as f\nfrom fused import types as T\nx: f.types.Tiles = None\nclass C:\n    b: T.Bbx = None\ndef helper(b: list[fused.types.TileXY] = None) -> fused.types.Boundz:\n    v: fused.types.Nope = None\n@fused.udf\ndef udf(n: int = 1):\n    def inner(t: fused.types.TileGFD): pass\n    return n\n";
    assert_eq!(
        spans(src, Rule::UnknownFusedType),
        vec![
            "f.types.Tiles",
            "T.Bbx",
            "fused.types.TileXY",
            "fused.types.Boundz",
            "fused.types.TileGFD"
        ]
    );
    // Under the `__future__` import only the UDF's own annotations are evaluated.
    let future = "from __future__ import annotations\ndef helper(b: fused.types.Bound = None):\n    pass\n@fused.udf\ndef udf(b: fused.types.Bound | None = None) -> fused.types.Tiel:\n    pass\n";
    assert_eq!(
        spans(future, Rule::UnknownFusedType),
        vec!["fused.types.Bound", "fused.types.Tiel"]
    );
    // Real attributes, types or not, and a bad name in an import.
    assert!(codes("@fused.udf\ndef udf(b: fused.types.Bounds = None, t: fused.types.Optional = None):\n    pass\n").iter().all(|c| *c != "FUSED025"));
    assert_eq!(
        spans(
            "from fused.types import Bounds, Tyle\n",
            Rule::UnknownFusedType
        ),
        vec!["Tyle"]
    );
}

#[test]
fn fused026_union_with_str_is_info() {
    let src = "from typing import Union, Optional\n@fused.udf\ndef udf(a: Union[dict, str, None] = None, b: int | str = 1, c: Optional[Union[str, list]] = None, d: Union[int, float] = 1):\n    pass\n";
    assert_eq!(
        spans(src, Rule::UnionWithStr),
        vec![
            "Union[dict, str, None]",
            "int | str",
            "Optional[Union[str, list]]"
        ]
    );
    assert_eq!(
        spans(src, Rule::UncoercedAnnotation),
        vec!["Union[int, float]"]
    );
    assert_eq!(Rule::UnionWithStr.severity(), fused_core::Severity::Info);
    let d = py(src);
    assert!(
        d[0].message.contains("never arrives as"),
        "{}",
        d[0].message
    );
}

#[test]
fn fused033_every_fused_run_keyword() {
    let src = "@fused.udf\ndef udf(type: str = 'a', disk_size_gb: int = 5, sync: bool = True, max_retry: int = 1, parameters: dict = None, kind: str = 'b'):\n    pass\n";
    assert_eq!(
        spans(src, Rule::ReservedParam),
        vec!["type", "disk_size_gb", "sync", "max_retry", "parameters"]
    );
    let d = py(src);
    assert!(
        d[0].message.contains("parameters={\"type\": ...}"),
        "{}",
        d[0].message
    );
}

#[test]
fn fused023_suggests_the_default_type_and_skips_strings() {
    let src = "@fused.udf\ndef udf(plain, release=\"2024-08-20.0\", n=3, ids=[1], ratio=0.5, flag=True, other=None):\n    pass\n";
    let d: Vec<_> = py(src)
        .into_iter()
        .filter(|d| d.rule == Rule::Unannotated)
        .collect();
    let got: Vec<(&str, &str)> = d
        .iter()
        .map(|d| (&src[d.range.clone()], d.message.as_str()))
        .collect();
    assert_eq!(got.len(), 6, "{got:?}");
    for (name, ty) in [
        ("n", "int"),
        ("ids", "list"),
        ("ratio", "float"),
        ("flag", "bool"),
    ] {
        let (_, msg) = got.iter().find(|(n, _)| *n == name).unwrap();
        assert!(msg.contains(&format!("`{name}: {ty}`")), "{msg}");
    }
    assert!(got.iter().all(|(n, _)| *n != "release"));
}

#[test]
fn github_blob_urls_are_valid_and_pinned_like_tree_urls() {
    let probe = MapProbe(HashMap::new());
    let src = "@fused.udf\ndef udf(n: int = 1):\n    a = fused.load(\"https://github.com/fusedio/udfs/blob/3c1a5b2e9f0d4c7a8b6e5d4c3b2a1f0e9d8c7b6a/public/common/utils.py\")\n    b = fused.load(\"https://github.com/fusedio/udfs/blob/main/public/common/\")\n    c = fused.load(\"https://github.com/fusedio/udfs/blob/\")\n";
    let diags = analyze_python(src, Some(Path::new("/w/pkg")), &probe, None).diagnostics;
    let got: Vec<(&str, &str)> = diags
        .iter()
        .map(|d| (d.rule.code(), &src[d.range.clone()]))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "FUSED054",
                "\"https://github.com/fusedio/udfs/blob/main/public/common/\""
            ),
            ("FUSED053", "\"https://github.com/fusedio/udfs/blob/\""),
        ]
    );
    assert!(!Rule::LoadGithubMalformed
        .rationale()
        .contains("`blob/` URLs, URLs without"));
}

#[test]
fn fused063_and_fused071_are_style_hints() {
    // The folder is `Pkg`, the UDF `Other`, its file `Other.py`: loads and runs (the SDK never
    // reads the folder name). FUSED063 is a hint with an unsafe fix; no FUSED071.
    let meta = META
        .replace("\"name\":\"Pkg\"", "\"name\":\"Other\"")
        .replace("Pkg.py", "Other.py")
        .replace("\"metadata\":{}", "\"metadata\":{\"fused:slug\":\"Other\"}");
    let reports = pkg_reports(&[("meta.json", &meta), ("Other.py", UDF), ("README.md", "")]);
    let d: Vec<_> = reports.iter().flat_map(|r| &r.diagnostics).collect();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].rule, Rule::MetaNameMismatch);
    assert_eq!(d[0].rule.severity(), fused_core::Severity::Hint);
    assert_eq!(
        d[0].fix.as_ref().unwrap().applicability,
        fused_core::Applicability::Unsafe
    );
    // `source` not named after `name`: FUSED071, a hint.
    let d = pkg_diags(&[
        ("meta.json", &META.replace("Pkg.py", "main.py")),
        ("main.py", UDF),
        ("README.md", ""),
    ]);
    assert_eq!(
        d.iter().map(|x| (x.1, x.2.as_str())).collect::<Vec<_>>(),
        vec![("FUSED071", "\"main.py\"")]
    );
    assert_eq!(Rule::MainFileName.severity(), fused_core::Severity::Hint);
}

#[test]
fn fused065_only_for_modules_really_imported() {
    // An empty utils.py nothing imports: nothing to say.
    let files = [
        ("meta.json", META),
        ("Pkg.py", UDF),
        ("README.md", ""),
        ("utils.py", ""),
    ];
    assert!(pkg_diags(&files).is_empty());
    // Imported by a declared header module: reported.
    let meta = META.replace(
        "\"headers\":[]",
        "\"headers\":[{\"module_name\":\"utils\",\"source_file\":\"utils.py\"}]",
    );
    let d = pkg_diags(&[
        ("meta.json", &meta),
        ("Pkg.py", UDF),
        ("README.md", ""),
        ("utils.py", "from helpers import area\n"),
        ("helpers.py", "def area(g):\n    return g.area\n"),
    ]);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].1, "FUSED065");
}

#[test]
fn inline_code_identical_to_its_py_is_reported_once() {
    let code =
        "from typing import Union\n@fused.udf\ndef udf(n: Union[int, float] = 1):\n    pass\n";
    let meta = META.replace(
        ",\"source\":\"Pkg.py\"",
        &format!(",\"code\":{}", serde_json::to_string(code).unwrap()),
    );
    let reports = pkg_reports(&[("meta.json", &meta), ("Pkg.py", code), ("README.md", "")]);
    let got: Vec<(&str, &str)> = reports
        .iter()
        .flat_map(|r| {
            r.diagnostics
                .iter()
                .map(move |d| (r.name.as_str(), d.rule.code()))
        })
        .collect();
    assert_eq!(got, vec![("meta.json", "FUSED066"), ("Pkg.py", "FUSED020")]);
    let d = &reports[0].diagnostics[0];
    assert!(
        d.message.contains("`Pkg.py` holds the same code"),
        "{}",
        d.message
    );
    assert_eq!(d.rule.severity(), fused_core::Severity::Warning);
}

#[test]
fn python_nan_and_infinity_in_meta_are_accepted() {
    let meta = META.replace(
        "\"parameters\":{}",
        "\"parameters\":{\"a\":NaN,\"b\":-Infinity,\"c\":[Infinity]}",
    );
    assert!(pkg_diags(&[("meta.json", &meta), ("Pkg.py", UDF), ("README.md", "")]).is_empty());
}

#[test]
fn fused046_cache_keywords() {
    let src = "import fused\n@fused.cache(path='x', reset=True, cache_max_age='1d')\ndef f(): pass\n@fused.udf\ndef udf(n: int = 1):\n    @fused.cache(cache_folder_path='a', cache_reset=True, cache_verbose=True, max_age='1h', cache_folder='b')\n    def g(): pass\n    return fused.cache(g, storage='local', cachereset=True)()\n";
    let d: Vec<_> = py(src)
        .into_iter()
        .filter(|d| d.rule == Rule::InvalidCacheKeyword)
        .collect();
    let got: Vec<_> = d
        .iter()
        .map(|d| (&src[d.range.clone()], d.message.as_str()))
        .collect();
    let suggests = |(name, msg): &(&str, &str), want: &str| {
        assert!(msg.contains(&format!("use `{want}`")), "{name}: {msg}");
    };
    assert_eq!(
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        vec![
            "path",
            "reset",
            "max_age",
            "cache_folder",
            "storage",
            "cachereset"
        ]
    );
    for (g, want) in got.iter().zip([
        "cache_folder_path",
        "cache_reset",
        "cache_max_age",
        "cache_folder_path",
        "cache_storage",
        "cache_reset",
    ]) {
        suggests(g, want);
    }
    // `from fused import cache`, and a nonsense name gets the accepted list.
    let src = "from fused import cache as c\n@c(colour=1)\ndef f(): pass\n";
    let d = py(src);
    assert_eq!(d.len(), 1);
    assert!(
        d[0].message.contains("accepted: cache_max_age"),
        "{}",
        d[0].message
    );
    // `cache_max_age` is checked as on `@fused.udf`, with the same fix.
    let src = "@fused.cache(cache_max_age='10 minutes')\ndef f(): pass\n";
    assert_eq!(codes(src), vec!["FUSED041"]);
    assert!(fix_all(src, Rule::InvalidCacheMaxAge).contains("cache_max_age=\"10m\""));
    // Unrelated `cache` functions are left alone.
    assert!(
        codes("import functools\nfrom functools import cache\n@functools.cache\ndef f(path=1): pass\ncache(path=1)\n")
            .is_empty()
    );
}

#[test]
fn fused055_local_module_unresolved() {
    let main =
        |imports: &str| format!("{imports}\n@fused.udf\ndef udf(n: int = 1):\n    return n\n");
    let run = |imports: &str, meta: &str, extra: &[(&str, &str)]| {
        let src = main(imports);
        let mut files = vec![
            ("meta.json", meta),
            ("Pkg.py", src.as_str()),
            ("README.md", "# Pkg\n"),
        ];
        files.extend_from_slice(extra);
        pkg_diags(&files)
            .into_iter()
            .filter(|d| d.1 == "FUSED055")
            .map(|d| (d.0, d.2))
            .collect::<Vec<_>>()
    };
    let pkg = |s: &str| ("Pkg.py".to_string(), s.to_string());
    // No utils anywhere: both spellings.
    assert_eq!(
        run("from utils import f\nimport helpers.geo as g", META, &[]),
        vec![pkg("utils"), pkg("helpers.geo")]
    );
    // Installed libraries, guarded imports and relative ones (FUSED056's) are never judged.
    assert!(run("import numpy\nfrom shapely import box\ntry:\n    import utils\nexcept ImportError:\n    utils = None", META, &[]).is_empty());
    // Declared (file present or not: FUSED064 covers a missing file) or present but undeclared
    // (FUSED065's case): not this rule.
    let declared = META.replace(
        "\"headers\":[]",
        "\"headers\":[{\"module_name\":\"utils\",\"source_file\":\"utils.py\"}]",
    );
    assert!(run(
        "from utils import f",
        &declared,
        &[("utils.py", "def f(): pass\n")]
    )
    .is_empty());
    assert!(run(
        "from utils import f",
        META,
        &[("utils.py", "def f(): pass\n")]
    )
    .is_empty());
    // A header imported by its file name instead of its module name.
    let renamed = META.replace(
        "\"headers\":[]",
        "\"headers\":[{\"module_name\":\"geo\",\"source_file\":\"geo_helpers.py\"}]",
    );
    let d = run(
        "import geo_helpers\nimport geo",
        &renamed,
        &[("geo_helpers.py", "from common import x\n")],
    );
    assert_eq!(
        d,
        vec![
            pkg("geo_helpers"),
            ("geo_helpers.py".to_string(), "common".to_string())
        ],
        "the header file's own imports are checked too"
    );
}

#[test]
fn fused056_relative_import() {
    let declared = META.replace(
        "\"headers\":[]",
        "\"headers\":[{\"module_name\":\"utils\",\"source_file\":\"utils.py\"}]",
    );
    let run = |src: &str, meta: &str| {
        let files = [
            ("meta.json", meta),
            ("Pkg.py", src),
            ("README.md", "# Pkg\n"),
            ("utils.py", "from .other import y\ndef f(): pass\n"),
        ];
        let pkg = package(&files);
        let mut out = Vec::new();
        for r in check_package(&pkg, &NoProbe, &Selection::default()) {
            let text = files.iter().find(|(n, _)| *n == r.name).unwrap().1;
            for d in r
                .diagnostics
                .into_iter()
                .filter(|d| d.rule.code() == "FUSED056")
            {
                let fixed = d
                    .fix
                    .as_ref()
                    .map(|f| fused_core::apply_edits(text, &f.edits).0);
                out.push((r.name.clone(), text[d.range.clone()].to_string(), fixed));
            }
        }
        out
    };
    let udf = |body: &str| format!("@fused.udf\ndef udf(n: int = 1):\n{body}\n    return n\n");
    // Inside the UDF, a declared header: the fix removes the dot.
    let src = udf("    from .utils import f");
    let d = run(&src, &declared);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].0, "Pkg.py");
    assert_eq!(d[0].1, ".utils");
    assert_eq!(
        d[0].2.as_deref(),
        Some(udf("    from utils import f").as_str())
    );
    // At the top of the file: reported, no fix (a header is not importable there either).
    let top = format!("from .utils import f\n{}", udf("    pass"));
    let d = run(&top, &declared);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].2, None);
    // `from . import utils`, `from ..x import y`, an undeclared module: reported, no fix.
    for body in [
        "    from . import utils",
        "    from ..x import y",
        "    from .nope import z",
    ] {
        let d = run(&udf(body), &declared);
        assert_eq!(d.len(), 1, "{body}: {d:?}");
        assert_eq!(d[0].2, None, "{body}");
    }
    assert_eq!(run(&udf("    from . import utils"), &declared)[0].1, ".");
    // Guarded by a `try`, absolute, or in a header file (unmeasured there): not reported.
    let guarded = udf("    try:\n        from .utils import f\n    except Exception:\n        from utils import f");
    assert!(run(&guarded, &declared).is_empty());
    assert!(run(&udf("    from utils import f"), &declared).is_empty());
    assert!(
        run(&udf("    pass"), &declared).is_empty(),
        "utils.py's own relative import is not judged"
    );
}

#[test]
fn fused057_header_imported_at_the_top() {
    let declared = META.replace(
        "\"headers\":[]",
        "\"headers\":[{\"module_name\":\"utils\",\"source_file\":\"utils.py\"}]",
    );
    let run = |src: &str, meta: &str| {
        pkg_diags(&[
            ("meta.json", meta),
            ("Pkg.py", src),
            ("README.md", "# Pkg\n"),
            ("utils.py", "import common\ndef f(): pass\n"),
        ])
        .into_iter()
        .filter(|d| d.1 == "FUSED057")
        .map(|d| (d.0, d.2))
        .collect::<Vec<_>>()
    };
    let udf = |top: &str, body: &str| {
        format!("import fused\n{top}\n\n@fused.udf\ndef udf(n: int = 1):\n{body}\n    return n\n")
    };
    // Both spellings, at the top of the main file: the module name is the range.
    assert_eq!(
        run(
            &udf("from utils import f\nimport utils.sub as s", "    pass"),
            &declared
        ),
        vec![
            ("Pkg.py".to_string(), "utils".to_string()),
            ("Pkg.py".to_string(), "utils.sub".to_string())
        ]
    );
    // Inside the UDF (or any function), guarded by a `try`, not a declared header (FUSED055's or
    // FUSED065's), or in the header file itself: not this rule.
    assert!(run(&udf("", "    from utils import f"), &declared).is_empty());
    assert!(run(
        &udf("def helper():\n    import utils", "    pass"),
        &declared
    )
    .is_empty());
    assert!(run(
        &udf(
            "try:\n    from utils import f\nexcept ImportError:\n    f = None",
            "    pass"
        ),
        &declared
    )
    .is_empty());
    assert!(run(&udf("from utils import f", "    pass"), META).is_empty());
    assert!(run(&udf("import numpy", "    pass"), &declared).is_empty());
    // Under `if TYPE_CHECKING:` (for type hints): never executed, so it runs (an error here
    // would refuse the run); the `else` branch does run.
    for guard in ["TYPE_CHECKING", "typing.TYPE_CHECKING"] {
        let top = format!(
            "import typing\nfrom typing import TYPE_CHECKING\nif {guard}:\n    from utils import f\n"
        );
        assert!(run(&udf(&top, "    pass"), &declared).is_empty(), "{guard}");
    }
    assert_eq!(
        run(
            &udf(
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    pass\nelse:\n    from utils import f\n",
                "    pass"
            ),
            &declared
        )
        .len(),
        1
    );
}

#[test]
fn fused067_duplicate_meta_keys_read_the_last() {
    // The SDK reads the last `entrypoint` ("udf"), so there is no FUSED011; the earlier key warns.
    let meta = META.replace(
        "\"entrypoint\":\"udf\"",
        "\"entrypoint\":\"old\",\"entrypoint\":\"udf\"",
    );
    let d = pkg_diags(&[
        ("meta.json", &meta),
        ("Pkg.py", UDF),
        ("README.md", "# Pkg\n"),
    ]);
    assert_eq!(
        d.iter().map(|x| (x.1, x.2.as_str())).collect::<Vec<_>>(),
        vec![("FUSED067", "\"entrypoint\"")]
    );
    let first = meta.find("\"entrypoint\"").unwrap();
    let pkg = package(&[
        ("meta.json", &meta),
        ("Pkg.py", UDF),
        ("README.md", "# Pkg\n"),
    ]);
    let reports = check_package(&pkg, &NoProbe, &Selection::default());
    assert_eq!(reports[0].diagnostics[0].range.start, first);
    // The other way round, the last one is the stale one: FUSED011 on it.
    let meta = META.replace(
        "\"entrypoint\":\"udf\"",
        "\"entrypoint\":\"udf\",\"entrypoint\":\"old\"",
    );
    let d = pkg_diags(&[
        ("meta.json", &meta),
        ("Pkg.py", UDF),
        ("README.md", "# Pkg\n"),
    ]);
    let got: Vec<_> = d.iter().map(|x| (x.1, x.2.as_str())).collect();
    assert!(got.contains(&("FUSED011", "\"old\"")), "{got:?}");
    assert!(got.contains(&("FUSED067", "\"entrypoint\"")), "{got:?}");
    // Nested objects too, and every earlier occurrence.
    let meta = META.replace(
        "\"headers\":[]",
        "\"headers\":[],\"headers\":[],\"headers\":[]",
    );
    let d = pkg_diags(&[
        ("meta.json", &meta),
        ("Pkg.py", UDF),
        ("README.md", "# Pkg\n"),
    ]);
    assert_eq!(d.iter().filter(|x| x.1 == "FUSED067").count(), 2);
}
