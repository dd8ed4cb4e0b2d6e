//! `fused-ls check`: discover, read, check in parallel, optionally fix, print.

use crate::discover::{discover, Exclude, Item};
use crate::output::{self, Record};
use crate::CheckArgs;
use fused_core::check::{check_loose_file, check_package, FileContent, FileReport};
use fused_core::model::mentions_udf;
use fused_core::zip_package::{read_zip, ZipLimits};
use fused_core::{apply_edits, Applicability, Diagnostic, Selection, Severity};
use fused_fs::config::{base_selection, selection_for, ConfigFile, Overrides, Resolver};
use fused_fs::probe::DiskProbe;
use fused_fs::{atomic, read_content, read_package};
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

pub fn run(args: CheckArgs) -> ExitCode {
    for (flag, codes) in [
        ("--select", &args.select),
        ("--extend-select", &args.extend_select),
        ("--ignore", &args.ignore),
    ] {
        if let Err(e) = Selection::new(codes.clone(), vec![]) {
            eprintln!("error: {flag}: {e}");
            return ExitCode::from(2);
        }
    }
    let over = overrides(&args);
    if args.show_settings {
        return crate::settings::show(&roots(&args), &over);
    }
    if args.watch {
        return crate::watch::run(&args, &over);
    }
    check_once(&args, &over, &Arc::new(Resolver::new()))
}

/// The command line's layer over the configuration files.
pub(crate) fn overrides(args: &CheckArgs) -> Overrides {
    Overrides {
        select: (!args.select.is_empty()).then(|| args.select.clone()),
        extend_select: args.extend_select.clone(),
        ignore: args.ignore.clone(),
    }
}

/// The paths to check (default: the current folder).
pub(crate) fn roots(args: &CheckArgs) -> Vec<PathBuf> {
    if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    }
}

/// `exclude` as discovery asks it: the configuration in effect where the path is.
pub(crate) fn exclude_by_config(resolver: &Arc<Resolver>) -> Exclude {
    let r = resolver.clone();
    Arc::new(move |p: &Path| matches!(r.for_file(p), Ok(Some(c)) if c.excludes(p)))
}

/// The configuration for a path named on the command line: a folder's own, a file's folder's.
pub(crate) fn config_for_root(resolver: &Resolver, root: &Path) -> Found {
    if root.is_dir() {
        resolver.for_dir(root)
    } else {
        resolver.for_file(root)
    }
}

type Found = Result<Option<Arc<ConfigFile>>, String>;

/// One check of everything under the paths, printed. Used once, or per change by `--watch`.
pub(crate) fn check_once(args: &CheckArgs, over: &Overrides, resolver: &Arc<Resolver>) -> ExitCode {
    let paths = roots(args);
    let found = discover(&paths, &exclude_by_config(resolver), args.force_exclude);
    // Every configuration in play is read before anything is checked: a file that cannot be
    // read (a typo in `ignore`) must stop the check, not quietly bring the rule back.
    let mut config_errors = std::collections::BTreeSet::new();
    for root in paths.iter().filter(|p| p.exists()) {
        if let Err(e) = config_for_root(resolver, root) {
            config_errors.insert(e);
        }
    }
    let configs: Vec<Option<Arc<ConfigFile>>> = found
        .items
        .iter()
        .map(|item| {
            let r = match item {
                Item::Package(dir) => resolver.for_dir(dir),
                Item::Zip(p) | Item::Loose(p) | Item::Broken(p, _) => resolver.for_file(p),
            };
            r.unwrap_or_else(|e| {
                config_errors.insert(e);
                None
            })
        })
        .collect();
    if !config_errors.is_empty() {
        for e in &config_errors {
            eprintln!("error: {}", output::escape_line(e));
        }
        return ExitCode::from(2);
    }
    for missing in &found.missing {
        eprintln!(
            "error: `{}` does not exist",
            output::escape_line(&missing.display().to_string())
        );
    }
    for e in &found.unreadable {
        eprintln!("error: {}", output::escape_line(e));
    }
    if !args.quiet {
        for note in &found.notes {
            eprintln!("note: {}", output::escape_line(note));
        }
    }
    // Deeply nested expressions recurse in the exact parser: give each worker a deep stack.
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(256 << 20)
        .build();
    let pool = match pool {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot start worker threads: {e}");
            return ExitCode::from(2);
        }
    };
    let fix = if args.fix {
        Some(if args.unsafe_fixes {
            FixLevel::Unsafe
        } else {
            FixLevel::Safe
        })
    } else {
        None
    };
    let results: Vec<ItemResult> = pool.install(|| {
        found
            .items
            .par_iter()
            .zip(&configs)
            .map(|(item, cfg)| {
                let scope = Scope {
                    cfg: cfg.as_deref(),
                    over,
                };
                check_item(item, scope, fix)
            })
            .collect()
    });
    let mut records: Vec<Record> = Vec::new();
    let mut fixed = 0;
    let mut io_failure = !found.missing.is_empty() || !found.unreadable.is_empty();
    for r in results {
        records.extend(r.records);
        fixed += r.fixed;
        for e in r.write_errors {
            eprintln!("error: {}", output::escape_line(&e));
            io_failure = true;
        }
    }
    records.sort_by(|a, b| {
        (&a.path, a.start.line, a.start.col, a.rule.code()).cmp(&(
            &b.path,
            b.start.line,
            b.start.col,
            b.rule.code(),
        ))
    });
    let color = output::use_color(args.color);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = if args.statistics {
        output::statistics::write(
            &mut out,
            &records,
            args.format == crate::Format::Json,
            args.unsafe_fixes,
            color,
        )
    } else {
        match args.format {
            crate::Format::Human => output::human::write(
                &mut out,
                &records,
                &output::human::Options {
                    fixed,
                    fix_mode: args.fix,
                    color,
                    complete: !io_failure,
                    quiet: args.quiet,
                    unsafe_fixes: args.unsafe_fixes,
                },
            ),
            crate::Format::Json => output::json::write(&mut out, &records),
            crate::Format::Sarif => output::sarif::write(&mut out, &records),
            crate::Format::Github => output::github::write(&mut out, &records),
        }
    };
    if let Err(e) = written.and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write output: {e}");
            return ExitCode::from(2);
        }
    }
    if io_failure {
        ExitCode::from(2)
    } else if !args.exit_zero && records.iter().any(|r| r.rule.severity() == Severity::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The configuration an item is checked with: its file's (if any) under the command line's.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub(crate) cfg: Option<&'a ConfigFile>,
    pub(crate) over: &'a Overrides,
}

