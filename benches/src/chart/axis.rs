//! One axis of a chart as `plotters` sees it: the range the data needs (padded so points do
//! not sit on the frame), linear or log₁₀ mapping (plotters' own coordinates), and the ticks —
//! the axis's fixed ones, or round values: 1-2-5 steps on a linear axis starting at zero,
//! 1-2-5 × 10ᵏ on a log axis (decades only when that is too many).

use std::ops::Range;

use plotters::coord::combinators::{IntoLogRange, LogCoord};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;

use super::Axis;

/// More ticks than this on a log axis keeps only the decades.
const LOG_TICKS_MAX: usize = 10;
/// About this many intervals on a linear axis without fixed ticks.
const LINEAR_STEPS: f64 = 5.0;

enum Scale {
    Linear(RangedCoordf64),
    Log(LogCoord<f64>),
}

/// An axis ready to draw on.
pub(super) struct AxisCoord {
    scale: Scale,
    lo: f64,
    hi: f64,
    /// Where ticks and grid lines go, with their labels.
    ticks: Vec<(f64, String)>,
}

impl AxisCoord {
    /// The axis for `values` (the coordinates of every point on it).
    pub(super) fn new(axis: &Axis, values: impl Iterator<Item = f64>) -> AxisCoord {
        let mut usable: Vec<f64> = values.filter(|v| shows(axis, *v)).collect();
        if let Some(ticks) = &axis.ticks {
            usable.extend(ticks.iter().map(|t| t.0).filter(|v| shows(axis, *v)));
        }
        let lo = usable.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = usable.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = match (lo.is_finite(), axis.log) {
            (false, true) => (1.0, 10.0),
            (false, false) => (0.0, 1.0),
            (true, _) => (lo, hi),
        };
        if axis.log {
            // 5% of the span (at least a tenth of a decade) of room at both ends.
            let (lo_exp, hi_exp) = (lo.log10(), hi.log10());
            let pad = ((hi_exp - lo_exp) * 0.05).max(0.1);
            let (lo, hi) = (10f64.powf(lo_exp - pad), 10f64.powf(hi_exp + pad));
            let ticks = axis.ticks.clone().unwrap_or_else(|| log_ticks(lo, hi));
            AxisCoord {
                scale: Scale::Log((lo..hi).log_scale().into()),
                lo,
                hi,
                ticks,
            }
        } else {
            let (lo, hi) = match &axis.ticks {
                // Fixed ticks mark categories or positions: room at both ends.
                Some(_) => {
                    let pad = ((hi - lo) * 0.05).max(0.5);
                    (lo - pad, hi + pad)
                }
                // Rates and times start at zero, and the top carries a round label.
                None => {
                    let lo = lo.min(0.0);
                    let hi = if hi > lo { hi } else { lo + 1.0 };
                    let step = linear_step(lo, hi);
                    (lo, (hi / step).ceil() * step)
                }
            };
            let ticks = axis.ticks.clone().unwrap_or_else(|| linear_ticks(lo, hi));
            AxisCoord {
                scale: Scale::Linear((lo..hi).into()),
                lo,
                hi,
                ticks,
            }
        }
    }
}

/// Whether a value can be placed on `axis` (a log axis has no place for zero or less).
pub(super) fn shows(axis: &Axis, v: f64) -> bool {
    v.is_finite() && (!axis.log || v > 0.0)
}

/// A round step (1, 2 or 5 × 10ᵏ) giving about [`LINEAR_STEPS`] intervals over `lo..hi`.
fn linear_step(lo: f64, hi: f64) -> f64 {
    let raw = (hi - lo) / LINEAR_STEPS;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

fn linear_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let step = linear_step(lo, hi);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last)
        .map(|k| k as f64 * step)
        .map(|v| (v, compact(v)))
        .collect()
}

fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let candidates = |mantissas: &[f64]| -> Vec<(f64, String)> {
        let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        (first..=last)
            .flat_map(|k| mantissas.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|v| (lo..=hi).contains(v))
            .map(|v| (v, compact(v)))
            .collect()
    };
    let fine = candidates(&[1.0, 2.0, 5.0]);
    if fine.len() > LOG_TICKS_MAX {
        candidates(&[1.0])
    } else {
        fine
    }
}

/// A tick label: `250`, `1.5k`, `20k`, `1M`, `0.05`.
pub(super) fn compact(v: f64) -> String {
    let (scaled, suffix) = match v.abs() {
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let digits = format!("{scaled:.2}");
    let digits = digits.trim_end_matches('0').trim_end_matches('.');
    format!("{digits}{suffix}")
}

impl Ranged for AxisCoord {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        match &self.scale {
            Scale::Linear(coord) => coord.map(value, limit),
            Scale::Log(coord) => coord.map(value, limit),
        }
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Our ticks are the bold grid lines; no light ones in between.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.iter().map(|t| t.0).collect()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for AxisCoord {
    fn format_ext(&self, value: &f64) -> String {
        self.ticks
            .iter()
            .find(|(v, _)| (v - value).abs() <= 1e-9 * v.abs().max(1.0))
            .map_or_else(|| compact(*value), |(_, label)| label.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(ticks: &[(f64, String)]) -> Vec<f64> {
        ticks.iter().map(|t| t.0).collect()
    }

    #[test]
    fn linear_ticks_are_round_numbers_from_zero() {
        let axis = AxisCoord::new(&Axis::default(), [3.0, 87.0].into_iter());
        assert_eq!(axis.range(), 0.0..100.0);
        assert_eq!(
            values(&axis.ticks),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
    }

    #[test]
    fn log_ticks_are_one_two_five_or_decades() {
        let log = Axis {
            log: true,
            ..Axis::default()
        };
        let narrow = AxisCoord::new(&log, [300.0, 9_000.0].into_iter());
        assert_eq!(
            values(&narrow.ticks),
            vec![500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0]
        );
        let wide = AxisCoord::new(&log, [1.0, 1e6, -5.0, f64::NAN].into_iter());
        assert_eq!(
            values(&wide.ticks),
            vec![1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6]
        );
        assert!(wide.range().start > 0.0, "a log axis starts above zero");
    }

    #[test]
    fn fixed_ticks_keep_their_labels() {
        let axis = Axis {
            log: true,
            ticks: Some(vec![(1.0, "one".into()), (16.0, "sixteen".into())]),
            ..Axis::default()
        };
        let coord = AxisCoord::new(&axis, [4.0].into_iter());
        assert_eq!(coord.format_ext(&16.0), "sixteen");
        assert_eq!(coord.format_ext(&4.0), "4");
        assert!(coord.range().start < 1.0 && coord.range().end > 16.0);
    }

    #[test]
    fn labels_are_compact() {
        assert_eq!(compact(1_500.0), "1.5k");
        assert_eq!(compact(20_000.0), "20k");
        assert_eq!(compact(1_000_000.0), "1M");
        assert_eq!(compact(250.0), "250");
        assert_eq!(compact(0.05), "0.05");
        assert_eq!(compact(0.0), "0");
    }
}
