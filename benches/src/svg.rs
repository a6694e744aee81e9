//! A small SVG line-chart writer: a few series of (x, y) points on linear or log₁₀ axes, with
//! ticks, labels and a legend.
//!
//! Written here rather than taken from a plotting crate: the charts need nothing more than
//! lines and text, and a crate with font handling would be the largest build in this package
//! for the sake of three pictures. The output is plain SVG 1.1 text that browsers and GitHub
//! render; text uses the viewer's sans-serif font.

use std::fmt::Write as _;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 210.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 56.0;
/// Colour-blind-safe palette (Okabe–Ito), one colour per series in order.
const COLOURS: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
];

/// One named line of points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// An axis: its label, whether it is logarithmic, and optionally fixed ticks (value, label).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Axis {
    pub label: String,
    pub log: bool,
    pub ticks: Option<Vec<(f64, String)>>,
}

/// A line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
}

/// Maps data values onto one pixel axis (from `from` to `to`), linear or log₁₀.
#[derive(Debug, Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
    from: f64,
    to: f64,
}

impl Scale {
    fn new(values: impl Iterator<Item = f64>, log: bool, from: f64, to: f64) -> Scale {
        let usable: Vec<f64> = values
            .filter(|v| v.is_finite() && (!log || *v > 0.0))
            .map(|v| if log { v.log10() } else { v })
            .collect();
        let lo = usable.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = usable.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (mut lo, mut hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        if log {
            // A little room at both ends, so points do not sit on the frame.
            let pad = ((hi - lo) * 0.05).max(0.05);
            (lo, hi) = (lo - pad, hi + pad);
        } else if lo > 0.0 {
            lo = 0.0; // Rates and times start at zero unless negative values need room.
        }
        if (hi - lo).abs() < f64::EPSILON {
            hi = lo + 1.0;
        }
        if !log {
            // Up to the next round step, so the top of the axis carries a label.
            let step = linear_step(lo, hi);
            hi = (hi / step).ceil() * step;
        }
        Scale {
            lo,
            hi,
            log,
            from,
            to,
        }
    }

    /// The pixel of `v`, or `None` when it cannot be drawn (not finite, or ≤ 0 on a log axis).
    fn pixel(&self, v: f64) -> Option<f64> {
        if !v.is_finite() || (self.log && v <= 0.0) {
            return None;
        }
        let v = if self.log { v.log10() } else { v };
        Some(self.from + (v - self.lo) / (self.hi - self.lo) * (self.to - self.from))
    }

    /// On a log axis, powers of ten (and their 2× and 5× when the axis spans under two
    /// decades); about five round steps on a linear one.
    fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            let multiples: &[f64] = if self.hi - self.lo < 2.0 {
                &[1.0, 2.0, 5.0]
            } else {
                &[1.0]
            };
            let (first, last) = (self.lo.floor() as i32, self.hi.ceil() as i32);
            return (first..=last)
                .flat_map(|e| multiples.iter().map(move |m| m * 10f64.powi(e)))
                .filter(|v| (self.lo..=self.hi).contains(&v.log10()))
                .map(|v| (v, tick_label(v)))
                .collect();
        }
        let step = linear_step(self.lo, self.hi);
        let mut out = Vec::new();
        let mut v = (self.lo / step).ceil() * step;
        while v <= self.hi + step * 1e-9 && out.len() < 12 {
            out.push((v, tick_label(v)));
            v += step;
        }
        out
    }
}

/// A round step (1, 2 or 5 times a power of ten) that cuts `lo..hi` into about five.
fn linear_step(lo: f64, hi: f64) -> f64 {
    let raw = (hi - lo) / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw)
}

/// `1,000` → `1k`, `2,500,000` → `2.5M`: tick labels stay short.
fn tick_label(v: f64) -> String {
    let (scaled, suffix) = match v.abs() {
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let text = if scaled.fract().abs() < 1e-9 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 0.1 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled}")
    };
    format!("{text}{suffix}")
}

/// `s` with the five XML special characters escaped.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

