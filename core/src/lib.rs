//! rectify-core: the whole of Rectify that runs without a network. Inspectors record issues, secretaries
//! strike them off, acceptors judge the strike-offs; every change is an event appended to the ledger in
//! SQLite, and an issue's state is a fold of its events.
//!
//! Layers, each in its own folder: [`domain`] (pure data and rules), [`store`] (SQLite), [`ledger`] (the
//! validated operations a device performs). The public error type is [`RectifyError`].

pub mod clock;
pub mod domain;
mod error;
pub mod geo;
pub mod ids;
pub mod ledger;
pub mod photo;
pub mod report;
pub mod score;
pub mod store;
pub mod sync;

pub use error::{RectifyError, Result};
