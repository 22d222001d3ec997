//! Number theory: exact Fibonacci numbers (plain and cached) and `u64`
//! factorisation. 64-bit values travel as decimal strings, since a JS number
//! is exact only up to 2⁵³.

use crate::args::{bad, to_json, u32_arg, u64_arg};
use compute::cache::LruCache;
use compute::{factor, fib};
use std::cell::RefCell;
use std::num::NonZeroUsize;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasmbridge_guest::Result;

/// How many Fibonacci answers the cache keeps, and for how long (the seed's 5 minutes).
const CACHE_CAPACITY: NonZeroUsize = match NonZeroUsize::new(64) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};
const CACHE_TTL: Duration = Duration::from_secs(5 * 60);

type Clock = fn() -> u64;

thread_local! {
    // One cache per module instance: each worker has its own, which is what a
    // pool of single-threaded workers can have without locks.
    static FIB_CACHE: RefCell<LruCache<u32, String, Clock>> =
        RefCell::new(LruCache::new(CACHE_CAPACITY, Some(CACHE_TTL), now_ms));
}

#[cfg(target_arch = "wasm32")]
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

#[cfg(not(target_arch = "wasm32"))]
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn fib_n(n: f64) -> Result<u32> {
    let n = u32_arg("n", n)?;
    if n > fib::MAX_N {
        return Err(bad(fib::FibError::TooLarge { n, max: fib::MAX_N }));
    }
    Ok(n)
}

/// The n-th Fibonacci number (n ≤ 1 000 000) as an exact decimal string.
#[wasm_bindgen]
pub fn fibonacci(n: f64) -> Result<String> {
    fib::fibonacci(fib_n(n)?).map_err(bad)
}

/// Like `fibonacci`, but answers from this worker's LRU cache (64 entries, 5 min TTL) when it can.
#[wasm_bindgen(js_name = "fibonacciCached")]
pub fn fibonacci_cached(n: f64) -> Result<String> {
    let n = fib_n(n)?;
    if let Some(hit) = FIB_CACHE.with_borrow_mut(|cache| cache.get(&n).cloned()) {
        return Ok(hit);
    }
    let value = fib::fibonacci(n).map_err(bad)?;
    FIB_CACHE.with_borrow_mut(|cache| cache.insert(n, value.clone()));
    Ok(value)
}

/// This worker's Fibonacci cache counters as JSON: `{hits, misses, evictions, expirations, len, capacity}`.
#[wasm_bindgen(js_name = "cacheStats")]
pub fn cache_stats() -> Result<String> {
    to_json(&FIB_CACHE.with_borrow(|cache| cache.stats()))
}

/// Prime factors of n (a decimal string, BigInt or safe integer ≥ 1), ascending, as decimal strings.
#[wasm_bindgen]
pub fn factorize(n: JsValue) -> Result<Vec<String>> {
    factors(factor::factorize, u64_arg("n", &n)?)
}

/// Whether n (a decimal string, BigInt or safe integer) is prime; exact for every u64.
#[wasm_bindgen(js_name = "isPrime")]
pub fn is_prime(n: JsValue) -> Result<bool> {
    Ok(factor::is_prime(u64_arg("n", &n)?))
}

/// The seed's trial division, for benchmarks only: up to 2³² divisions (seconds) on a large semiprime.
#[wasm_bindgen(js_name = "trialDivision")]
pub fn trial_division(n: JsValue) -> Result<Vec<String>> {
    factors(factor::trial_division, u64_arg("n", &n)?)
}

fn factors(
    method: fn(u64) -> Result<Vec<u64>, factor::FactorError>,
    n: u64,
) -> Result<Vec<String>> {
    Ok(method(n).map_err(bad)?.iter().map(u64::to_string).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fibonacci_checks_n() {
        assert_eq!(fibonacci(100.0).unwrap(), "354224848179261915075");
        assert_eq!(fibonacci(-1.0).unwrap_err().code(), "BAD_ARGUMENT");
        assert_eq!(
            fibonacci(1_000_001.0).unwrap_err().message(),
            "n must be at most 1000000, got 1000001"
        );
    }

    #[test]
    fn cached_fibonacci_counts_hits() {
        let before = FIB_CACHE.with_borrow(|c| c.stats());
        assert_eq!(fibonacci_cached(90.0).unwrap(), "2880067194370816120");
        assert_eq!(fibonacci_cached(90.0).unwrap(), "2880067194370816120");
        let after = FIB_CACHE.with_borrow(|c| c.stats());
        assert_eq!(
            (after.hits - before.hits, after.misses - before.misses),
            (1, 1)
        );
        assert!(cache_stats().unwrap().contains("\"capacity\":64"));
    }

    #[test]
    fn factor_lists_are_decimal_strings() {
        assert_eq!(
            factors(factor::factorize, u64::MAX).unwrap(),
            ["3", "5", "17", "257", "641", "65537", "6700417"]
        );
        assert_eq!(
            factors(factor::factorize, 0).unwrap_err().code(),
            "BAD_ARGUMENT"
        );
    }
}
