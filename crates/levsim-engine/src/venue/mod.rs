//! Venue profiles: a venue's margin, fee, liquidation and funding rules as a
//! named, versioned preset, overridable field by field from a scenario.

mod brackets;
mod margin;
mod profile;

pub use brackets::{Bracket, BracketSpec, BracketTable};
pub use margin::{MarginModel, MarginModelAny};
pub use profile::{preset_meta, preset_names, preset_text, PresetMeta, VenueConfig, VenueProfile};