impl LineChart {
    /// The chart as an SVG document.
    pub fn to_svg(&self) -> String {
        let points = || self.series.iter().flat_map(|s| s.points.iter());
        let x_values = points()
            .map(|p| p.0)
            .chain(self.x.ticks.iter().flatten().map(|t| t.0));
        let xs = Scale::new(x_values, self.x.log, LEFT, WIDTH - RIGHT);
        let ys = Scale::new(points().map(|p| p.1), self.y.log, HEIGHT - BOTTOM, TOP);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
             viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">"
        );
        let _ = writeln!(
            out,
            "<rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"white\"/>\n\
             <text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{}</text>",
            (LEFT + WIDTH - RIGHT) / 2.0,
            xml(&self.title)
        );
        self.axes(&mut out, &xs, &ys);
        for (i, series) in self.series.iter().enumerate() {
            draw_series(&mut out, series, COLOURS[i % COLOURS.len()], &xs, &ys);
            let y = TOP + 10.0 + i as f64 * 20.0;
            let x = WIDTH - RIGHT + 16.0;
            let _ = writeln!(
                out,
                "<line x1=\"{x}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{}\" stroke-width=\"2\"/>\
                 <text x=\"{}\" y=\"{}\">{}</text>",
                x + 22.0,
                COLOURS[i % COLOURS.len()],
                x + 28.0,
                y + 4.0,
                xml(&series.name)
            );
        }
        out.push_str("</svg>\n");
        out
    }

    fn axes(&self, out: &mut String, xs: &Scale, ys: &Scale) {
        let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP);
        let _ = writeln!(
            out,
            "<path d=\"M{x0},{y1} V{y0} H{x1}\" fill=\"none\" stroke=\"#333\"/>"
        );
        let x_ticks = self.x.ticks.clone().unwrap_or_else(|| xs.ticks());
        for (v, label) in x_ticks {
            if let Some(px) = xs.pixel(v) {
                let _ = writeln!(
                    out,
                    "<line x1=\"{px:.1}\" y1=\"{y0}\" x2=\"{px:.1}\" y2=\"{}\" stroke=\"#333\"/>\
                     <text x=\"{px:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                    y0 + 5.0,
                    y0 + 18.0,
                    xml(&label)
                );
            }
        }
        let y_ticks = self.y.ticks.clone().unwrap_or_else(|| ys.ticks());
        for (v, label) in y_ticks {
            if let Some(py) = ys.pixel(v) {
                let _ = writeln!(
                    out,
                    "<line x1=\"{x0}\" y1=\"{py:.1}\" x2=\"{x1}\" y2=\"{py:.1}\" stroke=\"#ddd\"/>\
                     <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                    x0 - 6.0,
                    py + 4.0,
                    xml(&label)
                );
            }
        }
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n\
             <text transform=\"translate(18,{:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            (x0 + x1) / 2.0,
            HEIGHT - 14.0,
            xml(&self.x.label),
            (y0 + y1) / 2.0,
            xml(&self.y.label)
        );
    }
}

fn draw_series(out: &mut String, series: &Series, colour: &str, xs: &Scale, ys: &Scale) {
    let pixels: Vec<(f64, f64)> = series
        .points
        .iter()
        .filter_map(|&(x, y)| Some((xs.pixel(x)?, ys.pixel(y)?)))
        .collect();
    let path: Vec<String> = pixels
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    let _ = writeln!(
        out,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
        path.join(" ")
    );
    for (x, y) in pixels {
        let _ = writeln!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{colour}\"/>"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(y_log: bool) -> LineChart {
        LineChart {
            title: "Commits <per> second & more".into(),
            x: Axis {
                label: "writers".into(),
                log: true,
                ticks: None,
            },
            y: Axis {
                label: "commits/s".into(),
                log: y_log,
                ticks: None,
            },
            series: vec![
                Series {
                    name: "Cosmictron".into(),
                    points: vec![(1.0, 300.0), (4.0, 6_000.0), (16.0, 30_000.0)],
                },
                Series {
                    name: "SQLite".into(),
                    points: vec![(1.0, 250.0), (4.0, 260.0), (16.0, f64::NAN)],
                },
            ],
        }
    }

    #[test]
    fn the_svg_has_a_line_per_series_and_escaped_text() {
        let svg = chart(true).to_svg();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        // Five drawable points: the NaN one is left out rather than drawn at a wrong place.
        assert_eq!(svg.matches("<circle").count(), 5);
        assert!(svg.contains("Commits &lt;per&gt; second &amp; more"));
        assert!(!svg.contains("<per>"));
        assert!(svg.contains(">Cosmictron</text>") && svg.contains(">SQLite</text>"));
        // Log ticks at the powers of ten inside 250..30,000 (over two decades: no 2× or 5×).
        for label in [">1k</text>", ">10k</text>"] {
            assert!(svg.contains(label), "no tick {label}");
        }
        for label in [">100</text>", ">100k</text>", ">2k</text>"] {
            assert!(!svg.contains(label), "tick {label} is outside the data");
        }
    }

    #[test]
    fn points_are_placed_inside_the_plot_area_in_order() {
        let xs = Scale::new([1.0, 16.0].into_iter(), true, LEFT, WIDTH - RIGHT);
        let ys = Scale::new([250.0, 30_000.0].into_iter(), false, HEIGHT - BOTTOM, TOP);
        let (a, b) = (xs.pixel(1.0), xs.pixel(16.0));
        assert!(matches!((a, b), (Some(a), Some(b)) if LEFT < a && a < b && b < WIDTH - RIGHT));
        let (low, high) = (ys.pixel(250.0), ys.pixel(30_000.0));
        assert!(
            matches!((low, high), (Some(l), Some(h)) if l > h && h >= TOP && l <= HEIGHT - BOTTOM)
        );
        assert_eq!(xs.pixel(0.0), None, "zero has no place on a log axis");
    }

    #[test]
    fn linear_ticks_are_round_numbers_from_zero() {
        let ys = Scale::new([3.0, 97.0].into_iter(), false, 0.0, 100.0);
        let labels: Vec<String> = ys.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["0", "20", "40", "60", "80", "100"]);
        let narrow = Scale::new([1.0, 16.0].into_iter(), true, 0.0, 100.0);
        let labels: Vec<String> = narrow.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["1", "2", "5", "10"]);
        assert_eq!(tick_label(2_500_000.0), "2.5M");
        assert_eq!(tick_label(0.05), "0.05");
    }
}
