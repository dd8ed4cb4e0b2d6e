//! `sync`: the edits that bring meta.json in line with the source, keeping every other byte.

use fused_core::check::{FileContent, Package, PackageFile};
use fused_core::package::sync::{sync, SyncOutcome};

fn pkg(dir: &str, files: &[(&str, &str)]) -> Package {
    Package {
        dir_name: dir.into(),
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

const UDF: &str = "@fused.udf\ndef compute(n: int = 1):\n    from utils import helper\n    import helpers2\n    return helper(n)\n";

fn synced(p: &Package) -> String {
    match sync(p).unwrap() {
        SyncOutcome::Changed { text, .. } | SyncOutcome::Created { text } => text,
        SyncOutcome::Unchanged => panic!("expected a change"),
    }
}

#[test]
fn one_line_meta_keeps_every_unmanaged_byte() {
    let meta = r#"{"version":"0.0.3","job_config":{"version":"0.0.3","steps":[{"type":"udf","udf":{"type":"geopandas_v2","name":"Old","entrypoint":"udf","parameters":{"x":1},"metadata":{"fused:name":"Old","fused:slug":"Old","fused:vizConfig":{"a":[1,2]},"custom":"kept"},"headers":[],"source":"Old.py"}}]},"zzz":true}"#;
    let p = pkg(
        "Pkg",
        &[
            ("meta.json", meta),
            ("Pkg.py", UDF),
            ("utils.py", ""),
            ("helpers2.py", ""),
        ],
    );
    let text = synced(&p);
    assert_eq!(
        text,
        r#"{"version":"0.0.3","job_config":{"version":"0.0.3","steps":[{"type":"udf","udf":{"type":"geopandas_v2","name":"Pkg","entrypoint":"compute","parameters":{"x":1},"metadata":{"fused:name":"Pkg","fused:slug":"Pkg","fused:vizConfig":{"a":[1,2]},"custom":"kept"},"headers":[{"module_name":"utils","source_file":"utils.py"},{"module_name":"helpers2","source_file":"helpers2.py"}],"source":"Pkg.py"}}]},"zzz":true}"#
    );
    // Idempotent: the result is in sync.
    let again = pkg(
        "Pkg",
        &[
            ("meta.json", &text),
            ("Pkg.py", UDF),
            ("utils.py", ""),
            ("helpers2.py", ""),
        ],
    );
    assert_eq!(sync(&again).unwrap(), SyncOutcome::Unchanged);
}

#[test]
fn indented_meta_stays_indented() {
    let meta = "{\n  \"job_config\": {\n    \"steps\": [\n      {\n        \"type\": \"udf\",\n        \"udf\": {\n          \"entrypoint\": \"udf\",\n          \"source\": \"Pkg.py\"\n        }\n      }\n    ]\n  }\n}\n";
    let p = pkg(
        "Pkg",
        &[("meta.json", meta), ("Pkg.py", UDF), ("utils.py", "")],
    );
    let text = synced(&p);
    assert_eq!(
        text,
        "{\n  \"job_config\": {\n    \"steps\": [\n      {\n        \"type\": \"udf\",\n        \"udf\": {\n          \"name\": \"Pkg\",\n          \"headers\": [\n            {\"module_name\": \"utils\", \"source_file\": \"utils.py\"}\n          ],\n          \"entrypoint\": \"compute\",\n          \"source\": \"Pkg.py\"\n        }\n      }\n    ]\n  }\n}\n"
    );
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
    let again = pkg(
        "Pkg",
        &[("meta.json", &text), ("Pkg.py", UDF), ("utils.py", "")],
    );
    assert_eq!(sync(&again).unwrap(), SyncOutcome::Unchanged);
}

#[test]
fn missing_meta_is_created_and_invalid_meta_is_an_error() {
    let p = pkg("Pkg", &[("Pkg.py", UDF), ("utils.py", "")]);
    let SyncOutcome::Created { text } = sync(&p).unwrap() else {
        panic!()
    };
    assert!(
        text.contains("\"entrypoint\":\"compute\"")
            && text.contains("\"source_file\":\"utils.py\""),
        "{text}"
    );
    let bad = pkg(
        "Pkg",
        &[
            ("meta.json", "{\"job_config\": {\n  \"steps\": [],\n}"),
            ("Pkg.py", UDF),
        ],
    );
    let err = sync(&bad).unwrap_err();
    assert!(
        err.starts_with("meta.json:2:14:") && err.contains("nothing was written"),
        "{err}"
    );
}

#[test]
fn a_header_whose_file_is_missing_is_kept() {
    let meta = r#"{"job_config":{"steps":[{"type":"udf","udf":{"name":"Pkg","entrypoint":"compute","headers":[{"module_name":"gone","source_file":"gone.py"}],"source":"Pkg.py"}}]}}"#;
    let p = pkg(
        "Pkg",
        &[
            ("meta.json", meta),
            (
                "Pkg.py",
                "@fused.udf\ndef compute(n: int = 1):\n    return n\n",
            ),
        ],
    );
    assert_eq!(sync(&p).unwrap(), SyncOutcome::Unchanged);
}

#[test]
fn an_undecorated_entrypoint_is_kept() {
    // The SDK runs the function `entrypoint` names, decorated or not: sync must not move the
    // entrypoint to a decorated helper.
    let meta = r#"{"job_config":{"steps":[{"type":"udf","udf":{"name":"Pkg","entrypoint":"udf","headers":[],"source":"Pkg.py"}}]}}"#;
    let code =
        "@fused.udf\ndef helper(n: int = 1):\n    return n\n\ndef udf(n: int = 1):\n    return n\n";
    let p = pkg("Pkg", &[("meta.json", meta), ("Pkg.py", code)]);
    assert!(matches!(sync(&p).unwrap(), SyncOutcome::Unchanged));
}

#[test]
fn duplicate_keys_edit_the_occurrence_the_sdk_reads() {
    // Python's json keeps the last `entrypoint`; sync must rewrite that one and leave the
    // earlier (ignored) one alone, or the SDK would go on reading the stale value.
    let meta = r#"{"job_config":{"steps":[{"type":"udf","udf":{"entrypoint":"compute","name":"Pkg","entrypoint":"old","source":"Pkg.py","headers":[{"module_name":"utils","source_file":"utils.py"},{"module_name":"helpers2","source_file":"helpers2.py"}]}}]}}"#;
    let p = pkg(
        "Pkg",
        &[
            ("meta.json", meta),
            ("Pkg.py", UDF),
            ("utils.py", ""),
            ("helpers2.py", ""),
        ],
    );
    let text = synced(&p);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["job_config"]["steps"][0]["udf"]["entrypoint"], "compute");
    assert!(
        text.contains(r#""entrypoint":"compute","name":"Pkg","entrypoint":"compute""#),
        "{text}"
    );
}
