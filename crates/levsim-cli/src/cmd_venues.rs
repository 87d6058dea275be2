//! `levsim venues`.

use levsim_engine::venue::{preset_names, preset_text};

use crate::Failure;

pub(crate) fn list() -> Result<(), Failure> {
    for name in preset_names() {
        let text = preset_text(name).unwrap_or("");
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = ")))
                .map(|v| v.trim_matches('"').to_string())
                .unwrap_or_default()
        };
        println!("{name}\t{} (as of {})", field("version"), field("as_of"));
    }
    Ok(())
}

pub(crate) fn show(name: &str) -> Result<(), Failure> {
    match preset_text(name) {
        Some(t) => {
            print!("{t}");
            Ok(())
        }
        None => Err(Failure::input(anyhow::anyhow!(
            "unknown venue profile {name:?}; available: {}",
            preset_names().join(", ")
        ))),
    }
}
