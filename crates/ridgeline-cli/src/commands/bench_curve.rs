//! `ridgeline bench curve RESULT.json... --svg OUT.svg [--title T]`
//!
//! Draws search time against gallery size from the JSON reports of `ridgeline bench search`
//! (one per gallery size): the mean and 90th percentile of genuine probes and of walk-ins
//! (indexed search), and the mean of exhaustive search where the report has one, on log–log
//! axes, with the 0.5 s a search at the window may take drawn as a line. The figures are read,
//! not recomputed, so the curve shows exactly what the reports say.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The time a search at the service window may take, in milliseconds.
const WINDOW_LIMIT_MS: f64 = 500.0;

/// Arguments of `ridgeline bench curve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON reports of `ridgeline bench search --json`, one per gallery size.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Where to write the SVG.
    #[arg(long)]
    pub svg: PathBuf,
    /// Caption of the plot.
    #[arg(long, default_value = "1:N search time against gallery size")]
    pub title: String,
}

/// One gallery size's figures, in milliseconds (`None` where the report has none).
#[derive(Debug, Clone, PartialEq)]
struct Point {
    gallery_size: f64,
    genuine_mean: Option<f64>,
    genuine_p90: Option<f64>,
    walk_in_mean: Option<f64>,
    walk_in_p90: Option<f64>,
    exhaustive_mean: Option<f64>,
}

fn positive(v: &serde_json::Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite() && *x > 0.0)
}

fn point(path: &Path) -> anyhow::Result<Point> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON report", path.display()))?;
    let gallery_size = positive(&v["gallery_size"]).with_context(|| {
        format!("{} has no gallery_size: not a `bench search --json` report", path.display())
    })?;
    let exhaustive_probes = v["exhaustive"]["probes"].as_u64().unwrap_or(0);
    Ok(Point {
        gallery_size,
        genuine_mean: positive(&v["indexed"]["ms_mean"]),
        genuine_p90: positive(&v["indexed"]["ms_p90"]),
        walk_in_mean: positive(&v["walk_ins"]["ms_mean"]),
        walk_in_p90: positive(&v["walk_ins"]["ms_p90"]),
        exhaustive_mean: (exhaustive_probes > 0)
            .then(|| positive(&v["exhaustive"]["ms_mean"]))
            .flatten(),
    })
}

/// One line of the plot: a figure of every report.
struct Line {
    label: &'static str,
    figure: fn(&Point) -> Option<f64>,
    /// RGB.
    color: (u8, u8, u8),
    /// Means are solid lines with filled markers; percentiles thin, with hollow ones.
    solid: bool,
}

const GENUINE: (u8, u8, u8) = (30, 90, 200);
const WALK_IN: (u8, u8, u8) = (20, 140, 60);
const EXHAUSTIVE: (u8, u8, u8) = (120, 120, 120);

const LINES: [Line; 5] = [
    Line { label: "genuine probes, mean", figure: |p| p.genuine_mean, color: GENUINE, solid: true },
    Line {
        label: "genuine probes, 90th percentile",
        figure: |p| p.genuine_p90,
        color: GENUINE,
        solid: false,
    },
    Line { label: "walk-ins, mean", figure: |p| p.walk_in_mean, color: WALK_IN, solid: true },
    Line {
        label: "walk-ins, 90th percentile",
        figure: |p| p.walk_in_p90,
        color: WALK_IN,
        solid: false,
    },
    Line {
        label: "exhaustive search, mean",
        figure: |p| p.exhaustive_mean,
        color: EXHAUSTIVE,
        solid: true,
    },
];

/// The (size, figure) pairs of one series, smallest gallery first.
fn series(points: &[Point], figure: impl Fn(&Point) -> Option<f64>) -> Vec<(f64, f64)> {
    points.iter().filter_map(|p| Some((p.gallery_size, figure(p)?))).collect()
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut points = args.reports.iter().map(|p| point(p)).collect::<anyhow::Result<Vec<_>>>()?;
    points.sort_by(|a, b| a.gallery_size.total_cmp(&b.gallery_size));
    draw(&args.svg, &args.title, &points)
        .with_context(|| format!("cannot draw {}", args.svg.display()))?;
    println!("wrote {} ({} gallery sizes)", args.svg.display(), points.len());
    Ok(())
}

