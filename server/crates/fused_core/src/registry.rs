//! The one list of rules. `fused-ls rules`, `fused-ls rule CODE`, the editor's hovers and
//! `docs/rules.md` are all generated from this table; a test fails when the docs are stale.

use crate::diagnostic::Severity;

macro_rules! rules {
    ($( $variant:ident = $code:literal, $name:literal, $sev:ident, $fix:literal, $summary:literal, $rationale:literal; )*) => {
        /// A rule. Its code (`FUSED001`) is stable: never renumber or reuse one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule { $( $variant, )* }

        impl Rule {
            pub const ALL: &'static [Rule] = &[ $( Rule::$variant, )* ];

            pub fn code(self) -> &'static str {
                match self { $( Rule::$variant => $code, )* }
            }
            /// A kebab-case name, for people.
            pub fn name(self) -> &'static str {
                match self { $( Rule::$variant => $name, )* }
            }
            pub fn severity(self) -> Severity {
                match self { $( Rule::$variant => Severity::$sev, )* }
            }
            /// Whether the rule can offer a fix (for some of its diagnostics).
            pub fn fixable(self) -> bool {
                match self { $( Rule::$variant => $fix, )* }
            }
            /// One line: what the rule finds.
            pub fn summary(self) -> &'static str {
                match self { $( Rule::$variant => $summary, )* }
            }
            /// Why it matters, with what to do; Markdown.
            pub fn rationale(self) -> &'static str {
                match self { $( Rule::$variant => $rationale, )* }
            }
        }
    };
}

