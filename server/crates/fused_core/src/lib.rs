//! The pure core of fused-ls: text in, diagnostics and edits out.
//!
//! No file I/O, no processes, no async, no protocol types: the CLI and the language server are
//! thin front ends over this crate, so `fused-ls check` and the editor always agree. What the
//! rules need to know about the disk is asked through [`probe::PathProbe`].

pub mod annotation;
pub mod check;
pub mod coerced;
pub mod coercion;
pub mod config;
pub mod diagnostic;
pub mod line_index;
pub mod meta;
pub mod meta_keys;
pub mod model;
pub mod package;
pub mod probe;
pub mod python;
pub mod registry;
pub mod rules;
pub mod sdk_evidence;
pub mod selection;
pub mod tile;
pub mod zip_package;

pub use check::{
    analyze_python, check_loose_file, check_package, FileContent, FileReport, Package, PackageFile,
};
pub use diagnostic::{apply_edits, Applicability, Diagnostic, Fix, Severity, TextEdit};
pub use line_index::{Encoding, LineCol, LineIndex};
pub use registry::Rule;
pub use selection::Selection;
