//! The report's plots, as inline SVG drawn by plotters (SVG backend; text is left to the
//! browser, so no font library is needed).

use super::scan::{HistoryScan, Timeline};
use history::OpType;
use plotters::coord::Shift;
use plotters::prelude::*;

const W: u32 = 900;
const H: u32 = 320;
const OK: RGBColor = RGBColor(46, 125, 50);
const FAIL: RGBColor = RGBColor(198, 40, 40);
const INFO: RGBColor = RGBColor(239, 108, 0);
const PALETTE: [RGBColor; 8] = [
    RGBColor(25, 118, 210),
    RGBColor(216, 27, 96),
    RGBColor(0, 137, 123),
    RGBColor(94, 53, 177),
    RGBColor(251, 140, 0),
    RGBColor(84, 110, 122),
    RGBColor(124, 179, 66),
    RGBColor(109, 76, 65),
];

fn colour(outcome: &str) -> RGBColor {
    match outcome {
        "ok" => OK,
        "fail" => FAIL,
        _ => INFO,
    }
}

fn fault_colour(label: &str) -> RGBColor {
    match label {
        "partition" => RGBColor(33, 150, 243),
        "clock" => RGBColor(156, 39, 176),
        "kill" => RGBColor(244, 67, 54),
        "pause" => RGBColor(255, 193, 7),
        _ => RGBColor(120, 120, 120),
    }
}

type Result<T> = std::result::Result<T, String>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Draws into an SVG string.
fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<()>,
) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// Shaded, labelled fault windows across a chart's y range.
fn shade<DB: DrawingBackend, Y>(
    chart: &mut ChartContext<DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    scan: &HistoryScan,
    y: (Y::ValueType, Y::ValueType),
) -> Result<()>
where
    Y: Ranged,
    Y::ValueType: Clone + 'static,
{
    let end = secs(scan.end);
    for w in &scan.faults {
        let (a, b) = (
            secs(w.start),
            secs(w.end.unwrap_or(scan.end)).max(secs(w.start)).min(end),
        );
        let c = fault_colour(&w.label);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(a, y.0.clone()), (b, y.1.clone())],
                c.mix(0.12).filled(),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                w.label.clone(),
                (a, y.1.clone()),
                ("sans-serif", 11).into_font().color(&c),
            )))
            .map_err(err)?;
    }
    Ok(())
}

/// The series' key, in a box.
fn legend<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>) -> Result<()>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(err)
}

/// A line series' mark in the key.
fn line_key((x, y): (i32, i32), c: RGBColor) -> PathElement<(i32, i32)> {
    PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
}

/// Latency of every (thinned) op over time, per function and outcome, log scale.
pub fn latency(scan: &HistoryScan) -> Result<Option<String>> {
    if scan.latency.is_empty() {
        return Ok(None);
    }
    let max_ms = scan
        .latency
        .values()
        .flat_map(|s| s.points.iter().map(|p| p.1 as f64 / 1e6))
        .fold(1.0f64, f64::max)
        * 1.5;
    let end = secs(scan.end).max(0.001);
    svg((W, H + 40), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "latency by function and outcome (ms, log scale)",
                ("sans-serif", 15),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(55)
            .build_cartesian_2d(0f64..end, (0.01f64..max_ms).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("latency (ms)")
            .draw()
            .map_err(err)?;
        shade(&mut chart, scan, (0.01, max_ms))?;
        // Colour by function, shape by outcome: ok a dot, fail a cross, info a triangle.
        let mut fs: Vec<&str> = scan.latency.keys().map(|k| k.0.as_str()).collect();
        fs.dedup();
        for ((f, outcome), series) in &scan.latency {
            let i = fs.iter().position(|x| x == f).unwrap_or(0);
            let c = PALETTE[i % PALETTE.len()];
            let shape = match *outcome {
                "ok" => 0,
                "fail" => 2,
                _ => 1,
            };
            let points = series
                .points
                .iter()
                .map(|&(t, l)| (secs(t), (l as f64 / 1e6).max(0.01)));
            let label = format!("{f} {outcome} ({} ops)", series.total());
            let drawn = match shape {
                0 => chart.draw_series(points.map(|p| Circle::new(p, 2, c.mix(0.6).filled()))),
                1 => chart
                    .draw_series(points.map(|p| TriangleMarker::new(p, 3, c.mix(0.6).filled()))),
                _ => chart.draw_series(points.map(|p| Cross::new(p, 3, c.mix(0.6)))),
            }
            .map_err(err)?;
            let legend = move |(x, y): (i32, i32)| -> DynElement<'static, SVGBackend, (i32, i32)> {
                match shape {
                    0 => Circle::new((x + 8, y), 3, c.filled()).into_dyn(),
                    1 => TriangleMarker::new((x + 8, y), 4, c.filled()).into_dyn(),
                    _ => Cross::new((x + 8, y), 4, c).into_dyn(),
                }
            };
            drawn.label(label).legend(legend);
        }
        legend(&mut chart)
    })
    .map(Some)
}

