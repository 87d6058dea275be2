//! Integration tests of the engine: golden values from venue documents and
//! closed forms, scripted price paths, and invariants.

mod golden;
mod invariants;
mod scripted;
mod support;