impl Scope<'_> {
    fn selection(&self, file: &Path) -> Selection {
        selection_for(self.cfg, self.over, file)
    }

    /// Drops what `per-file-ignores` turns off in each file of a package checked with
    /// [`base_selection`]; before any fix is chosen, so an ignored rule's fix is never applied.
    fn per_file(&self, dir: &Path, mut reports: Vec<FileReport>) -> Vec<FileReport> {
        let Some(cfg) = self.cfg else {
            return reports;
        };
        for r in &mut reports {
            let ignore = cfg.ignores_for(&dir.join(&r.name));
            if !ignore.is_empty() {
                let off = Selection {
                    select: vec![],
                    ignore,
                };
                r.diagnostics.retain(|d| off.enabled(d.rule));
            }
        }
        reports.retain(|r| !r.diagnostics.is_empty());
        reports
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FixLevel {
    Safe,
    Unsafe,
}

#[derive(Default)]
pub(crate) struct ItemResult {
    pub(crate) records: Vec<Record>,
    fixed: usize,
    write_errors: Vec<String>,
}

fn wanted(d: &Diagnostic, level: FixLevel) -> bool {
    d.fix
        .as_ref()
        .is_some_and(|f| f.applicability == Applicability::Safe || level == FixLevel::Unsafe)
}

/// Writes a fixed file. A read-only file is refused: the atomic write (a rename) would
/// replace it anyway, and the user made it read-only on purpose.
fn write_fixed(path: &Path, text: &str) -> Result<(), String> {
    if std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly()) {
        return Err(format!(
            "`{}` is read-only: its fixes were not written",
            path.display()
        ));
    }
    atomic::write(path, text.as_bytes())
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

pub(crate) fn check_item(item: &Item, scope: Scope, fix: Option<FixLevel>) -> ItemResult {
    let mut result = ItemResult::default();
    match item {
        Item::Package(dir) => {
            let base = base_selection(scope.cfg, scope.over);
            let check = |pkg: &fused_core::check::Package| {
                scope.per_file(dir, check_package(pkg, &DiskProbe, &base))
            };
            let mut pkg = match read_package(dir, &|_| None) {
                Ok(p) => p,
                Err(e) => {
                    result.records.push(Record::whole_file(
                        dir.display().to_string(),
                        fused_core::Rule::Unreadable,
                        e,
                    ));
                    return result;
                }
            };
            let mut reports = check(&pkg);
            if let Some(level) = fix {
                let original: Vec<FileContent> =
                    pkg.files.iter().map(|f| f.content.clone()).collect();
                // Fixes count only once their file is written.
                let mut fixed_in: std::collections::HashMap<String, usize> = Default::default();
                for _ in 0..8 {
                    let mut applied_any = false;
                    for report in &reports {
                        let edits: Vec<_> = report
                            .diagnostics
                            .iter()
                            .filter(|d| wanted(d, level))
                            .flat_map(|d| d.fix.as_ref().unwrap().edits.clone())
                            .collect();
                        if edits.is_empty() {
                            continue;
                        }
                        let Some(file) = pkg.files.iter_mut().find(|f| f.name == report.name)
                        else {
                            continue;
                        };
                        let FileContent::Text(text) = &file.content else {
                            continue;
                        };
                        let (new_text, n) = apply_edits(text, &edits);
                        if n > 0 && new_text != *text {
                            *fixed_in.entry(report.name.clone()).or_default() += report
                                .diagnostics
                                .iter()
                                .filter(|d| wanted(d, level))
                                .count()
                                .min(n);
                            file.content = FileContent::Text(new_text);
                            applied_any = true;
                        }
                    }
                    if !applied_any {
                        break;
                    }
                    reports = check(&pkg);
                }
                let mut unwritten = false;
                for (file, before) in pkg.files.iter_mut().zip(original) {
                    if let (FileContent::Text(new), FileContent::Text(old)) =
                        (&file.content, &before)
                    {
                        if new != old {
                            let path = dir.join(&file.name);
                            match write_fixed(&path, new) {
                                Ok(()) => {
                                    result.fixed +=
                                        fixed_in.get(&file.name).copied().unwrap_or_default()
                                }
                                Err(e) => {
                                    result.write_errors.push(e);
                                    // Report what is on disk, not the fixes not written.
                                    file.content = before;
                                    unwritten = true;
                                }
                            }
                        }
                    }
                }
                if unwritten {
                    reports = check(&pkg);
                }
            }
            for report in reports {
                let path = dir.join(&report.name).display().to_string();
                let text = pkg
                    .files
                    .iter()
                    .find(|f| f.name == report.name)
                    .and_then(|f| f.content.display_text());
                result.records.extend(
                    report
                        .diagnostics
                        .iter()
                        .map(|d| Record::new(&path, text, d)),
                );
            }
        }
        Item::Zip(path) => {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = match fused_fs::read::read_regular_capped(path, fused_fs::MAX_ZIP) {
                Ok(b) => b,
                Err(e) => {
                    result.records.push(Record::whole_file(
                        path.display().to_string(),
                        fused_core::Rule::Unreadable,
                        format!("`{}` could not be read: {e}", path.display()),
                    ));
                    return result;
                }
            };
            match read_zip(&bytes, &stem, ZipLimits::default()) {
                Ok(zp) => {
                    let mut pkg = zp.package;
                    pkg.dir = path.parent().and_then(|p| {
                        std::fs::canonicalize(if p.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            p
                        })
                        .ok()
                    });
                    let sel = scope.selection(path);
                    for report in check_package(&pkg, &DiskProbe, &sel) {
                        let shown = format!("{}!/{}{}", path.display(), zp.prefix, report.name);
                        let text = pkg
                            .files
                            .iter()
                            .find(|f| f.name == report.name)
                            .and_then(|f| f.content.display_text());
                        result.records.extend(
                            report
                                .diagnostics
                                .iter()
                                .map(|d| Record::new(&shown, text, d)),
                        );
                    }
                }
                // A zip that is not a package is just some other zip, unless it is broken.
                Err(e) if e.starts_with("it holds no meta.json") => {}
                Err(e) => result.records.push(Record::whole_file(
                    path.display().to_string(),
                    fused_core::Rule::Unreadable,
                    format!("`{}` was not read as a UDF package: {e}", path.display()),
                )),
            }
        }
        Item::Loose(path) => {
            let content = read_content(path);
            if let FileContent::Text(t) = &content {
                if !mentions_udf(t) {
                    return result;
                }
            }
            let dir = path.parent().and_then(|p| {
                std::fs::canonicalize(if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                })
                .ok()
            });
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut content = content;
            let sel = &scope.selection(path);
            let mut diags = check_loose_file(&name, &content, dir.as_deref(), &DiskProbe, sel);
            if let (Some(level), FileContent::Text(original)) = (fix, content.clone()) {
                let mut text = original.clone();
                let mut fixed_here = 0;
                for _ in 0..8 {
                    let edits: Vec<_> = diags
                        .iter()
                        .filter(|d| wanted(d, level))
                        .flat_map(|d| d.fix.as_ref().unwrap().edits.clone())
                        .collect();
                    if edits.is_empty() {
                        break;
                    }
                    let (new_text, n) = apply_edits(&text, &edits);
                    if n == 0 || new_text == text {
                        break;
                    }
                    fixed_here += n;
                    text = new_text;
                    content = FileContent::Text(text.clone());
                    diags = check_loose_file(&name, &content, dir.as_deref(), &DiskProbe, sel);
                }
                if text != original {
                    match write_fixed(path, &text) {
                        Ok(()) => result.fixed += fixed_here,
                        Err(e) => {
                            result.write_errors.push(e);
                            // Report what is on disk, not the fixes that were not written.
                            content = FileContent::Text(original.clone());
                            diags =
                                check_loose_file(&name, &content, dir.as_deref(), &DiskProbe, sel);
                        }
                    }
                }
            }
            let shown = path.display().to_string();
            result.records.extend(
                diags
                    .iter()
                    .map(|d| Record::new(&shown, content.display_text(), d)),
            );
        }
        Item::Broken(path, why) => {
            result.records.push(Record::whole_file(
                path.display().to_string(),
                fused_core::Rule::Unreadable,
                format!("`{}` could not be read: {why}", path.display()),
            ));
        }
    }
    result
}
