//! The campaign's domain, free of storage and transport: places, people, categories, rounds, the event
//! envelope and the issue state machine. Everything here is plain data and pure functions.

pub mod category;
pub mod event;
pub mod evidence;
pub mod issue;
pub mod photo;
pub mod place;
pub mod policy;
pub mod role;
pub mod round;
pub mod validate;

#[cfg(test)]
mod issue_tests;
