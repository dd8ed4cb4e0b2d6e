//! What fused 2.9.5 does on each error-level rule's fixture: the evidence that an error means the
//! SDK fails.
//!
//! Each entry names a fixture of this repository and what the real SDK raised when the fixture
//! was loaded with `fused.load(dir)` and run with `fused.run(udf, engine="local", cache=False)`
//! (a tile run where said). The SDK test suite (`fused_ls/tests/sdk_errors.rs`) replays every
//! entry against the cached fused 2.9.5 virtualenv and fails when the SDK does not fail as
//! written here, or when an error-level rule has no entry. The rule docs print the table, so a
//! reader sees what the SDK does without running it.

use crate::registry::Rule;

/// Where the SDK fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `fused.load(dir)` raises.
    Load,
    /// `fused.load` succeeds (it is lenient: it downgrades top-level failures to warnings) and
    /// `fused.run` raises.
    Run,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Load => "load",
            Stage::Run => "run",
        }
    }
}

/// One measured failure.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// The fixture, relative to the repository root: a package folder.
    pub fixture: &'static str,
    /// Run it as a tile (x=2411, y=3079, z=13) rather than a file.
    pub tile: bool,
    pub stage: Stage,
    /// A piece of `"{ExceptionClass}: {message}"` as the SDK reports it. A run failure is
    /// wrapped by the SDK as `UdfRuntimeError` whose message starts with the inner class.
    pub raises: &'static str,
    /// How long the SDK takes to fail, when that is the point (it hangs before failing).
    pub slow: bool,
}

