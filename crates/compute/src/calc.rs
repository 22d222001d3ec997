//! The seed's calculator on `f64`, with typed errors instead of NaN and infinity.

use thiserror::Error;

/// Why a calculator operation has no finite answer.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CalcError {
    #[error("division by zero: the divisor must be non-zero, got {0}")]
    DivisionByZero(f64),
    #[error("operand {name} must be a finite number, got {value}")]
    NonFinite { name: &'static str, value: f64 },
    #[error("result of {op} overflowed to {value}")]
    Overflow { op: &'static str, value: f64 },
}

fn finite(name: &'static str, value: f64) -> Result<f64, CalcError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(CalcError::NonFinite { name, value })
    }
}

fn checked(
    op: &'static str,
    a: f64,
    b: f64,
    f: impl Fn(f64, f64) -> f64,
) -> Result<f64, CalcError> {
    let value = f(finite("a", a)?, finite("b", b)?);
    if value.is_finite() {
        Ok(value)
    } else {
        Err(CalcError::Overflow { op, value })
    }
}

pub fn add(a: f64, b: f64) -> Result<f64, CalcError> {
    checked("add", a, b, |a, b| a + b)
}

pub fn subtract(a: f64, b: f64) -> Result<f64, CalcError> {
    checked("subtract", a, b, |a, b| a - b)
}

pub fn multiply(a: f64, b: f64) -> Result<f64, CalcError> {
    checked("multiply", a, b, |a, b| a * b)
}

pub fn divide(a: f64, b: f64) -> Result<f64, CalcError> {
    if finite("b", b)? == 0.0 {
        return Err(CalcError::DivisionByZero(b));
    }
    checked("divide", a, b, |a, b| a / b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_answers() {
        assert_eq!(add(0.1, 0.2), Ok(0.1 + 0.2));
        assert_eq!(subtract(7.0, 2.5), Ok(4.5));
        assert_eq!(multiply(-3.0, 4.0), Ok(-12.0));
        assert_eq!(divide(7.0, 2.0), Ok(3.5));
    }

    #[test]
    fn typed_errors() {
        assert_eq!(divide(7.0, 0.0), Err(CalcError::DivisionByZero(0.0)));
        assert!(matches!(
            add(f64::NAN, 1.0),
            Err(CalcError::NonFinite { name: "a", .. })
        ));
        assert!(matches!(
            multiply(1e308, 10.0),
            Err(CalcError::Overflow { op: "multiply", .. })
        ));
        assert_eq!(
            divide(1.0, 0.0).map_err(|e| e.to_string()),
            Err("division by zero: the divisor must be non-zero, got 0".to_string())
        );
    }
}
