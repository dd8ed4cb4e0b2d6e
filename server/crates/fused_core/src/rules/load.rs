//! FUSED050–054: the targets of `fused.load("...")`.

use super::PyContext;
use crate::diagnostic::Diagnostic;
use crate::probe::PathKind;
use crate::registry::Rule;
use std::path::{Path, PathBuf};

/// How the SDK reads a `fused.load` target string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target<'a> {
    /// `https://github.com/<owner>/<repo>/tree/<ref>/<path>`.
    Github { reference: &'a str },
    /// A GitHub URL of another shape, with what is wrong.
    GithubMalformed(&'static str),
    /// Another URL (`s3://`, `gs://`, `https://...`): not judged.
    OtherUrl,
    /// An explicit local path (`./x`, `../x`, `/x`, `~/x`, `a/b`, `x.zip`, `x.py`).
    Path(&'a str),
    /// A bare name: a local folder if one exists, else a Fused platform id.
    Bare(&'a str),
}

pub fn classify(target: &str) -> Target<'_> {
    let t = target.trim();
    let rest = t
        .strip_prefix("https://github.com/")
        .or_else(|| t.strip_prefix("http://github.com/"))
        .or_else(|| t.strip_prefix("https://www.github.com/"))
        .or_else(|| t.strip_prefix("github.com/"));
    if let Some(rest) = rest {
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() < 2 || parts[0].is_empty() || parts[1].is_empty() {
            return Target::GithubMalformed("it names no `<owner>/<repo>`");
        }
        match parts.get(2).copied() {
            Some("tree") => {}
            Some("blob") => return Target::GithubMalformed(
                "`blob/` URLs point at one file; use `/tree/<ref>/<path>` to the package folder",
            ),
            None | Some("") => return Target::GithubMalformed("it has no `/tree/<ref>/<path>`"),
            Some(_) => {
                return Target::GithubMalformed(
                    "the part after `<owner>/<repo>` must be `tree/<ref>/<path>`",
                )
            }
        }
        match parts.get(3).copied() {
            Some(r) if !r.is_empty() => Target::Github { reference: r },
            _ => Target::GithubMalformed("it has no `<ref>` after `tree/`"),
        }
    } else if t.contains("://") {
        Target::OtherUrl
    } else if t.starts_with('/')
        || t.starts_with("./")
        || t.starts_with("../")
        || t.starts_with('~')
        || t.contains('/')
        || t.contains('\\')
        || t.ends_with(".zip")
        || t.ends_with(".py")
        || t == "."
        || t == ".."
    {
        Target::Path(t)
    } else {
        Target::Bare(t)
    }
}

/// A full or abbreviated commit SHA.
pub fn is_commit(reference: &str) -> bool {
    (7..=40).contains(&reference.len()) && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

fn resolve(ctx: &PyContext, dir: &Path, t: &str) -> Option<PathBuf> {
    match t.strip_prefix("~/") {
        Some(rest) => ctx.probe.home().map(|h| h.join(rest)),
        None => Some(dir.join(t)),
    }
}

pub fn check(ctx: &PyContext, out: &mut Vec<Diagnostic>) {
    for load in &ctx.model.loads {
        let range = load.range.clone();
        match classify(&load.target) {
            Target::GithubMalformed(why) => out.push(Diagnostic::new(
                Rule::LoadGithubMalformed,
                range,
                format!("`fused.load` cannot resolve this GitHub URL: {why}"),
            )),
            Target::Github { reference } if !is_commit(reference) => out.push(Diagnostic::new(
                Rule::LoadGithubUnpinned,
                range,
                format!("GitHub URL pinned to `{reference}`, not a commit: the code can change under you; use `tree/<commit sha>/...`"),
            )),
            Target::Github { .. } | Target::OtherUrl => {}
            Target::Path(p) => {
                let Some(dir) = ctx.dir else { continue };
                let Some(path) = resolve(ctx, dir, p) else { continue };
                if let Some(d) = judge_path(ctx, &path, p, range, true) {
                    out.push(d);
                }
            }
            Target::Bare(name) => {
                let Some(dir) = ctx.dir else { continue };
                // A bare name is a local folder when one exists (beside the file, or beside its
                // package); otherwise the SDK takes it for a platform id, which is not ours to judge.
                for base in [Some(dir), dir.parent()].into_iter().flatten() {
                    let path = base.join(name);
                    if matches!(ctx.probe.probe(&path), PathKind::Missing | PathKind::Unknown) {
                        continue;
                    }
                    if let Some(d) = judge_path(ctx, &path, name, range.clone(), false) {
                        out.push(d);
                    }
                    break;
                }
            }
        }
    }
}

fn judge_path(
    ctx: &PyContext,
    path: &Path,
    shown: &str,
    range: std::ops::Range<usize>,
    explicit: bool,
) -> Option<Diagnostic> {
    match ctx.probe.probe(path) {
        PathKind::Missing if explicit => Some(Diagnostic::new(
            Rule::LoadPathMissing,
            range,
            format!("`{shown}` does not exist (resolved from this file's folder); the SDK would take it for a platform id and hang ~30 s waiting for a login"),
        )),
        PathKind::Dir { has_meta: false } => Some(Diagnostic::new(
            Rule::LoadNotPackage,
            range,
            format!("`{shown}` is a folder without meta.json, not a UDF package; the SDK would take it for a platform id and hang ~30 s; point at a package folder"),
        )),
        PathKind::Zip { is_package: Err(why) } => Some(Diagnostic::new(
            Rule::LoadZipNotPackage,
            range,
            format!("`{shown}` is not a UDF package zip: {why}"),
        )),
        PathKind::File if !(shown.ends_with(".py") || shown.ends_with(".zip")) => Some(Diagnostic::new(
            Rule::LoadNotPackage,
            range,
            format!("`{shown}` is a file, not a UDF package folder, `.zip` or `.py`"),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_targets() {
        assert_eq!(
            classify("https://github.com/fusedio/udfs/tree/3c1a5b2/public/common/"),
            Target::Github {
                reference: "3c1a5b2"
            }
        );
        assert!(matches!(
            classify("https://github.com/fusedio/udfs/blob/main/x.py"),
            Target::GithubMalformed(_)
        ));
        assert!(matches!(
            classify("https://github.com/fusedio"),
            Target::GithubMalformed(_)
        ));
        assert_eq!(classify("../Other"), Target::Path("../Other"));
        assert_eq!(classify("pkg.zip"), Target::Path("pkg.zip"));
        assert_eq!(classify("Sibling_UDF"), Target::Bare("Sibling_UDF"));
        assert_eq!(classify("s3://bucket/x"), Target::OtherUrl);
        assert!(is_commit("3c1a5b2e9f0d4c7a8b6e5d4c3b2a1f0e9d8c7b6a"));
        assert!(!is_commit("main"));
    }
}
