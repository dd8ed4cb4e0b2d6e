//! FUSED012/FUSED014 (undefined names) against their oracle, PyPI Ruff's F821
//! (`ruff check --select F821 --config "builtins=['fused']"`): on every fixture `.py` (canvas
//! nodes excluded: they are not Python) and on a generated corpus of seeded random programs
//! that stack the hard cases (class scopes, comprehensions, `global`/`nonlocal`, `del`,
//! `try/except`, lambdas, decorators, defaults, walrus, `match`, string and future
//! annotations), the rule must report exactly the `(line, column, name)` set Ruff does.
//!
//! Ruff is installed by `tests/ruff/setup.sh` (cached at ~/.cache/fused-ls/ruff-venv). If it
//! cannot be installed the test fails under CI (`CI` set) and skips loudly elsewhere.
//!
//! Files with `from x import *` are not judged by the rule (no diagnostic), so for them only
//! that is asserted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// The ruff binary, installing it once; `None` (after a loud message) when that is impossible
/// outside CI.
fn ruff() -> Option<PathBuf> {
    let out = Command::new("bash")
        .arg(repo().join("tests/ruff/setup.sh"))
        .output();
    let problem = match out {
        Ok(o) if o.status.success() => {
            let path = String::from_utf8_lossy(&o.stdout).trim().to_string();
            return Some(PathBuf::from(path));
        }
        Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
        Err(e) => e.to_string(),
    };
    if std::env::var_os("CI").is_some() {
        panic!("tests/ruff/setup.sh could not install ruff, the oracle of this test: {problem}");
    }
    eprintln!("\n!!! SKIPPED names_parity: ruff could not be installed ({problem}).\n!!! Run tests/ruff/setup.sh; under CI this is a failure.\n");
    None
}

type Found = BTreeSet<(usize, usize, String)>;

/// Ruff's "Undefined name" findings per file name (relative to `dir`).
fn ruff_findings(ruff: &Path, dir: &Path) -> BTreeMap<String, Found> {
    let out = Command::new(ruff)
        .args([
            "check",
            "--no-cache",
            "--isolated",
            "--exit-zero",
            "--target-version",
            "py311",
            "--select",
            "F821",
            "--config",
            "builtins=['fused']",
            "--output-format",
            "json",
        ])
        .arg(dir)
        .output()
        .expect("ruff runs");
    assert!(
        out.status.success(),
        "ruff failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ruff's JSON");
    let mut map: BTreeMap<String, Found> = BTreeMap::new();
    for d in json.as_array().expect("an array") {
        if d["code"] != "F821" {
            continue;
        }
        let msg = d["message"].as_str().unwrap();
        let name = msg
            .strip_prefix("Undefined name `")
            .and_then(|m| m.split('`').next())
            .unwrap_or_else(|| panic!("unexpected F821 message {msg}"));
        let file = Path::new(d["filename"].as_str().unwrap())
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let loc = &d["location"];
        map.entry(file).or_default().insert((
            loc["row"].as_u64().unwrap() as usize,
            loc["column"].as_u64().unwrap() as usize,
            name.to_string(),
        ));
    }
    map
}

/// The rule's findings on `text`; `None` when the file does not parse cleanly (not judged).
fn ours(text: &str) -> Option<Found> {
    let parsed = fused_core::python::parse(text, None);
    let ast = parsed.module?;
    let found = fused_core::rules::names::undefined_names(ast.syntax(), text, &|_| false);
    Some(
        found
            .into_iter()
            .map(|u| {
                let before = &text[..u.range.start];
                let line = before.matches('\n').count() + 1;
                let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
                    .chars()
                    .count()
                    + 1;
                (line, col, u.name)
            })
            .collect(),
    )
}

