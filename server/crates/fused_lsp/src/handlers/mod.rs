//! One module per request.

pub mod code_action;
pub mod completion;
pub mod hover;
pub mod inlay_hint;
pub mod package_actions;
