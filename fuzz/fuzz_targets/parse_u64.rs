//! Arbitrary text into `parse_u64` against `str::parse` as the oracle, and the
//! parsed value (or the first eight bytes) through `factorize`.

#![no_main]

use compute::factor;
use libfuzzer_sys::fuzz_target;

fn check_factorisation(n: u64) {
    let factors = factor::factorize(n).expect("n > 0");
    assert_eq!(
        factors.iter().try_fold(1u64, |acc, &p| acc.checked_mul(p)),
        Some(n)
    );
    assert!(factors.windows(2).all(|w| w[0] <= w[1]));
    assert!(
        factors.iter().all(|&p| factor::is_prime(p)),
        "{n}: {factors:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    if let Some(bytes) = data.first_chunk::<8>() {
        let n = u64::from_le_bytes(*bytes);
        if n > 0 {
            check_factorisation(n);
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = factor::parse_u64(text);
    let trimmed = text.trim_ascii();
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let oracle = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse::<u64>().ok())
        .flatten();
    assert_eq!(parsed.clone().ok(), oracle, "{text:?} gave {parsed:?}");
    match parsed {
        Ok(0) => assert!(factor::factorize(0).is_err()),
        Ok(n) => check_factorisation(n),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
