//! The guest's half of the page↔worker wire protocol: everything a guest module
//! and `crates/wasmbridge/runtime/worker.js` must agree on, and nothing else. Its JS counterpart is
//! `crates/wasmbridge/runtime/protocol.js`, whose constants have the same names;
//! `tests/protocol_names.rs` compares the two. Change both together.

/// Version of this contract. The worker refuses a guest whose
/// `__wasmbridge_abi()` returns another number.
pub const GUEST_ABI: u32 = 1;

/// Prefix of every symbol the guest library exports for the worker. The build
/// leaves functions with this prefix out of the manifest, so pages cannot call them.
pub const RESERVED_PREFIX: &str = "__wasmbridge";

/// Property set to `true` on every error value a guest throws, so the worker can
/// tell a structured guest error from any other exception.
pub const GUEST_ERROR_MARKER: &str = "__wasmbridgeError";
/// Property of a thrown guest error holding its code (a `ErrorCode` string).
pub const GUEST_ERROR_CODE: &str = "code";
/// Property of a thrown guest error holding its optional JSON data.
pub const GUEST_ERROR_DATA: &str = "data";

/// Global function the worker installs; the panic hook calls it with one string
/// (`"<message> at <file>:<line>:<column>"`) just before the module traps.
pub const HOST_PANIC: &str = "__wasmbridge_panic";
/// Global function the worker installs; returns `true` once the running call
/// was asked to stop.
pub const HOST_CANCELLED: &str = "__wasmbridge_cancelled";
/// Global function the worker installs; takes a fraction in `[0, 1]`.
pub const HOST_PROGRESS: &str = "__wasmbridge_progress";
/// Global function the worker installs; takes a `Uint8Array` and returns
/// `true` only for a view the worker made of a region in the instance's own
/// memory (`SharedBytes` reads those in place).
pub const HOST_IN_PLACE: &str = "__wasmbridge_in_place";

/// Error codes a guest can produce. The runtime adds its own (`TIMEOUT`,
/// `WORKER_LOST`, …), listed in `crates/wasmbridge/runtime/protocol.js`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The guest ran and reported a failure (`Result::Err`).
    GuestError,
    /// An argument was rejected before any work was done.
    BadArgument,
    /// The guest panicked; a fresh worker takes the trapped one's place.
    Panic,
    /// The guest noticed `cancelled()` and gave up.
    Cancelled,
}

impl ErrorCode {
    /// Every code, for the test that compares them with `CODES` in `protocol.js`.
    pub const ALL: [ErrorCode; 4] = [
        ErrorCode::GuestError,
        ErrorCode::BadArgument,
        ErrorCode::Panic,
        ErrorCode::Cancelled,
    ];

    /// The code as it travels, also its key in `CODES` in `protocol.js`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::GuestError => "GUEST_ERROR",
            ErrorCode::BadArgument => "BAD_ARGUMENT",
            ErrorCode::Panic => "PANIC",
            ErrorCode::Cancelled => "CANCELLED",
        }
    }
}
