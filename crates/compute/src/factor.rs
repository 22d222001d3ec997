//! Primality and factorisation of `u64`: deterministic Miller–Rabin and
//! Pollard–Brent rho in Montgomery arithmetic, plus the seed's trial division
//! kept as a benchmark baseline.

use thiserror::Error;

/// Why a decimal string is not a `u64`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("expected a decimal integer, got an empty string")]
    Empty,
    #[error("expected a non-negative integer, got {0:?}")]
    Negative(String),
    #[error("expected a decimal digit at byte {index}, got {found:?}")]
    InvalidDigit { index: usize, found: char },
    #[error("expected an integer at most 18446744073709551615, got {0}")]
    Overflow(String),
}

/// Why a number has no prime factorisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FactorError {
    #[error("expected a positive integer, got 0")]
    Zero,
}

/// Parses a decimal `u64`. Surrounding ASCII whitespace and one leading `+` are
/// allowed; anything else that is not a digit (signs, `_`, `0x`, exponents) is
/// an error naming the offending character. Leading zeros are allowed.
pub fn parse_u64(text: &str) -> Result<u64, ParseError> {
    let trimmed = text.trim_ascii();
    let offset = text.len() - text.trim_ascii_start().len();
    if trimmed.starts_with('-') && trimmed.len() > 1 {
        return Err(ParseError::Negative(trimmed.to_string()));
    }
    let (digits, offset) = match trimmed.strip_prefix('+') {
        Some(rest) => (rest, offset + 1),
        None => (trimmed, offset),
    };
    if digits.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut value: u64 = 0;
    let mut overflowed = false;
    for (i, c) in digits.char_indices() {
        let Some(d) = c.to_digit(10) else {
            return Err(ParseError::InvalidDigit {
                index: offset + i,
                found: c,
            });
        };
        // Keep scanning after an overflow so a stray letter is still reported
        // as the more useful "invalid digit" error.
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflowed = true,
        }
    }
    if overflowed {
        return Err(ParseError::Overflow(digits.to_string()));
    }
    Ok(value)
}

/// The prime factors of `n` in ascending order, repeated by multiplicity.
/// `factorize(1)` is the empty product `[]`; 0 has no factorisation and is an error.
pub fn factorize(n: u64) -> Result<Vec<u64>, FactorError> {
    if n == 0 {
        return Err(FactorError::Zero);
    }
    let mut factors = Vec::new();
    let mut rest = n;
    for &p in SMALL_PRIMES {
        if u64::from(p) * u64::from(p) > rest {
            break;
        }
        while rest.is_multiple_of(u64::from(p)) {
            factors.push(u64::from(p));
            rest /= u64::from(p);
        }
    }
    // What is left has no factor below 257, so if it is below 257² it is prime.
    if rest > 1 {
        split(rest, &mut factors);
    }
    factors.sort_unstable();
    Ok(factors)
}

