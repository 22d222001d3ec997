//! Chart data as JSON strings, LTTB downsampling and histograms.

use crate::args::{bad, to_json, u32_arg};
use compute::chart::{self, ChartKind};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasmbridge_guest::{Error, Result};

/// Labels from JSON: `""` or `null` for the default `"1"`, `"2"`, …; else an
/// array of strings or numbers (numbers become their decimal text).
fn labels(json: &str) -> Result<Option<Vec<String>>> {
    if json.trim().is_empty() {
        return Ok(None);
    }
    let expected = "labelsJson: expected a JSON array of strings or numbers, or null";
    let value: Value = serde_json::from_str(json)
        .map_err(|e| Error::bad_argument(format!("{expected}, got invalid JSON: {e}")))?;
    match value {
        Value::Null => Ok(None),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(Error::bad_argument(format!(
                    "labelsJson[{i}]: expected a string or a number, got {other}"
                ))),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        other => Err(Error::bad_argument(format!("{expected}, got {other}"))),
    }
}

fn series(kind: ChartKind, labels_json: &str, values: Vec<f64>) -> Result<String> {
    let labels = labels(labels_json)?;
    let series = match kind {
        ChartKind::Line => chart::line_series(labels, values),
        ChartKind::Bar => chart::bar_series(labels, values),
    };
    to_json(&series.map_err(bad)?)
}

/// Line chart JSON `{"type":"line","labels":[...],"values":[...],"min":..,"max":..}`; labelsJson may be "" for "1".."n".
#[wasm_bindgen(js_name = "lineChart")]
pub fn line_chart(labels_json: String, values: Vec<f64>) -> Result<String> {
    series(ChartKind::Line, &labels_json, values)
}

/// Bar chart JSON, the same shape as `lineChart` with `"type":"bar"`.
#[wasm_bindgen(js_name = "barChart")]
pub fn bar_chart(labels_json: String, values: Vec<f64>) -> Result<String> {
    series(ChartKind::Bar, &labels_json, values)
}

/// LTTB-downsamples the points (xs[i], ys[i]), sorted by x, to `threshold` points; returns them interleaved `[x0, y0, x1, y1, ...]`.
#[wasm_bindgen]
pub fn downsample(xs: &[f64], ys: &[f64], threshold: f64) -> Result<Vec<f64>> {
    if xs.len() != ys.len() {
        return Err(Error::bad_argument(format!(
            "ys: expected as many values as xs ({}), got {}",
            xs.len(),
            ys.len()
        )));
    }
    let threshold = u32_arg("threshold", threshold)? as usize;
    let points: Vec<(f64, f64)> = xs.iter().copied().zip(ys.iter().copied()).collect();
    Ok(chart::lttb(&points, threshold)
        .into_iter()
        .flat_map(|(x, y)| [x, y])
        .collect())
}

/// Histogram JSON `{"edges":[...],"counts":[...],"skipped":n}` with `bins` equal bins; NaN and ±Infinity are skipped.
#[wasm_bindgen]
pub fn histogram(values: &[f64], bins: f64) -> Result<String> {
    let bins = u32_arg("bins", bins)? as usize;
    to_json(&chart::histogram(values, bins).map_err(bad)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn chart_json() {
        assert_eq!(
            line_chart("".into(), vec![1.0, 2.5]).unwrap(),
            r#"{"type":"line","labels":["1","2"],"values":[1.0,2.5],"min":1.0,"max":2.5}"#
        );
        assert_eq!(
            bar_chart(r#"["a", 2]"#.into(), vec![3.0, 4.0]).unwrap(),
            r#"{"type":"bar","labels":["a","2"],"values":[3.0,4.0],"min":3.0,"max":4.0}"#
        );
        assert_eq!(
            bar_chart("[true]".into(), vec![1.0]).unwrap_err().message(),
            "labelsJson[0]: expected a string or a number, got true"
        );
        assert_eq!(
            line_chart("{".into(), vec![]).unwrap_err().code(),
            "BAD_ARGUMENT"
        );
        assert_eq!(
            line_chart("null".into(), vec![f64::NAN])
                .unwrap_err()
                .code(),
            "BAD_ARGUMENT"
        );
    }

    #[test]
    fn downsample_interleaves() {
        let xs: Vec<f64> = (0..10).map(f64::from).collect();
        let ys = vec![0.0; 10];
        assert_eq!(downsample(&xs, &ys, 2.0).unwrap(), [0.0, 0.0, 9.0, 0.0]);
        assert_eq!(
            downsample(&xs, &ys[..9], 2.0).unwrap_err().code(),
            "BAD_ARGUMENT"
        );
        assert_eq!(downsample(&xs, &ys, 5.0).unwrap().len(), 10);
    }

    #[test]
    fn histogram_json() {
        assert_eq!(
            histogram(&[0.0, 1.0, f64::NAN], 1.0).unwrap(),
            r#"{"edges":[0.0,1.0],"counts":[2],"skipped":1}"#
        );
        assert_eq!(histogram(&[1.0], 0.0).unwrap_err().code(), "BAD_ARGUMENT");
    }
}
