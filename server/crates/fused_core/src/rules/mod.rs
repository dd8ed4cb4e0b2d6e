//! The rules, grouped by what they read. Each `check` function pushes diagnostics; the rule
//! metadata (code, severity, docs) lives in [`crate::registry`].

pub mod annotations;
pub mod decorator;
pub mod layout;
pub mod load;
pub mod meta;
pub mod names;
pub mod tile;

use crate::model::PyModel;
use crate::probe::PathProbe;
use std::path::Path;
use tree_sitter::Tree;

/// Everything a Python rule may read.
pub struct PyContext<'a> {
    pub text: &'a str,
    /// The tree-sitter tree when one was built (see [`crate::python::parse`]).
    pub tree: Option<&'a Tree>,
    pub model: &'a PyModel,
    /// The folder holding the file, to resolve relative `fused.load` paths.
    pub dir: Option<&'a Path>,
    pub probe: &'a dyn PathProbe,
}
