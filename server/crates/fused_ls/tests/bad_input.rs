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
    big.push_str("@fused.udf\ndef second(x: Union[int, str] = 1):\n    pass\n");
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
        "@fused.udf\ndef udf(n: int = 1):\n    return {}n{}\n\n@fused.udf\ndef other(m: Union[int, str] = 1):\n    return [{}]\n",
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
    let bad_udf = "@fused.udf\ndef udf(n: Union[int, str] = 1):\n    pass\n";
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
