//! FUSED067: a key given twice in one meta.json object. Python's `json` (the SDK's reader)
//! keeps the last occurrence, and so does [`crate::meta::parse`]; the earlier one is dead text
//! that a reader (or an editor) takes for the value in force.

use crate::diagnostic::Diagnostic;
use crate::meta::Meta;
use crate::registry::Rule;

pub fn check(meta: &Meta, out: &mut Vec<Diagnostic>) {
    for d in &meta.duplicate_keys {
        out.push(Diagnostic::new(
            Rule::MetaDuplicateKey,
            d.range.clone(),
            format!("`{}` is given again later in this object and the SDK reads only the last one; remove this one (or merge the two)", d.key),
        ));
    }
}