rules! {
    SyntaxError = "FUSED001", "syntax-error", Error, false,
        "Python syntax error (Python 3.11 grammar)",
        "The Fused SDK supports Python >=3.8,<3.12. `fused.load` is lenient and loads a package whose code does not parse; the error only surfaces when the UDF runs. A non-breaking space (U+00A0) pasted into code is a syntax error often seen in the wild.";
    NewerSyntax = "FUSED002", "syntax-newer-than-3.11", Error, false,
        "Syntax that needs Python 3.12 or newer",
        "The SDK runs on Python <3.12, so PEP 695 `type` aliases and generic `def f[T]()`, PEP 701 f-strings and other syntax added after 3.11 fail where the UDF runs, even if your local interpreter accepts them. Rewrite it with 3.11 syntax (`typing.TypeVar`, `TypeAlias`, f-strings without nested same quotes).";
    NotText = "FUSED003", "not-utf8-text", Error, false,
        "A Python or JSON file that is binary or not UTF-8",
        "Python source and meta.json must be UTF-8 text. A binary file (holding NUL bytes) or one in another encoding cannot be parsed by the SDK; re-save it as UTF-8.";
    Unreadable = "FUSED004", "unreadable-file", Error, false,
        "A file that could not be read",
        "The file exists but reading it failed (permissions, a dangling symlink, a device). Nothing in it was checked; fix the file system problem named in the message.";
    NoUdf = "FUSED010", "no-udf-function", Error, false,
        "A package's main file has no `@fused.udf` function",
        "`fused.load` succeeds on such a package, and the error only appears when it runs. Decorate the function the package exposes with `@fused.udf`.";
    EntrypointNotFound = "FUSED011", "entrypoint-not-found", Error, true,
        "meta.json `entrypoint` names no `@fused.udf` function",
        "The SDK calls the function named by `job_config.steps[0].udf.entrypoint`. If no decorated function has that name the run fails. The fix sets the entrypoint to the file's only UDF.";
    UndefinedName = "FUSED012", "undefined-name", Error, false,
        "A name that is neither defined, imported nor a builtin, where the UDF runs",
        "The SDK executes the UDF's module with only `fused` injected into its globals: any other name must be imported or defined in the file, or the line that uses it raises `NameError`. This covers module level (the UDF fails when it loads), class bodies, and the entrypoint's own body, including comprehensions and lambdas written in it (the run fails when that line runs). Real UDFs call a helper that was renamed, forget `import json` on one branch, or use a name that only existed in a notebook. The analysis is pyflakes' (Ruff's F821, which a test holds it to): a name counts from the statement that binds it on (`print(x)` before `x = 1` fails), function bodies see everything their module binds, class attributes are not visible from methods, `del x` and `except ... as x` unbind, a `try` that catches `NameError` is respected. A file with `from x import *` is not judged (any name may come from it), and a file with a syntax error is not either (there is no exact AST to read; FUSED001 comes first). Functions nested in the entrypoint are FUSED014: they fail only if called.";
    UndefinedNameInHelper = "FUSED014", "undefined-name-in-helper", Warning, false,
        "An undefined name in a function other than the entrypoint",
        "The same analysis as FUSED012, in code that runs only when it is called: helper functions, methods, functions nested in the entrypoint. The call fails with `NameError`; a helper that is never called does not. Also reported here: an undefined name in an annotation Python does not evaluate (a string annotation, every annotation under `from __future__ import annotations`, a local variable's annotation), which type checkers and `typing.get_type_hints` fail on. Import or define the name, or fix its spelling.";
    UncoercedAnnotation = "FUSED020", "uncoerced-annotation", Warning, false,
        "An annotation the SDK does not coerce: the value arrives as a string",
        "Arguments reach a UDF as strings (over HTTP, and locally with the same coercion). The SDK converts only the types in its coercion table (`int`, `float`, `bool`, `str`, `list`, `dict`, `List[...]`, `Dict[...]`, `tuple`, `uuid.UUID`, `datetime`/`date`/`time`, `gpd.GeoDataFrame`, `pd.DataFrame`, shapely geometry, `fused.types.*`, and `Optional[T]`/`T | None` of those). A `Union` of two non-None types, a `Literal` of non-string values and unknown names are left alone: the parameter receives the raw string. Use a supported type, or annotate `str` and convert it yourself.";
    FutureAnnotations = "FUSED021", "future-annotations-uncoerced", Warning, false,
        "Under `from __future__ import annotations`, this annotation is no longer coerced",
        "`from __future__ import annotations` turns every annotation into a string, and the SDK (fused 2.9.5, measured) then coerces only `fused.types.*`, `datetime`/`date`/`time`, `uuid.UUID` and names containing `DataFrame`/`GeoDataFrame`. `int`, `float`, `bool`, `list`, `dict`, `tuple` and generics are passed as the raw string: `n: int` receives `\"4\"`. Remove the `__future__` import from the UDF's file, or convert the value inside the function.";
    IterableNotCoerced = "FUSED022", "iterable-not-coerced", Hint, false,
        "`Iterable` is documented as coerced but fused 2.9.5 does not coerce it",
        "The SDK documentation lists `Iterable` among the supported annotations, but fused 2.9.5 leaves the value as a string (an SDK bug). Annotate `list` or `List[...]` (parsed with `json.loads`) to get a list.";
    Unannotated = "FUSED023", "unannotated-parameter", Hint, false,
        "An unannotated parameter receives a string",
        "Without an annotation the SDK does no coercion, so a value passed over HTTP or from the Workbench arrives as a string. Annotate it (`str` if a string is what you want) so readers and the SDK agree.";
    DefaultContradicts = "FUSED024", "default-contradicts-annotation", Warning, true,
        "A default value of another type than its annotation",
        "A default is used as it is, without coercion, while a passed value is coerced to the annotation: `year: int = \"2020\"` gives the string `\"2020\"` by default and the integer `2020` when passed. Make the default match the annotation (the fix does it where the literal converts exactly).";
    BboxDeprecated = "FUSED030", "bbox-deprecated", Warning, true,
        "The tile receiver is named `bbox`, which the SDK deprecates",
        "In Tile mode the SDK passes the tile to the parameter named `bounds`, else `bbox` (deprecated, warned at every run), else the first parameter. Rename it `bounds` (the fix renames it everywhere in the function). Callers that pass `bbox=` by keyword must be updated, so the fix is offered, not applied by `--fix` unless `--unsafe-fixes` is given.";
    TileReceiverType = "FUSED031", "tile-receiver-type", Error, false,
        "The tile receiver's annotation cannot hold tile bounds",
        "The receiver (`bounds`, else `bbox`) gets the tile in the type its annotation names: `fused.types.Bounds` a list `[minx, miny, maxx, maxy]`, `fused.types.Bbox` a shapely box, `fused.types.Tile`/`TileGDF` a one-row GeoDataFrame with `x`, `y`, `z` columns and the tile polygon, `fused.types.TileXYZ` a `mercantile.Tile`. `int`, `float`, `tuple`, `uuid.UUID` and `datetime`/`date`/`time` crash every tile run (measured: the SDK's coercion of the bounds list raises). `str`, `bool` and `dict` do not crash but mangle the bounds (FUSED034).";
    TileReceiverMangled = "FUSED034", "tile-receiver-mangled", Warning, false,
        "The tile receiver's annotation turns the bounds into something else",
        "With `bounds: str` a tile run passes the string `\"[minx, miny, maxx, maxy]\"`, with `bool` it passes `True`, with `dict` the list itself (measured on fused 2.9.5's `coerce_arg`). Nothing crashes, but the UDF does not get usable bounds. Annotate the receiver `fused.types.Bounds` (or `Bbox`, `Tile`, `TileGDF`, `TileXYZ`).";
    XyzParams = "FUSED032", "xyz-parameters", Warning, false,
        "Parameters `x`, `y` and `z` are clobbered by tile runs",
        "A tile run names its tile with `x`, `y`, `z`; a UDF that also takes all three as parameters does not receive them (the SDK warns that tile runs clobber them). Take the tile through `bounds: fused.types.TileXYZ` or rename the parameters.";
    ReservedParam = "FUSED033", "reserved-parameter-name", Warning, false,
        "A parameter name that clashes with a run keyword",
        "`self`, `arg_list`, `engine`, `instance_type`, `cache_max_age` and `cache` are keywords of `fused.run`; a UDF parameter with one of these names cannot be passed through `fused.run` and the SDK warns about it. Rename the parameter.";
    UnknownDecoratorKeyword = "FUSED040", "unknown-decorator-keyword", Error, false,
        "`@fused.udf(...)` with a keyword the SDK does not know",
        "`fused.udf` accepts `name`, `cache_max_age`, `engine`, `instance_type`, `disk_size_gb`, `region`, `default_parameters` and `headers`. Any other keyword fails when the package loads: `TypeError: udf() got an unexpected keyword argument`.";
    InvalidCacheMaxAge = "FUSED041", "invalid-cache-max-age", Error, true,
        "`cache_max_age` does not match `^\\d+[smhd]$`",
        "The SDK validates `cache_max_age` with a pydantic model: a number followed by one unit, `s`, `m`, `h` or `d` (`\"30m\"`, `\"2d\"`). `\"10 minutes\"` fails with a ValidationError when the package loads. The fix rewrites spelled-out units (`\"10 minutes\"` → `\"10m\"`).";
    InvalidEngine = "FUSED042", "invalid-engine", Error, false,
        "`engine` is not an engine or instance type the SDK accepts",
        "`engine` takes `\"local\"`, `\"remote\"`, `\"realtime\"`, or a batch instance type from the SDK's whitelist (`m5.large` … `m5.16xlarge`, the same for `r5.`, `t3.small` … `t3.2xlarge`, `c2-standard-4/8/16/30/60`, `m3-ultramem-32/64`, `agent`, `small`, `medium`, `large`). Anything else raises `ValueError: Invalid engine specified`.";
    InstanceTypeDeprecated = "FUSED043", "instance-type-deprecated", Warning, true,
        "`instance_type` is deprecated: use `engine`",
        "The SDK warns \"use `engine` instead\" at every load. The fix renames the keyword when `engine` is not also given.";
    DefaultParametersInvalid = "FUSED044", "default-parameters-invalid", Error, false,
        "`default_parameters` is not a dict",
        "`default_parameters` must be a dict mapping parameter names to values; anything else fails when the package loads.";
    DefaultParametersUnknown = "FUSED045", "default-parameters-unknown-name", Warning, false,
        "`default_parameters` names a parameter the UDF does not have",
        "A default for a parameter that does not exist is never used (unless the UDF takes `**kwargs`). Check the spelling against the function's parameters.";
    LoadPathMissing = "FUSED050", "load-path-missing", Error, false,
        "`fused.load` of a local path that does not exist",
        "fused-ls resolves a relative path from the folder of the file that calls `fused.load`, where a run of the package starts (the SDK itself resolves it against the process's working directory). A missing local path is not an error the SDK reports clearly: it then takes the string for a platform id and waits about 30 s for a login before failing.";
    LoadNotPackage = "FUSED051", "load-not-a-package", Error, false,
        "`fused.load` of a local folder that is not a UDF package",
        "A UDF package is a folder holding `meta.json`. Without it the SDK takes the string for a Fused platform id and hangs about 30 s waiting for a login. Point at the package folder, or create its meta.json.";
    LoadZipNotPackage = "FUSED052", "load-zip-not-a-package", Error, false,
        "`fused.load` of a `.zip` that is not a UDF package",
        "The zip must hold a UDF package: a `meta.json` at its root or in its single top folder. The zip named here is missing, unreadable or holds no meta.json.";
    LoadGithubMalformed = "FUSED053", "load-github-url-malformed", Error, false,
        "A GitHub URL `fused.load` cannot resolve",
        "The SDK resolves GitHub URLs of the form `https://github.com/<owner>/<repo>/tree/<ref>/<path>`. `blob/` URLs, URLs without `tree/<ref>`, and other shapes fail to load.";
    LoadGithubUnpinned = "FUSED054", "load-github-url-unpinned", Warning, false,
        "A GitHub URL not pinned to a commit",
        "A branch or tag ref (`tree/main/...`) loads whatever the branch holds at run time, so the UDF can change under you. Pin it to a full commit SHA (`tree/<40 hex digits>/...`), as most published UDFs do.";
    MetaInvalidJson = "FUSED060", "meta-invalid-json", Error, false,
        "meta.json is not valid JSON",
        "The SDK reads meta.json with a strict JSON parser: comments, trailing commas, single quotes and an empty file all fail. The diagnostic points at the first error.";
    MetaWrongShape = "FUSED061", "meta-wrong-shape", Error, false,
        "meta.json does not have the shape the SDK loads",
        "The SDK needs an object with `job_config.steps`, a list of exactly one step whose `type` is `\"udf\"` and whose `udf` object names an `entrypoint`. The smallest meta.json it loads: `{\"job_config\":{\"steps\":[{\"type\":\"udf\",\"udf\":{\"entrypoint\":\"udf\",\"source\":\"Sample_UDF.py\",\"headers\":[]}}]}}`.";
    MetaSourceMissing = "FUSED062", "meta-source-missing", Error, false,
        "meta.json `source` names a file that is not in the package",
        "The SDK reads the UDF's code from the file named by `udf.source`, next to meta.json. Rename the file or fix `source`.";
    MetaNameMismatch = "FUSED063", "meta-name-mismatch", Warning, true,
        "meta.json `name` differs from the package folder",
        "A published package is a folder named after its UDF (`Sample_UDF/Sample_UDF.py`, `\"name\": \"Sample_UDF\"`). When they differ, the name the Workbench shows, the folder others load and the file disagree. `metadata` keys `fused:name` and `fused:slug` are checked too (a renamed folder leaves them stale). The fix sets them all to the folder's name.";
    MetaHeaderMissing = "FUSED064", "meta-header-missing", Error, false,
        "A header module's `source_file` is not in the package",
        "Each entry of `udf.headers` (`{\"module_name\": \"utils\", \"source_file\": \"utils.py\"}`) becomes an importable module; the SDK fails to load the package when its file is missing.";
    UtilsNotDeclared = "FUSED065", "utils-not-declared", Warning, true,
        "`utils.py` is present but not declared in `headers`",
        "The SDK makes helper modules importable only when meta.json lists them in `udf.headers`. A `utils.py` that is not declared works on your machine (it sits next to the file) but not when the package is loaded elsewhere. The fix adds `{\"module_name\": \"utils\", \"source_file\": \"utils.py\"}`.";
    InlineCodeNoSource = "FUSED066", "inline-code-without-source", Hint, false,
        "meta.json holds the code inline (`code`) with no `source` file",
        "A newer exporter writes the code into meta.json. fused-ls checks that code, but fused 2.9.5 cannot load such a package: add a `<name>.py` holding the code and set `source` to it.";
    ReadmeMissing = "FUSED070", "readme-missing", Warning, false,
        "A package without README.md",
        "A published package carries `README.md` (or `README.MD`) saying what the UDF does and what its parameters mean. Add one.";
    MainFileName = "FUSED071", "main-file-not-named-after-package", Warning, false,
        "The package's main file is not named after the package",
        "The SDK's own `to_directory()` writes `<name>/<name>.py`; tools and people look for that file. Rename the file (and `source` in meta.json) after the folder.";
}

