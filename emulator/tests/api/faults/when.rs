//! When rules fire: counts, windows on the emulator clock, seeded probabilities.
