//! Exact Fibonacci numbers of any size up to [`MAX_N`], by fast doubling on big integers.

use num_bigint::BigUint;
use thiserror::Error;

/// The largest `n` [`fibonacci`] accepts. F(1 000 000) has 208 988 decimal
/// digits; past that the answer is too large to be worth sending to a page.
pub const MAX_N: u32 = 1_000_000;

/// Why [`fibonacci`] refused to compute an answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FibError {
    #[error("n must be at most {max}, got {n}")]
    TooLarge { n: u32, max: u32 },
}

/// F(n) exactly, as a decimal string, for `n` ≤ [`MAX_N`]. F(0) = 0, F(1) = 1.
pub fn fibonacci(n: u32) -> Result<String, FibError> {
    fibonacci_big(n).map(|f| f.to_string())
}

/// F(n) as a big integer, for `n` ≤ [`MAX_N`].
pub fn fibonacci_big(n: u32) -> Result<BigUint, FibError> {
    if n > MAX_N {
        return Err(FibError::TooLarge { n, max: MAX_N });
    }
    if let Some(small) = fibonacci_u64(n) {
        return Ok(BigUint::from(small));
    }
    Ok(fast_doubling(n).0)
}

/// F(n) for the `n` ≤ 93 whose answer fits in a `u64`; `None` past that.
pub fn fibonacci_u64(n: u32) -> Option<u64> {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        let next = a.checked_add(b)?;
        a = b;
        b = next;
    }
    Some(a)
}

/// (F(n), F(n+1)) from the identities F(2k) = F(k)·(2F(k+1) − F(k)) and
/// F(2k+1) = F(k)² + F(k+1)², walking the bits of `n` from the top. That is
/// about log2(n) steps of three big multiplications, instead of `n` additions.
fn fast_doubling(n: u32) -> (BigUint, BigUint) {
    let mut a = BigUint::ZERO; // F(k)
    let mut b = BigUint::from(1u32); // F(k+1)
    for bit in (0..u32::BITS - n.leading_zeros()).rev() {
        // 2F(k+1) − F(k) never underflows: F(k+1) ≥ F(k).
        let twice_b_minus_a = (&b << 1u32) - &a;
        let even = &a * twice_b_minus_a;
        let odd = &a * &a + &b * &b;
        if n >> bit & 1 == 1 {
            b = &even + &odd;
            a = odd;
        } else {
            a = even;
            b = odd;
        }
    }
    (a, b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn first_values() {
        let expected = ["0", "1", "1", "2", "3", "5", "8", "13", "21", "34", "55"];
        for (n, want) in expected.iter().enumerate() {
            assert_eq!(fibonacci(n as u32).unwrap(), *want, "F({n})");
        }
    }

    #[test]
    fn known_large_values() {
        assert_eq!(fibonacci(93).unwrap(), "12200160415121876738");
        assert_eq!(fibonacci(94).unwrap(), "19740274219868223167");
        assert_eq!(fibonacci(100).unwrap(), "354224848179261915075");
        assert_eq!(
            fibonacci(1000).unwrap(),
            "43466557686937456435688527675040625802564660517371780402481729089536555417949051890403879840079255169295922593080322634775209689623239873322471161642996440906533187938298969649928516003704476137795166849228875"
        );
    }

    #[test]
    fn fast_doubling_agrees_with_iteration() {
        let (mut a, mut b) = (BigUint::ZERO, BigUint::from(1u32));
        for n in 0..=400u32 {
            assert_eq!(fast_doubling(n).0, a, "F({n})");
            let next = &a + &b;
            a = std::mem::replace(&mut b, next);
        }
    }

    #[test]
    fn digit_count_of_f100000() {
        // F(n) has floor(n·log10(φ) − log10(√5)) + 1 digits: 20 899 for n = 100 000.
        let f = fibonacci(100_000).unwrap();
        assert_eq!(f.len(), 20_899);
        assert!(f.starts_with("259740693472217241661550340212759154148804853865176965847247"));
        assert!(f.ends_with("49895374653428746875"));
    }

    #[test]
    fn cap_is_a_typed_error() {
        assert!(fibonacci(MAX_N).is_ok_and(|s| s.len() == 208_988));
        assert_eq!(
            fibonacci(MAX_N + 1).map_err(|e| e.to_string()),
            Err(format!("n must be at most {MAX_N}, got {}", MAX_N + 1))
        );
    }
}
