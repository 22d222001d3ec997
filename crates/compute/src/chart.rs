//! Chart data for pages: labelled line and bar series, Largest-Triangle-Three-
//! Buckets downsampling of long series, and histograms.

use serde::Serialize;
use thiserror::Error;

/// The most bins [`histogram`] makes.
pub const MAX_BINS: usize = 1 << 20;

/// Why chart data could not be built.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ChartError {
    #[error("labels: expected one label per value ({values}), got {labels}")]
    LengthMismatch { labels: usize, values: usize },
    #[error("values[{index}]: expected a finite number, got {value}")]
    NonFinite { index: usize, value: f64 },
    #[error("bins: expected an integer in 1..={MAX_BINS}, got {0}")]
    Bins(usize),
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartKind {
    Line,
    Bar,
}

/// A labelled series, serialised as
/// `{"type":"line","labels":["1","2"],"values":[3.5,4],"min":3.5,"max":4}`;
/// `min` and `max` are `null` for an empty series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    #[serde(rename = "type")]
    pub kind: ChartKind,
    pub labels: Vec<String>,
    pub values: Vec<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A line series; `labels` of `None` numbers the points `"1"`, `"2"`, ….
pub fn line_series(labels: Option<Vec<String>>, values: Vec<f64>) -> Result<Series, ChartError> {
    series(ChartKind::Line, labels, values)
}

/// A bar series; `labels` of `None` numbers the bars `"1"`, `"2"`, ….
pub fn bar_series(labels: Option<Vec<String>>, values: Vec<f64>) -> Result<Series, ChartError> {
    series(ChartKind::Bar, labels, values)
}

/// `"1"`, `"2"`, … `"n"`: the seed's generated labels.
pub fn default_labels(n: usize) -> Vec<String> {
    (1..=n).map(|i| i.to_string()).collect()
}

fn series(
    kind: ChartKind,
    labels: Option<Vec<String>>,
    values: Vec<f64>,
) -> Result<Series, ChartError> {
    // JSON has no NaN or infinity: serde_json would write them as null.
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ChartError::NonFinite { index, value });
    }
    let labels = labels.unwrap_or_else(|| default_labels(values.len()));
    if labels.len() != values.len() {
        return Err(ChartError::LengthMismatch {
            labels: labels.len(),
            values: values.len(),
        });
    }
    let min = values.iter().copied().reduce(f64::min);
    let max = values.iter().copied().reduce(f64::max);
    Ok(Series {
        kind,
        labels,
        values,
        min,
        max,
    })
}

