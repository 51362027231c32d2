//! `enabled: true | false | auto`, the switch every collector section has.

use serde::Deserialize;
use serde::de::{self, Deserializer};

/// `enabled: true | false | auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enabled {
    /// `true`: on; a source that does not answer shows as down.
    Yes,
    /// `false`: off.
    No,
    /// On when the source answers at start-up (used by collectors that probe).
    Auto,
}

impl<'de> Deserialize<'de> for Enabled {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Enabled;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("true, false or auto")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Enabled, E> {
                Ok(if v { Enabled::Yes } else { Enabled::No })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Enabled, E> {
                match v {
                    "true" => Ok(Enabled::Yes),
                    "false" => Ok(Enabled::No),
                    "auto" => Ok(Enabled::Auto),
                    _ => Err(E::custom(format!(
                        "invalid value {v:?} for enabled: expected true, false or auto"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}
