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
    Utf8Bom = "FUSED005", "utf8-bom", Error, true,
        "A `.py` file that starts with a UTF-8 byte-order mark",
        "Python source files may start with a BOM, but the SDK compiles the code as a string, where U+FEFF is just a character: measured with fused 2.9.5, `fused.load(dir)` succeeds and `fused.run(udf, engine=\"local\", cache=False)` fails with `UdfRuntimeError: SyntaxError: invalid non-printable character U+FEFF (<udf udf>, line 1)`. Editors on Windows add it when saving as \"UTF-8 with BOM\". The safe fix removes it.";
    TooDeeplyNested = "FUSED006", "too-deeply-nested", Error, false,
        "More than 200 nested parentheses, brackets or braces",
        "CPython 3.11's tokenizer stops at 200 open brackets (`MAXLEVEL`): measured, 200 compile and 201 fail. fused 2.9.5 loads such a package and every run fails with `UdfRuntimeError: SyntaxError: too many nested parentheses`. Generated code (a literal nested data structure, a long chain of calls) hits it; build the value in steps or load it from a file (`json.loads`).";
    NoUdf = "FUSED010", "no-udf-function", Error, false,
        "A package's main file has no UDF function: none named by `entrypoint`, none decorated",
        "In a package the SDK runs the function meta.json's `entrypoint` names, decorated with `@fused.udf` or not. When the main file defines no such function and no decorated one either, `fused.load` still succeeds and the error only appears when the UDF runs. Define the function the package exposes (decorated with `@fused.udf`).";
    EntrypointNotFound = "FUSED011", "entrypoint-not-found", Error, true,
        "meta.json `entrypoint` names no function of the main file",
        "The SDK calls the function named by `job_config.steps[0].udf.entrypoint`, decorated or not. If the main file defines no function of that name the run fails. The fix sets the entrypoint to the file's only `@fused.udf` function.";
    UndefinedName = "FUSED012", "undefined-name", Error, false,
        "A name that is neither defined, imported nor a builtin, where the UDF runs",
        "The SDK executes the UDF's module with only `fused` injected into its globals: any other name must be imported or defined in the file, or the line that uses it raises `NameError`. This covers module level (the UDF fails when it loads), class bodies, and the entrypoint's own body, including comprehensions and lambdas written in it (the run fails when that line runs). Real UDFs call a helper that was renamed, forget `import json` on one branch, or use a name that only existed in a notebook. The analysis is pyflakes' (Ruff's F821, which a test holds it to): a name counts from the statement that binds it on (`print(x)` before `x = 1` fails), function bodies see everything their module binds, class attributes are not visible from methods, `del x` and `except ... as x` unbind, a `try` that catches `NameError` is respected. A file with `from x import *` is not judged (any name may come from it), and a file with a syntax error is not either (there is no exact AST to read; FUSED001 comes first). Functions nested in the entrypoint are FUSED014: they fail only if called.";
    UndecoratedEntrypoint = "FUSED013", "undecorated-entrypoint", Hint, true,
        "The package's entrypoint function is not decorated with `@fused.udf`",
        "A package folder does not need the decorator: fused 2.9.5 loads and runs the function meta.json's `entrypoint` names, with the same argument coercion and tile bounds (measured), and published packages do this. Every UDF rule applies to it all the same. Only `fused.load` of the `.py` file (or its code) alone looks for a decorated function, and fails without one (\"No function decorated with '@fused.udf' found\"). The fix adds `@fused.udf`; it is offered, not applied by `--fix` unless `--unsafe-fixes` is given, since the module's own calls of the function then call the UDF object.";
    UndefinedNameInHelper = "FUSED014", "undefined-name-in-helper", Warning, false,
        "An undefined name in a function other than the entrypoint",
        "The same analysis as FUSED012, in code that runs only when it is called: helper functions, methods, functions nested in the entrypoint. The call fails with `NameError`; a helper that is never called does not. Also reported here: an undefined name in an annotation Python does not evaluate (a string annotation, every annotation under `from __future__ import annotations`, a local variable's annotation), which type checkers and `typing.get_type_hints` fail on. Import or define the name, or fix its spelling.";
    UncoercedAnnotation = "FUSED020", "uncoerced-annotation", Warning, false,
        "An annotation the SDK does not coerce: the value arrives as a string",
        "Arguments reach a UDF as strings (over HTTP, and locally with the same coercion). The SDK converts only the types in its coercion table (`int`, `float`, `bool`, `str`, `list`, `dict`, `List[...]`, `Dict[...]`, `tuple`, `uuid.UUID`, `datetime`/`date`/`time`, `gpd.GeoDataFrame`, `pd.DataFrame`, shapely geometry, `fused.types.*`, and `Optional[T]`/`T | None` of those). A `Union` of two non-None types, a `Literal` of non-string values and unknown names are left alone: the parameter receives the raw string. Use a supported type, or annotate `str` and convert it yourself. (A `Union` that includes `str` is FUSED026: a string is what it declares.)";
    FutureAnnotations = "FUSED021", "future-annotations-uncoerced", Warning, false,
        "Under `from __future__ import annotations`, this annotation is no longer coerced",
        "`from __future__ import annotations` turns every annotation into a string, and the SDK (fused 2.9.5, measured) then coerces only `fused.types.*`, `datetime`/`date`/`time`, `uuid.UUID` and names containing `DataFrame`/`GeoDataFrame`. `int`, `float`, `bool`, `list`, `dict`, `tuple` and generics are passed as the raw string: `n: int` receives `\"4\"`. Remove the `__future__` import from the UDF's file, or convert the value inside the function.";
    IterableNotCoerced = "FUSED022", "iterable-not-coerced", Hint, false,
        "`Iterable` is documented as coerced but fused 2.9.5 does not coerce it",
        "The SDK documentation lists `Iterable` among the supported annotations, but fused 2.9.5 leaves the value as a string (an SDK bug). Annotate `list` or `List[...]` (parsed with `json.loads`) to get a list.";
    Unannotated = "FUSED023", "unannotated-parameter", Hint, false,
        "An unannotated parameter whose default is not a string receives a string",
        "Without an annotation the SDK does no coercion, so a value passed over HTTP or from the Workbench arrives as a string, whatever the default's type: `n=3` gives `3` by default and `\"3\"` when passed. Annotate it with the default's type (`n: int = 3`, `ids: list = [1]`) so the passed value is converted too. A parameter whose default is a string is not reported: it receives a string either way.";
    DefaultContradicts = "FUSED024", "default-contradicts-annotation", Warning, true,
        "A default value of another type than its annotation",
        "A default is used as it is, without coercion, while a passed value is coerced to the annotation: `year: int = \"2020\"` gives the string `\"2020\"` by default and the integer `2020` when passed. Make the default match the annotation (the fix does it where the literal converts exactly).";
    UnknownFusedType = "FUSED025", "unknown-fused-type", Error, false,
        "`fused.types.X` where `fused.types` has no `X`",
        "`fused.types` holds `Tile`, `Bounds`, `TileXYZ`, `TileGDF`, `ViewportGDF` and `Bbox`. A misspelt one (`fused.types.Bound`) is an attribute error the moment Python evaluates the annotation: measured with fused 2.9.5, `fused.load(dir)` succeeds and every run fails with `UdfRuntimeError: AttributeError: module 'fused.types' has no attribute 'Bound'`, whether it annotates the UDF, a helper, a nested function or a module-level variable (a variable annotation inside a function body is never evaluated and is not reported). Under `from __future__ import annotations` only the UDF's own annotations are evaluated (the SDK resolves its type hints), so only those are reported. `from fused.types import Bound` fails with ImportError. The message suggests the nearest type. It replaces FUSED020 on that annotation.";
    UnionWithStr = "FUSED026", "union-with-str", Info, false,
        "A `Union` that includes `str` receives the string as passed",
        "The SDK does not coerce a `Union` of two or more non-None types: the parameter receives the string it was given. When the Union includes `str` that is something it declares, so nothing breaks, but the other members never arrive: `Union[dict, str, None]` never receives a `dict` from a run. Parse the string yourself (`json.loads`) where another type is meant, or annotate the one type you want coerced.";
    BboxDeprecated = "FUSED030", "bbox-deprecated", Warning, true,
        "The tile receiver is named `bbox`, which the SDK deprecates",
        "In Tile mode the SDK passes the tile to the parameter named `bounds`, else `bbox` (deprecated, warned at every run), else the first parameter. Rename it `bounds` (the fix renames it everywhere in the function). Callers that pass `bbox=` by keyword must be updated, so the fix is offered, not applied by `--fix` unless `--unsafe-fixes` is given.";
    TileReceiverType = "FUSED031", "tile-receiver-type", Error, false,
        "The tile receiver's annotation cannot hold tile bounds",
        "The receiver (`bounds`, else `bbox`) gets the tile in the type its annotation names: `fused.types.Bounds` a list `[minx, miny, maxx, maxy]`, `fused.types.Bbox` a shapely box, `fused.types.Tile`/`TileGDF` a one-row GeoDataFrame with `x`, `y`, `z` columns and the tile polygon, `fused.types.TileXYZ` a `mercantile.Tile`. A tile run hands the SDK's coercion the tile GeoDataFrame, and for `int`, `float`, `bool`, `tuple`, `uuid.UUID` and `datetime`/`date`/`time` that raises (measured on fused 2.9.5: `int(gdf)` is a TypeError, `bool(gdf)` a ValueError), so every tile run crashes. `str`, `list` and `dict` do not crash but do not get bounds (FUSED034). Only functions that can receive a tile are checked: the package's entrypoint (decorated or not) and decorated functions the file passes to a tile run; not other UDFs of the file, and not a UDF meta.json marks File-only (`fused:udfType` `vector_single`/`vector_single_none`).";
    TileReceiverMangled = "FUSED034", "tile-receiver-mangled", Warning, false,
        "The tile receiver's annotation turns the bounds into something else",
        "A tile run hands the receiver the tile GeoDataFrame (one row: `x`, `y`, `z` and the tile polygon), converted by its annotation. With `bounds: str` the UDF receives `str()` of that GeoDataFrame, a printed table (`'      x     y   z    geometry\\n0  2411  3079  13  POLYGON ((-74.00391 40.71396, ...'`), not `\"[minx, miny, maxx, maxy]\"`; with `list` or `dict` it receives the GeoDataFrame itself (measured: `fused.run(udf, x=2411, y=3079, z=13, engine=\"local\", cache=False)` on fused 2.9.5). Nothing crashes, but the UDF does not get usable bounds. Annotate the receiver `fused.types.Bounds` (or `Bbox`, `Tile`, `TileGDF`, `TileXYZ`). Checked where FUSED031 is: only on functions that can receive a tile.";
    XyzParams = "FUSED032", "xyz-parameters", Warning, false,
        "Parameters `x`, `y` and `z` are clobbered by tile runs",
        "A tile run names its tile with `x`, `y`, `z`; a UDF that also takes all three as parameters does not receive them (the SDK warns that tile runs clobber them). Take the tile through `bounds: fused.types.TileXYZ` or rename the parameters.";
    ReservedParam = "FUSED033", "reserved-parameter-name", Warning, false,
        "A parameter name that clashes with a run keyword",
        "The keywords of `fused.run` (fused 2.9.5: `sync`, `engine`, `instance_type`, `type`, `max_retry`, `cache_max_age`, `cache`, `parameters`, `disk_size_gb`; `x`, `y`, `z` are FUSED032) and the names the SDK warns about (`self`, `arg_list`) cannot be passed to a UDF as keywords: `fused.run(udf, type=\"b\")` or `disk_size_gb=50` sets the run, and raises `ValueError`. Such a parameter can only be passed through `parameters={...}`. A warning, not an error: measured, a run that passes nothing uses the default and succeeds. Rename the parameter.";
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
    InvalidCacheKeyword = "FUSED046", "invalid-cache-keyword", Error, false,
        "`fused.cache(...)` with a keyword the SDK does not know",
        "`fused.cache` (fused 2.9.5) takes `cache_max_age`, `cache_folder_path`, `concurrent_lock_timeout`, `cache_reset`, `cache_storage`, `cache_key_exclude` and `cache_verbose`. Any other keyword, as `@fused.cache(...)`, `@cache(...)` after `from fused import cache`, or `fused.cache(fn, ...)`, fails on every run: measured, `fused.load(dir)` succeeds and `fused.run(udf, engine=\"local\", cache=False)` fails with `UdfRuntimeError: TypeError: cache() got an unexpected keyword argument 'path'`. The message names the right keyword (`path` → `cache_folder_path`, `reset` → `cache_reset`, else the nearest). An invalid `cache_max_age` string there is FUSED041 (`ValueError: Invalid time format '10 minutes'` at run).";
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
        "The SDK sends any string starting `https://github.com` to the Fused server, which resolves `https://github.com/<owner>/<repo>/tree/<ref>/<path>` and `.../blob/<ref>/<path>` (the SDK's own CLI help says \"GitHub tree or blob URL\"). A URL without `<owner>/<repo>`, without `tree/<ref>` or `blob/<ref>`, or another shape, and `github.com` URLs not starting `https://github.com/` (taken for a platform id), fail to load. This cannot be shown offline (the server resolves the URL), which is why it is an error from the URL's shape alone.";
    LoadGithubUnpinned = "FUSED054", "load-github-url-unpinned", Warning, false,
        "A GitHub URL not pinned to a commit",
        "A branch or tag ref (`tree/main/...`, `blob/main/...`) loads whatever the branch holds at run time, so the UDF can change under you. Pin it to a full commit SHA (`tree/<40 hex digits>/...`), as most published UDFs do.";
    LocalModuleUnresolved = "FUSED055", "local-module-unresolved", Error, false,
        "An import of a package-local module that is neither a declared header nor a file of the package",
        "fused 2.9.5 makes a package's helper modules importable only as the headers meta.json declares, under their `module_name` (measured: an undeclared `utils.py` beside the UDF is not importable either, whatever the working directory; that case is FUSED065). Fired in the main file and the header files, for an import not inside a `try`, when the module is not declared, no file of that name is in the package, and the name is package-local for sure: a header's file imported by its file name instead of its `module_name`, or one of the names packages give their helpers (`utils`, `util`, `helpers`, `helper`, `common`). Any other unknown name may be an installed library and is never flagged. Measured: `fused.load(dir)` succeeds and the run fails with `UdfRuntimeError: ModuleNotFoundError: No module named 'utils'`. Add the file and declare it in `headers`, or import the declared module name.";
    RelativeImport = "FUSED056", "relative-import", Error, true,
        "A relative import (`from .utils import f`) in a package's UDF file",
        "fused 2.9.5 runs the UDF file's code without a package around it (its globals have no `__name__`), so any relative import fails: measured, `from .utils import f` inside the UDF, or at the top of the file, makes the run fail with `UdfRuntimeError: KeyError: \"'__name__' not in globals\"` (at the top of the file, `fused.load` also warns that the UDF's globals could not be imported). The helper modules meta.json declares in `headers` are importable by their `module_name` as top-level modules: import them absolutely. Fired in the package's main file, for an import not inside a `try` (a relative import a `try` guards may be a deliberate fallback). The fix, for an import inside a function whose module is a declared header, removes the dot (`from utils import f`); at the top of the file there is no fix: measured, a header imported there is not importable when the UDF runs either, so the import belongs inside the UDF function.";
    HeaderImportAtTop = "FUSED057", "header-import-at-top-level", Error, false,
        "A helper module declared in `headers` is imported at the top of the UDF's file",
        "fused 2.9.5 makes the modules meta.json declares in `headers` importable while the UDF function runs, not while the file's top level runs: measured, `from utils import f` at the top of the UDF's file (outside the function) makes the run fail with `UdfRuntimeError: ModuleNotFoundError: No module named 'utils'`, in File and Tile mode, while the same import inside the UDF function runs. (`fused.load` itself may succeed: run from the package's folder, the file beside it is found then.) Fired in the package's main file for an import of a declared header outside every function, not inside a `try` and not under `if TYPE_CHECKING:` (never executed). Move the import into the UDF function. No automatic fix: other top-level code may use the names.";
    MetaInvalidJson = "FUSED060", "meta-invalid-json", Error, false,
        "meta.json is not valid JSON",
        "The SDK reads meta.json with Python's `json` module: comments, trailing commas, single quotes and an empty file all fail. The diagnostic points at the first error. `NaN`, `Infinity` and `-Infinity`, which Python's `json.dump` writes and `json.load` reads, are accepted.";
    MetaWrongShape = "FUSED061", "meta-wrong-shape", Error, false,
        "meta.json does not have the shape the SDK loads",
        "The SDK needs an object with `job_config.steps`, a list of exactly one step whose `type` is `\"udf\"` and whose `udf` object names an `entrypoint`. The smallest meta.json it loads: `{\"job_config\":{\"steps\":[{\"type\":\"udf\",\"udf\":{\"entrypoint\":\"udf\",\"source\":\"Sample_UDF.py\",\"headers\":[]}}]}}`.";
    MetaSourceMissing = "FUSED062", "meta-source-missing", Error, false,
        "meta.json `source` names a file that is not in the package",
        "The SDK reads the UDF's code from the file named by `udf.source`, next to meta.json. Rename the file or fix `source`.";
    MetaNameMismatch = "FUSED063", "meta-name-mismatch", Hint, true,
        "meta.json `name` differs from the package folder",
        "Style: the SDK never reads the folder's name (a folder, name and file that all differ load and run), but a published package is a folder named after its UDF (`Sample_UDF/Sample_UDF.py`, `\"name\": \"Sample_UDF\"`), and when they differ the name the Workbench shows and the folder others load disagree. `metadata` keys `fused:name` and `fused:slug` are checked too (a renamed folder leaves them stale). The fix sets them all to the folder's name; since `fused:slug` is the UDF's identity on the platform, it is offered, not applied by `--fix` unless `--unsafe-fixes` is given.";
    MetaHeaderMissing = "FUSED064", "meta-header-missing", Error, false,
        "A header module's `source_file` is not in the package",
        "Each entry of `udf.headers` (`{\"module_name\": \"utils\", \"source_file\": \"utils.py\"}`) becomes an importable module; the SDK fails to load the package when its file is missing.";
    UtilsNotDeclared = "FUSED065", "utils-not-declared", Error, true,
        "A helper module (`utils.py`) is imported but not declared in `headers`",
        "The SDK makes helper modules importable only when meta.json lists them in `udf.headers`. A `utils.py` that the UDF (or a header module) imports but that is not declared is not importable, even though it sits next to the file: measured with fused 2.9.5, the run fails with `ModuleNotFoundError` when the import runs, whatever the working directory. A module file nothing imports is not reported. The fix adds `{\"module_name\": \"utils\", \"source_file\": \"utils.py\"}`.";
    InlineCodeNoSource = "FUSED066", "inline-code-without-source", Warning, false,
        "meta.json holds the code inline (`code`) with no `source` file",
        "A newer exporter writes the code into meta.json. fused-ls checks that code, but fused 2.9.5 cannot load such a package (`fused.load` raises `KeyError: 'source'`): add a `<name>.py` holding the code and set `source` to it. When a `.py` file beside meta.json already holds the same code, it is checked instead (each diagnostic once) and the message names it.";
    MetaDuplicateKey = "FUSED067", "meta-duplicate-key", Warning, false,
        "A key given twice in one meta.json object",
        "JSON does not forbid it, and Python's `json`, which the SDK reads meta.json with, keeps the last occurrence: the earlier one is silently ignored, while a person (or a tool reading the first) takes it for the value in force. fused-ls reads the last one too, in `check`, `sync` and `run`. Remove the earlier key, or merge the two.";
    ReadmeMissing = "FUSED070", "readme-missing", Warning, false,
        "A package without README.md",
        "A published package carries `README.md` (or `README.MD`) saying what the UDF does and what its parameters mean. Add one.";
    MainFileName = "FUSED071", "main-file-not-named-after-package", Hint, false,
        "The package's main file is not named after the UDF (`<name>.py`)",
        "Style: the SDK reads the main file from meta.json's `source`, whatever its name, but its own `udf.to_directory()` writes `<name>.py`, after meta.json's `name`, and tools and people look for that file. Rename the file (and `source`) after `name`.";
}

