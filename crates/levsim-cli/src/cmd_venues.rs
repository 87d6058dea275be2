//! `levsim venues`.

use levsim_engine::venue::{preset_meta, preset_names, preset_text};

use crate::Failure;

pub(crate) fn list() -> Result<(), Failure> {
    for name in preset_names() {
        let m = preset_meta(name).map_err(Failure::other)?;
        outln!(
            "{name}\t{} (as of {}; tables: {})",
            m.version,
            m.as_of,
            m.symbols.join(", ")
        );
    }
    Ok(())
}

pub(crate) fn show(name: &str) -> Result<(), Failure> {
    // Validates the name with the same message a scenario gets.
    preset_meta(name).map_err(Failure::input)?;
    out!("{}", preset_text(name).unwrap_or_default());
    Ok(())
}

/// `levsim venues export NAME`: the preset as a profile file of one's own.
pub(crate) fn export(name: &str) -> Result<(), Failure> {
    preset_meta(name).map_err(Failure::input)?;
    outln!("# A levsim venue profile, exported from the preset {name:?}.");
    outln!("# Edit it and name the file in a scenario ([venue] profile =");
    outln!("# \"venues/my-venue.toml\") or in `levsim margin --profile FILE`;");
    outln!("# the schema is the presets' (README, \"Venues\").");
    out!("{}", preset_text(name).unwrap_or_default());
    Ok(())
}
