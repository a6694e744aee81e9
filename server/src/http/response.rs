//! How errors become responses (`{"error": {"code", "message", "details"?}}` with the status
//! the error names), and a JSON body extractor whose rejections take the same shape.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::Error;

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut error = json!({"code": self.code(), "message": self.to_string()});
        if let Some(details) = self.details() {
            error["details"] = details.clone();
        }
        let mut response = (status, axum::Json(json!({ "error": error }))).into_response();
        if let Error::RateLimited { retry_after_secs } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs.max(1)),
            );
        }
        response
    }
}

/// A JSON request body. Malformed JSON is 400 `malformed_json`, a body of the wrong shape
/// 422 `invalid_body`, a missing content type 415 `unsupported_media_type`, an oversized body
/// 413 `payload_too_large`.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> Error {
    let text = rejection.body_text();
    match rejection {
        JsonRejection::JsonSyntaxError(_) => Error::request(400, "malformed_json", text),
        JsonRejection::JsonDataError(_) => Error::request(422, "invalid_body", text),
        JsonRejection::MissingJsonContentType(_) => Error::request(
            415,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Error::request(413, "payload_too_large", "the request body is too large")
        }
        other => Error::request(400, "invalid_body", other.body_text()),
    }
}

/// 404 for every path no route matches.
pub(crate) async fn not_found() -> Error {
    Error::request(404, "not_found", "no such route")
}

/// A raw request body within the body limit; an oversized one is 413 `payload_too_large`.
#[derive(Debug)]
pub(crate) struct ApiBytes(pub(crate) axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(ApiBytes(b)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Error::request(
                413,
                "payload_too_large",
                "the request body is too large",
            )),
            Err(r) => Err(Error::request(400, "invalid_body", r.body_text())),
        }
    }
}
