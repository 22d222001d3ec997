//! Serving one file: [`serve_path`] runs resolve → conditional → range →
//! variant, each step either answering or handing on to the next.

use std::ffi::OsString;
use std::io;
use std::path::Path;

use axum::body::Body;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Extensions, StatusCode, Version};
use axum::response::Response;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
use tokio_util::io::ReaderStream;

use super::conditional::{RangeRequest, Validators};
use super::paths::{self, Resolved, Target};
use super::{insert, mime, not_found, plain};

/// Responses smaller than this are not worth compressing on the fly.
const MIN_COMPRESS_LEN: u64 = 256;

/// Larger files are sent as they are unless precompressed: compressing tens of
/// megabytes (a Godot engine) on every request would take seconds.
const MAX_ON_THE_FLY: u64 = 8 << 20;

/// Chunk size used when streaming files.
const READ_CHUNK: usize = 64 * 1024;

/// Marker put in the extensions of responses the compression layer may encode.
#[derive(Clone, Copy)]
struct Compressible;

/// The compression layer's predicate: only marked, whole (200) responses of a
/// size worth compressing.
pub(super) fn marked_compressible(
    status: StatusCode,
    _version: Version,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> bool {
    let small = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_none_or(|len| len <= MAX_ON_THE_FLY);
    status == StatusCode::OK && small && extensions.get::<Compressible>().is_some()
}

/// Answers a GET or HEAD for `segments` (sanitized from `raw`) under `root`.
pub(super) async fn serve_path(
    root: &Path,
    raw: &str,
    segments: &[String],
    headers: &HeaderMap,
    head: bool,
) -> io::Result<Response> {
    // Resolve: the request names a regular file under the root, or not.
    let target = match paths::resolve(root, raw, segments).await? {
        Resolved::File(target) => target,
        Resolved::RedirectToDir => {
            let mut res = plain(StatusCode::PERMANENT_REDIRECT, "moved");
            insert(
                res.headers_mut(),
                header::LOCATION,
                &paths::dir_location(segments),
            );
            return Ok(res);
        }
        Resolved::NotFound => return Ok(not_found()),
    };

    // Conditional: a client that has this version gets 304 and no body.
    let validators = Validators::of(&target.meta);
    let mut res = Response::new(Body::empty());
    {
        let h = res.headers_mut();
        insert(h, header::ETAG, &validators.etag);
        if let Some(lm) = &validators.last_modified {
            insert(h, header::LAST_MODIFIED, lm);
        }
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(mime::cache_control(&target.logical)),
        );
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if validators.not_modified(headers) {
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(res);
    }
    let mime = mime::of_path(&target.logical);
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime.header));

    // Range: a single satisfiable range is served from the identity representation.
    let len = target.meta.len();
    match validators.range(headers, len) {
        RangeRequest::Unsatisfiable => {
            let mut res = plain(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
            insert(
                res.headers_mut(),
                header::CONTENT_RANGE,
                &format!("bytes */{len}"),
            );
            return Ok(res);
        }
        RangeRequest::Bytes { start, end } => {
            let count = end - start + 1;
            *res.status_mut() = StatusCode::PARTIAL_CONTENT;
            let h = res.headers_mut();
            insert(
                h,
                header::CONTENT_RANGE,
                &format!("bytes {start}-{end}/{len}"),
            );
            insert(h, header::CONTENT_LENGTH, &count.to_string());
            h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            if !head {
                *res.body_mut() = file_body(&target.path, start, count).await?;
            }
            return Ok(res);
        }
        RangeRequest::None => {}
    }

    // Variant: a precompressed file the client accepts, else the file itself.
    if precompressed(root, &target, headers, &mut res, head).await? {
        return Ok(res);
    }
    let h = res.headers_mut();
    insert(h, header::CONTENT_LENGTH, &len.to_string());
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if mime.compressible && len >= MIN_COMPRESS_LEN {
        res.extensions_mut().insert(Compressible);
    }
    if !head {
        *res.body_mut() = file_body(&target.path, 0, len).await?;
    }
    Ok(res)
}

/// Fills `res` with `FILE.br` or `FILE.gz` when one exists under the root and
/// the client accepts it; false when there is none.
async fn precompressed(
    root: &Path,
    target: &Target,
    headers: &HeaderMap,
    res: &mut Response,
    head: bool,
) -> io::Result<bool> {
    for encoding in accepted_encodings(headers) {
        let mut variant = OsString::from(target.logical.as_os_str());
        variant.push(".");
        variant.push(encoding.suffix());
        let Some(variant_path) = paths::confine(root, Path::new(&variant)).await? else {
            continue;
        };
        let variant_meta = tokio::fs::metadata(&variant_path).await?;
        if !variant_meta.is_file() {
            continue;
        }
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding.token()),
        );
        insert(h, header::CONTENT_LENGTH, &variant_meta.len().to_string());
        if !head {
            *res.body_mut() = file_body(&variant_path, 0, variant_meta.len()).await?;
        }
        return Ok(true);
    }
    Ok(false)
}

async fn file_body(path: &Path, start: u64, count: u64) -> io::Result<Body> {
    let mut file = tokio::fs::File::open(path).await?;
    if start > 0 {
        file.seek(io::SeekFrom::Start(start)).await?;
    }
    Ok(Body::from_stream(ReaderStream::with_capacity(
        file.take(count),
        READ_CHUNK,
    )))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    fn suffix(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gz",
        }
    }
    fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }
}

/// Precompressed encodings the client accepts, best first (brotli wins ties).
fn accepted_encodings(headers: &HeaderMap) -> Vec<Encoding> {
    let (mut br, mut gzip, mut star) = (None, None, None);
    for item in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut quality = 1000_u32;
        for param in parts {
            if let Some((key, value)) = param.split_once('=') {
                if key.trim().eq_ignore_ascii_case("q") {
                    quality = parse_quality(value.trim());
                }
            }
        }
        match name.as_str() {
            "br" => br = Some(quality),
            "gzip" | "x-gzip" => gzip = Some(quality),
            "*" => star = Some(quality),
            _ => {}
        }
    }
    let br = br.or(star).unwrap_or(0);
    let gzip = gzip.or(star).unwrap_or(0);
    let mut out: Vec<(Encoding, u32)> = [(Encoding::Brotli, br), (Encoding::Gzip, gzip)]
        .into_iter()
        .filter(|&(_, q)| q > 0)
        .collect();
    out.sort_by_key(|&(_, q)| std::cmp::Reverse(q));
    out.into_iter().map(|(e, _)| e).collect()
}

/// `q` value in thousandths; anything unparsable counts as "not acceptable".
fn parse_quality(value: &str) -> u32 {
    match value.parse::<f32>() {
        Ok(q) if q.is_finite() => (q.clamp(0.0, 1.0) * 1000.0).round() as u32,
        _ => 0,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_negotiation() {
        let negotiate = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            accepted_encodings(&h)
        };
        use Encoding::*;
        assert_eq!(negotiate("gzip, deflate, br"), vec![Brotli, Gzip]);
        assert_eq!(negotiate("gzip"), vec![Gzip]);
        assert_eq!(negotiate("br;q=0.5, gzip"), vec![Gzip, Brotli]);
        assert_eq!(negotiate("br;q=0, *"), vec![Gzip]);
        assert_eq!(negotiate("identity"), vec![]);
        assert_eq!(negotiate("*;q=0"), vec![]);
        assert_eq!(accepted_encodings(&HeaderMap::new()), vec![]);
    }
}
