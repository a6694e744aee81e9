//! Line charts as SVG text, drawn with `plotters`: a few named series of (x, y) points on
//! linear or log₁₀ axes, with ticks, axis labels and a legend beside the plot.
//!
//! The runners describe a chart as data ([`LineChart`]) and get SVG text back, so what a chart
//! shows is testable without looking at pixels. `plotters` is built with its SVG backend only
//! and no font files: text stays `<text>` elements in the viewer's sans-serif font, and no
//! system library is needed.
//!
//! Layout:
//! - `axis.rs`   an axis as `plotters` sees it: its range, scale, ticks and tick labels
//! - `render.rs` the drawing: frame, grid, lines with point markers, legend

mod axis;
mod render;

/// One named line of points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// An axis: its label, whether it is logarithmic, and optionally fixed ticks (value, label);
/// without them round values are chosen.
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

impl LineChart {
    /// The chart as a standalone SVG document.
    pub fn to_svg(&self) -> anyhow::Result<String> {
        render::svg(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(y_log: bool) -> LineChart {
        LineChart {
            title: "Commits & writers".into(),
            x: Axis {
                label: "writers".into(),
                log: true,
                ticks: Some(vec![
                    (1.0, "1".into()),
                    (4.0, "4".into()),
                    (16.0, "16".into()),
                ]),
            },
            y: Axis {
                label: "commits/s".into(),
                log: y_log,
                ticks: None,
            },
            series: vec![
                Series {
                    name: "Cosmictron <native>".into(),
                    points: vec![(1.0, 300.0), (4.0, 6_000.0), (16.0, 18_000.0)],
                },
                Series {
                    name: "SQLite WAL FULL".into(),
                    points: vec![(1.0, 310.0), (4.0, 420.0), (16.0, 330.0)],
                },
            ],
        }
    }

    /// Whether every element opened in `svg` is closed in order (a small XML checker: tags,
    /// self-closing tags and the declaration; no comments or CDATA, which plotters never
    /// writes).
    fn well_formed(svg: &str) -> Result<(), String> {
        let mut open: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..]
                .find('>')
                .ok_or_else(|| format!("unclosed tag at {start}"))?;
            let tag = &rest[start + 1..start + end];
            rest = &rest[start + end + 1..];
            if tag.starts_with('?') || tag.ends_with('/') {
                continue;
            }
            let name = tag.split_whitespace().next().unwrap_or_default();
            if let Some(closing) = name.strip_prefix('/') {
                match open.pop() {
                    Some(opened) if opened == closing => {}
                    other => return Err(format!("</{closing}> closes {other:?}")),
                }
            } else {
                open.push(name);
            }
        }
        if open.is_empty() {
            Ok(())
        } else {
            Err(format!("never closed: {open:?}"))
        }
    }

    /// The text of every `<text>` element, trimmed.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..];
                Some(body[..body.find("</text>")?].trim().to_owned())
            })
            .collect()
    }

    #[test]
    fn the_svg_is_well_formed_and_names_every_series_and_axis() -> anyhow::Result<()> {
        for y_log in [false, true] {
            let svg = chart(y_log).to_svg()?;
            assert!(svg.trim_start().starts_with("<svg"), "{svg}");
            assert!(svg.trim_end().ends_with("</svg>"));
            well_formed(&svg).map_err(anyhow::Error::msg)?;
            let texts = texts(&svg);
            for wanted in [
                "Commits &amp; writers",
                "writers",
                "commits/s",
                "Cosmictron &lt;native&gt;",
                "SQLite WAL FULL",
                "16",
            ] {
                assert!(
                    texts.iter().any(|t| t == wanted),
                    "{wanted} not among {texts:?}"
                );
            }
            // One line per series through its three points (grid lines and the legend's
            // samples have two).
            let three_point_lines = svg
                .split("<polyline")
                .skip(1)
                .filter(|l| {
                    l.split("points=\"")
                        .nth(1)
                        .and_then(|p| p.split('"').next())
                        .is_some_and(|p| p.split_whitespace().count() == 3)
                })
                .count();
            assert_eq!(three_point_lines, 2, "{svg}");
        }
        Ok(())
    }

    #[test]
    fn the_checker_refuses_broken_svg() {
        assert!(well_formed("<svg><g></svg>").is_err());
        assert!(well_formed("<svg><text>a</text>").is_err());
        assert!(well_formed("<svg><line/><text>a</text></svg>").is_ok());
    }

    #[test]
    fn points_a_log_axis_cannot_show_are_left_out() -> anyhow::Result<()> {
        let mut chart = chart(true);
        chart.series[1].points.push((32.0, 0.0));
        chart.series.push(Series {
            name: "empty".into(),
            points: Vec::new(),
        });
        let svg = chart.to_svg()?;
        well_formed(&svg).map_err(anyhow::Error::msg)?;
        assert!(texts(&svg).iter().any(|t| t == "empty"));
        Ok(())
    }
}
