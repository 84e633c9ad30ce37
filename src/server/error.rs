//! The API's one error type: a status from the error's kind and a JSON body
//! `{"error": …, "problems": [{line, column, key, message}]}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fust_engine::{Error, ErrorKind};
use fust_service::{ManagerError, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

/// An error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong and what to do, in one paragraph.
    pub error: String,
    /// For an invalid job: every problem with its position in the request body.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

/// One problem in a job definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// 1-based line in the request body, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The key path, e.g. `pipeline.processors[1].condition`.
    pub key: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error: message.into(),
                problems: Vec::new(),
            },
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn invalid(diags: &fust_config::Diagnostics) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: ErrorBody {
                error: diags.to_string(),
                problems: diags
                    .items
                    .iter()
                    .map(|d| Problem {
                        line: d.mark.map(|m| m.line),
                        column: d.mark.map(|m| m.column),
                        key: d.key.clone(),
                        message: d.message.clone(),
                    })
                    .collect(),
            },
        }
    }
}

/// The values of the server's named secrets, set once at start: no error body may carry
/// one, whatever the message it came from.
static SECRETS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Registers the server's secret values for [`redact`].
pub fn hide_secrets(values: Vec<String>) {
    let _ = SECRETS.set(values.into_iter().filter(|v| v.len() >= 4).collect());
}

/// `text` with every registered secret replaced by `***`.
pub fn redact(text: &str) -> String {
    SECRETS
        .get()
        .into_iter()
        .flatten()
        .fold(text.to_string(), |t, s| t.replace(s.as_str(), "***"))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = self.body;
        body.error = redact(&body.error);
        for p in &mut body.problems {
            p.message = redact(&p.message);
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<fust_config::Error> for ApiError {
    fn from(e: fust_config::Error) -> Self {
        match e.diagnostics() {
            Some(d) => ApiError::invalid(d),
            None => ApiError::bad_request(e.to_string()),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        if let Error::Config(c) = e {
            return c.into();
        }
        let status = match e.kind() {
            ErrorKind::User => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::External => StatusCode::BAD_GATEWAY,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
            StoreError::Conflict { .. } | StoreError::IllegalTransition { .. } => {
                StatusCode::CONFLICT
            }
            StoreError::Db { .. } | StoreError::Schema(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<ManagerError> for ApiError {
    fn from(e: ManagerError) -> Self {
        match e {
            ManagerError::Store(s) => s.into(),
            ManagerError::Finished(..) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            ManagerError::ShuttingDown => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
        }
    }
}
