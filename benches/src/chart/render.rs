//! Draws a [`LineChart`] with `plotters` into SVG text: the plot on the left (title, frame,
//! grid at the ticks, one line with point markers per series), the legend on the right, so it
//! never hides a line.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::LineChart;
use super::axis::{AxisCoord, shows};

const WIDTH: u32 = 820;
const HEIGHT: u32 = 440;
/// The legend's column, right of the plot.
const LEGEND_WIDTH: u32 = 230;
const FONT: &str = "sans-serif";
/// Font sizes as `plotters` takes them (its SVG backend writes about 0.8 of them as pixels).
const TITLE_SIZE: f64 = 22.0;
const TEXT_SIZE: f64 = 16.0;
/// Colour-blind-safe palette (Okabe–Ito), one colour per series in order.
const COLOURS: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0xF0, 0xE4, 0x42),
];

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

/// The chart as an SVG document.
pub(super) fn svg(chart: &LineChart) -> anyhow::Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let (plot, legend) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
        draw_plot(&plot, chart)?;
        draw_legend(&legend, chart)?;
        root.present()?;
    }
    Ok(out)
}

fn draw_plot(area: &DrawingArea<SVGBackend<'_>, Shift>, chart: &LineChart) -> anyhow::Result<()> {
    let points = || chart.series.iter().flat_map(|s| s.points.iter());
    let x = AxisCoord::new(&chart.x, points().map(|p| p.0));
    let y = AxisCoord::new(&chart.y, points().map(|p| p.1));
    let mut plot = ChartBuilder::on(area)
        .caption(&chart.title, (FONT, TITLE_SIZE))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(68)
        .build_cartesian_2d(x, y)?;
    plot.configure_mesh()
        .x_desc(&chart.x.label)
        .y_desc(&chart.y.label)
        .label_style((FONT, TEXT_SIZE))
        .axis_desc_style((FONT, TEXT_SIZE))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    for (i, series) in chart.series.iter().enumerate() {
        let visible: Vec<(f64, f64)> = series
            .points
            .iter()
            .copied()
            .filter(|(px, py)| shows(&chart.x, *px) && shows(&chart.y, *py))
            .collect();
        let colour = colour(i);
        plot.draw_series(LineSeries::new(visible.clone(), colour.stroke_width(2)))?;
        plot.draw_series(
            visible
                .into_iter()
                .map(|p| Circle::new(p, 3, colour.filled())),
        )?;
    }
    Ok(())
}

/// One row per series: a short line in its colour with a marker, and its name.
fn draw_legend(area: &DrawingArea<SVGBackend<'_>, Shift>, chart: &LineChart) -> anyhow::Result<()> {
    const TOP: i32 = 48;
    const ROW: i32 = 22;
    for (i, series) in chart.series.iter().enumerate() {
        let y = TOP + ROW * i as i32;
        let colour = colour(i);
        area.draw(&PathElement::new(
            vec![(4, y), (28, y)],
            colour.stroke_width(2),
        ))?;
        area.draw(&Circle::new((16, y), 3, colour.filled()))?;
        area.draw(&Text::new(
            series.name.as_str(),
            (36, y),
            TextStyle::from((FONT, TEXT_SIZE).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}
