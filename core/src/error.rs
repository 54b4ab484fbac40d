//! The public error: a few kinds a caller can act on, each with a sentence a person can read. Every
//! module keeps its own detailed error; this file is the one place they are mapped to the public one.

use crate::domain::issue::TransitionError;
use crate::domain::policy::PermissionError;
use crate::domain::validate::ValidationError;
use crate::ids::InvalidId;
use crate::photo::PhotoError;
use crate::store::StoreError;

pub type Result<T, E = RectifyError> = std::result::Result<T, E>;

/// What went wrong, for the CLI, the bindings and the office.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RectifyError {
    /// The input was wrong; fix it and try again.
    #[error("{reason}")]
    InvalidInput { reason: String },
    /// Something named does not exist here.
    #[error("{reason}")]
    NotFound { reason: String },
    /// The user's role or villages do not allow it.
    #[error("{reason}")]
    NotPermitted { reason: String },
    /// The issue is not in a state that allows it.
    #[error("{reason}")]
    IllegalTransition { reason: String },
    /// The device has no profile yet.
    #[error("{reason}")]
    NotInitialised { reason: String },
    /// The file is not a Rectify database this build can open.
    #[error("{reason}")]
    IncompatibleDatabase { reason: String },
    /// The disk or the database failed.
    #[error("{reason}")]
    Storage { reason: String },
    /// Sync with the office could not finish: it was unreachable, or refused the request.
    #[error("{reason}")]
    Sync { reason: String },
    /// The caller cancelled the work (a sync, or a long query) before it finished; what was done stays.
    #[error("{reason}")]
    Interrupted { reason: String },
}

impl RectifyError {
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidInput { reason: reason.into() }
    }

    pub fn not_found(reason: impl Into<String>) -> Self {
        Self::NotFound { reason: reason.into() }
    }

    /// A short stable name for the kind, for `--json` error output and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } => "invalid_input",
            Self::NotFound { .. } => "not_found",
            Self::NotPermitted { .. } => "not_permitted",
            Self::IllegalTransition { .. } => "illegal_transition",
            Self::NotInitialised { .. } => "not_initialised",
            Self::IncompatibleDatabase { .. } => "incompatible_database",
            Self::Storage { .. } => "storage",
            Self::Sync { .. } => "sync",
            Self::Interrupted { .. } => "interrupted",
        }
    }
}

impl From<ValidationError> for RectifyError {
    fn from(err: ValidationError) -> Self {
        Self::invalid(err.to_string())
    }
}

impl From<InvalidId> for RectifyError {
    fn from(err: InvalidId) -> Self {
        Self::invalid(err.to_string())
    }
}

impl From<PermissionError> for RectifyError {
    fn from(err: PermissionError) -> Self {
        Self::NotPermitted { reason: err.to_string() }
    }
}

impl From<TransitionError> for RectifyError {
    fn from(err: TransitionError) -> Self {
        match err {
            TransitionError::NotReported(_) => Self::not_found(err.to_string()),
            _ => Self::IllegalTransition { reason: err.to_string() },
        }
    }
}

impl From<StoreError> for RectifyError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotRectifyDatabase { .. } | StoreError::NewerSchema { .. } => {
                Self::IncompatibleDatabase { reason: err.to_string() }
            }
            StoreError::Missing { .. } => Self::NotInitialised { reason: err.to_string() },
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, _))
                if code.code == rusqlite::ErrorCode::OperationInterrupted =>
            {
                Self::Interrupted {
                    reason: "the operation was interrupted before it finished; nothing of it was written".into(),
                }
            }
            StoreError::Sqlite(_) | StoreError::Io { .. } | StoreError::Corrupt(_) => {
                Self::Storage { reason: err.to_string() }
            }
        }
    }
}

impl From<rusqlite::Error> for RectifyError {
    fn from(err: rusqlite::Error) -> Self {
        StoreError::from(err).into()
    }
}

impl From<PhotoError> for RectifyError {
    fn from(err: PhotoError) -> Self {
        match err {
            PhotoError::Io { .. } => Self::Storage { reason: err.to_string() },
            _ => Self::invalid(err.to_string()),
        }
    }
}
