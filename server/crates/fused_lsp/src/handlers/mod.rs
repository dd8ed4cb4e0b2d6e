//! One module per request.

pub mod code_action;
pub mod hover;
