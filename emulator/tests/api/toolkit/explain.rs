//! Explain / what-if agrees with the gate: for a generated world and random (principal, action,
//! scope) triples, `POST /_emulator/explain` says allowed exactly when the real request is.
