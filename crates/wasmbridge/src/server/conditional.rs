//! Validators and conditional requests: weak `ETag` and `Last-Modified`,
//! `If-None-Match` / `If-Modified-Since` (304), `If-Range` and single byte
//! ranges (RFC 9110 §13 and §14).

use std::fs::Metadata;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::header::{self, HeaderMap, HeaderValue};

/// The validators of one file.
pub(super) struct Validators {
    pub etag: String,
    pub modified: Option<SystemTime>,
    /// `modified` as an HTTP date.
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn of(meta: &Metadata) -> Self {
        let modified = meta.modified().ok();
        Self {
            etag: etag(meta.len(), modified),
            modified,
            last_modified: modified.map(httpdate::fmt_http_date),
        }
    }

    /// RFC 9110 §13.2.2: `If-None-Match` (weak comparison) wins over `If-Modified-Since`.
    pub fn not_modified(&self, headers: &HeaderMap) -> bool {
        not_modified(headers, &self.etag, self.modified)
    }

    /// The range a request asks for, honouring `If-Range`.
    pub fn range(&self, headers: &HeaderMap, len: u64) -> RangeRequest {
        match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
            Some(spec) if if_range_holds(headers, self.last_modified.as_deref()) => {
                parse_range(spec, len)
            }
            _ => RangeRequest::None,
        }
    }
}

/// Weak validator from size and modification time: weak, because the same tag
/// is kept for the gzip/brotli encodings of the file.
fn etag(len: u64, modified: Option<SystemTime>) -> String {
    let stamp = modified
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("W/\"{len:x}-{stamp:x}\"")
}

fn not_modified(headers: &HeaderMap, etag: &str, modified: Option<SystemTime>) -> bool {
    let inm: Vec<&HeaderValue> = headers.get_all(header::IF_NONE_MATCH).iter().collect();
    if !inm.is_empty() {
        let ours = opaque_tag(etag);
        return inm
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .any(|tag| tag == "*" || opaque_tag(tag) == ours);
    }
    let (Some(modified), Some(since)) = (
        modified,
        headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok()),
    ) else {
        return false;
    };
    // HTTP dates have whole seconds.
    let modified_secs = modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let since_secs = since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    modified_secs <= since_secs
}

fn opaque_tag(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// `If-Range` needs a strong validator: our ETags are weak, so only an exact
/// `Last-Modified` date lets the range through.
fn if_range_holds(headers: &HeaderMap, last_modified: Option<&str>) -> bool {
    match headers.get(header::IF_RANGE) {
        None => true,
        Some(value) => {
            let Ok(value) = value.to_str() else {
                return false;
            };
            let value = value.trim();
            !value.starts_with('"')
                && !value.starts_with("W/")
                && last_modified.is_some_and(|lm| lm == value)
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum RangeRequest {
    /// No usable range: send the whole file.
    None,
    /// Inclusive byte range within the file.
    Bytes {
        start: u64,
        end: u64,
    },
    Unsatisfiable,
}

/// Single `bytes=` ranges only; multiple or malformed ranges are ignored (200).
fn parse_range(spec: &str, len: u64) -> RangeRequest {
    let spec = spec.trim();
    let Some((unit, set)) = spec.split_once('=') else {
        return RangeRequest::None;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return RangeRequest::None;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return RangeRequest::None;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let Ok(suffix) = last.parse::<u64>() else {
            return RangeRequest::None;
        };
        if suffix == 0 || len == 0 {
            return RangeRequest::Unsatisfiable;
        }
        return RangeRequest::Bytes {
            start: len.saturating_sub(suffix),
            end: len - 1,
        };
    }
    let Ok(start) = first.parse::<u64>() else {
        return RangeRequest::None;
    };
    let end = if last.is_empty() {
        None
    } else {
        match last.parse::<u64>() {
            Ok(end) if end >= start => Some(end),
            _ => return RangeRequest::None,
        }
    };
    if start >= len {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Bytes {
        start,
        end: end.map_or(len - 1, |e| e.min(len - 1)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-3", 10), Bytes { start: 0, end: 3 });
        assert_eq!(parse_range("bytes=4-", 10), Bytes { start: 4, end: 9 });
        assert_eq!(parse_range("bytes=-3", 10), Bytes { start: 7, end: 9 });
        assert_eq!(parse_range("bytes=-30", 10), Bytes { start: 0, end: 9 });
        assert_eq!(parse_range("bytes=5-100", 10), Bytes { start: 5, end: 9 });
        assert_eq!(parse_range("bytes=10-", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-4", 10), None);
        assert_eq!(parse_range("bytes=0-1,3-4", 10), None);
        assert_eq!(parse_range("items=0-1", 10), None);
        assert_eq!(parse_range("bytes=x-1", 10), None);
    }

    #[test]
    fn weak_etags_compare_weakly() {
        let tag = etag(5, Some(UNIX_EPOCH + Duration::from_secs(7)));
        assert!(tag.starts_with("W/\""));
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"nope\", {}", opaque_tag(&tag))).unwrap(),
        );
        assert!(not_modified(&h, &tag, None));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"nope\""));
        assert!(!not_modified(&h, &tag, None));
    }
}
