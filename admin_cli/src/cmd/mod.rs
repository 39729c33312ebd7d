//! One module per noun; each turns arguments into an admin request and prints the answer.

pub mod audit;
pub mod clients;
pub mod delivery;
pub mod generate;
pub mod keys;
pub mod settings;
pub mod users;
