//! The rest of the failure-mode toolkit: key rotation, the token forge, credential lifecycle at
//! run time, explain, propagation delay, region distance, and the journal's reasons.

mod cli;
mod explain;
mod forge;
mod journal;
mod keys;
mod lifecycle;
