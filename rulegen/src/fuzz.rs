//! The fuzz body for spec loading, shared by the cargo-fuzz target (`fuzz/`) and the
//! corpus replay test that runs with the normal suite. It takes any bytes, must not
//! panic, and asserts only what holds for every input.

/// The file name errors must carry.
const NAME: &str = "fuzz.yml";

/// Any spec text (native, Sloth or OpenSLO): loaded services, or an error that points
/// into the file.
pub fn spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match crate::spec::load(NAME, text) {
        Ok(services) => {
            for s in &services {
                assert_eq!(s.file, NAME);
            }
        }
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.starts_with(&format!("{NAME}:")), "{shown}");
            // A position is in the file, or on the empty line after its last line break.
            let lines = crate::error::yaml_lines(text).count() as u64;
            assert!(e.pos.line <= lines, "{shown}");
        }
    }
}