/// Whether `n` is prime. Exact for every `u64`: the first twelve primes as
/// Miller–Rabin bases are a proven witness set below 3.3·10²⁴.
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    for &p in &SMALL_PRIMES[..12] {
        let p = u64::from(p);
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    if n < 41 * 41 {
        return true;
    }
    let m = Montgomery::new(n);
    let one = m.one();
    let minus_one = m.neg_one();
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'bases: for &a in &SMALL_PRIMES[..12] {
        let mut x = m.pow(m.to_mont(u64::from(a)), d);
        if x == one || x == minus_one {
            continue;
        }
        for _ in 1..s {
            x = m.mul(x, x);
            if x == minus_one {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

/// The seed's method: divide by 2, then by every odd number up to √n. Up to
/// 2³² divisions for a large semiprime; kept only to compare against.
pub fn trial_division(n: u64) -> Result<Vec<u64>, FactorError> {
    if n == 0 {
        return Err(FactorError::Zero);
    }
    let mut factors = Vec::new();
    let mut rest = n;
    while rest.is_multiple_of(2) {
        factors.push(2);
        rest /= 2;
    }
    let mut i = 3u64;
    // `i <= rest / i` is `i² <= rest` without overflowing near 2⁶⁴.
    while i <= rest / i {
        while rest.is_multiple_of(i) {
            factors.push(i);
            rest /= i;
        }
        i += 2;
    }
    if rest > 1 {
        factors.push(rest);
    }
    Ok(factors)
}

/// Pushes the prime factors of `n` (> 1, no factor below 257) in any order.
fn split(n: u64, factors: &mut Vec<u64>) {
    let mut stack = vec![n];
    while let Some(n) = stack.pop() {
        if n < 257 * 257 || is_prime(n) {
            factors.push(n);
            continue;
        }
        let d = find_divisor(n);
        stack.push(d);
        stack.push(n / d);
    }
}

/// A non-trivial divisor of the odd composite `n`: a few steps of Fermat's
/// method first, then rho polynomials x² + c for c = 1, 2, … until one does
/// not cycle back to `n` itself.
fn find_divisor(n: u64) -> u64 {
    if let Some(d) = fermat(n, FERMAT_STEPS) {
        return d;
    }
    let m = Montgomery::new(n);
    let mut c = 1;
    loop {
        if let Some(d) = brent(&m, c) {
            return d;
        }
        c += 1;
    }
}

/// Fermat steps tried before rho. Rho's cost grows with the square root of the
/// smallest factor, so its worst case is two factors of equal size; when they
/// are also close (|p − q| up to about 3·n^¼ here), Fermat finds them at once.
/// Eight square roots cost far less than one rho batch.
const FERMAT_STEPS: u32 = 8;

/// Looks for n = a² − b² = (a − b)(a + b) with a from ⌈√n⌉ up; also catches squares.
fn fermat(n: u64, steps: u32) -> Option<u64> {
    let n128 = u128::from(n);
    let mut a = u128::from(n.isqrt());
    if a * a < n128 {
        a += 1;
    }
    for _ in 0..steps {
        // a ≤ 2³² + steps, so a² − n is far below 2⁶⁴.
        let b2 = u64::try_from(a * a - n128).ok()?;
        let b = b2.isqrt();
        if b * b == b2 {
            let d = u64::try_from(a).ok()? - b;
            return (d > 1 && d < n).then_some(d);
        }
        a += 1;
    }
    None
}

/// Brent's variant of Pollard's rho: iterate f(x) = x² + c in Montgomery form,
/// compare against a saved point whose distance doubles, and batch the
/// differences into one product so a gcd is taken only every `BATCH` steps.
fn brent(m: &Montgomery, c: u64) -> Option<u64> {
    const BATCH: u64 = 128;
    let n = m.n;
    let c = m.to_mont(c);
    let f = |x: u64| m.add(m.mul(x, x), c);
    let mut y = m.to_mont(2);
    let mut q = m.one();
    let mut r = 1u64;
    let (mut x, mut saved_y);
    let mut g;
    loop {
        x = y;
        for _ in 0..r {
            y = f(y);
        }
        let mut k = 0;
        loop {
            saved_y = y;
            for _ in 0..BATCH.min(r - k) {
                y = f(y);
                q = m.mul(q, x.abs_diff(y));
            }
            // q is in Montgomery form (q·R mod n), and R is a unit mod the odd
            // n, so gcd(q·R, n) = gcd(q, n).
            g = gcd(q, n);
            k += BATCH;
            if k >= r || g != 1 {
                break;
            }
        }
        r *= 2;
        if g != 1 {
            break;
        }
    }
    if g == n {
        // The batch overshot: redo it one step at a time from its start.
        loop {
            saved_y = f(saved_y);
            g = gcd(x.abs_diff(saved_y), n);
            if g != 1 {
                break;
            }
        }
    }
    (g != n).then_some(g)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    if a == 0 {
        return b;
    }
    if b == 0 {
        return a;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

/// Arithmetic modulo an odd `n` in Montgomery form x·2⁶⁴ mod n, where a
/// product needs two widening multiplications and no division. Values are
/// kept in `[0, n)`. A `u128` division appears only in [`Montgomery::new`].
struct Montgomery {
    n: u64,
    /// n⁻¹ mod 2⁶⁴ (not the textbook −n⁻¹): [`Montgomery::mul`] subtracts
    /// m·n instead of adding it, so nothing overflows even for n near 2⁶⁴.
    n_inv: u64,
    /// 2¹²⁸ mod n, to enter Montgomery form with one product.
    r2: u64,
}

impl Montgomery {
    fn new(n: u64) -> Self {
        debug_assert!(n % 2 == 1);
        // Newton's iteration doubles the correct low bits each step: n is its
        // own inverse mod 8 (3 bits), so five steps reach 96 ≥ 64 bits.
        let mut n_inv = n;
        for _ in 0..5 {
            n_inv = n_inv.wrapping_mul(2u64.wrapping_sub(n.wrapping_mul(n_inv)));
        }
        let r1 = (u128::from(u64::MAX) % u128::from(n) + 1) % u128::from(n);
        let r2 = (r1 * r1 % u128::from(n)) as u64;
        Montgomery { n, n_inv, r2 }
    }

    /// a·b·2⁻⁶⁴ mod n (Montgomery's REDC of the full product).
    #[inline(always)]
    fn mul(&self, a: u64, b: u64) -> u64 {
        let (lo, hi) = mul_wide(a, b);
        let m = lo.wrapping_mul(self.n_inv);
        // m·n ≡ a·b (mod 2⁶⁴), so a·b − m·n has a zero low half and its high
        // half is hi − high(m·n), in (−n, n).
        let (_, mn_hi) = mul_wide(m, self.n);
        let (diff, borrow) = hi.overflowing_sub(mn_hi);
        if borrow {
            diff.wrapping_add(self.n)
        } else {
            diff
        }
    }

    #[inline(always)]
    fn add(&self, a: u64, b: u64) -> u64 {
        let (sum, carry) = a.overflowing_add(b);
        if carry || sum >= self.n {
            sum.wrapping_sub(self.n)
        } else {
            sum
        }
    }

    fn to_mont(&self, x: u64) -> u64 {
        self.mul(x % self.n, self.r2)
    }

    fn one(&self) -> u64 {
        self.to_mont(1)
    }

    fn neg_one(&self) -> u64 {
        self.n - self.one()
    }

    fn pow(&self, mut base: u64, mut exp: u64) -> u64 {
        let mut acc = self.one();
        while exp > 0 {
            if exp & 1 == 1 {
                acc = self.mul(acc, base);
            }
            base = self.mul(base, base);
            exp >>= 1;
        }
        acc
    }
}

/// The full 128-bit product as (low, high) halves. On x86-64 and aarch64 a
/// `u128` product is one instruction; wasm has no high multiply, and there a
/// `u128` product becomes a call to a generic 128×128 routine, so four 32×32
/// products are several times faster.
#[inline(always)]
fn mul_wide(a: u64, b: u64) -> (u64, u64) {
    #[cfg(target_arch = "wasm32")]
    return mul_wide_by_halves(a, b);
    #[cfg(not(target_arch = "wasm32"))]
    {
        let p = u128::from(a) * u128::from(b);
        (p as u64, (p >> 64) as u64)
    }
}

#[cfg_attr(not(any(target_arch = "wasm32", test)), allow(dead_code))]
#[inline(always)]
fn mul_wide_by_halves(a: u64, b: u64) -> (u64, u64) {
    const LOW: u64 = 0xffff_ffff;
    let (a0, a1, b0, b1) = (a & LOW, a >> 32, b & LOW, b >> 32);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    // Each term is below 2³², so the sum of three cannot overflow.
    let middle = (p00 >> 32) + (p01 & LOW) + (p10 & LOW);
    (
        (middle << 32) | (p00 & LOW),
        p11 + (p01 >> 32) + (p10 >> 32) + (middle >> 32),
    )
}

/// The primes below 257: trial division by these first removes the factors
/// rho is worst at, and lets [`split`] call anything below 257² prime.
const SMALL_PRIMES: &[u16] = &[
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193,
    197, 199, 211, 223, 227, 229, 233, 239, 241, 251,
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn is_prime_by_trial(n: u64) -> bool {
        n >= 2
            && (2..)
                .take_while(|d| d * d <= n)
                .all(|d| !n.is_multiple_of(d))
    }

    #[test]
    fn known_factorisations() {
        assert_eq!(factorize(1), Ok(vec![]));
        assert_eq!(factorize(0), Err(FactorError::Zero));
        assert_eq!(factorize(2), Ok(vec![2]));
        assert_eq!(factorize(360), Ok(vec![2, 2, 2, 3, 3, 5]));
        assert_eq!(
            factorize(1_000_000_016_000_000_063),
            Ok(vec![1_000_000_007, 1_000_000_009])
        );
        assert_eq!(
            factorize(u64::MAX),
            Ok(vec![3, 5, 17, 257, 641, 65537, 6_700_417])
        );
        assert_eq!(factorize(1 << 63), Ok(vec![2; 63]));
        // The largest prime below 2⁶⁴, and the square of the largest prime below 2³².
        assert_eq!(
            factorize(18_446_744_073_709_551_557),
            Ok(vec![18_446_744_073_709_551_557])
        );
        assert_eq!(
            factorize(4_294_967_291 * 4_294_967_291),
            Ok(vec![4_294_967_291; 2])
        );
        // A cube and a product of three primes near 2²¹.
        assert_eq!(factorize(2_097_143u64.pow(3)), Ok(vec![2_097_143; 3]));
        assert_eq!(factorize(257 * 263 * 269), Ok(vec![257, 263, 269]));
        // Far-apart factors that Fermat's steps cannot reach: rho has to work.
        assert_eq!(
            factorize(1_000_000_007 * 1_500_000_001),
            Ok(vec![1_000_000_007, 1_500_000_001])
        );
    }

    #[test]
    fn wide_product_by_halves_matches_u128() {
        let cases = [
            (0, 0),
            (u64::MAX, u64::MAX),
            (u64::MAX, 1),
            (1 << 32, 1 << 32),
            (0xdead_beef_1234_5678, 0x8765_4321_0fed_cba9),
        ];
        for (a, b) in cases {
            let p = u128::from(a) * u128::from(b);
            assert_eq!(mul_wide_by_halves(a, b), (p as u64, (p >> 64) as u64));
        }
    }

    #[test]
    fn fermat_finds_close_factors_only() {
        assert_eq!(
            fermat(1_000_000_016_000_000_063, FERMAT_STEPS),
            Some(1_000_000_007)
        );
        assert_eq!(
            fermat(4_294_967_291 * 4_294_967_291, 1),
            Some(4_294_967_291)
        );
        assert_eq!(fermat(1_000_000_007 * 1_500_000_001, FERMAT_STEPS), None);
        // Rho alone on the benchmark semiprime, as if Fermat had not caught it.
        let m = Montgomery::new(1_000_000_016_000_000_063);
        let d = (1..).find_map(|c| brent(&m, c)).unwrap();
        assert!(d == 1_000_000_007 || d == 1_000_000_009);
    }

    #[test]
    fn known_primes_and_composites() {
        for p in [
            2,
            3,
            5,
            41,
            1_000_000_007,
            2_305_843_009_213_693_951,
            18_446_744_073_709_551_557,
        ] {
            assert!(is_prime(p), "{p} is prime");
        }
        // Strong pseudoprimes to several small bases, and Carmichael numbers.
        for c in [
            0,
            1,
            4,
            561,
            1_373_653,
            3_215_031_751,
            3_825_123_056_546_413_051,
            u64::MAX,
        ] {
            assert!(!is_prime(c), "{c} is composite");
        }
    }

    #[test]
    fn trial_division_matches_on_the_benchmark_semiprime() {
        assert_eq!(trial_division(0), Err(FactorError::Zero));
        assert_eq!(trial_division(1), Ok(vec![]));
        assert_eq!(trial_division(360), Ok(vec![2, 2, 2, 3, 3, 5]));
        assert_eq!(trial_division(u64::MAX), factorize(u64::MAX));
    }

    #[test]
    fn parse_accepts_decimal_and_explains_the_rest() {
        assert_eq!(parse_u64("0"), Ok(0));
        assert_eq!(parse_u64(" +0042\n"), Ok(42));
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_u64(""), Err(ParseError::Empty));
        assert_eq!(parse_u64("  "), Err(ParseError::Empty));
        assert_eq!(parse_u64("+"), Err(ParseError::Empty));
        assert_eq!(parse_u64("-3"), Err(ParseError::Negative("-3".into())));
        assert_eq!(
            parse_u64("-"),
            Err(ParseError::InvalidDigit {
                index: 0,
                found: '-'
            })
        );
        assert_eq!(
            parse_u64(" 12a"),
            Err(ParseError::InvalidDigit {
                index: 3,
                found: 'a'
            })
        );
        assert_eq!(
            parse_u64("1e3"),
            Err(ParseError::InvalidDigit {
                index: 1,
                found: 'e'
            })
        );
        assert_eq!(
            parse_u64("١٢"),
            Err(ParseError::InvalidDigit {
                index: 0,
                found: '١'
            })
        );
        assert_eq!(
            parse_u64("18446744073709551616").map_err(|e| e.to_string()),
            Err(
                "expected an integer at most 18446744073709551615, got 18446744073709551616".into()
            )
        );
        assert_eq!(
            parse_u64("99999999999999999999x"),
            Err(ParseError::InvalidDigit {
                index: 20,
                found: 'x'
            })
        );
    }

    proptest! {
        #[test]
        fn small_factorisations_are_prime_and_multiply_back(n in 1u64..2_000_000) {
            let factors = factorize(n).unwrap();
            prop_assert_eq!(factors.iter().product::<u64>(), n);
            prop_assert!(factors.windows(2).all(|w| w[0] <= w[1]));
            for &p in &factors {
                prop_assert!(is_prime_by_trial(p), "{} is not prime", p);
            }
            prop_assert_eq!(&factors, &trial_division(n).unwrap());
        }

        #[test]
        fn any_factorisation_multiplies_back(n in 1u64..) {
            let factors = factorize(n).unwrap();
            prop_assert_eq!(factors.iter().try_fold(1u64, |acc, &p| acc.checked_mul(p)), Some(n));
            for &p in &factors {
                prop_assert!(is_prime(p), "{} is not prime", p);
            }
        }

        #[test]
        fn semiprimes_of_random_32_bit_primes_split(
            a in 2u32..4_294_967_291,
            b in 2u32..4_294_967_291,
        ) {
            let p = (u64::from(a)..).find(|&x| is_prime(x)).unwrap();
            let q = (u64::from(b)..).find(|&x| is_prime(x)).unwrap();
            let mut want = vec![p, q];
            want.sort_unstable();
            prop_assert_eq!(factorize(p * q).unwrap(), want);
        }

        #[test]
        fn is_prime_matches_trial_division(n in 0u64..5_000_000) {
            prop_assert_eq!(is_prime(n), is_prime_by_trial(n));
        }

        #[test]
        fn wide_products_by_halves_agree(a: u64, b: u64) {
            let p = u128::from(a) * u128::from(b);
            prop_assert_eq!(mul_wide_by_halves(a, b), (p as u64, (p >> 64) as u64));
        }

        #[test]
        fn parse_round_trips(n: u64) {
            prop_assert_eq!(parse_u64(&n.to_string()), Ok(n));
        }
    }
}
