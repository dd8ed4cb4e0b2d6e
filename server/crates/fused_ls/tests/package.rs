//! `new`, `sync` and `pack` end to end, on copies of the fixtures, including bad input: nothing
//! is lost or overwritten in any failing case.

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn snapshot_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in ignore::WalkBuilder::new(dir)
        .hidden(false)
        .build()
        .flatten()
    {
        if entry.file_type().is_some_and(|t| t.is_file()) {
            out.push((
                entry.path().to_path_buf(),
                std::fs::read(entry.path()).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

fn sdk_load(python: &str, cwd: &Path, target: &str) -> String {
    let code = format!(
        "import fused, json; u = fused.load({target:?}); print(json.dumps({{'name': u.name, 'entrypoint': u.entrypoint, 'headers': [h.module_name for h in u.headers]}}))"
    );
    let out = std::process::Command::new(python)
        .args(["-c", &code])
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fused.load({target}) failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap_or("")
        .to_string()
}

#[test]
fn new_packages_pass_check_and_load_in_the_real_sdk() {
    let t = tempfile::tempdir().unwrap();
    for args in [
        vec!["new", "File_Demo"],
        vec!["new", "Tile_Demo", "--tile"],
        vec!["new", "Utils_Demo", "--tile", "--utils"],
        // A File UDF with utils.py: the UDF imports it and meta.json declares it (FUSED065).
        vec!["new", "File_Utils_Demo", "--utils"],
        vec!["new", "Données_Sol"],
    ] {
        let out = run(t.path(), &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let check = run(t.path(), &["check", "--format", "json", "."]);
    assert_eq!(stdout(&check).trim(), "[]");
    let sync = run(t.path(), &["sync", "--check", "."]);
    assert_eq!(sync.status.code(), Some(0), "{}", stdout(&sync));
    let tile = std::fs::read_to_string(t.path().join("Tile_Demo/Tile_Demo.py")).unwrap();
    assert!(tile.contains("bounds: fused.types.Bounds"));
    let python = sdk_python();
    assert_eq!(
        sdk_load(&python, t.path(), "File_Demo"),
        r#"{"name": "File_Demo", "entrypoint": "udf", "headers": []}"#
    );
    assert_eq!(
        sdk_load(&python, t.path(), "Utils_Demo"),
        r#"{"name": "Utils_Demo", "entrypoint": "udf", "headers": ["utils"]}"#
    );
    assert_eq!(
        sdk_load(&python, t.path(), "File_Utils_Demo"),
        r#"{"name": "File_Utils_Demo", "entrypoint": "udf", "headers": ["utils"]}"#
    );
    // Packed, the zip loads too.
    let pack = run(t.path(), &["pack", "Utils_Demo", "-o", "u.zip"]);
    assert_eq!(
        pack.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&pack.stderr)
    );
    assert_eq!(
        sdk_load(&python, t.path(), "u.zip"),
        r#"{"name": "Utils_Demo", "entrypoint": "udf", "headers": ["utils"]}"#
    );
}

#[test]
fn new_refuses_to_overwrite_and_rejects_bad_names() {
    let t = tempfile::tempdir().unwrap();
    let dir = write_package(t.path(), &[]);
    let before = snapshot_tree(&dir);
    let out = run(t.path(), &["new", "Pkg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(snapshot_tree(&dir), before);
    for bad in ["has space", "a/b", ".hidden", ""] {
        let out = run(t.path(), &["new", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

#[test]
fn sync_every_fixture_twice_is_idempotent_and_fixes_what_check_reports() {
    let t = tempfile::tempdir().unwrap();
    copy_dir(&repo_root().join("fixtures"), &t.path().join("fixtures"));
    let check = run(t.path(), &["sync", "--check", "fixtures"]);
    assert_eq!(
        check.status.code(),
        Some(2),
        "malformed meta.json files are errors: {}",
        stdout(&check)
    );
    let first = run(t.path(), &["sync", "fixtures"]);
    let report = stdout(&first);
    assert!(
        report.contains("Entrypoint_Renamed/meta.json: entrypoint: \"udf\" → \"udf_v2\""),
        "{report}"
    );
    assert!(
        report.contains("Utils_Not_Declared/meta.json: headers: added `utils.py`"),
        "{report}"
    );
    let after_first = snapshot_tree(t.path());
    let second = run(t.path(), &["sync", "fixtures"]);
    assert!(
        !stdout(&second).contains("→") && !stdout(&second).contains("added"),
        "{}",
        stdout(&second)
    );
    assert_eq!(
        snapshot_tree(t.path()),
        after_first,
        "the second sync changes nothing"
    );
    // What sync manages, check no longer reports.
    let codes = codes(&run(t.path(), &["check", "--format", "json", "fixtures"]));
    for gone in ["FUSED011", "FUSED062", "FUSED063", "FUSED065"] {
        assert!(!codes.iter().any(|c| c == gone), "{gone} still reported");
    }
    // The malformed ones were left byte for byte.
    for name in [
        "Meta_Invalid_Json",
        "Meta_Empty",
        "Meta_Array",
        "Meta_Not_Utf8",
    ] {
        let original = std::fs::read(
            repo_root()
                .join("fixtures/broken")
                .join(name)
                .join("meta.json"),
        )
        .unwrap();
        assert_eq!(
            std::fs::read(
                t.path()
                    .join("fixtures/broken")
                    .join(name)
                    .join("meta.json")
            )
            .unwrap(),
            original,
            "{name}"
        );
    }
    let err = String::from_utf8_lossy(&second.stderr).into_owned();
    assert!(
        err.contains("Meta_Invalid_Json/meta.json: meta.json:29:42: Invalid JSON: trailing comma"),
        "{err}"
    );
}

#[test]
fn sync_check_and_diff_write_nothing() {
    let t = tempfile::tempdir().unwrap();
    copy_dir(
        &repo_root().join("fixtures/broken/Utils_Not_Declared"),
        &t.path().join("Utils_Not_Declared"),
    );
    let before = snapshot_tree(t.path());
    let check = run(t.path(), &["sync", "--check", "Utils_Not_Declared"]);
    assert_eq!(check.status.code(), Some(1));
    let diff = run(t.path(), &["sync", "--diff", "Utils_Not_Declared"]);
    assert_eq!(diff.status.code(), Some(1));
    let d = stdout(&diff);
    assert!(
        d.contains("--- Utils_Not_Declared/meta.json")
            && d.contains("+{\"version\"")
            && d.contains("\"headers\":[{\"module_name\":\"utils\""),
        "{d}"
    );
    assert_eq!(snapshot_tree(t.path()), before);
    assert_eq!(
        run(t.path(), &["sync", "Utils_Not_Declared"]).status.code(),
        Some(0)
    );
    assert_eq!(
        run(t.path(), &["sync", "--check", "Utils_Not_Declared"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn sync_leaves_a_read_only_meta_json_alone() {
    let t = tempfile::tempdir().unwrap();
    copy_dir(
        &repo_root().join("fixtures/broken/Entrypoint_Renamed"),
        &t.path().join("Entrypoint_Renamed"),
    );
    let meta = t.path().join("Entrypoint_Renamed/meta.json");
    let before = std::fs::read(&meta).unwrap();
    let mut perms = std::fs::metadata(&meta).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&meta, perms).unwrap();
    let out = run(t.path(), &["sync", "Entrypoint_Renamed"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("read-only"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&meta).unwrap(), before);
}

#[test]
fn sync_creates_meta_json_for_a_package_folder_without_one() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("Fresh Start");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Fresh Start.py"),
        "@fused.udf\ndef main(n: int = 1):\n    return n\n",
    )
    .unwrap();
    let out = run(t.path(), &["sync", "Fresh Start"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = std::fs::read_to_string(dir.join("meta.json")).unwrap();
    assert!(
        meta.contains("\"name\":\"Fresh Start\"")
            && meta.contains("\"entrypoint\":\"main\"")
            && meta.contains("\"source\":\"Fresh Start.py\""),
        "{meta}"
    );
    // The folder's name has a space: packing and reading the zip back work too.
    std::fs::write(dir.join("README.md"), "# Fresh Start\n").unwrap();
    let pack = run(t.path(), &["pack", "Fresh Start", "-o", "fresh start.zip"]);
    assert_eq!(
        pack.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&pack.stderr)
    );
    assert_eq!(
        stdout(&run(
            t.path(),
            &["check", "--format", "json", "fresh start.zip"]
        ))
        .trim(),
        "[]"
    );
}

#[test]
fn pack_is_deterministic_refuses_errors_and_is_read_back_by_check() {
    let t = tempfile::tempdir().unwrap();
    copy_dir(
        &repo_root().join("fixtures/clean/Overture_With_Utils"),
        &t.path().join("Overture_With_Utils"),
    );
    let a = run(t.path(), &["pack", "Overture_With_Utils", "-o", "a.zip"]);
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    // Touch the files: timestamps must not leak into the zip.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for f in std::fs::read_dir(t.path().join("Overture_With_Utils")).unwrap() {
        let p = f.unwrap().path();
        let data = std::fs::read(&p).unwrap();
        std::fs::write(&p, data).unwrap();
    }
    run(t.path(), &["pack", "Overture_With_Utils", "-o", "b.zip"]);
    let (za, zb) = (
        std::fs::read(t.path().join("a.zip")).unwrap(),
        std::fs::read(t.path().join("b.zip")).unwrap(),
    );
    assert_eq!(za, zb);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(za)).unwrap();
    let names: Vec<String> = (0..archive.len())
        .map(|i| archive.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "Overture_With_Utils.py",
            "README.md",
            "meta.json",
            "utils.py"
        ]
    );
    assert_eq!(
        stdout(&run(t.path(), &["check", "--format", "json", "a.zip"])).trim(),
        "[]"
    );

    copy_dir(
        &repo_root().join("fixtures/broken/Bad_Engine"),
        &t.path().join("Bad_Engine"),
    );
    let refused = run(t.path(), &["pack", "Bad_Engine"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("FUSED042"));
    assert!(!t.path().join("Bad_Engine.zip").exists());
    let forced = run(t.path(), &["pack", "Bad_Engine", "--force"]);
    assert_eq!(forced.status.code(), Some(0));
    assert!(t.path().join("Bad_Engine.zip").exists());
}

/// A zip whose entry declares 1 GiB: the sizes in both headers are patched after writing.
fn zip_declaring_a_gigabyte() -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        z.start_file("meta.json", opts).unwrap();
        z.write_all(META.as_bytes()).unwrap();
        z.start_file("Pkg.py", opts).unwrap();
        z.write_all(UDF.as_bytes()).unwrap();
        z.finish().unwrap();
    }
    let mut bytes = buf.into_inner();
    let gib = (1u32 << 30).to_le_bytes();
    let mut i = 0;
    while i + 4 <= bytes.len() {
        if bytes[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] {
            bytes[i + 24..i + 28].copy_from_slice(&gib);
        }
        i += 1;
    }
    bytes
}

#[test]
fn a_zip_declaring_a_gigabyte_is_refused_without_reading_it() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("bomb.zip"), zip_declaring_a_gigabyte()).unwrap();
    let out = run(t.path(), &["check", "--format", "json", "bomb.zip"]);
    let j = json(&out);
    assert_eq!(j.len(), 1, "{j:?}");
    assert_eq!(j[0]["code"], "FUSED004");
    assert!(
        j[0]["message"].as_str().unwrap().contains("over the"),
        "{}",
        j[0]["message"]
    );
    assert_eq!(
        std::fs::read_dir(t.path()).unwrap().count(),
        1,
        "nothing was extracted"
    );
}