impl Rule {
    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::ALL
            .iter()
            .copied()
            .find(|r| r.code().eq_ignore_ascii_case(code) || r.name() == code)
    }

    /// The anchor of the rule's section in docs/rules.md (`fused020-uncoerced-annotation`):
    /// the id GitHub and most Markdown renderers give the heading `## FUSED020 `name``.
    pub fn doc_anchor(self) -> String {
        format!(
            "{}-{}",
            self.code().to_lowercase(),
            self.name().replace('.', "")
        )
    }

    /// The rule's documentation on the web: [`RULES_DOC_URL`] and the rule's anchor. The CLI's
    /// JSON `url`, SARIF `helpUri` and the server's `codeDescription.href` all use this.
    pub fn doc_url(self) -> String {
        format!("{RULES_DOC_URL}#{}", self.doc_anchor())
    }

    /// The rule's documentation in Markdown, as `fused-ls rule CODE` prints it.
    pub fn doc_markdown(self) -> String {
        let sdk = crate::sdk_evidence::describe(self)
            .map(|d| format!("- fused 2.9.5: {d}\n"))
            .unwrap_or_default();
        format!(
            "## {code} `{name}`\n\n{summary}.\n\n- Severity: {sev}\n- Fix: {fix}\n{sdk}\n{rationale}\n",
            code = self.code(),
            name = self.name(),
            summary = self.summary(),
            sev = self.severity().as_str(),
            fix = if self.fixable() { "available" } else { "none" },
            rationale = self.rationale(),
        )
    }
}

