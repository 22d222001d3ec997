//! Every request head is checked here before hyper parses it, so that the
//! process, not hyper, answers the malformed ones.
//!
//! hyper answers a head it cannot parse (a garbled request line, a NUL or a
//! `file://` target, more than 100 headers, a head past its buffer) with a
//! bare 400 or 431 of its own, written before any router layer runs and so
//! without COOP, COEP, CORP and nosniff. [`HeadGuard`] sits between the socket
//! and hyper: it parses each head with the parser hyper uses (httparse) and the
//! checks hyper makes after it, passes good heads and their bodies through
//! unchanged, and replaces the first bad head with a synthetic `GET` that
//! carries [`REJECTED`] and `Connection: close`. The router answers that
//! request like any other, so the error response passes every header layer,
//! and the connection ends after it.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::http::header::{self, HeaderName};
use axum::http::{Method, StatusCode, Uri};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::MAX_HEAD_BYTES;

/// Header of the synthetic request that stands for a rejected head; its value
/// is the status to answer with. A client's own head carrying it is rejected.
pub(super) const REJECTED: HeaderName = HeaderName::from_static("x-wasmbridge-rejected");

/// Headers per request, as many as hyper accepts by default.
const MAX_HEADERS: usize = 100;

/// Bytes read from the client at a time.
const READ_SIZE: usize = 8 * 1024;

/// After answering a rejected head, the client's remaining bytes are read and
/// dropped for at most this long (or this many bytes) before the socket closes:
/// closing with unread input sends a reset, which can destroy the answer
/// before the client has read it.
const DRAIN_TIME: Duration = Duration::from_secs(1);
const DRAIN_BYTES: usize = 1 << 20;

enum Phase {
    /// Waiting for (the rest of) a request head.
    Head,
    /// Passing through this many more body bytes of the request last checked.
    Body(u64),
    /// The synthetic request was handed over; nothing more goes to hyper.
    Rejected,
}

/// The connection as hyper sees it: checked heads and their bodies only.
pub(super) struct HeadGuard<S> {
    inner: S,
    /// Read from the client, not yet checked.
    unchecked: Vec<u8>,
    /// Checked, not yet taken by hyper (from `taken` on).
    checked: Vec<u8>,
    taken: usize,
    phase: Phase,
    client_eof: bool,
    drain: Option<Pin<Box<tokio::time::Sleep>>>,
    drained: usize,
    shut_down: bool,
    /// Read buffer, zeroed once per connection rather than on every read.
    scratch: Box<[u8; READ_SIZE]>,
}

impl<S> HeadGuard<S> {
    pub(super) fn new(inner: S) -> Self {
        Self {
            inner,
            unchecked: Vec::new(),
            checked: Vec::new(),
            taken: 0,
            phase: Phase::Head,
            client_eof: false,
            drain: None,
            drained: 0,
            shut_down: false,
            scratch: Box::new([0; READ_SIZE]),
        }
    }

    fn reject(&mut self, status: StatusCode) {
        self.checked = format!(
            "GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n{REJECTED}: {}\r\n\r\n",
            status.as_u16()
        )
        .into_bytes();
        self.taken = 0;
        self.unchecked.clear();
        self.phase = Phase::Rejected;
    }

    /// Moves what can be checked from `unchecked` to `checked`; true when
    /// there is something for hyper, false when more input is needed.
    fn advance(&mut self) -> bool {
        loop {
            if self.taken < self.checked.len() {
                return true;
            }
            match self.phase {
                Phase::Rejected => return false,
                Phase::Body(0) => self.phase = Phase::Head,
                Phase::Body(left) => {
                    if self.unchecked.is_empty() {
                        return false;
                    }
                    let n = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(self.unchecked.len());
                    self.checked.clear();
                    self.taken = 0;
                    self.checked.extend(self.unchecked.drain(..n));
                    self.phase = Phase::Body(left - n as u64);
                }
                Phase::Head => {
                    if self.unchecked.is_empty() {
                        return false;
                    }
                    match check_head(&self.unchecked) {
                        Ok(Some((len, body))) => {
                            self.checked.clear();
                            self.taken = 0;
                            self.checked.extend(self.unchecked.drain(..len));
                            self.phase = Phase::Body(body);
                        }
                        Ok(None) if self.unchecked.len() < MAX_HEAD_BYTES => return false,
                        Ok(None) => self.reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
                        Err(status) => self.reject(status),
                    }
                }
            }
        }
    }
}