/// Compares every `.py` under `dir` (named relative to it); returns how many were compared.
fn compare(ruff: &Path, dir: &Path, files: &[(String, String)]) -> usize {
    let theirs = ruff_findings(ruff, dir);
    let mut compared = 0;
    let mut failures = Vec::new();
    for (name, text) in files {
        let Some(mine) = ours(text) else { continue };
        if text.contains("import *") {
            assert!(
                mine.is_empty(),
                "{name}: a star import must silence the rule"
            );
            continue;
        }
        compared += 1;
        let empty = Found::new();
        let theirs = theirs.get(name).unwrap_or(&empty);
        if &mine != theirs {
            let only_ruff: Vec<_> = theirs.difference(&mine).collect();
            let only_ours: Vec<_> = mine.difference(theirs).collect();
            if let Ok(keep) = std::env::var("FUSED_NAMES_KEEP") {
                // To minimise a disagreement by hand.
                let _ = std::fs::create_dir_all(&keep);
                let _ = std::fs::write(Path::new(&keep).join(name.replace('/', "_")), text);
            }
            failures.push(format!(
                "{name}: only ruff {only_ruff:?}, only ours {only_ours:?}\n{}",
                numbered(text)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} files disagree with ruff F821:\n{}",
        failures.len(),
        failures[..failures.len().min(5)].join("\n")
    );
    compared
}

fn numbered(text: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| format!("{:4} {l}\n", i + 1))
        .collect()
}

fn python_files(dir: &Path, out: &mut Vec<PathBuf>) {
    // A canvas node's folder (meta.json with `isNodeTemplate`) holds no Python.
    if std::fs::read_to_string(dir.join("meta.json")).is_ok_and(|m| {
        m.contains("\"isNodeTemplate\": true") || m.contains("\"isNodeTemplate\":true")
    }) {
        return;
    }
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            python_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "py") {
            out.push(p);
        }
    }
}

/// Compares every `.py` under `dir` (canvas nodes excluded) with ruff; returns how many were
/// compared.
fn compare_dir(ruff: &Path, dir: &Path) -> usize {
    // Ruff prints canonical paths.
    let dir = &dir.canonicalize().unwrap();
    let mut paths = Vec::new();
    python_files(dir, &mut paths);
    let files: Vec<(String, String)> = paths
        .iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            let name = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            Some((name, text))
        })
        .collect();
    compare(ruff, dir, &files)
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("python3 runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn fixtures_agree_with_ruff_f821() {
    let Some(ruff) = ruff() else { return };
    let n = compare_dir(&ruff, &repo().join("fixtures"));
    assert!(n >= 30, "only {n} fixture files compared");
}

#[test]
fn realistic_corpus_and_benchmark_files_agree_with_ruff_f821() {
    let Some(ruff) = ruff() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    run(Command::new("python3")
        .arg(repo().join("bench/gen_corpus.py"))
        .arg(&corpus)
        .args(["--count", "300", "--seed", "11"]));
    let n = compare_dir(&ruff, &corpus);
    assert!(n > 250, "only {n} realistic corpus files compared");
    let lsp = tmp.path().join("lsp");
    run(Command::new("python3")
        .arg(repo().join("bench/lsp_bench.py"))
        .arg(&lsp)
        .args(["--generate-only", "--sizes", "300,5000"]));
    assert_eq!(compare_dir(&ruff, &lsp), 2);
}

