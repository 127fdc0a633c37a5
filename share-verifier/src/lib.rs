//! Shareproof share verification (work in progress).
