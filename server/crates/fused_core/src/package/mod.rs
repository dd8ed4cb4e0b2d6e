//! Package management in the core: the files a new package starts with, and the edits that
//! bring meta.json in line with the source. Text in, text out; the front ends write.

pub mod scaffold;
pub mod sync;

/// Why a name cannot be a package name, if it cannot.
pub fn invalid_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    if name.starts_with('.') {
        return Some("a name cannot start with `.`".into());
    }
    if let Some(c) = name.chars().find(|c| {
        c.is_whitespace()
            || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
            || c.is_control()
    }) {
        return Some(format!("`{}` is not allowed in a package name (it names the folder and `<name>.py`); use letters, digits and `_`", c.escape_default()));
    }
    None
}
