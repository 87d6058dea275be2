//! `levsim venues`.

use levsim_engine::venue::{preset_meta, preset_names, preset_text};

use crate::Failure;

pub(crate) fn list() -> Result<(), Failure> {
    for name in preset_names() {
        let m = preset_meta(name).map_err(Failure::other)?;
        println!(
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
    print!("{}", preset_text(name).unwrap_or_default());
    Ok(())
}
