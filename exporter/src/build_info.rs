//! What this build is: the values of `--version` and `lakewatch_build_info`.

/// The crate version, e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit the binary was built from (12 hex digits), or `unknown`.
pub const REVISION: &str = env!("LAKEWATCH_REVISION");
/// The Rust compiler's version, e.g. `1.95.0`.
pub const RUST_VERSION: &str = env!("LAKEWATCH_RUST_VERSION");
/// `--version`'s text after the program name.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision ",
    env!("LAKEWATCH_REVISION"),
    ", rustc ",
    env!("LAKEWATCH_RUST_VERSION"),
    ")"
);
