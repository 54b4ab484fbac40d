//! The errors that cross the FFI. [`RectifyError`] mirrors the core's public error kind for kind, each
//! with its human reason, and is mapped from it here and nowhere else. Kotlin sees it as
//! `RectifyException`, Swift and Python as `RectifyError`.

/// What went wrong, as a kind the app can act on and a sentence it can show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum RectifyError {
    /// The input was wrong; fix it and try again.
    #[error("{reason}")]
    InvalidInput { reason: String },
    /// Something named does not exist on this device.
    #[error("{reason}")]
    NotFound { reason: String },
    /// The user's role or villages do not allow it.
    #[error("{reason}")]
    NotPermitted { reason: String },
    /// The issue is not in a state that allows it.
    #[error("{reason}")]
    IllegalTransition { reason: String },
    /// The device has no user yet, or is not enrolled with an office.
    #[error("{reason}")]
    NotInitialised { reason: String },
    /// The file is not a Rectify database this build can open.
    #[error("{reason}")]
    IncompatibleDatabase { reason: String },
    /// The disk or the database failed.
    #[error("{reason}")]
    Storage { reason: String },
    /// Sync could not finish: the office was unreachable or refused. What was done is kept.
    #[error("{reason}")]
    Sync { reason: String },
    /// The work was cancelled or interrupted before it finished; what was done is kept.
    #[error("{reason}")]
    Interrupted { reason: String },
}

impl From<rectify_core::RectifyError> for RectifyError {
    fn from(err: rectify_core::RectifyError) -> Self {
        use rectify_core::RectifyError as Core;
        match err {
            Core::InvalidInput { reason } => Self::InvalidInput { reason },
            Core::NotFound { reason } => Self::NotFound { reason },
            Core::NotPermitted { reason } => Self::NotPermitted { reason },
            Core::IllegalTransition { reason } => Self::IllegalTransition { reason },
            Core::NotInitialised { reason } => Self::NotInitialised { reason },
            Core::IncompatibleDatabase { reason } => Self::IncompatibleDatabase { reason },
            Core::Storage { reason } => Self::Storage { reason },
            Core::Sync { reason } => Self::Sync { reason },
            Core::Interrupted { reason } => Self::Interrupted { reason },
        }
    }
}

/// A listener that threw something of its own: the sync notes it and stops calling that listener.
impl From<uniffi::UnexpectedUniFFICallbackError> for RectifyError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Sync { reason: format!("the app's progress listener failed: {}", err.reason) }
    }
}

impl RectifyError {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidInput { reason: reason.into() }
    }
}

/// Why a host's transport got no answer. Every kind is retried by the sync: the protocol makes sending a
/// request again safe. Kotlin sees it as `TransportException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TransportError {
    /// No connection could be made (no network, DNS failure, refused).
    #[error("the office could not be reached: {reason}")]
    Unreachable { reason: String },
    /// The connection broke during the exchange.
    #[error("the connection broke: {reason}")]
    Broken { reason: String },
    /// No answer in time.
    #[error("the office did not answer in time")]
    TimedOut,
}

impl From<TransportError> for rectify_core::sync::TransportError {
    fn from(err: TransportError) -> Self {
        match err {
            TransportError::Unreachable { reason } => Self::Unreachable(reason),
            TransportError::Broken { reason } => Self::Broken(reason),
            TransportError::TimedOut => Self::TimedOut,
        }
    }
}

/// A host transport that threw something other than a `TransportError` (a bug on the host side) is
/// treated as a broken connection, so the sync retries and then reports it rather than crashing.
impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Broken { reason: format!("the app's transport failed: {}", err.reason) }
    }
}
