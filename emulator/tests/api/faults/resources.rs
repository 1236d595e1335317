//! Faults on ARM, model management and scoring.
