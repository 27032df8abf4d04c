//! FitForAll's HTTP edge: parses requests into domain types, asks the core, makes decisions
//! durable through the store, renders JSON or pages.

pub mod api;
pub mod auth;
pub mod booking_engine;
pub mod caller;
pub mod check_in;
pub mod config;
pub mod error;
pub mod import;
pub mod metrics;
pub mod outbox;
pub mod params;
pub mod reference;
pub mod slot_generation;
pub mod startup;
pub mod state;
pub mod testing;
pub mod token_lookup;
pub mod web;
