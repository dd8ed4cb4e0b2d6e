//! The UDF model is read from Ruff's AST when a file parses cleanly and from tree-sitter's tree
//! otherwise (and while typing in the language server). The two readers must give the same
//! model on the same valid source, or `check` and the editor would disagree after a keystroke.
//! This holds them to it on every fixture, on a generated corpus of realistic packages, on the
//! language-server benchmark's large files and on hand-written edge cases. (Each rule test's
//! clean snippet is checked the same way, in `rules.rs`.)

use fused_core::python::readers_agree;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

fn python_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            python_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "py") {
            out.push(p);
        }
    }
}

/// Checks every `.py` under `dir`; returns how many were clean (so compared).
fn agree_under(dir: &Path) -> usize {
    let mut files = Vec::new();
    python_files(dir, &mut files);
    assert!(!files.is_empty(), "no Python files under {}", dir.display());
    let mut compared = 0;
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        match readers_agree(&text) {
            Ok(true) => compared += 1,
            Ok(false) => {}
            Err(e) => panic!("{}: {e}", f.display()),
        }
    }
    compared
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .expect("python3 runs (the test suite needs Python 3)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn fixtures() {
    let n = agree_under(&repo().join("fixtures"));
    assert!(n > 30, "only {n} clean fixture files compared");
}

#[test]
fn generated_corpus_and_benchmark_files() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    run(Command::new("python3")
        .arg(repo().join("bench/gen_corpus.py"))
        .arg(&corpus)
        .args(["--count", "400", "--seed", "7"]));
    let n = agree_under(&corpus);
    assert!(n > 300, "only {n} clean corpus files compared");
    let lsp = tmp.path().join("lsp");
    run(Command::new("python3")
        .arg(repo().join("bench/lsp_bench.py"))
        .arg(&lsp)
        .args(["--generate-only", "--sizes", "300,5000"]));
    assert_eq!(agree_under(&lsp), 2);
}

#[test]
fn edge_cases() {
    let cases = [
        // async, stars with annotations, keyword-only, positional-only.
        "import fused\n@fused.udf\nasync def udf(a: int, /, b=1, *args: str, c: 'float' = -1.5, **kw: dict):\n    return a\n",
        "@fused.udf\ndef udf(*, n: int = 0x1F, m: int = 1_000, f: float = +2e3, z=1j):\n    pass\n",
        // Aliases, `from fused import udf as u`, dict keywords, every literal kind.
        "import fused as f\nimport geopandas as gpd\nfrom fused import udf as u, load as ld\nfrom fused.types import Bounds as B\n\n@u(engine='local', cache_max_age=\"1h\", default_parameters={'a': 1, \"b\" 'c': 2, 3: 4})\ndef one(bounds: B = None, g: gpd.GeoDataFrame = None, l: list = [1], d: dict = {}, t: tuple = (1, 2), s: set = {1}, b: bool = True, x=(3)):\n    a = ld('./x')\n    return f.load(f\"https://github.com/o/r/tree/abc/p\")\n",
        // Annotations: unions, generics, literals, forward references, attributes of calls.
        "from typing import Optional, Union, List, Dict, Literal\nimport fused\n@fused.udf\ndef udf(a: Optional[int] = None, b: int | str | None = None, c: Union[int, str] = 1, d: List[Dict[str, int]] = None, e: Literal[1, 'x'] = 1, g: 'int' = 1, h: x().y = 1, i: (int) = 1):\n    pass\n",
        // Loads everywhere, keyword first, non-literal, concatenated and f-strings.
        "import fused\nfrom . import sibling\nfrom .rel import x\nimport a.b.c, d as e\n@fused.udf\ndef udf():\n    import numpy as np\n    from shapely.geometry import box\n    def inner(p=fused.load('default')):\n        return fused.load(p)\n    fused.load(target='kw')\n    fused.load('a' 'b', cache=False)\n    fused.load(f'x{y}')\n    fused.load(*args)\n    return [fused.load(u'./u') for _ in range(2)], lambda: fused.load('lam')\n",
        // Not UDFs: classes, undecorated, other decorators, nested.
        "import fused\nclass C:\n    @fused.udf\n    def m(self): pass\n@other\ndef o(): pass\ndef plain(): pass\nif True:\n    @fused.udf\n    def hidden(): pass\n@fused.udf\n@fused.cache\ndef two(): pass\n@fused.cache\n@fused.udf(engine='remote')\ndef three(): pass\n",
        // Strings with escapes and prefixes.
        "import fused\n@fused.udf(engine=r'lo\\cal', instance_type=\"a\\tb\\x41\\u00e9\")\ndef udf(p: str = b'bytes', q: str = 'it\\'s', r: str = U'u'):\n    return fused.load(R'C:\\pkgs\\a')\n",
        "from __future__ import annotations\nimport fused\n@fused.udf\ndef udf(n: int = 1):\n    return n  # trailing comment\n    # a comment line at the end\n",
        "import fused\n@fused.udf\ndef udf(\n    bounds: fused.types.Bounds = [-74.0, 40.7, -73.9, 40.8],  # the tile\n    n: int = 3,\n):\n    '''Doc.'''\n    return n\n",
        // `\\` line continuations where tree-sitter keeps them as nodes (found by the mutations).
        "import geopandas\\\n.tools as t\nfrom shapely\\\n.geometry import box\n",
        // Found by review: CRLF and `;` at the end of a UDF, stars away from their name,
        // f-string braces, a lone surrogate, parentheses around names, a lone tuple argument,
        // a generator passed to fused.load, a docstring closing on a `#` line.
        "import fused\r\n@fused.udf\r\ndef udf():\r\n    return 1  # c\r\n",
        "import fused\n@fused.udf\ndef udf():\n    return 1;  # c\n@fused.udf\ndef two(): return 2;\n",
        "import fused\n@fused.udf\ndef udf(*  # c\n    args, **\\\n kw):\n    pass\n",
        "import fused\n@fused.udf(engine=f'{{x}}', instance_type=rf'\\n{{')\ndef udf(s: str = '\\ud800'):\n    pass\n",
        "import fused\n@(fused).udf\ndef a():\n    return (fused.load)('x'), (fused).load('y')\n@(fused.udf)\ndef b(): pass\n",
        "import fused\n@fused.udf\ndef udf(a: dict[(str, int)] = None, b: tuple[()] = (), c: (list)[int] = None):\n    return fused.load('a' for _ in b)\n",
        "import fused\n@fused.udf\ndef udf():\n    \"\"\"Doc.\n# Notes\"\"\"\n    return fused.load('./x')\n",
        "from typing import Union\nimport fused\n@\\\nfused.udf(engine='lo' \\\n 'cal')\ndef\\\n udf(z: Union[int\\\n, str] = 1, s: str = 'a' \\\n 'b'):\n    return fused.load('./x' \\\n '/y')\n",
    ];
    for src in cases {
        match readers_agree(src) {
            Ok(true) => {}
            Ok(false) => panic!("the edge case does not parse cleanly:\n{src}"),
            Err(e) => panic!("{e}\nsource:\n{src}"),
        }
    }
}