#[test]
fn generated_scope_programs_agree_with_ruff_f821() {
    let Some(ruff) = ruff() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let seed: u64 = std::env::var("FUSED_NAMES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_F821);
    let count: usize = std::env::var("FUSED_NAMES_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let mut rng = Rng(seed);
    for i in 0..count {
        let text = Gen::new(&mut rng).module();
        std::fs::write(tmp.path().join(format!("g{i:04}.py")), &text).unwrap();
    }
    let n = compare_dir(&ruff, tmp.path());
    assert!(
        n * 10 >= count * 8,
        "only {n} of {count} generated files parsed cleanly and were compared"
    );
}

/// The rule's cost on the language-server benchmark's 5,000-line file, beside the rest of the
/// analysis (`cargo test --release -p fused_core --test names_parity -- --ignored --nocapture`).
#[test]
#[ignore = "a measurement, not a check"]
fn timing_on_the_5000_line_bench_file() {
    let tmp = tempfile::tempdir().unwrap();
    run(Command::new("python3")
        .arg(repo().join("bench/lsp_bench.py"))
        .arg(tmp.path())
        .args(["--generate-only", "--sizes", "5000"]));
    let mut paths = Vec::new();
    python_files(tmp.path(), &mut paths);
    let text = std::fs::read_to_string(&paths[0]).unwrap();
    let probe = fused_core::probe::NoProbe;
    let runs = 50;
    let time = |f: &mut dyn FnMut()| {
        f();
        let start = std::time::Instant::now();
        for _ in 0..runs {
            f();
        }
        start.elapsed().as_secs_f64() * 1000.0 / runs as f64
    };
    let parsed = fused_core::python::parse(&text, None);
    let ast = parsed.module.as_ref().unwrap();
    let names = time(&mut || {
        std::hint::black_box(fused_core::rules::names::undefined_names(
            ast.syntax(),
            &text,
            &|_| false,
        ));
    });
    let parse = time(&mut || {
        std::hint::black_box(fused_core::python::parse(&text, None));
    });
    let analysis = time(&mut || {
        std::hint::black_box(fused_core::analyze_python(&text, None, &probe, None));
    });
    println!(
        "{} lines: undefined names {names:.2} ms; python::parse {parse:.2} ms; whole analyze_python (names included) {analysis:.2} ms",
        text.lines().count()
    );
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Names the programs use: few enough that uses and bindings collide often.
const NAMES: &[&str] = &[
    "a",
    "b",
    "c",
    "x",
    "y",
    "z",
    "f",
    "g",
    "h",
    "C",
    "D",
    "json",
    "os",
    "np",
    "e",
    "n",
    "k",
    "v",
    "helper",
    "data",
    "__class__",
    "__module__",
    "__qualname__",
    "__file__",
    "__name__",
    "len",
    "print",
    "fused",
    "T",
];

/// A random Python 3.11 module.
struct Gen<'r> {
    rng: &'r mut Rng,
    out: String,
    /// Nesting of function/class bodies: `f` function, `c` class.
    frames: Vec<char>,
    depth: usize,
}

impl<'r> Gen<'r> {
    fn new(rng: &'r mut Rng) -> Self {
        Gen {
            rng,
            out: String::new(),
            frames: Vec::new(),
            depth: 0,
        }
    }

    fn module(mut self) -> String {
        if self.rng.chance(15) {
            self.out.push_str("from __future__ import annotations\n");
        }
        if self.rng.chance(3) {
            self.out.push_str("from os.path import *\n");
        }
        let n = 4 + self.rng.below(10);
        for _ in 0..n {
            self.stmt();
        }
        self.out
    }

    fn name(&mut self) -> &'static str {
        self.rng.pick(NAMES)
    }

    fn target(&mut self) -> &'static str {
        // Bindable names only.
        let n = self.rng.pick(&[
            "a", "b", "c", "x", "y", "z", "f", "g", "C", "json", "e", "n", "k", "v", "helper",
            "data", "T",
        ]);
        n
    }

    fn line(&mut self, s: &str) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn expr(&mut self, budget: usize) -> String {
        if budget == 0 {
            return self.name().to_string();
        }
        let b = budget - 1;
        match self.rng.below(14) {
            0 => format!("{}({})", self.name(), self.expr(b)),
            1 => format!("{}.attr", self.name()),
            2 => format!("({} + {})", self.expr(b), self.expr(b)),
            3 => {
                let t = self.target();
                format!("[{t} for {t} in {} if {}]", self.expr(b), self.expr(b))
            }
            4 => {
                let t = self.target();
                let u = self.target();
                format!(
                    "{{{t}: {} for {t} in {} for {u} in {}}}",
                    self.expr(b),
                    self.expr(b),
                    self.expr(b)
                )
            }
            5 => {
                let t = self.target();
                let w = self.target();
                format!("[({w} := {}) for {t} in {}]", self.expr(b), self.expr(b))
            }
            6 => {
                let p = self.target();
                format!("(lambda {p}, q={}: {} + {p})", self.expr(b), self.expr(b))
            }
            7 => {
                let t = self.target();
                format!("(({t} := {}), {t})", self.expr(b))
            }
            8 => format!("'{}'", self.name()),
            9 => format!("f\"{{{}}}\"", self.expr(b)),
            10 => format!(
                "({} if {} else {})",
                self.expr(b),
                self.expr(b),
                self.expr(b)
            ),
            11 => {
                let t = self.target();
                format!("list({t} for {t} in {})", self.expr(b))
            }
            _ => self.name().to_string(),
        }
    }

    fn annotation(&mut self) -> String {
        match self.rng.below(5) {
            0 => format!("'{}'", self.name()),
            1 => format!("list[{}]", self.name()),
            2 => format!("\"list[{}]\"", self.name()),
            _ => self.name().to_string(),
        }
    }

    fn block(&mut self, header: &str, frame: Option<char>) {
        self.line(header);
        self.depth += 1;
        if let Some(f) = frame {
            self.frames.push(f);
        }
        let n = 1 + self.rng.below(4);
        for _ in 0..n {
            self.stmt();
        }
        if frame.is_some() {
            self.frames.pop();
        }
        self.depth -= 1;
    }

    fn stmt(&mut self) {
        let deep = self.depth >= 4;
        let in_function = self.frames.last() == Some(&'f');
        let choice = if deep {
            self.rng.below(8)
        } else {
            self.rng.below(24)
        };
        match choice {
            0 | 1 => {
                let t = self.target();
                let e = self.expr(2);
                self.line(&format!("{t} = {e}"));
            }
            2 => {
                let e = self.expr(2);
                self.line(&format!("print({e})"));
            }
            3 => {
                let t = self.target();
                let e = self.expr(1);
                self.line(&format!("{t} += {e}"));
            }
            4 => {
                let t = self.target();
                let a = self.annotation();
                if self.rng.chance(50) {
                    self.line(&format!("{t}: {a}"));
                } else {
                    let e = self.expr(1);
                    self.line(&format!("{t}: {a} = {e}"));
                }
            }
            5 => {
                let t = self.target();
                self.line(&format!("del {t}"));
            }
            6 => {
                let imp = self.rng.pick(&[
                    "import json",
                    "import os.path",
                    "import numpy as np",
                    "from os import path as helper",
                    "from typing import TYPE_CHECKING as T",
                ]);
                self.line(imp);
            }
            7 => {
                if in_function {
                    let kw = if self.rng.chance(50) {
                        "global"
                    } else {
                        "nonlocal"
                    };
                    let t = self.target();
                    if kw == "global" || self.frames.iter().filter(|f| **f == 'f').count() > 1 {
                        self.line(&format!("{kw} {t}"));
                        return;
                    }
                }
                let e = self.expr(1);
                self.line(&e);
            }
            8 | 9 => {
                let e = self.expr(1);
                self.block(&format!("if {e}:"), None);
                if self.rng.chance(40) {
                    self.block("else:", None);
                }
            }
            10 => {
                let t = self.target();
                let e = self.expr(1);
                self.block(&format!("for {t} in {e}:"), None);
            }
            11 => {
                let e = self.expr(1);
                self.block(&format!("while {e}:"), None);
            }
            12 | 13 => {
                let name = self.target();
                let p = self.target();
                let d = self.expr(1);
                let a = self.annotation();
                let r = self.annotation();
                if self.rng.chance(40) {
                    let dec = self.expr(0);
                    self.line(&format!("@{dec}"));
                }
                self.block(&format!("def {name}({p}: {a}, q={d}) -> {r}:"), Some('f'));
            }
            14 => {
                let name = self.target();
                let base = self.name();
                self.block(&format!("class {name}({base}):"), Some('c'));
            }
            15 => {
                self.block("try:", None);
                let (t, n) = match self.rng.below(4) {
                    0 => ("ImportError", None),
                    1 => ("NameError", None),
                    2 => ("(ValueError, NameError)", Some(self.target())),
                    _ => ("ValueError", Some(self.target())),
                };
                match n {
                    Some(n) => self.block(&format!("except {t} as {n}:"), None),
                    None => self.block(&format!("except {t}:"), None),
                }
                if self.rng.chance(30) {
                    self.block("finally:", None);
                }
            }
            16 => {
                self.line("try:");
                self.depth += 1;
                self.line("import json");
                self.depth -= 1;
                self.line("except ImportError:");
                self.depth += 1;
                self.line("json = None");
                self.depth -= 1;
            }
            17 => {
                let e = self.expr(1);
                let t = self.target();
                self.block(&format!("with {e} as {t}:"), None);
            }
            18 => {
                let e = self.expr(1);
                self.line(&format!("match {e}:"));
                self.depth += 1;
                let t = self.target();
                let u = self.target();
                let g = self.expr(0);
                let cases = [
                    format!("case [{t}, *{u}] if {g}:"),
                    format!("case {{'k': {t}, **{u}}}:"),
                    format!("case {}({t}):", self.name()),
                    format!("case {t}:"),
                ];
                let n = 1 + self.rng.below(3);
                for i in 0..n {
                    let c = cases[(i + self.rng.below(4)) % 4].clone();
                    // An irrefutable case must be last.
                    let c = if c.starts_with(&format!("case {t}:")) && i + 1 < n {
                        format!("case {t}.attr:")
                    } else {
                        c
                    };
                    self.block(&c, None);
                }
                self.depth -= 1;
            }
            19 => {
                if in_function {
                    let e = self.expr(2);
                    self.line(&format!("return {e}"));
                } else {
                    let e = self.expr(2);
                    self.line(&e);
                }
            }
            20 => {
                let t = self.target();
                let e = self.expr(1);
                self.line(&format!("{t} = lambda: {e}"));
            }
            _ => {
                let e = self.expr(3);
                self.line(&e);
            }
        }
    }
}
