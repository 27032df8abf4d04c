//! FitForAll's domain. Architecture invariant: nothing here does IO, reads the clock or draws
//! random numbers; time and randomness are arguments.

pub mod booking;
pub mod catalog;
pub mod fitness;
pub mod geo;
pub mod hours;
pub mod identity;
pub mod indicator;
pub mod pass_rate;
pub mod phone;
pub mod policy;
pub mod region;
pub mod throttle;
pub mod venue;