/// Downsamples `points` (sorted by x) to `threshold` points that keep the
/// visual shape, by Largest-Triangle-Three-Buckets (Steinarsson, 2013): the
/// first and last points stay, the rest are split into `threshold − 2`
/// buckets, and each bucket keeps the point forming the largest triangle with
/// the previously kept point and the mean of the next bucket.
///
/// A `threshold` at or above `points.len()` returns all points; 0 returns
/// none, 1 the first point and 2 the first and last. Otherwise the result has
/// exactly `threshold` points, in input order. A point with a NaN coordinate
/// gives a NaN area, which never wins, so a bucket of only such points keeps
/// its first.
pub fn lttb(points: &[(f64, f64)], threshold: usize) -> Vec<(f64, f64)> {
    let n = points.len();
    if threshold >= n {
        return points.to_vec();
    }
    let (Some(&first), Some(&last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    match threshold {
        0 => return Vec::new(),
        1 => return vec![first],
        2 => return vec![first, last],
        _ => {}
    }
    let buckets = threshold - 2;
    // Bucket i is points[bound(i)..bound(i + 1)]: integer bounds cover
    // 1..n−1 exactly, and n − 2 > buckets makes every bucket non-empty.
    let bound = |i: usize| 1 + ((i as u128 * (n - 2) as u128) / buckets as u128) as usize;
    let mut out = Vec::with_capacity(threshold);
    out.push(first);
    let mut previous = first;
    for i in 0..buckets {
        let next = if i + 1 < buckets {
            &points[bound(i + 1)..bound(i + 2)]
        } else {
            &points[n - 1..]
        };
        let (sx, sy) = next
            .iter()
            .fold((0.0, 0.0), |(sx, sy), &(x, y)| (sx + x, sy + y));
        let (cx, cy) = (sx / next.len() as f64, sy / next.len() as f64);
        let (ax, ay) = previous;
        let bucket = &points[bound(i)..bound(i + 1)];
        let mut chosen = bucket[0];
        let mut largest = -1.0;
        for &(bx, by) in bucket {
            // Twice the triangle's area; the factor ½ does not change the winner.
            let area = ((ax - cx) * (by - ay) - (ax - bx) * (cy - ay)).abs();
            if area > largest {
                largest = area;
                chosen = (bx, by);
            }
        }
        out.push(chosen);
        previous = chosen;
    }
    out.push(last);
    out
}

/// Counts of values per bin, serialised as `{"edges":[…],"counts":[…],"skipped":0}`.
///
/// `edges` has `bins + 1` entries from the smallest to the largest finite
/// value; bin `i` counts `edges[i] ≤ v < edges[i+1]`, and the last bin also
/// counts `v = edges[bins]`. NaN and ±∞ are not binned: they are counted in
/// `skipped`. With no finite value the range is `[0, 1]`; with a single
/// distinct value `v` it is `[v − 0.5, v + 0.5]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
    pub skipped: u64,
}

/// Bins `values` into `bins` equal-width bins (1 ≤ `bins` ≤ [`MAX_BINS`]).
pub fn histogram(values: &[f64], bins: usize) -> Result<Histogram, ChartError> {
    if bins == 0 || bins > MAX_BINS {
        return Err(ChartError::Bins(bins));
    }
    let finite = || values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = match (finite().reduce(f64::min), finite().reduce(f64::max)) {
        (Some(lo), Some(hi)) if lo < hi => (lo, hi),
        (Some(v), Some(_)) => (v - 0.5, v + 0.5),
        _ => (0.0, 1.0),
    };
    let width = hi - lo;
    let mut edges: Vec<f64> = (0..=bins)
        .map(|i| {
            let t = i as f64 / bins as f64;
            // lo·(1−t) + hi·t cannot overflow where hi − lo does.
            if width.is_finite() {
                lo + width * t
            } else {
                lo * (1.0 - t) + hi * t
            }
        })
        .collect();
    edges[0] = lo;
    edges[bins] = hi;
    // Rounding can put an edge a hair past its neighbour; keep them ordered.
    for i in 1..bins {
        edges[i] = edges[i].clamp(edges[i - 1], hi);
    }
    let mut counts = vec![0u64; bins];
    let mut skipped = 0;
    for &v in values {
        if !v.is_finite() {
            skipped += 1;
            continue;
        }
        // Estimate the bin arithmetically, then settle it against the edges
        // themselves so every count agrees with the edges reported, whatever
        // the rounding in computing them.
        let estimate = if width.is_finite() {
            ((v - lo) / width * bins as f64) as usize
        } else {
            edges.partition_point(|&e| e <= v).saturating_sub(1)
        };
        let mut bin = estimate.min(bins - 1);
        while bin > 0 && v < edges[bin] {
            bin -= 1;
        }
        while bin + 1 < bins && v >= edges[bin + 1] {
            bin += 1;
        }
        counts[bin] += 1;
    }
    Ok(Histogram {
        edges,
        counts,
        skipped,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn series_json_shape() {
        let s = line_series(None, vec![3.5, 4.0]).unwrap();
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"type":"line","labels":["1","2"],"values":[3.5,4.0],"min":3.5,"max":4.0}"#
        );
        let s = bar_series(Some(vec!["a".into()]), vec![1.0]).unwrap();
        assert_eq!(s.kind, ChartKind::Bar);
        assert_eq!(
            bar_series(Some(vec!["a".into()]), vec![]).map_err(|e| e.to_string()),
            Err("labels: expected one label per value (0), got 1".to_string())
        );
        assert_eq!(
            line_series(None, vec![1.0, f64::NAN]).map_err(|e| e.to_string()),
            Err("values[1]: expected a finite number, got NaN".to_string())
        );
        assert_eq!(line_series(None, vec![]).unwrap().min, None);
    }

    #[test]
    fn lttb_small_cases() {
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, (i % 3) as f64)).collect();
        assert_eq!(lttb(&pts, 0), vec![]);
        assert_eq!(lttb(&pts, 1), vec![(0.0, 0.0)]);
        assert_eq!(lttb(&pts, 2), vec![(0.0, 0.0), (9.0, 0.0)]);
        assert_eq!(lttb(&pts, 10), pts);
        assert_eq!(lttb(&pts, 50), pts);
        assert_eq!(lttb(&[], 3), vec![]);
    }

    #[test]
    fn lttb_keeps_a_spike() {
        let mut pts: Vec<(f64, f64)> = (0..1000).map(|i| (i as f64, 0.0)).collect();
        pts[537].1 = 100.0;
        assert!(lttb(&pts, 20).contains(&(537.0, 100.0)));
    }

    #[test]
    fn histogram_known_counts() {
        let h = histogram(&[0.0, 1.0, 2.0, 3.0, 4.0, f64::NAN, f64::INFINITY], 4).unwrap();
        assert_eq!(h.edges, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(h.counts, vec![1, 1, 1, 2]);
        assert_eq!(h.skipped, 2);
        let h = histogram(&[5.0, 5.0], 2).unwrap();
        assert_eq!((h.edges, h.counts), (vec![4.5, 5.0, 5.5], vec![0, 2]));
        let h = histogram(&[f64::NAN], 1).unwrap();
        assert_eq!((h.edges, h.counts, h.skipped), (vec![0.0, 1.0], vec![0], 1));
        let h = histogram(&[-f64::MAX, f64::MAX], 2).unwrap();
        assert_eq!(h.counts, vec![1, 1]);
        assert!(h.edges.iter().all(|e| e.is_finite()));
        assert_eq!(
            histogram(&[1.0], 0).map_err(|e| e.to_string()),
            Err(format!(
                "bins: expected an integer in 1..={MAX_BINS}, got 0"
            ))
        );
    }

    proptest! {
        #[test]
        fn lttb_keeps_ends_and_count(
            ys in prop::collection::vec(-1e6..1e6f64, 3..400),
            threshold in 3usize..500,
        ) {
            let pts: Vec<(f64, f64)> = ys.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect();
            let out = lttb(&pts, threshold);
            prop_assert_eq!(out.len(), threshold.min(pts.len()));
            prop_assert_eq!(out.first(), pts.first());
            prop_assert_eq!(out.last(), pts.last());
            // A subsequence of the input: x strictly increases.
            prop_assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
        }

        #[test]
        fn histogram_counts_every_finite_value(
            values in prop::collection::vec(prop_oneof![any::<f64>(), -1e3..1e3f64], 0..300),
            bins in 1usize..50,
        ) {
            let h = histogram(&values, bins).unwrap();
            let finite = values.iter().filter(|v| v.is_finite()).count() as u64;
            prop_assert_eq!(h.counts.iter().sum::<u64>(), finite);
            prop_assert_eq!(h.skipped, values.len() as u64 - finite);
            prop_assert_eq!(h.edges.len(), bins + 1);
            prop_assert!(h.edges.windows(2).all(|w| w[0] <= w[1]));
            for (i, &count) in h.counts.iter().enumerate() {
                let last = i + 1 == bins;
                let inside = |v: f64| h.edges[i] <= v && (v < h.edges[i + 1] || last && v == h.edges[i + 1]);
                prop_assert_eq!(count, values.iter().filter(|&&v| inside(v)).count() as u64, "bin {}", i);
            }
        }
    }
}
