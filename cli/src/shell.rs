//! What the verbs print besides their results: cargo-style status lines on stderr, and
//! sizes for people.

use std::fmt::Display;

/// Prints a cargo-style status line to stderr: `   Compiling something`.
pub fn status(verb: &str, message: impl Display) {
    eprintln!("{verb:>12} {message}");
}

/// A size for people: `66.2 KB`.
pub fn size(bytes: u64) -> String {
    if bytes < 1000 {
        format!("{bytes} B")
    } else if bytes < 1_000_000 {
        format!("{:.1} KB", bytes as f64 / 1000.0)
    } else {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    }
}

/// Prints a `key  value` line of a verb's result to stdout, the key right-aligned.
pub fn field(key: &str, value: impl Display) {
    println!("{key:>10}  {value}");
}