/// Completions per second over time, per outcome.
pub fn throughput(scan: &HistoryScan) -> Result<Option<String>> {
    if scan.throughput.is_empty() {
        return Ok(None);
    }
    let per_s = 1e9 / scan.bucket_ns as f64;
    let max = scan
        .throughput
        .values()
        .flat_map(|v| v.iter().map(|&n| n as f64 * per_s))
        .fold(1.0f64, f64::max)
        * 1.1;
    let end = secs(scan.end).max(0.001);
    svg((W, H), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("throughput (ops/s)", ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(55)
            .build_cartesian_2d(0f64..end, 0f64..max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("ops/s")
            .draw()
            .map_err(err)?;
        shade(&mut chart, scan, (0.0, max))?;
        let width = secs(scan.bucket_ns);
        for (outcome, counts) in &scan.throughput {
            let c = colour(outcome);
            chart
                .draw_series(LineSeries::new(
                    counts
                        .iter()
                        .enumerate()
                        .map(|(i, &n)| ((i as f64 + 0.5) * width, n as f64 * per_s)),
                    c.stroke_width(2),
                ))
                .map_err(err)?
                .label(*outcome)
                .legend(move |p| line_key(p, c));
        }
        legend(&mut chart)
    })
    .map(Some)
}

/// Each node's measured clock offset over time.
pub fn clocks(scan: &HistoryScan) -> Result<Option<String>> {
    if scan.clocks.is_empty() {
        return Ok(None);
    }
    let values = scan.clocks.values().flat_map(|v| v.iter().map(|p| p.1));
    let (lo, hi) = values.fold((0f64, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = ((hi - lo) * 0.1).max(1.0);
    let end = secs(scan.end).max(0.001);
    svg((W, H), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("measured clock offset per node (ms)", ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..end, (lo - pad)..(hi + pad))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("offset (ms)")
            .draw()
            .map_err(err)?;
        shade(&mut chart, scan, (lo - pad, hi + pad))?;
        for (i, (node, points)) in scan.clocks.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            // A step line: each offset holds until the next measurement.
            let mut steps = Vec::new();
            for (j, &(t, v)) in points.iter().enumerate() {
                steps.push((secs(t), v));
                let next = points.get(j + 1).map_or(scan.end, |p| p.0);
                steps.push((secs(next), v));
            }
            chart
                .draw_series(LineSeries::new(steps, c.stroke_width(2)))
                .map_err(err)?
                .label(node.clone())
                .legend(move |p| line_key(p, c));
        }
        legend(&mut chart)
    })
    .map(Some)
}

/// A latency distribution given by its quantiles (ms), as bars.
pub fn quantiles(title: &str, bars: &[(String, f64)]) -> Result<Option<String>> {
    if bars.is_empty() {
        return Ok(None);
    }
    let max = bars.iter().map(|b| b.1).fold(0.001f64, f64::max) * 1.15;
    let n = bars.len();
    svg((W / 2, 60 + 34 * n as u32), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(20)
            .build_cartesian_2d(0f64..max, 0f64..n as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("ms")
            .draw()
            .map_err(err)?;
        let c = PALETTE[0];
        for (i, (_, v)) in bars.iter().enumerate() {
            let y = i as f64;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y + 0.15), (*v, y + 0.85)],
                    c.mix(0.7).filled(),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{}: {v:.1}", bars[i].0),
                    (0.0, y + 0.3),
                    ("sans-serif", 11).into_font(),
                )))
                .map_err(err)?;
        }
        Ok(())
    })
    .map(Some)
}

type Lanes<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A chart with one labelled lane per process over `span` ms.
fn lanes<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    x_desc: &str,
    span: f64,
    processes: &[&str],
) -> Result<Lanes<'a, 'b>> {
    let rows = processes.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 14))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(20)
        .build_cartesian_2d(0f64..span, 0f64..rows as f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc(x_desc)
        .draw()
        .map_err(err)?;
    for (i, p) in processes.iter().enumerate() {
        chart
            .draw_series(std::iter::once(Text::new(
                format!("p{p}"),
                (0.0, i as f64 + 0.95),
                ("sans-serif", 10).into_font().color(&RGBColor(90, 90, 90)),
            )))
            .map_err(err)?;
    }
    Ok(chart)
}

