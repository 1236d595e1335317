//! One integration-test binary: every test starts its own emulator in-process on port 0.

mod faults;
mod fuzz;
mod helpers;
mod journal;
mod raw;
mod world;

mod admin;
mod arm_auth;
mod arm_resources;
mod attack;
mod cli;
mod cli_users;
mod concurrency;
mod crash;
mod credentials;
mod credentials_cli;
mod discovery;
mod endpoints;
mod first_hour;
mod hardening;
mod lifecycle;
mod managed_identity;
mod rbac;
mod scoring_limits;
mod seed;
mod services;
mod slow_clients;
mod token_errors;
mod tokens;
mod toolkit;
mod users;
mod wire;