/// A small deterministic generator, so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Fixtures changed the way code changes while it is edited (lines deleted, duplicated, moved,
/// re-indented, tokens dropped in): every variant is analysed without a panic, and every
/// variant that still parses cleanly is read alike by both readers.
#[test]
fn mutated_fixtures() {
    let mut files = Vec::new();
    python_files(&repo().join("fixtures"), &mut files);
    let snippets = [
        "(",
        ")",
        ":",
        ",",
        "@fused.udf\n",
        "fused.load('x')",
        " = None",
        "bounds: fused.types.Bounds",
        "from fused import udf as u\n",
        "@u(engine='local')\n",
        "async ",
        "*args, ",
        "**kw",
        "'''",
        "# noqa\n",
        "\\\n",
        "lambda: 1",
        "x: int | None = 1, ",
        ";",
        "(fused)",
        "f'{{x}}'",
        "'\\ud800'",
        "# x\"\"\"",
        "dict[(str, int)]",
    ];
    // FUSED_FUZZ_SEED / FUSED_FUZZ_ROUNDS explore further than the default run.
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let mut rng = Rng(env("FUSED_FUZZ_SEED", 0x2545_F491_4F6C_DD1D).max(1));
    let rounds = env("FUSED_FUZZ_ROUNDS", 60);
    let (mut clean, mut total) = (0, 0);
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for _ in 0..rounds {
            let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
            if lines.is_empty() {
                continue;
            }
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(lines.len());
                match rng.below(5) {
                    0 if lines.len() > 1 => {
                        lines.remove(i);
                    }
                    1 => {
                        let l = lines[i].clone();
                        lines.insert(rng.below(lines.len()), l);
                    }
                    2 => lines[i] = format!("    {}", lines[i]),
                    3 => {
                        let l = &lines[i];
                        let cut = (0..=l.len())
                            .filter(|&c| l.is_char_boundary(c))
                            .nth(rng.below(l.len() + 1))
                            .unwrap_or(0);
                        let s = snippets[rng.below(snippets.len())];
                        lines[i] = format!("{}{s}{}", &l[..cut], &l[cut..]);
                    }
                    _ => {
                        let j = rng.below(lines.len());
                        lines.swap(i, j);
                    }
                }
            }
            let variant = lines.concat();
            total += 1;
            let analysis = std::panic::catch_unwind(|| {
                fused_core::analyze_python(&variant, None, &fused_core::probe::NoProbe, None)
            });
            assert!(
                analysis.is_ok(),
                "{}: the analysis panicked on:\n{variant}",
                f.display()
            );
            match readers_agree(&variant) {
                Ok(true) => clean += 1,
                Ok(false) => {}
                Err(e) => panic!("{}: {e}\nvariant:\n{variant}", f.display()),
            }
        }
    }
    // Both kinds were exercised.
    assert!(
        clean > 200 && total - clean > 200,
        "{clean} clean of {total}"
    );
}