/// The evidence for a rule.
#[derive(Debug, Clone, Copy)]
pub enum Evidence {
    /// Shown by running the SDK on these fixtures.
    Measured(&'static [Case]),
    /// Cannot be shown offline; why the rule is an error anyway.
    NotOffline(&'static str),
}

const fn run(fixture: &'static str, raises: &'static str) -> Case {
    Case {
        fixture,
        tile: false,
        stage: Stage::Run,
        raises,
        slow: false,
    }
}

const fn load(fixture: &'static str, raises: &'static str) -> Case {
    Case {
        fixture,
        tile: false,
        stage: Stage::Load,
        raises,
        slow: false,
    }
}

/// The evidence for `rule`; `None` for rules below error severity that have none recorded.
pub fn evidence(rule: Rule) -> Option<Evidence> {
    use Evidence::*;
    Some(match rule {
        Rule::SyntaxError => Measured(const { &[
            run(
                "fixtures/broken/Syntax_Error_Unclosed",
                "SyntaxError: '(' was never closed",
            ),
            run(
                "fixtures/broken/Nbsp_In_Code",
                "SyntaxError: invalid non-printable character U+00A0",
            ),
        ] }),
        Rule::NewerSyntax => Measured(const { &[
            run(
                "fixtures/broken/Newer_Syntax_Type_Alias",
                "SyntaxError: invalid syntax",
            ),
            run(
                "fixtures/broken/Newer_Syntax_Fstring",
                "SyntaxError: f-string: unmatched '['",
            ),
        ] }),
        Rule::NotText => Measured(const { &[
            load(
                "fixtures/broken/Not_Utf8_Latin1",
                "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe3",
            ),
            load(
                "fixtures/broken/Meta_Not_Utf8",
                "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xf3",
            ),
        ] }),
        Rule::Unreadable => Measured(const { &[load(
            "fixtures/broken/Unreadable_Dangling_Symlink",
            "ValueError: Expected a file to be at PosixPath('utils.py')",
        )] }),
        Rule::Utf8Bom => Measured(const {
            &[run(
                "fixtures/broken/Bom_At_Start",
                "SyntaxError: invalid non-printable character U+FEFF",
            )]
        }),
        Rule::TooDeeplyNested => Measured(const {
            &[run(
                "fixtures/broken/Too_Deeply_Nested",
                "SyntaxError: too many nested parentheses",
            )]
        }),
        Rule::NoUdf => Measured(const {
            &[run(
                "fixtures/broken/No_Udf_Function",
                "NameError: Could not find udf",
            )]
        }),
        Rule::EntrypointNotFound => Measured(const { &[run(
            "fixtures/broken/Entrypoint_Renamed",
            "NameError: Could not find udf",
        )] }),
        Rule::UndefinedName => Measured(const {
            &[run(
                "fixtures/broken/Undefined_Name",
                "NameError: name 'load_buildings' is not defined",
            )]
        }),
        Rule::UnknownFusedType => Measured(const {
            &[run(
                "fixtures/broken/Unknown_Fused_Type",
                "AttributeError: module 'fused.types' has no attribute 'Bound'",
            )]
        }),
        Rule::TileReceiverType => Measured(const { &[Case {
            fixture: "fixtures/broken/Bounds_Int",
            tile: true,
            stage: Stage::Run,
            raises: "TypeError: int() argument must be a string, a bytes-like object or a real number, not 'GeoDataFrame'",
            slow: false,
        }] }),
        Rule::UnknownDecoratorKeyword => Measured(const { &[run(
            "fixtures/broken/Unknown_Decorator_Keyword",
            "TypeError: udf() got an unexpected keyword argument 'timeout'",
        )] }),
        Rule::InvalidCacheMaxAge => Measured(const { &[load(
            "fixtures/broken/Bad_Cache_Max_Age",
            "ValidationError: 1 validation error for Udf",
        )] }),
        Rule::InvalidEngine => Measured(const { &[run(
            "fixtures/broken/Bad_Engine",
            "ValueError: Invalid engine specified",
        )] }),
        Rule::DefaultParametersInvalid => Measured(const { &[run(
            "fixtures/broken/Default_Parameters_List",
            "Input should be a valid dictionary",
        )] }),
        Rule::InvalidCacheKeyword => Measured(const {
            &[run(
                "fixtures/broken/Cache_Path_Keyword",
                "TypeError: cache() got an unexpected keyword argument 'path'",
            )]
        }),
        Rule::LoadPathMissing => Measured(const { &[Case {
            fixture: "fixtures/broken/Load_Missing_Path",
            tile: false,
            stage: Stage::Run,
            raises: "TimeoutError: Authentication timed out after 30 seconds",
            slow: true,
        }] }),
        Rule::LoadNotPackage => Measured(const { &[run(
            "fixtures/broken/Load_Not_Package",
            "ValueError: Expected a file to be at PosixPath('helpers/meta.json')",
        )] }),
        Rule::LoadZipNotPackage => Measured(const { &[run(
            "fixtures/broken/Load_Bad_Zip",
            "BadZipFile: File is not a zip file",
        )] }),
        Rule::LoadGithubMalformed => NotOffline(
            "The SDK sends every `https://github.com...` string to the Fused server, which resolves it; offline the run fails with a `ConnectionError` before the URL is judged, so no test here can show the server refusing it. The shapes FUSED053 reports are those the server and the SDK's own CLI (\"GitHub tree or blob URL\") do not accept.",
        ),
        Rule::LocalModuleUnresolved => Measured(const {
            &[run(
                "fixtures/broken/Local_Module_Missing",
                "ModuleNotFoundError: No module named 'utils'",
            )]
        }),
        Rule::RelativeImport => Measured(const { &[run(
            "fixtures/broken/Relative_Import",
            "KeyError: \"'__name__' not in globals\"",
        )] }),
        Rule::HeaderImportAtTop => Measured(const { &[run(
            "fixtures/broken/Header_Import_At_Top",
            "ModuleNotFoundError: No module named 'utils'",
        )] }),
        Rule::MetaInvalidJson => Measured(const { &[
            load(
                "fixtures/broken/Meta_Invalid_Json",
                "JSONDecodeError: Expecting value: line 30 column 13",
            ),
            load(
                "fixtures/broken/Meta_Empty",
                "JSONDecodeError: Expecting value: line 1 column 1",
            ),
        ] }),
        Rule::MetaWrongShape => Measured(const { &[
            load(
                "fixtures/broken/Meta_Array",
                "Input should be a valid dictionary or instance of MetaJson",
            ),
            load(
                "fixtures/broken/Meta_Two_Steps",
                "ValueError: meta.json is not in expected format: len(meta.job_config.steps)=2",
            ),
            load("fixtures/broken/Meta_No_Entrypoint", "Field required"),
        ] }),
        Rule::MetaSourceMissing => Measured(const { &[load(
            "fixtures/broken/Meta_Source_Missing",
            "ValueError: Expected a file to be at PosixPath('Meta_Source_Missing_v1.py')",
        )] }),
        Rule::UtilsNotDeclared => Measured(const { &[run(
            "fixtures/broken/Utils_Not_Declared",
            "ModuleNotFoundError: No module named 'utils'",
        )] }),
        Rule::MetaHeaderMissing => Measured(const { &[load(
            "fixtures/broken/Meta_Header_Missing",
            "ValueError: Expected a file to be at PosixPath('utils.py')",
        )] }),
        _ => return None,
    })
}

/// One line for the docs: what the SDK does.
pub fn describe(rule: Rule) -> Option<String> {
    Some(match evidence(rule)? {
        Evidence::Measured(cases) => cases
            .iter()
            .map(|c| {
                format!(
                    "fails at {} with `{}` (`{}`{})",
                    c.stage.as_str(),
                    c.raises,
                    c.fixture.rsplit('/').next().unwrap_or(c.fixture),
                    if c.tile { ", tile run" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        Evidence::NotOffline(why) => format!("not shown offline: {why}"),
    })
}
