//! One integration-test binary: every test starts its own emulator in-process on port 0.

mod helpers;
mod world;

mod admin;
mod arm_auth;
mod arm_resources;
mod attack;
mod cli;
mod concurrency;
mod crash;
mod discovery;
mod endpoints;
mod lifecycle;
mod rbac;
mod services;
mod token_errors;
mod tokens;
mod users;