/// Where docs/rules.md is published: one constant, so every link to a rule moves together.
pub const RULES_DOC_URL: &str = "https://github.com/fusedio/fused-ls/blob/main/docs/rules.md";

/// `docs/rules.md`, generated.
pub fn rules_markdown() -> String {
    let mut out = String::from(
        "# fused-ls rules\n\n<!-- Generated by `fused-ls rules --markdown`; edit server/crates/fused_core/src/registry.rs instead. -->\n\nSuppress one on a line with `# noqa: FUSEDnnn` (bare `# noqa` suppresses all), or select them with `--select`/`--ignore`.\n\n| code | name | severity | fix | summary |\n|---|---|---|---|---|\n",
    );
    for r in Rule::ALL {
        out.push_str(&format!(
            "| [{c}](#{l}) | `{n}` | {s} | {f} | {sum} |\n",
            c = r.code(),
            l = r.doc_anchor(),
            n = r.name(),
            s = r.severity().as_str(),
            f = if r.fixable() { "yes" } else { "" },
            sum = r.summary().replace('|', "\\|"),
        ));
    }
    out.push_str(
        "\n## Errors mean the SDK fails\n\nAn error is reported only where fused 2.9.5 itself fails, at `fused.load` or at the run; a warning is something it does silently wrong; style is a hint at most. For every error-level rule, the SDK test suite (`server/crates/fused_ls/tests/sdk_errors.rs`) loads and runs the fixture named here with `fused.load(dir)` and `fused.run(udf, engine=\"local\", cache=False)` and checks that it fails this way.\n\n| rule | what fused 2.9.5 does |\n|---|---|\n",
    );
    for r in Rule::ALL {
        if let Some(d) = crate::sdk_evidence::describe(*r) {
            out.push_str(&format!(
                "| {c} `{n}` | {d} |\n",
                c = r.code(),
                n = r.name(),
                d = d.replace('|', "\\|").replace('\n', " ")
            ));
        }
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

    #[test]
    fn doc_urls_point_at_the_generated_headings() {
        let md = rules_markdown();
        for r in Rule::ALL {
            // The heading GitHub turns into this anchor: lower case, `.` dropped.
            let heading = format!("## {} `{}`", r.code(), r.name());
            assert!(md.contains(&heading), "{heading}");
            let slug: String = heading[3..]
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect();
            assert_eq!(r.doc_anchor(), slug);
            assert!(r.doc_url().ends_with(&format!("rules.md#{slug}")));
        }
        assert_eq!(
            Rule::UncoercedAnnotation.doc_url(),
            format!("{RULES_DOC_URL}#fused020-uncoerced-annotation")
        );
    }
}
