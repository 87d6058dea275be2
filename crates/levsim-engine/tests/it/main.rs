//! Integration tests of the engine: golden values from venue documents and
//! closed forms, scripted price paths, and invariants.

#![allow(clippy::unwrap_used)]

mod contagion;
mod golden;
mod invariants;
mod liquidity_runs;
mod portfolio;
mod scripted;
mod support;
mod venue_properties;
mod venue_runs;
mod venue_vectors;
