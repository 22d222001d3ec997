//! The structured error a guest function returns: a code, a message and
//! optional JSON data, thrown to JS as an `Error` the worker recognises.

#[cfg(feature = "json")]
use crate::protocol::GUEST_ERROR_DATA;
use crate::protocol::{ErrorCode, GUEST_ERROR_CODE, GUEST_ERROR_MARKER};
use wasm_bindgen::JsValue;

/// An error that reaches the JS caller as a `WasmBridgeError` with the same
/// code, message and data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    code: String,
    message: String,
    #[cfg(feature = "json")]
    data: Option<serde_json::Value>,
}

/// `Result` with the guest [`Error`], the return type of fallible guest functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with any code. Codes are upper-case identifiers by convention;
    /// anything else is upper-cased with other characters turned into `_`.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        let code = code
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect::<String>();
        let code = if code.is_empty() {
            ErrorCode::GuestError.as_str().to_string()
        } else {
            code
        };
        Error {
            code,
            message: message.into(),
            #[cfg(feature = "json")]
            data: None,
        }
    }

    /// The guest ran and failed (`GUEST_ERROR`).
    pub fn guest(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::GuestError.as_str(), message)
    }

    /// An argument was wrong (`BAD_ARGUMENT`); say what was expected and what came.
    pub fn bad_argument(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::BadArgument.as_str(), message)
    }

    /// The call noticed [`crate::cancelled`] and stopped (`CANCELLED`).
    pub fn cancelled() -> Self {
        Error::new(ErrorCode::Cancelled.as_str(), "the call was cancelled")
    }

    /// Attach JSON data the caller receives as `error.data` (feature `json`).
    #[cfg(feature = "json")]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    #[cfg(feature = "json")]
    pub fn data(&self) -> Option<&serde_json::Value> {
        self.data.as_ref()
    }
}

impl From<Error> for JsValue {
    fn from(err: Error) -> JsValue {
        let value = js_sys::Error::new(&err.message);
        value.set_name("WasmBridgeGuestError");
        // Reflect::set only fails on frozen or proxied targets; a fresh Error is neither.
        let _ = js_sys::Reflect::set(
            &value,
            &JsValue::from_str(GUEST_ERROR_MARKER),
            &JsValue::TRUE,
        );
        let _ = js_sys::Reflect::set(
            &value,
            &JsValue::from_str(GUEST_ERROR_CODE),
            &JsValue::from_str(&err.code),
        );
        #[cfg(feature = "json")]
        if let Some(data) = &err.data {
            let parsed = js_sys::JSON::parse(&data.to_string()).unwrap_or(JsValue::NULL);
            let _ = js_sys::Reflect::set(&value, &JsValue::from_str(GUEST_ERROR_DATA), &parsed);
        }
        value.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalised() {
        assert_eq!(Error::new("out of range", "x").code(), "OUT_OF_RANGE");
        assert_eq!(Error::new("", "x").code(), "GUEST_ERROR");
        assert_eq!(Error::guest("boom").code(), "GUEST_ERROR");
        assert_eq!(
            Error::bad_argument("n must be ≥ 0, got -1").code(),
            "BAD_ARGUMENT"
        );
        assert_eq!(Error::cancelled().code(), "CANCELLED");
    }

    #[test]
    fn the_message_is_kept() {
        let err = Error::guest("division by zero");
        assert_eq!(err.message(), "division by zero");
        assert_eq!(err.to_string(), "division by zero");
    }

    #[cfg(feature = "json")]
    #[test]
    fn data_is_kept() {
        let err = Error::guest("division by zero").with_data(serde_json::json!({"divisor": 0}));
        assert_eq!(err.data(), Some(&serde_json::json!({"divisor": 0})));
    }
}
