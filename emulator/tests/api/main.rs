//! One integration-test binary: every test starts its own emulator in-process on port 0.

mod helpers;

mod admin;
mod cli;
mod discovery;
mod lifecycle;
mod token_errors;
mod tokens;
