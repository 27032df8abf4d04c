//! Booking (issue 4): resources, slot rules and the slots they generate (`slots`), and the decision
//! of a booking request against a slot and a person (`ledger`), with its deterministic simulation.

pub mod ledger;
pub mod slots;

#[cfg(test)]
mod simulation;

pub use ledger::*;
pub use slots::*;
