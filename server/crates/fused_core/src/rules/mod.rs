//! The rules, grouped by what they read. Each `check` function pushes diagnostics; the rule
//! metadata (code, severity, docs) lives in [`crate::registry`].

pub mod annotations;
pub mod cache;
pub mod decorator;
pub mod duplicates;
pub mod fused_types;
pub mod imports;
pub mod layout;
pub mod load;
pub mod meta;
pub mod names;
pub mod source;
pub mod tile;

use crate::model::{PyModel, Udf};
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
    /// What meta.json says about the file's UDF, when the file is a package's main file.
    pub entry: Entry<'a>,
}

/// What meta.json says about the UDF of the file being checked (nothing, for a loose file).
#[derive(Debug, Clone, Copy, Default)]
pub struct Entry<'a> {
    /// meta.json's `entrypoint`: the function the SDK runs, decorated or not.
    pub name: Option<&'a str>,
    /// meta.json marks the UDF File-only (`metadata["fused:udfType"]` of `vector_single` or
    /// `vector_single_none`): no tile reaches it.
    pub file_only: bool,
}

/// `fused:udfType` values of a UDF that only runs in File mode.
pub const FILE_ONLY_UDF_TYPES: &[&str] = &["vector_single", "vector_single_none"];

impl PyContext<'_> {
    /// The function the SDK runs: meta.json's entrypoint (decorated or not) when known, else
    /// what `fused.load` of the file alone picks.
    pub fn entrypoint(&self) -> Option<&Udf> {
        match self.entry.name {
            Some(name) => self.model.function(name),
            None => self.model.code_entrypoint(),
        }
    }

    /// The functions the parameter and decorator rules judge: every `@fused.udf` function, and
    /// the entrypoint when it is not decorated.
    pub fn udfs(&self) -> Vec<&Udf> {
        let mut out: Vec<&Udf> = self.model.udfs.iter().collect();
        if let Some(ep) = self.entrypoint().filter(|u| !u.decorated) {
            out.push(ep);
            out.sort_by_key(|u| u.def_range.start);
        }
        out
    }

    /// The functions that can receive a tile: the entrypoint, and the decorated functions the
    /// file passes to a tile run; none when meta.json marks the UDF File-only. When the
    /// entrypoint cannot be told (several decorated functions, none named `udf`, no meta.json),
    /// every decorated function is a candidate.
    pub fn tile_udfs(&self) -> Vec<&Udf> {
        if self.entry.file_only {
            return Vec::new();
        }
        let Some(ep) = self.entrypoint() else {
            return self.model.udfs.iter().collect();
        };
        self.udfs()
            .into_iter()
            .filter(|u| {
                std::ptr::eq(*u, ep) || (u.decorated && self.model.tile_runs.contains(&u.name))
            })
            .collect()
    }
}
