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

// ---- Files are never overwritten, leaked, orphaned or half-written (issue 10, items 2, 15-18) ----

/// Runs `fused-ls` under a given umask (through `sh`, which sets it for the child).
fn run_umask(cwd: &Path, umask: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_fused-ls"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn zip_names(bytes: &[u8]) -> Vec<String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| archive.by_index(i).unwrap().name().unwrap().to_string())
        .collect()
}

fn zip_entry(bytes: &[u8], name: &str) -> String {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    s
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".fused-ls-"))
        .collect()
}

#[test]
fn pack_refuses_symlinks_leaving_the_package_and_reads_those_inside() {
    let t = tempfile::tempdir().unwrap();
    let dir = write_package(t.path(), &[]);
    std::fs::write(t.path().join("secret.txt"), "TOP SECRET\n").unwrap();
    std::fs::write(dir.join(".env"), "TOKEN=hidden\n").unwrap();
    for (name, target) in [
        ("notes.txt", "../secret.txt"),
        ("x.md", "/etc/passwd"),
        ("env.txt", ".env"),
    ] {
        let link = dir.join(name);
        std::os::unix::fs::symlink(target, &link).unwrap();
        for args in [
            vec!["pack", "Pkg", "-o", "p.zip"],
            vec!["pack", "Pkg", "-o", "p.zip", "--force"],
        ] {
            let out = run(t.path(), &args);
            assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
            assert!(
                stderr(&out).contains(&format!("`{name}` is a symlink to `{target}`")),
                "{}",
                stderr(&out)
            );
            assert!(!t.path().join("p.zip").exists(), "{name}: nothing written");
        }
        std::fs::remove_file(&link).unwrap();
    }
    // Inside the package, a link is read as the file it names (also in a sub-folder).
    std::fs::create_dir(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/rows.csv"), "a,b\n1,2\n").unwrap();
    std::os::unix::fs::symlink("data/rows.csv", dir.join("rows.csv")).unwrap();
    std::os::unix::fs::symlink("README.md", dir.join("README.txt")).unwrap();
    // A link to nothing is skipped with a warning.
    std::os::unix::fs::symlink("gone.txt", dir.join("dangling.txt")).unwrap();
    let out = run(t.path(), &["pack", "Pkg", "-o", "p.zip"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: skipped `dangling.txt`"),
        "{}",
        stderr(&out)
    );
    let zip = std::fs::read(t.path().join("p.zip")).unwrap();
    assert_eq!(
        zip_names(&zip),
        ["Pkg.py", "README.md", "README.txt", "meta.json", "rows.csv"]
    );
    assert_eq!(zip_entry(&zip, "rows.csv"), "a,b\n1,2\n");
    assert_eq!(zip_entry(&zip, "README.txt"), zip_entry(&zip, "README.md"));
}

#[test]
fn pack_never_writes_over_a_package_file_nor_packs_its_own_output() {
    let t = tempfile::tempdir().unwrap();
    let dir = write_package(t.path(), &[]);
    let before = snapshot_tree(&dir);
    std::os::unix::fs::symlink("Pkg/meta.json", t.path().join("linked.zip")).unwrap();
    std::fs::hard_link(dir.join("Pkg.py"), t.path().join("hard.zip")).unwrap();
    for (out_path, why) in [
        ("Pkg/meta.json", "is a file of the package"),
        ("Pkg/Pkg.py", "is a file of the package"),
        ("linked.zip", "is a file of the package"),
        ("hard.zip", "is a file of the package"),
        ("Pkg/result.json", "does not end in `.zip`"),
    ] {
        let out = run(t.path(), &["pack", "Pkg", "-o", out_path]);
        assert_eq!(out.status.code(), Some(2), "{out_path}: {}", stderr(&out));
        assert!(stderr(&out).contains(why), "{out_path}: {}", stderr(&out));
        assert_eq!(snapshot_tree(&dir), before, "{out_path}");
    }
    std::fs::remove_file(t.path().join("hard.zip")).unwrap();
    // An output inside the package: packing again gives the same bytes (the earlier zip is not
    // packed), from outside and from inside the package with the default output name.
    let first = run(t.path(), &["pack", "Pkg", "-o", "Pkg/Pkg.zip"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let a = std::fs::read(dir.join("Pkg.zip")).unwrap();
    assert_eq!(zip_names(&a), ["Pkg.py", "README.md", "meta.json"]);
    std::fs::write(dir.join("old build.zip"), &a).unwrap();
    run(t.path(), &["pack", "Pkg", "-o", "Pkg/Pkg.zip"]);
    assert_eq!(std::fs::read(dir.join("Pkg.zip")).unwrap(), a);
    let inside = run(&dir, &["pack", "."]);
    assert_eq!(inside.status.code(), Some(0), "{}", stderr(&inside));
    assert_eq!(std::fs::read(dir.join("Pkg.zip")).unwrap(), a);
}

#[test]
fn writes_go_through_symlinks_keep_modes_and_never_break_hard_links() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    // meta.json is a link to a shared file whose entrypoint is stale: sync writes the shared
    // file, the link stays a link, the mode stays 0640.
    let dir = write_package(t.path(), &[]);
    let shared = t.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(
        shared.join("meta.json"),
        META.replace("\"entrypoint\":\"udf\"", "\"entrypoint\":\"old\""),
    )
    .unwrap();
    std::fs::set_permissions(
        shared.join("meta.json"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::fs::remove_file(dir.join("meta.json")).unwrap();
    std::os::unix::fs::symlink("../shared/meta.json", dir.join("meta.json")).unwrap();
    let out = run(t.path(), &["sync", "Pkg"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(dir.join("meta.json"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(shared.join("meta.json"))
        .unwrap()
        .contains("\"entrypoint\":\"udf\""));
    assert_eq!(mode(&shared.join("meta.json")), 0o640);
    assert!(temp_files(&dir).is_empty() && temp_files(&shared).is_empty());

    // `check --fix` on a linked UDF file fixes the file the link names.
    let fx = t.path().join("fx");
    copy_dir(
        &repo_root().join("fixtures/broken/Bad_Cache_Max_Age"),
        &fx.join("Bad_Cache_Max_Age"),
    );
    let py = fx.join("Bad_Cache_Max_Age/Bad_Cache_Max_Age.py");
    std::fs::rename(&py, shared.join("real.py")).unwrap();
    std::fs::set_permissions(
        shared.join("real.py"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::symlink(shared.join("real.py"), &py).unwrap();
    let out = run(&fx, &["check", "--fix", "Bad_Cache_Max_Age"]);
    assert!(stdout(&out).contains("Fixed"), "{}", stdout(&out));
    assert!(std::fs::symlink_metadata(&py)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(shared.join("real.py"))
        .unwrap()
        .contains("cache_max_age=\"10m\""));
    assert_eq!(mode(&shared.join("real.py")), 0o600);

    // A hard-linked meta.json is refused, and both names keep their text.
    let hl = t.path().join("hl");
    let pkg = write_package(&hl, &[]);
    std::fs::write(
        pkg.join("meta.json"),
        META.replace("\"entrypoint\":\"udf\"", "\"entrypoint\":\"old\""),
    )
    .unwrap();
    std::fs::hard_link(pkg.join("meta.json"), hl.join("backup.json")).unwrap();
    let before = std::fs::read(pkg.join("meta.json")).unwrap();
    let out = run(&hl, &["sync", "Pkg"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("hard links"), "{}", stderr(&out));
    assert_eq!(std::fs::read(pkg.join("meta.json")).unwrap(), before);
    assert_eq!(std::fs::read(hl.join("backup.json")).unwrap(), before);
    assert!(temp_files(&pkg).is_empty());
}

#[test]
fn created_files_get_the_umask_mode_and_rewritten_ones_keep_theirs() {
    use std::os::unix::fs::PermissionsExt;
    for (umask, file_mode, dir_mode) in [("022", 0o644, 0o755), ("027", 0o640, 0o750)] {
        let t = tempfile::tempdir().unwrap();
        let out = run_umask(t.path(), umask, &["new", "Pkg", "--utils"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let dir = t.path().join("Pkg");
        assert_eq!(mode(&dir), dir_mode, "umask {umask}");
        for f in ["meta.json", "Pkg.py", "README.md", "utils.py"] {
            assert_eq!(mode(&dir.join(f)), file_mode, "umask {umask}: {f}");
        }
        let out = run_umask(t.path(), umask, &["pack", "Pkg", "-o", "p.zip"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(
            mode(&t.path().join("p.zip")),
            file_mode,
            "umask {umask}: zip"
        );
        // sync creating a meta.json.
        std::fs::remove_file(dir.join("meta.json")).unwrap();
        let out = run_umask(t.path(), umask, &["sync", "Pkg"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(
            mode(&dir.join("meta.json")),
            file_mode,
            "umask {umask}: sync"
        );
    }
    // A rewritten file keeps its mode, whatever the umask.
    let t = tempfile::tempdir().unwrap();
    let dir = write_package(t.path(), &[]);
    std::fs::write(
        dir.join("meta.json"),
        META.replace("\"entrypoint\":\"udf\"", "\"entrypoint\":\"old\""),
    )
    .unwrap();
    std::fs::set_permissions(
        dir.join("meta.json"),
        std::fs::Permissions::from_mode(0o664),
    )
    .unwrap();
    let out = run_umask(t.path(), "077", &["sync", "Pkg"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&dir.join("meta.json")), 0o664);
}

#[test]
fn stale_temp_files_are_cleaned_and_never_checked_or_packed() {
    let t = tempfile::tempdir().unwrap();
    let dir = write_package(t.path(), &[]);
    std::fs::write(
        dir.join("meta.json"),
        META.replace("\"entrypoint\":\"udf\"", "\"entrypoint\":\"old\""),
    )
    .unwrap();
    // What `kill -9` during a write leaves: a temp file of a process that is gone...
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let dead_tmp = format!(".fused-ls-{dead}-7a.tmp");
    std::fs::write(dir.join(&dead_tmp), "@fused.udf\ndef udf(:\n").unwrap();
    // ... and one in the older naming (no pid), two minutes old.
    let old_tmp = dir.join(".fused-ls-Ab12Cd.tmp");
    std::fs::write(&old_tmp, "{").unwrap();
    let two_minutes_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    std::fs::File::options()
        .write(true)
        .open(&old_tmp)
        .unwrap()
        .set_modified(two_minutes_ago)
        .unwrap();
    // A write in progress (its process is alive, it is fresh) and files that only look like
    // ours are kept.
    let live_tmp = format!(".fused-ls-{}-1.tmp", std::process::id());
    std::fs::write(dir.join(&live_tmp), "x").unwrap();
    std::fs::write(dir.join(".fused-ls-notes.txt"), "mine").unwrap();

    let check = run(t.path(), &["check", "--format", "json", "Pkg"]);
    assert!(!stdout(&check).contains(".tmp"), "{}", stdout(&check));
    assert_eq!(codes(&check), ["FUSED011"], "{}", stdout(&check));
    let pack = run(t.path(), &["pack", "Pkg", "-o", "p.zip", "--force"]);
    assert_eq!(pack.status.code(), Some(0), "{}", stderr(&pack));
    assert_eq!(
        zip_names(&std::fs::read(t.path().join("p.zip")).unwrap()),
        ["Pkg.py", "README.md", "meta.json"]
    );
    // The next write in the folder removes the stale ones, only those.
    let sync = run(t.path(), &["sync", "Pkg"]);
    assert_eq!(sync.status.code(), Some(0), "{}", stderr(&sync));
    let mut left = temp_files(&dir);
    left.sort();
    assert_eq!(left, [live_tmp, ".fused-ls-notes.txt".to_string()]);
}

#[test]
fn sync_refuses_a_meta_json_that_is_not_a_file() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("Pkg");
    std::fs::create_dir_all(dir.join("meta.json")).unwrap();
    std::fs::write(dir.join("Pkg.py"), UDF).unwrap();
    for args in [
        vec!["sync", "Pkg"],
        vec!["sync", "."],
        vec!["sync", "--check", "Pkg"],
    ] {
        let out = run(t.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        assert!(
            !stdout(&out).contains("in sync"),
            "{args:?}: {}",
            stdout(&out)
        );
        assert!(
            stderr(&out).contains("meta.json` is a folder, not a file"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert!(dir.join("meta.json").is_dir());
}

#[test]
fn new_leaves_nothing_when_it_cannot_finish() {
    let t = tempfile::tempdir().unwrap();
    // The folder name fits in 255 bytes, `<name>.py` does not.
    let name = "A".repeat(255);
    let out = run(t.path(), &["new", &name]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("nothing was created"),
        "{}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains("created"), "{}", stdout(&out));
    assert_eq!(
        std::fs::read_dir(t.path()).unwrap().count(),
        0,
        "no half-made package, no temp folder"
    );
    // An existing empty folder is still refused, not replaced.
    std::fs::create_dir(t.path().join("Pkg")).unwrap();
    assert_eq!(run(t.path(), &["new", "Pkg"]).status.code(), Some(2));
    assert_eq!(std::fs::read_dir(t.path().join("Pkg")).unwrap().count(), 0);
}
