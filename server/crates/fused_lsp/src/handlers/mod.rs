//! One module per request.

pub mod code_action;
pub mod code_lens;
pub mod completion;
pub mod hover;
pub mod inlay_hint;
pub mod package_actions;
pub mod preview;
pub mod run;
pub mod worker_status;
