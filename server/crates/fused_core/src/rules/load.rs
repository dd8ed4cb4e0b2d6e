//! FUSED050–054: the targets of `fused.load("...")`.

use super::PyContext;
use crate::diagnostic::Diagnostic;
use crate::probe::PathKind;
use crate::registry::Rule;
use std::path::{Path, PathBuf};

/// How the SDK reads a `fused.load` target string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target<'a> {
    /// `https://github.com/<owner>/<repo>/tree/<ref>/<path>` or `.../blob/<ref>/<path>` (the
    /// SDK's CLI documents both: "GitHub tree or blob URL").
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

/// Classifies a target in the order fused 2.9.5's `_load_udf.py` does: an
/// `https://github.com` prefix is GitHub; a newline means a code string; a `.py` or `.zip` suffix
/// is a file; an existing folder is a package; anything else is a platform id. Targets that are
/// evidently meant as paths (`./`, `../`, `/`, `~`) are judged as paths even when missing, since
/// the SDK would then wait ~30 s for a login on a platform id.
pub fn classify(target: &str) -> Target<'_> {
    let t = target.trim();
    if t.contains('\n') {
        return Target::OtherUrl;
    }
    if let Some(rest) = t.strip_prefix("https://github.com/") {
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() < 2 || parts[0].is_empty() || parts[1].is_empty() {
            return Target::GithubMalformed("it names no `<owner>/<repo>`");
        }
        return match parts.get(2).copied() {
            Some("tree") => match parts.get(3).copied() {
                Some(r) if !r.is_empty() => Target::Github { reference: r },
                _ => Target::GithubMalformed("it has no `<ref>` after `tree/`"),
            },
            Some("blob") => match parts.get(3).copied() {
                Some(r) if !r.is_empty() => Target::Github { reference: r },
                _ => Target::GithubMalformed("it has no `<ref>` after `blob/`"),
            },
            None | Some("") => Target::GithubMalformed("it has no `/tree/<ref>/<path>`"),
            Some(_) => Target::GithubMalformed(
                "the part after `<owner>/<repo>` must be `tree/<ref>/<path>` or `blob/<ref>/<path>`",
            ),
        };
    }
    if t.starts_with("http://github.com/")
        || t.starts_with("github.com/")
        || t.starts_with("https://www.github.com/")
    {
        return Target::GithubMalformed("the SDK recognises only URLs starting `https://github.com/` (it would take this for a platform id)");
    }
    if t.contains("://") {
        return Target::OtherUrl;
    }
    let explicit = t.starts_with('/')
        || t.starts_with("./")
        || t.starts_with("../")
        || t.starts_with('~')
        || t == "."
        || t == "..";
    if explicit || t.ends_with(".py") || t.ends_with(".zip") {
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
                format!("GitHub URL pinned to `{reference}`, not a commit: the code can change under you; use a commit sha in its place"),
            )),
            Target::Github { .. } | Target::OtherUrl => {}
            Target::Path(p) => {
                let Some(dir) = ctx.dir else { continue };
                let Some(path) = resolve(ctx, dir, p) else { continue };
                if let Some(d) = judge_path(ctx, &path, p, range, true) {
                    out.push(d);
                }
            }
            Target::Bare(name) if name.contains(['/', '\\']) => {
                // `a/b`: a folder if one exists, else a platform id (`user@fused.io/udf`).
                let Some(dir) = ctx.dir else { continue };
                let path = dir.join(name);
                if matches!(ctx.probe.probe(&path), PathKind::Dir { .. }) {
                    if let Some(d) = judge_path(ctx, &path, name, range, false) {
                        out.push(d);
                    }
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
        PathKind::Missing if explicit => {
            let consequence = if shown.ends_with(".py") || shown.ends_with(".zip") {
                "the SDK raises FileNotFoundError"
            } else {
                "the SDK would take it for a platform id and wait ~30 s for a login"
            };
            Some(Diagnostic::new(
                Rule::LoadPathMissing,
                range,
                format!("`{shown}` does not exist (resolved from this file's folder): {consequence}; fix the path"),
            ))
        }
        PathKind::Dir { has_meta: false } => Some(Diagnostic::new(
            Rule::LoadNotPackage,
            range,
            format!("`{shown}` is a folder without meta.json, not a UDF package (the SDK raises ValueError); point at a package folder"),
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
        assert_eq!(
            classify("https://github.com/fusedio/udfs/blob/main/public/x/"),
            Target::Github { reference: "main" }
        );
        assert!(matches!(
            classify("https://github.com/fusedio/udfs/blob/"),
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
        assert_eq!(
            classify("user@fused.io/my_udf"),
            Target::Bare("user@fused.io/my_udf")
        );
        assert_eq!(classify("@fused.udf\ndef udf(): pass"), Target::OtherUrl);
        assert!(matches!(
            classify("github.com/o/r/tree/main/x"),
            Target::GithubMalformed(_)
        ));
        assert!(is_commit("3c1a5b2e9f0d4c7a8b6e5d4c3b2a1f0e9d8c7b6a"));
        assert!(!is_commit("main"));
    }
}