impl Rule {
    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::ALL
            .iter()
            .copied()
            .find(|r| r.code().eq_ignore_ascii_case(code) || r.name() == code)
    }

    /// The rule's documentation in Markdown, as `fused-ls rule CODE` prints it.
    pub fn doc_markdown(self) -> String {
        format!(
            "## {code} `{name}`\n\n{summary}.\n\n- Severity: {sev}\n- Fix: {fix}\n\n{rationale}\n",
            code = self.code(),
            name = self.name(),
            summary = self.summary(),
            sev = self.severity().as_str(),
            fix = if self.fixable() { "available" } else { "none" },
            rationale = self.rationale(),
        )
    }
}

/// `docs/rules.md`, generated.
pub fn rules_markdown() -> String {
    let mut out = String::from(
        "# fused-ls rules\n\n<!-- Generated by `fused-ls rules --markdown`; edit server/crates/fused_core/src/registry.rs instead. -->\n\nSuppress one on a line with `# noqa: FUSEDnnn` (bare `# noqa` suppresses all), or select them with `--select`/`--ignore`.\n\n| code | name | severity | fix | summary |\n|---|---|---|---|---|\n",
    );
    for r in Rule::ALL {
        out.push_str(&format!(
            "| [{c}](#{l}) | `{n}` | {s} | {f} | {sum} |\n",
            c = r.code(),
            l = r.code().to_lowercase() + "-" + &r.name().replace('.', ""),
            n = r.name(),
            s = r.severity().as_str(),
            f = if r.fixable() { "yes" } else { "" },
            sum = r.summary().replace('|', "\\|"),
        ));
    }
    for r in Rule::ALL {
        out.push('\n');
        out.push_str(&r.doc_markdown());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for r in Rule::ALL {
            assert!(seen.insert(r.code()), "duplicate {}", r.code());
            assert!(r.code().starts_with("FUSED") && r.code().len() == 8);
            assert_eq!(Rule::from_code(r.code()), Some(*r));
        }
    }
}