/// One op as a bar in its lane, from `x.0` to `x.1` ms, labelled, outlined if asked.
fn op_bar(
    chart: &mut Lanes<'_, '_>,
    row: f64,
    x: (f64, f64),
    fill: RGBAColor,
    outline: Option<RGBColor>,
    label: String,
) -> Result<()> {
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(x.0, row + 0.2), (x.1, row + 0.8)],
            fill.filled(),
        )))
        .map_err(err)?;
    if let Some(c) = outline {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x.0, row + 0.15), (x.1, row + 0.85)],
                c.stroke_width(2),
            )))
            .map_err(err)?;
    }
    chart
        .draw_series(std::iter::once(Text::new(
            label,
            (x.0, row + 0.35),
            ("sans-serif", 10).into_font(),
        )))
        .map_err(err)?;
    Ok(())
}

/// The ops around an anomaly: one row per process, a bar from invocation to completion,
/// coloured by outcome, the witness ops outlined.
pub fn timeline(t: &Timeline) -> Result<String> {
    let mut processes: Vec<&str> = t.ops.iter().map(|o| o.process.as_str()).collect();
    processes.sort_unstable();
    processes.dedup();
    let start = t.ops.iter().map(|o| o.start).min().unwrap_or(0);
    let end = t
        .ops
        .iter()
        .map(|o| o.end.unwrap_or(o.start))
        .max()
        .unwrap_or(start)
        .max(start + 1);
    let ms = |ns: u64| ns.saturating_sub(start) as f64 / 1e6;
    let span = ms(end) * 1.02;
    let rows = processes.len().max(1);
    svg((W, 70 + 26 * rows as u32), |root| {
        let title = format!("ops around the first {} (witness ops outlined)", t.kind);
        let mut chart = lanes(root, &title, "ms from the first op shown", span, &processes)?;
        for o in &t.ops {
            let row = processes.iter().position(|p| *p == o.process).unwrap_or(0) as f64;
            let c = match o.outcome {
                OpType::Ok => OK,
                OpType::Fail => FAIL,
                OpType::Info => INFO,
                OpType::Invoke => RGBColor(150, 150, 150),
            };
            let x = (
                ms(o.start),
                ms(o.end.unwrap_or(end)).max(ms(o.start) + span / 400.0),
            );
            let outline = o.witness.then_some(BLACK);
            op_bar(
                &mut chart,
                row,
                x,
                c.mix(0.55),
                outline,
                format!("{} {}", o.f, o.index),
            )?;
        }
        Ok(())
    })
}

/// A linearizability witness: one lane per process, each op a bar from invocation to
/// completion (to the right edge when it never completed), the ops of the order found numbered
/// and green, the op that cannot be placed red and outlined, the others open around it grey.
pub fn bars(title: &str, bars: &[checkers::Bar]) -> Result<String> {
    let mut processes: Vec<&str> = bars.iter().map(|b| b.process.as_str()).collect();
    // Numbers in numeric order, names after them.
    processes.sort_unstable_by_key(|p| (p.parse::<u64>().map_or(1, |_| 0), p.len(), *p));
    processes.dedup();
    let start = bars.iter().map(|b| b.start).min().unwrap_or(0);
    let end = bars
        .iter()
        .map(|b| b.end.unwrap_or(b.start))
        .max()
        .unwrap_or(start)
        .max(start + 1);
    // In a unit the span is at least one of (histories without times have tiny ones).
    let (div, unit) = match end - start {
        d if d >= 1_000_000 => (1e6, "ms"),
        d if d >= 1_000 => (1e3, "µs"),
        _ => (1.0, "ns"),
    };
    let ms = |ns: u64| ns.saturating_sub(start) as f64 / div;
    let span = ms(end) * 1.08;
    let rows = processes.len().max(1);
    svg((W, 80 + 26 * rows as u32), |root| {
        let x_desc = format!("{unit} from the first op shown; #n: place in the order found");
        let x_desc = x_desc.as_str();
        let mut chart = lanes(root, title, x_desc, span, &processes)?;
        for b in bars {
            let row = processes.iter().position(|p| *p == b.process).unwrap_or(0) as f64;
            let colour = if b.failing {
                FAIL
            } else if b.order.is_some() {
                OK
            } else {
                RGBColor(150, 150, 150)
            };
            let x = (
                ms(b.start),
                b.end.map_or(span, ms).max(ms(b.start) + span / 400.0),
            );
            let alpha = if b.end.is_some() { 0.55 } else { 0.25 };
            let label = match b.order {
                Some(n) => format!("#{n} {} ({})", b.label, b.index),
                None => format!("{} ({})", b.label, b.index),
            };
            op_bar(
                &mut chart,
                row,
                x,
                colour.mix(alpha),
                b.failing.then_some(FAIL),
                label,
            )?;
        }
        Ok(())
    })
}