fn draw(path: &Path, title: &str, points: &[Point]) -> anyhow::Result<()> {
    use plotters::prelude::*;

    let (low_ms, high_ms) = points
        .iter()
        .flat_map(|p| LINES.iter().filter_map(|line| (line.figure)(p)))
        .chain([WINDOW_LIMIT_MS])
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let (min_n, max_n) = match (points.first(), points.last()) {
        (Some(a), Some(b)) => (a.gallery_size, b.gallery_size),
        _ => anyhow::bail!("no reports"),
    };
    // A factor of two around the data keeps the outermost points off the frame.
    let x_range = (min_n / 2.0)..(max_n * 2.0);
    let y_range = (low_ms / 2.0)..(high_ms * 2.0);

    let root = SVGBackend::new(path, (760, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x_range.clone().log_scale(), y_range.log_scale())?;
    chart
        .configure_mesh()
        .x_desc("records in the gallery")
        .y_desc("milliseconds per search")
        .x_label_formatter(&|v| format!("{v:.0e}"))
        .y_label_formatter(&|v| format!("{v}"))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            [(x_range.start, WINDOW_LIMIT_MS), (x_range.end, WINDOW_LIMIT_MS)],
            ShapeStyle::from(&RGBColor(200, 60, 60)).stroke_width(1),
        ))?
        .label("0.5 s at the window")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RGBColor(200, 60, 60)));
    for line in LINES {
        let data = series(points, line.figure);
        if data.is_empty() {
            continue;
        }
        let (r, g, b) = line.color;
        let color = RGBColor(r, g, b);
        let width = if line.solid { 2 } else { 1 };
        let style = ShapeStyle::from(&color).stroke_width(width);
        chart
            .draw_series(LineSeries::new(data.clone(), style))?
            .label(line.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        if line.solid {
            chart.draw_series(data.iter().map(|&at| Circle::new(at, 4, color.filled())))?;
        } else {
            chart.draw_series(data.iter().map(|&at| Circle::new(at, 3, color.stroke_width(1))))?;
        }
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, v: serde_json::Value) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, v.to_string()).expect("write report");
        path
    }

    #[test]
    fn reads_the_figures_of_a_report_and_skips_what_it_lacks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "r.json",
            serde_json::json!({
                "gallery_size": 10000,
                "indexed": {"ms_mean": 7.0, "ms_p90": 9.5},
                "walk_ins": {"ms_mean": 55.0, "ms_p90": "NaN"},
                "exhaustive": {"probes": 0, "ms_mean": 98.0},
            }),
        );
        let p = point(&path).expect("point");
        assert_eq!(
            p,
            Point {
                gallery_size: 10000.0,
                genuine_mean: Some(7.0),
                genuine_p90: Some(9.5),
                walk_in_mean: Some(55.0),
                walk_in_p90: None,
                // No exhaustive probes: its mean is not a measurement.
                exhaustive_mean: None,
            }
        );
        let not_a_report = write(dir.path(), "x.json", serde_json::json!({"records": 3}));
        let err = point(&not_a_report).expect_err("no gallery_size");
        assert!(format!("{err:#}").contains("gallery_size"), "{err:#}");
    }

    #[test]
    fn draws_every_series_sorted_by_gallery_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = |n: u64, mean: f64| {
            serde_json::json!({
                "gallery_size": n,
                "indexed": {"ms_mean": mean, "ms_p90": mean * 1.2},
                "walk_ins": {"ms_mean": mean * 2.0, "ms_p90": mean * 2.5},
                "exhaustive": {"probes": 5, "ms_mean": mean * 20.0},
            })
        };
        let big = write(dir.path(), "big.json", report(1_000_000, 420.0));
        let small = write(dir.path(), "small.json", report(10_000, 7.0));
        let svg = dir.path().join("curve.svg");
        run(Args { reports: vec![big, small], svg: svg.clone(), title: "t".into() }).expect("draw");
        let text = std::fs::read_to_string(&svg).expect("svg");
        for label in ["genuine probes, mean", "walk-ins, 90th percentile", "exhaustive search"] {
            assert!(text.contains(label), "legend lacks {label}");
        }
        // One marker per series and report: 5 series × 2 reports (the legend draws paths).
        assert_eq!(text.matches("<circle").count(), 10, "{text}");
    }
}