/// Parses one request head at the start of `bytes` the way hyper's server
/// does: `Ok(Some((head length, body length)))` for a head hyper accepts,
/// `Ok(None)` when it is incomplete, and the status to answer otherwise.
fn check_head(bytes: &[u8]) -> Result<Option<(usize, u64)>, StatusCode> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        }
        Err(_) => return Err(StatusCode::BAD_REQUEST),
    };
    if len > MAX_HEAD_BYTES {
        return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
    let bad = StatusCode::BAD_REQUEST;
    let method = req.method.ok_or(bad)?;
    Method::from_bytes(method.as_bytes()).map_err(|_| bad)?;
    Uri::try_from(req.path.ok_or(bad)?).map_err(|_| bad)?;
    let http11 = req.version == Some(1);
    let (mut chunked, mut transfer_encoding, mut content_length) = (false, false, None);
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| bad)?;
        if name == REJECTED {
            return Err(bad);
        }
        if name == header::TRANSFER_ENCODING {
            // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding is faulty.
            if !http11 {
                return Err(bad);
            }
            transfer_encoding = true;
            chunked = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.rsplit(',').next())
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if name == header::CONTENT_LENGTH {
            let n = parse_digits(h.value).ok_or(bad)?;
            if content_length.is_some_and(|prev| prev != n) {
                return Err(bad);
            }
            content_length = Some(n);
        }
    }
    if transfer_encoding {
        // A chunked body's end is only known by decoding it. A static server
        // has no use for request bodies, so it asks for a length instead
        // (RFC 9110 §15.5.12); anything but chunked last is malformed.
        return Err(if chunked {
            StatusCode::LENGTH_REQUIRED
        } else {
            bad
        });
    }
    Ok(Some((len, content_length.unwrap_or(0))))
}

/// A Content-Length value: ASCII digits only, no sign, no overflow.
fn parse_digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0_u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

impl<S: AsyncRead + Unpin> AsyncRead for HeadGuard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.advance() {
                let n = buf.remaining().min(this.checked.len() - this.taken);
                buf.put_slice(&this.checked[this.taken..this.taken + n]);
                this.taken += n;
                return Poll::Ready(Ok(()));
            }
            if matches!(this.phase, Phase::Rejected) {
                // Never end of input: hyper would drop the answer it is writing.
                return Poll::Pending;
            }
            if this.client_eof {
                return Poll::Ready(Ok(()));
            }
            let mut read = ReadBuf::new(&mut this.scratch[..]);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                this.client_eof = true;
            } else {
                this.unchecked.extend_from_slice(read.filled());
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for HeadGuard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.shut_down {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            this.shut_down = true;
        }
        if !matches!(this.phase, Phase::Rejected) || this.client_eof {
            return Poll::Ready(Ok(()));
        }
        let deadline = this
            .drain
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(DRAIN_TIME)));
        while this.drained < DRAIN_BYTES && deadline.as_mut().poll(cx).is_pending() {
            let mut read = ReadBuf::new(&mut this.scratch[..]);
            match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) if !read.filled().is_empty() => {
                    this.drained += read.filled().len();
                }
                Poll::Ready(_) => break,
            }
        }
        this.client_eof = true;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_checked_like_hyper_checks_them() {
        let ok = |head: &[u8]| check_head(head);
        assert_eq!(
            ok(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest"),
            Ok(Some((27, 0)))
        );
        assert_eq!(
            ok(b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\n"),
            Ok(Some((39, 5)))
        );
        assert_eq!(ok(b"GET / HTTP/1.1\r\nHost: x\r\n"), Ok(None));
        let bad = Err(StatusCode::BAD_REQUEST);
        assert_eq!(ok(b"GARBAGE\r\n\r\n"), bad);
        assert_eq!(ok(b"GET /a\0b HTTP/1.1\r\n\r\n"), bad);
        assert_eq!(ok(b"GET file:///etc/passwd HTTP/1.1\r\n\r\n"), bad);
        assert_eq!(
            ok(b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            bad
        );
        assert_eq!(ok(b"GET / HTTP/1.1\r\nContent-Length: +1\r\n\r\n"), bad);
        assert_eq!(
            ok(b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            bad
        );
        assert_eq!(
            ok(b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
            bad
        );
        assert_eq!(
            ok(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(StatusCode::LENGTH_REQUIRED)
        );
        assert_eq!(
            ok(b"GET / HTTP/1.1\r\nX-Wasmbridge-Rejected: 200\r\n\r\n"),
            bad
        );
        let many: String = (0..=MAX_HEADERS).map(|i| format!("h{i}: v\r\n")).collect();
        assert_eq!(
            ok(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
    }

    #[test]
    fn content_lengths_are_plain_digits() {
        assert_eq!(parse_digits(b"0"), Some(0));
        assert_eq!(parse_digits(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_digits(b"18446744073709551616"), None);
        assert_eq!(parse_digits(b""), None);
        assert_eq!(parse_digits(b" 1"), None);
    }
}
