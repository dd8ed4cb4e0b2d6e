//! Bad input: each case gets a clear diagnostic or error for that file, the rest is still
//! checked, and nothing panics or is overwritten.

mod common;
use common::*;

fn check_json(dir: &std::path::Path) -> (std::process::Output, Vec<serde_json::Value>) {
    let out = run(dir, &["check", "--format", "json", "."]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "panic: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = json(&out);
    (out, j)
}

/// A second, broken package next to the case, to prove the rest is still checked.
fn with_witness(root: &std::path::Path) {
    let w = root.join("Witness");
    std::fs::create_dir_all(&w).unwrap();
    std::fs::write(w.join("meta.json"), META.replace("Pkg", "Witness")).unwrap();
    std::fs::write(
        w.join("Witness.py"),
        "@fused.udf(timeout=3)\ndef udf(n: int = 1):\n    pass\n",
    )
    .unwrap();
    std::fs::write(w.join("README.md"), "# Witness\n").unwrap();
}

fn has(j: &[serde_json::Value], path_end: &str, code: &str) -> bool {
    j.iter()
        .any(|d| d["path"].as_str().unwrap().ends_with(path_end) && d["code"] == code)
}

#[test]
fn binary_file() {
    let t = tempfile::tempdir().unwrap();
    with_witness(t.path());
    write_package(
        t.path(),
        &[("Pkg.py", b"\x7fELF\x02\x01\x01\x00\x00\x00binary")],
    );
    let (out, j) = check_json(t.path());
    assert!(has(&j, "Pkg/Pkg.py", "FUSED003"), "{j:?}");
    assert!(has(&j, "Witness/Witness.py", "FUSED040"));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn non_utf8_file() {
    let t = tempfile::tempdir().unwrap();
    with_witness(t.path());
    write_package(
        t.path(),
        &[(
            "Pkg.py",
            b"# caf\xe9\n@fused.udf\ndef udf(n: int = 1):\n    pass\n",
        )],
    );
    let (_, j) = check_json(t.path());
    let d = j
        .iter()
        .find(|d| d["code"] == "FUSED003")
        .expect("FUSED003");
    assert!(d["message"].as_str().unwrap().contains("not UTF-8"));
    assert!(has(&j, "Witness/Witness.py", "FUSED040"));
}

#[test]
fn empty_python_file() {
    let t = tempfile::tempdir().unwrap();
    write_package(t.path(), &[("Pkg.py", b"")]);
    let (_, j) = check_json(t.path());
    assert!(has(&j, "Pkg/Pkg.py", "FUSED010"), "{j:?}");
}

#[test]
fn ten_megabyte_file() {
    let t = tempfile::tempdir().unwrap();
    let mut big = String::from(UDF);
    while big.len() < 10 << 20 {
        big.push_str(
            "# padding line to make a ten megabyte file, as a generated UDF might be ......\n",
        );
    }
    big.push_str(
        "from typing import Union\n@fused.udf\ndef second(x: Union[int, float] = 1):\n    pass\n",
    );
    write_package(t.path(), &[("Pkg.py", big.as_bytes())]);
    let (_, j) = check_json(t.path());
    let d = j
        .iter()
        .find(|d| d["code"] == "FUSED020")
        .expect("the rule at the end of the file ran");
    assert!(d["line"].as_u64().unwrap() > 100_000);
}

#[test]
fn expression_nested_a_thousand_deep() {
    let t = tempfile::tempdir().unwrap();
    let deep = format!(
        "from typing import Union\n@fused.udf\ndef udf(n: int = 1):\n    return {}n{}\n\n@fused.udf\ndef other(m: Union[int, float] = 1):\n    return [{}]\n",
        "(".repeat(1000),
        ")".repeat(1000),
        "[".repeat(1000) + &"]".repeat(1000)
    );
    write_package(t.path(), &[("Pkg.py", deep.as_bytes())]);
    let (_, j) = check_json(t.path());
    assert!(has(&j, "Pkg/Pkg.py", "FUSED020"), "{j:?}");
    // CPython 3.11 compiles at most 200 levels.
    assert!(has(&j, "Pkg/Pkg.py", "FUSED006"), "{j:?}");
}

#[test]
fn empty_and_array_meta_json() {
    let t = tempfile::tempdir().unwrap();
    with_witness(t.path());
    write_package(t.path(), &[("meta.json", b"")]);
    let (_, j) = check_json(t.path());
    assert!(has(&j, "Pkg/meta.json", "FUSED060"), "{j:?}");
    assert!(has(&j, "Witness/Witness.py", "FUSED040"));
    write_package(t.path(), &[("meta.json", b"[1, 2]")]);
    let (_, j) = check_json(t.path());
    let d = j
        .iter()
        .find(|d| d["code"] == "FUSED061")
        .expect("FUSED061");
    assert!(d["message"].as_str().unwrap().contains("not an array"));
}

#[test]
fn unreadable_file() {
    let t = tempfile::tempdir().unwrap();
    with_witness(t.path());
    let dir = write_package(t.path(), &[]);
    // Root reads anything, so a dangling symlink stands in for a file that cannot be read.
    std::os::unix::fs::symlink(dir.join("nowhere.py"), dir.join("utils.py")).unwrap();
    std::os::unix::fs::symlink(t.path().join("gone.py"), t.path().join("loose.py")).unwrap();
    let (_, j) = check_json(t.path());
    assert!(has(&j, "Pkg/utils.py", "FUSED004"), "{j:?}");
    assert!(has(&j, "loose.py", "FUSED004"), "{j:?}");
    assert!(has(&j, "Witness/Witness.py", "FUSED040"));
}

#[test]
fn directory_symlink_loop() {
    let t = tempfile::tempdir().unwrap();
    with_witness(t.path());
    std::fs::create_dir_all(t.path().join("a/b")).unwrap();
    std::os::unix::fs::symlink(t.path().join("a"), t.path().join("a/b/loop")).unwrap();
    let (out, j) = check_json(t.path());
    assert!(has(&j, "Witness/Witness.py", "FUSED040"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("symlink loop"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn missing_path_is_a_usage_error() {
    let t = tempfile::tempdir().unwrap();
    let out = run(t.path(), &["check", "does-not-exist"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert!(
        !stdout(&out).contains("All checks passed"),
        "{}",
        stdout(&out)
    );
    // Also beside a clean package: what was read passed, but not all of it was there.
    write_package(t.path(), &[]);
    let out = run(t.path(), &["check", "Pkg", "does-not-exist"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !stdout(&out).contains("All checks passed"),
        "{}",
        stdout(&out)
    );
    let out = run(t.path(), &["check", "--select", "NOPE"]);
    assert_eq!(out.status.code(), Some(2));
}

fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default();
        for (name, data) in entries {
            z.start_file(*name, opts).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

#[test]
fn zips_good_escaping_and_not_zips() {
    let t = tempfile::tempdir().unwrap();
    let bad_udf =
        "from typing import Union\n@fused.udf\ndef udf(n: Union[int, float] = 1):\n    pass\n";
    std::fs::write(
        t.path().join("Pkg.zip"),
        zip_bytes(&[
            ("Pkg/meta.json", META.as_bytes()),
            ("Pkg/Pkg.py", bad_udf.as_bytes()),
            ("Pkg/README.md", b"# x\n"),
        ]),
    )
    .unwrap();
    std::fs::write(
        t.path().join("evil.zip"),
        zip_bytes(&[("meta.json", META.as_bytes()), ("../evil.py", b"x = 1\n")]),
    )
    .unwrap();
    std::fs::write(t.path().join("junk.zip"), b"this is not a zip").unwrap();
    std::fs::write(
        t.path().join("data.zip"),
        zip_bytes(&[("rows.csv", b"a,b\n1,2\n")]),
    )
    .unwrap();
    let (_, j) = check_json(t.path());
    let paths: Vec<String> = j
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d["path"].as_str().unwrap(),
                d["code"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        paths.contains(&"./Pkg.zip!/Pkg/Pkg.py FUSED020".to_string()),
        "{paths:?}"
    );
    let evil = j
        .iter()
        .find(|d| d["path"] == "./evil.zip")
        .expect("evil.zip reported");
    assert!(evil["message"]
        .as_str()
        .unwrap()
        .contains("escapes the package root"));
    assert!(j
        .iter()
        .any(|d| d["path"] == "./junk.zip" && d["code"] == "FUSED004"));
    // A zip of something else is not ours to judge; nothing was written outside.
    assert!(!j.iter().any(|d| d["path"] == "./data.zip"));
    assert!(!t.path().parent().unwrap().join("evil.py").exists());
}

/// `fused-ls` with `args` in `cwd`, as an unprivileged user when the tests run as root (root
/// reads any folder, so permissions alone cannot make one unreadable to it).
fn run_unprivileged(cwd: &std::path::Path, args: &[&str]) -> std::process::Output {
    let bin = env!("CARGO_BIN_EXE_fused-ls");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc_geteuid() } == 0;
    let mut cmd = if root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
        c
    } else {
        std::process::Command::new(bin)
    };
    cmd.args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("fused-ls runs")
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

#[test]
fn an_unreadable_folder_is_an_error_not_a_clean_pass() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let locked = t.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    write_package(&locked, &[]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    for args in [
        &["check", "locked"][..],
        &["check", "--format", "json", "."][..],
    ] {
        let out = run_unprivileged(t.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {err} {}",
            stdout(&out)
        );
        assert!(
            err.contains("cannot read") && err.contains("locked"),
            "{err}"
        );
        assert!(!stdout(&out).contains("All checks passed"));
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn fix_on_a_read_only_file_says_it_was_not_written() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let src = "@fused.udf(cache_max_age=\"10 minutes\")\ndef udf(n: int = 1):\n    return n\n";
    let dir = write_package(t.path(), &[("Pkg.py", src.as_bytes())]);
    let loose = t.path().join("loose.py");
    std::fs::write(&loose, src).unwrap();
    for f in [dir.join("Pkg.py"), loose.clone()] {
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    let out = run(t.path(), &["check", "--fix", "."]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!stdout(&out).contains("Fixed"), "{}", stdout(&out));
    assert!(err.contains("Pkg.py` is read-only"), "{err}");
    assert!(err.contains("loose.py` is read-only"), "{err}");
    // What is reported is what is on disk: the unfixed problem.
    assert!(stdout(&out).contains("FUSED041"), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string(&loose).unwrap(), src);
    assert_eq!(std::fs::read_to_string(dir.join("Pkg.py")).unwrap(), src);
    // A writable one is fixed and counted.
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(t.path(), &["check", "--fix", "loose.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("Fixed 1 problem."),
        "{}",
        stdout(&out)
    );
}

#[test]
fn human_output_escapes_terminal_controls_in_paths_and_source() {
    let t = tempfile::tempdir().unwrap();
    let name = "evil\x1b[2J\u{202e}.py";
    let src = "@fused.udf(cache_max_age=\"\x1b]0;x\x07 é\")\ndef udf(n: int = 1):\n    return n\n";
    std::fs::write(t.path().join(name), src).unwrap();
    let out = run(t.path(), &["check", "."]);
    assert_eq!(out.status.code(), Some(1));
    let human = stdout(&out);
    for c in ['\x1b', '\x07', '\u{202e}'] {
        assert!(!human.contains(c), "{c:?} in {human:?}");
    }
    assert!(human.contains("evil\\u{1b}[2J\\u{202e}.py"), "{human}");
    assert!(human.contains("\\u{1b}]0;x\\u{7} é"), "{human}");
    // The carets still sit under the escaped text: under `"`, 26 chars from `@`.
    let frame: Vec<&str> = human.lines().collect();
    let code = frame.iter().position(|l| l.starts_with("1 |")).unwrap();
    let line = frame[code];
    let carets = frame[code + 1];
    let at = carets.find('^').unwrap();
    assert_eq!(&line[at..at + 1], "\"", "{line}\n{carets}");
    // JSON keeps the path as it is (serde escapes it).
    let out = run(t.path(), &["check", "--format", "json", "."]);
    assert!(json(&out)[0]["path"].as_str().unwrap().contains('\x1b'));
}

/// Runs fused-ls in `cwd`, killed (and the test failed) if it takes more than 20 s: the cases
/// below used to block forever or eat gigabytes.
fn run_bounded(cwd: &std::path::Path, args: &[&str]) -> std::process::Output {
    let child = bin()
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            panic!("`fused-ls {}` did not finish in 20 s", args.join(" "));
        }
    }
}

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn fifos_and_devices_are_reported_never_read() {
    let t = tempfile::tempdir().unwrap();
    with_witness(t.path());
    let dir = write_package(t.path(), &[]);
    mkfifo(&dir.join("utils.py"));
    mkfifo(&t.path().join("a.py"));
    std::os::unix::fs::symlink("/dev/zero", t.path().join("x.py")).unwrap();
    let out = run_bounded(t.path(), &["check", "--format", "json", "."]);
    let j = json(&out);
    let message = |end: &str| {
        j.iter()
            .find(|d| d["path"].as_str().unwrap().ends_with(end) && d["code"] == "FUSED004")
            .map(|d| d["message"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no FUSED004 for {end}: {j:?}"))
    };
    assert!(message("Pkg/utils.py").contains("not a regular file (a FIFO)"));
    assert!(message("a.py").contains("not a regular file (a FIFO)"));
    assert!(message("x.py").contains("not a regular file (a character device)"));
    assert!(has(&j, "Witness/Witness.py", "FUSED040"));
    // A zip that is a FIFO, too.
    mkfifo(&t.path().join("p.zip"));
    let out = run_bounded(t.path(), &["check", "--format", "json", "p.zip"]);
    assert!(has(&json(&out), "p.zip", "FUSED004"), "{}", stdout(&out));
}

#[test]
fn run_reads_no_device_or_fifo() {
    let t = tempfile::tempdir().unwrap();
    let dir = write_package(t.path(), &[]);
    mkfifo(&t.path().join("bounds.geojson"));
    for geojson in ["/dev/zero", "bounds.geojson"] {
        let out = run_bounded(
            t.path(),
            &["run", dir.to_str().unwrap(), "--geojson", geojson],
        );
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not a regular file"), "{err}");
    }
    mkfifo(&t.path().join("q.zip"));
    let out = run_bounded(t.path(), &["run", "q.zip"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file (a FIFO)"));
}

/// `sync` and `pack` never open a FIFO (a read would block until a writer came): a FIFO
/// `meta.json` or `.py` in a package gets a clear error, and nothing is written from it.
#[test]
fn sync_and_pack_refuse_fifos_in_a_package() {
    let t = tempfile::tempdir().unwrap();
    let err = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    // A FIFO beside the UDF: it could be a helper the UDF imports.
    let dir = write_package(t.path(), &[]);
    mkfifo(&dir.join("x.py"));
    let meta = std::fs::read(dir.join("meta.json")).unwrap();
    let out = run_bounded(t.path(), &["sync", "Pkg"]);
    assert_eq!(out.status.code(), Some(2), "{}", err(&out));
    assert!(
        err(&out).contains("x.py`: not a regular file (a FIFO); nothing was written"),
        "{}",
        err(&out)
    );
    assert_eq!(std::fs::read(dir.join("meta.json")).unwrap(), meta);
    let out = run_bounded(t.path(), &["pack", "Pkg", "-o", "p.zip"]);
    assert_eq!(out.status.code(), Some(1), "{}", err(&out));
    assert!(
        err(&out).contains("x.py: FUSED004 `x.py` could not be read: not a regular file (a FIFO)"),
        "{}",
        err(&out)
    );
    assert!(!t.path().join("p.zip").exists());
    // Forced, the FIFO is left out (said so) and the rest is packed.
    let out = run_bounded(t.path(), &["pack", "Pkg", "-o", "p.zip", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    assert!(err(&out).contains("skipped `x.py`: not a regular file"));
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(t.path().join("p.zip")).unwrap()).unwrap();
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Pkg.py", "README.md", "meta.json"]);

    // A FIFO named meta.json.
    let q = t.path().join("Q");
    std::fs::create_dir(&q).unwrap();
    std::fs::write(q.join("Q.py"), UDF).unwrap();
    mkfifo(&q.join("meta.json"));
    for args in [["sync", "Q", "", ""], ["pack", "Q", "-o", "q.zip"]] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let out = run_bounded(t.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", err(&out));
        assert!(
            err(&out).contains("meta.json` is a FIFO, not a regular file"),
            "{args:?}: {}",
            err(&out)
        );
    }
    assert!(!t.path().join("q.zip").exists());

    // A FIFO as the only source: sync creates no meta.json from it.
    let r = t.path().join("R");
    std::fs::create_dir(&r).unwrap();
    mkfifo(&r.join("R.py"));
    let out = run_bounded(t.path(), &["sync", "R"]);
    assert_eq!(out.status.code(), Some(2), "{}", err(&out));
    assert!(
        err(&out).contains("R.py`: not a regular file (a FIFO)"),
        "{}",
        err(&out)
    );
    assert!(!r.join("meta.json").exists());
}
