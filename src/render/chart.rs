//! Small SVG line charts for the `trend` report: one line per metric or service across
//! profile sets taken over time. Dependency-free and deterministic: the same `Chart` always
//! gives the same bytes (fixed layout, palette by series index, numbers printed with fixed
//! precision), so the output can be committed as a golden file.
//!
//! Everything taken from the input is cleaned (control characters and bidi overrides
//! replaced, length capped) and XML-escaped; the SVG has no scripts and no external
//! references, so it is safe to embed or to open directly.

use super::escape_xml as escape;

/// Canvas size in pixels; the layout below is fixed for it.
pub const WIDTH: u32 = 720;
/// Canvas height in pixels.
pub const HEIGHT: u32 = 360;

const PLOT_LEFT: f64 = 76.0;
const PLOT_RIGHT: f64 = 704.0;
const PLOT_TOP: f64 = 40.0;
const PLOT_BOTTOM: f64 = 248.0;
/// Rough advance of one character at font-size 10; there is no font metrics here, so
/// widths are estimated and labels are truncated conservatively.
const CHAR_W: f64 = 6.0;
/// Below this many pixels between x positions, value labels would overlap into noise;
/// the marker's tooltip still carries the value.
const MIN_SLOT_FOR_VALUES: f64 = 24.0;
const LEGEND_COLUMNS: usize = 4;
const LEGEND_ROWS: usize = 3;
const LEGEND_COLUMN_WIDTH: f64 = 160.0;
/// Cap for the full texts kept in `<title>` tooltips, so hostile input cannot bloat the file.
const FULL_TEXT_MAX: usize = 200;

/// d3's category10: distinct on white, and stable by series index.
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// One line: a value per x position. `None` (and NaN or infinite values) leave a gap.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The line's name, in the legend (cut to 22 characters, with a tooltip) and in each
    /// marker's tooltip.
    pub name: String,
    /// The values, one per x position from the first.
    pub points: Vec<Option<f64>>,
}

/// How values print on the y ticks and beside each point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueFormat {
    /// Counts and plain numbers: integers as such, fractions with up to 2 decimals,
    /// millions and more with M/G/T suffixes.
    #[default]
    Plain,
    /// Values already in percent (37.5 prints `37.5%`; may exceed 100).
    Percent,
    /// Bytes, 1024-based: B, kB, MB, GB, TB, PB (the unit names pprof uses).
    Bytes,
    /// CPU cores (seconds of CPU per second), up to 2 decimals.
    Cores,
}

/// A line chart. There are `max(x_labels.len(), longest series)` x positions; missing labels
/// are blank and short series end early.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Drawn above the plot (cut to 80 characters) and the SVG's `<title>`; empty: none.
    pub title: String,
    /// One per x position: set names or dates.
    pub x_labels: Vec<String>,
    /// What the y axis measures, e.g. `CPU %` or `goroutines`.
    pub y_label: String,
    /// The lines, coloured by index (the palette repeats after ten); the legend names up to
    /// 12 (11 and `+N more` beyond).
    pub series: Vec<Series>,
    /// How the ticks and value labels print.
    pub value_format: ValueFormat,
}

impl ValueFormat {
    /// A value as printed beside its point; also usable for tables next to the chart.
    pub fn format(self, value: f64) -> String {
        if !value.is_finite() {
            return "n/a".to_string();
        }
        match self {
            ValueFormat::Plain => {
                let (div, suffix) = plain_unit(value.abs());
                if div == 1.0 {
                    let decimals = if value.fract() == 0.0 { 0 } else { 2 };
                    fixed(value, decimals)
                } else {
                    format!("{}{suffix}", compact(value / div))
                }
            }
            ValueFormat::Percent => format!("{}%", compact(value)),
            ValueFormat::Bytes => {
                let (div, suffix) = bytes_unit(value.abs());
                format!("{}{suffix}", compact(value / div))
            }
            ValueFormat::Cores => fixed(value, 2),
        }
    }

    /// The divisor and suffix the y axis uses for values up to `max_abs`; all ticks share
    /// one unit so they read as a scale.
    fn axis_unit(self, max_abs: f64) -> (f64, &'static str) {
        match self {
            ValueFormat::Plain => plain_unit(max_abs),
            ValueFormat::Percent => (1.0, "%"),
            ValueFormat::Bytes => bytes_unit(max_abs),
            ValueFormat::Cores => (1.0, ""),
        }
    }
}

fn plain_unit(max_abs: f64) -> (f64, &'static str) {
    // Beyond T the e-notation of the plain number is clearer than a stacked suffix.
    if !(1e6..1e15).contains(&max_abs) {
        (1.0, "")
    } else if max_abs < 1e9 {
        (1e6, "M")
    } else if max_abs < 1e12 {
        (1e9, "G")
    } else {
        (1e12, "T")
    }
}

fn bytes_unit(max_abs: f64) -> (f64, &'static str) {
    const UNITS: [&str; 6] = [" B", " kB", " MB", " GB", " TB", " PB"];
    let mut div = 1.0;
    let mut index = 0;
    while index + 1 < UNITS.len() && max_abs >= div * 1024.0 {
        div *= 1024.0;
        index += 1;
    }
    (div, UNITS[index])
}

/// About three significant digits: enough to read a trend, short enough to sit by a point.
fn compact(value: f64) -> String {
    let magnitude = value.abs();
    let decimals = if magnitude < 10.0 {
        2
    } else if magnitude < 100.0 {
        1
    } else {
        0
    };
    fixed(value, decimals)
}

/// Fixed precision with trailing zeros dropped; Rust's float formatting is exact and
/// locale-free, so 0.1 + 0.2 prints `0.3` and the bytes never vary.
fn fixed(value: f64, decimals: usize) -> String {
    if value.abs() >= 1e15 {
        return scientific(value);
    }
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    if text == "-0" { "0".to_string() } else { text }
}

fn scientific(value: f64) -> String {
    let text = format!("{value:.2e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) if mantissa.contains('.') => format!(
            "{}e{exponent}",
            mantissa.trim_end_matches('0').trim_end_matches('.')
        ),
        _ => text,
    }
}

/// `digits × 10^exponent` printed exactly, from integers: tick labels never show float noise.
fn decimal(digits: i64, exponent: i32) -> String {
    if digits == 0 {
        return "0".to_string();
    }
    let (mut digits, mut exponent) = (digits, exponent);
    while digits % 10 == 0 {
        digits /= 10;
        exponent += 1;
    }
    let sign = if digits < 0 { "-" } else { "" };
    let text = digits.unsigned_abs().to_string();
    let magnitude = text.len() as i32 - 1 + exponent;
    if !(-6..15).contains(&magnitude) {
        let (first, rest) = text.split_at(1);
        let point = if rest.is_empty() { "" } else { "." };
        return format!("{sign}{first}{point}{rest}e{magnitude}");
    }
    if exponent >= 0 {
        return format!("{sign}{text}{}", "0".repeat(exponent as usize));
    }
    let decimals = exponent.unsigned_abs() as usize;
    let padded = format!("{text:0>width$}", width = decimals + 1);
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    format!("{sign}{whole}.{fraction}")
}

/// `x / 10^k` without ever forming a step that could overflow to infinity.
fn in_powers_of_ten(x: f64, k: i32) -> f64 {
    if k >= 0 {
        x / 10f64.powi(k)
    } else {
        x * 10f64.powi(-k)
    }
}

/// The y scale: ticks at `n × step` for `n` in `lo..=hi`, `step = mantissa × 10^exponent`,
/// in units of `div` (1024^k for bytes, 10^k for plain numbers).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    lo: i64,
    hi: i64,
    mantissa: i64,
    exponent: i32,
    div: f64,
    suffix: &'static str,
    has_values: bool,
}

impl Axis {
    fn new(values: impl Iterator<Item = f64>, format: ValueFormat) -> Axis {
        // The axis always includes 0, so it starts at 0 unless values are negative, and the
        // tick count stays small whatever the magnitude.
        let (mut min, mut max, mut has_values) = (0.0f64, 0.0f64, false);
        for value in values.filter(|v| v.is_finite()) {
            min = min.min(value);
            max = max.max(value);
            has_values = true;
        }
        let (div, suffix) = format.axis_unit(min.abs().max(max.abs()));
        let (mut lo, mut hi) = (min / div, max / div);
        // Halves first: f64::MAX - (-f64::MAX) would overflow.
        let span = hi / 2.0 - lo / 2.0;
        // Inputs are finite, so span is never NaN.
        if span <= 1e-200 {
            // All zero (or vanishingly small): a unit range still draws a readable axis.
            (lo, hi) = (0.0, 1.0);
        }
        let span = hi / 2.0 - lo / 2.0;
        let first = ((span / 2.5).log10().floor() as i32).clamp(-300, 306);
        // Fractions of a byte are meaningless.
        let min_exponent = if format == ValueFormat::Bytes && div == 1.0 {
            0
        } else {
            -301
        };
        // Tolerance so that 1.1 / 0.1 = 11.000000000000002 does not add a needless tick.
        const EPS: f64 = 1e-9;
        let mut chosen = None;
        'search: for exponent in (first - 1).max(min_exponent)..=first + 2 {
            for mantissa in [1, 2, 5] {
                let top = (in_powers_of_ten(hi, exponent) / mantissa as f64 - EPS).ceil();
                let bottom = (in_powers_of_ten(lo, exponent) / mantissa as f64 + EPS).floor();
                if top - bottom <= 5.0 {
                    chosen = Some((bottom as i64, top as i64, mantissa, exponent));
                    break 'search;
                }
            }
        }
        // The search always succeeds (a step of 2 × 10^(first+1) spans the range in at most
        // 4 intervals); the fallback only keeps this total.
        let (mut lo_n, mut hi_n, mantissa, exponent) = chosen.unwrap_or((0, 5, 5, first + 2));
        // At least 4 ticks, grown on the side where the data are.
        while hi_n - lo_n < 3 {
            if hi_n > 0 || lo_n == 0 {
                hi_n += 1;
            } else {
                lo_n -= 1;
            }
        }
        Axis {
            lo: lo_n,
            hi: hi_n,
            mantissa,
            exponent,
            div,
            suffix,
            has_values,
        }
    }

    /// Tick values (in steps) and their labels, bottom to top.
    fn ticks(&self) -> Vec<(i64, String)> {
        (self.lo..=self.hi)
            .map(|n| {
                // Zero needs no unit ("0", not "0M" or "0 GB"); "0%" still reads well.
                if n == 0 && self.suffix != "%" {
                    return (n, "0".to_string());
                }
                let label = format!(
                    "{}{}",
                    decimal(n * self.mantissa, self.exponent),
                    self.suffix
                );
                (n, label)
            })
            .collect()
    }

    /// Where `steps` (a position in step units) sits, 0 at the bottom and 1 at the top.
    fn fraction_of_steps(&self, steps: f64) -> f64 {
        ((steps - self.lo as f64) / (self.hi - self.lo) as f64).clamp(0.0, 1.0)
    }

    fn y_of_steps(&self, steps: f64) -> f64 {
        PLOT_BOTTOM - self.fraction_of_steps(steps) * (PLOT_BOTTOM - PLOT_TOP)
    }

    /// The y pixel of a data value; `None` for NaN and infinities.
    fn y(&self, value: f64) -> Option<f64> {
        let steps = in_powers_of_ten(value / self.div, self.exponent) / self.mantissa as f64;
        steps.is_finite().then(|| self.y_of_steps(steps))
    }
}

/// Renders the chart as a standalone SVG 1.1 document of `WIDTH` × `HEIGHT` pixels.
///
/// Layout: title on top, y ticks with grid lines, x labels (rotated and truncated when
/// they do not fit, full text in a `<title>` tooltip), one polyline per run of present
/// values with a marker and a value label at each point, legend below (up to 12 entries,
/// then "+N more"). Value labels are left out when x positions are closer than 24 px; each
/// marker's tooltip still gives the value. Never panics, whatever the input.
pub fn svg(chart: &Chart) -> String {
    let positions = chart
        .series
        .iter()
        .map(|s| s.points.len())
        .max()
        .unwrap_or(0)
        .max(chart.x_labels.len());
    let axis = Axis::new(
        chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().flatten().copied()),
        chart.value_format,
    );
    let slot = (PLOT_RIGHT - PLOT_LEFT) / positions.max(1) as f64;
    let x_of = |i: usize| PLOT_LEFT + slot * (i as f64 + 0.5);
    let labels: Vec<String> = (0..positions)
        .map(|i| {
            clean(
                chart.x_labels.get(i).map_or("", String::as_str),
                FULL_TEXT_MAX,
            )
        })
        .collect();

    let mut out = String::with_capacity(4096 + positions * chart.series.len() * 160);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"10\">\n"
    ));
    let title = clean(&chart.title, FULL_TEXT_MAX);
    if !title.is_empty() {
        out.push_str(&format!("<title>{}</title>\n", escape(&title)));
    }
    out.push_str(&format!(
        "<rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>\n"
    ));
    if !title.is_empty() {
        out.push_str(&format!(
            "<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\" fill=\"#222222\">{}</text>\n",
            num(f64::from(WIDTH) / 2.0),
            escape(&truncate(&title, 80))
        ));
    }
    let y_label = clean(&chart.y_label, 30);
    if !y_label.is_empty() {
        out.push_str(&format!(
            "<text transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\" font-size=\"11\" fill=\"#333333\">{}</text>\n",
            num((PLOT_TOP + PLOT_BOTTOM) / 2.0),
            escape(&y_label)
        ));
    }

    // Grid and y ticks.
    out.push_str("<g stroke=\"#e5e5e5\" stroke-width=\"1\">\n");
    for (n, _) in axis.ticks() {
        let y = num(axis.y_of_steps(n as f64));
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/>\n",
            num(PLOT_LEFT),
            num(PLOT_RIGHT)
        ));
    }
    out.push_str("</g>\n<g text-anchor=\"end\" fill=\"#333333\">\n");
    for (n, label) in axis.ticks() {
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\">{}</text>\n",
            num(PLOT_LEFT - 6.0),
            num(axis.y_of_steps(n as f64) + 3.5),
            escape(&label)
        ));
    }
    out.push_str("</g>\n");

    // Axes; a zero line too when the data go negative.
    out.push_str("<g stroke=\"#333333\" stroke-width=\"1\">\n");
    out.push_str(&format!(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n<line x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\"/>\n",
        num(PLOT_LEFT),
        num(PLOT_TOP),
        num(PLOT_BOTTOM),
        num(PLOT_RIGHT)
    ));
    if axis.lo < 0 {
        let y = num(axis.y_of_steps(0.0));
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#999999\"/>\n",
            num(PLOT_LEFT),
            num(PLOT_RIGHT)
        ));
    }
    for i in 0..positions {
        let x = num(x_of(i));
        out.push_str(&format!(
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/>\n",
            num(PLOT_BOTTOM),
            num(PLOT_BOTTOM + 4.0)
        ));
    }
    out.push_str("</g>\n");

    x_axis_labels(&mut out, &labels, slot, x_of);

    if !axis.has_values {
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" fill=\"#888888\">no data</text>\n",
            num((PLOT_LEFT + PLOT_RIGHT) / 2.0),
            num((PLOT_TOP + PLOT_BOTTOM) / 2.0)
        ));
    }

    for (index, series) in chart.series.iter().enumerate() {
        let colour = PALETTE[index % PALETTE.len()];
        let name = clean(&series.name, 60);
        out.push_str(&format!("<g fill=\"{colour}\">\n"));
        // Runs of present values: a polyline each; a lone value draws only its marker.
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut marks: Vec<(usize, f64, f64, f64)> = Vec::new();
        for i in 0..=series.points.len() {
            let point = series
                .points
                .get(i)
                .copied()
                .flatten()
                .and_then(|v| axis.y(v).map(|y| (v, y)));
            match point {
                Some((value, y)) => {
                    run.push((x_of(i), y));
                    marks.push((i, value, x_of(i), y));
                }
                None => {
                    if run.len() >= 2 {
                        let coords: Vec<String> = run
                            .iter()
                            .map(|&(x, y)| format!("{},{}", num(x), num(y)))
                            .collect();
                        out.push_str(&format!(
                            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>\n",
                            coords.join(" ")
                        ));
                    }
                    run.clear();
                }
            }
        }
        for &(i, value, x, y) in &marks {
            let text = chart.value_format.format(value);
            let at = labels.get(i).map_or("", String::as_str);
            let tooltip = if at.is_empty() {
                format!("{name}: {text}")
            } else {
                format!("{name}, {at}: {text}")
            };
            out.push_str(&format!(
                "<circle cx=\"{}\" cy=\"{}\" r=\"3\"><title>{}</title></circle>\n",
                num(x),
                num(y),
                escape(&tooltip)
            ));
            if slot >= MIN_SLOT_FOR_VALUES {
                out.push_str(&format!(
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"9\">{}</text>\n",
                    num(x),
                    num(y - 6.0),
                    escape(&text)
                ));
            }
        }
        out.push_str("</g>\n");
    }

    legend(&mut out, &chart.series);
    out.push_str("</svg>\n");
    out
}

/// Horizontal labels when they fit their slot or at least 12 characters do; otherwise
/// rotated 45°, shorter, and only every few positions when the slots are narrower than a line.
fn x_axis_labels(out: &mut String, labels: &[String], slot: f64, x_of: impl Fn(usize) -> f64) {
    let fits = ((slot - 4.0) / CHAR_W).floor().max(0.0) as usize;
    let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let horizontal = widest <= fits || fits >= 12;
    let stride = if horizontal {
        1
    } else {
        // Rotated 45°, neighbours sit slot × sin 45° apart; a line of text needs about 12 px.
        (17.0 / slot).ceil().max(1.0) as usize
    };
    out.push_str("<g fill=\"#333333\">\n");
    for (i, full) in labels.iter().enumerate() {
        if full.is_empty() || i % stride != 0 {
            continue;
        }
        let x = num(x_of(i));
        let y = PLOT_BOTTOM + 16.0;
        let (open, shown) = if horizontal {
            (
                format!("<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">", num(y)),
                truncate(full, fits.min(40)),
            )
        } else {
            (
                format!(
                    "<text transform=\"translate({x} {}) rotate(-45)\" text-anchor=\"end\">",
                    num(y - 4.0)
                ),
                truncate(full, 12),
            )
        };
        out.push_str(&format!(
            "{open}{}<title>{}</title></text>\n",
            escape(&shown),
            escape(full)
        ));
    }
    out.push_str("</g>\n");
}

/// Up to 12 entries in a 4-column grid under the x labels; the last becomes "+N more" when
/// there are more series than room.
fn legend(out: &mut String, series: &[Series]) {
    let room = LEGEND_COLUMNS * LEGEND_ROWS;
    let shown = if series.len() > room {
        room - 1
    } else {
        series.len()
    };
    out.push_str("<g fill=\"#333333\">\n");
    for (index, s) in series.iter().take(shown).enumerate() {
        let colour = PALETTE[index % PALETTE.len()];
        let x = PLOT_LEFT + (index % LEGEND_COLUMNS) as f64 * LEGEND_COLUMN_WIDTH;
        let y = 322.0 + (index / LEGEND_COLUMNS) as f64 * 16.0;
        let full = clean(&s.name, FULL_TEXT_MAX);
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{2}\" x2=\"{}\" y2=\"{2}\" stroke=\"{colour}\" stroke-width=\"2\"/>\n",
            num(x),
            num(x + 16.0),
            num(y - 3.5)
        ));
        out.push_str(&format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{colour}\"/>\n",
            num(x + 8.0),
            num(y - 3.5)
        ));
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\">{}<title>{}</title></text>\n",
            num(x + 22.0),
            num(y),
            escape(&truncate(&full, 22)),
            escape(&full)
        ));
    }
    if series.len() > shown {
        let x = PLOT_LEFT + (shown % LEGEND_COLUMNS) as f64 * LEGEND_COLUMN_WIDTH;
        let y = 322.0 + (shown / LEGEND_COLUMNS) as f64 * 16.0;
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\">+{} more</text>\n",
            num(x + 22.0),
            num(y),
            series.len() - shown
        ));
    }
    out.push_str("</g>\n");
}

/// A coordinate with one decimal; adding 0.0 turns -0.0 into 0.0 so it never prints `-0.0`.
fn num(value: f64) -> String {
    format!("{:.1}", value + 0.0)
}

/// Input text made inert (`crate::text::neutralise`: line breaks and tabs become spaces,
/// control and bidi characters and the two characters XML forbids become U+FFFD, as in every
/// other output), then capped at `max` characters.
fn clean(text: &str, max: usize) -> String {
    truncate(crate::text::neutralise(text).trim(), max)
}

/// At most `max` characters, the last being an ellipsis when something was cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, points: &[Option<f64>]) -> Series {
        Series {
            name: name.to_string(),
            points: points.to_vec(),
        }
    }

    fn chart(series: Vec<Series>, labels: &[&str], format: ValueFormat) -> Chart {
        Chart {
            title: "Process CPU".to_string(),
            x_labels: labels.iter().map(|l| l.to_string()).collect(),
            y_label: "CPU %".to_string(),
            series,
            value_format: format,
        }
    }

    /// Parses the SVG and checks the things every output must have.
    fn parse(svg: &str) -> roxmltree::Document<'_> {
        let doc = roxmltree::Document::parse(svg).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(!svg.contains("<script") && !svg.contains("href"));
        doc
    }

    fn count(doc: &roxmltree::Document, tag: &str) -> usize {
        doc.descendants().filter(|n| n.has_tag_name(tag)).count()
    }

    fn tick_labels(values: &[f64], format: ValueFormat) -> Vec<String> {
        let axis = Axis::new(values.iter().copied(), format);
        axis.ticks().into_iter().map(|(_, label)| label).collect()
    }

    #[test]
    fn a_normal_chart_is_well_formed() {
        let c = chart(
            vec![
                series("api", &[Some(12.5), Some(30.0), Some(27.25)]),
                series("worker", &[Some(3.0), Some(4.5), Some(80.0)]),
            ],
            &["2024-05-01", "2024-05-02", "2024-05-03"],
            ValueFormat::Percent,
        );
        let out = svg(&c);
        let doc = parse(&out);
        assert_eq!(count(&doc, "polyline"), 2);
        // Six point markers and two legend markers.
        assert_eq!(count(&doc, "circle"), 8);
        assert!(out.contains(">12.5%<") && out.contains(">80%<"));
        assert!(out.contains(">Process CPU<") && out.contains(">CPU %<"));
        assert!(out.contains("<title>2024-05-01</title>"));
    }

    #[test]
    fn degenerate_inputs_are_well_formed() {
        let cases = vec![
            chart(vec![], &[], ValueFormat::Plain),
            chart(vec![], &["a", "b"], ValueFormat::Plain),
            chart(vec![series("x", &[])], &[], ValueFormat::Bytes),
            chart(
                vec![series("x", &[None, None])],
                &["a", "b"],
                ValueFormat::Bytes,
            ),
            chart(
                vec![series("one", &[Some(5.0)])],
                &["only"],
                ValueFormat::Plain,
            ),
            chart(
                vec![series("flat", &[Some(7.0); 4])],
                &[],
                ValueFormat::Cores,
            ),
            chart(
                vec![series("zero", &[Some(0.0); 3])],
                &["a"],
                ValueFormat::Bytes,
            ),
            chart(
                vec![series(
                    "huge",
                    &[Some(f64::MAX), Some(-f64::MAX), Some(1e300)],
                )],
                &["a", "b", "c"],
                ValueFormat::Plain,
            ),
            chart(
                vec![series("huge bytes", &[Some(f64::MAX), Some(1e20)])],
                &[],
                ValueFormat::Bytes,
            ),
            chart(
                vec![series(
                    "bad",
                    &[Some(f64::NAN), Some(f64::INFINITY), Some(f64::NEG_INFINITY)],
                )],
                &["a", "b", "c"],
                ValueFormat::Percent,
            ),
            chart(
                vec![series("tiny", &[Some(1e-250), Some(-5e-300)])],
                &[],
                ValueFormat::Plain,
            ),
            chart(
                vec![series("neg", &[Some(-3.0), Some(-7.5)])],
                &["a", "b"],
                ValueFormat::Plain,
            ),
            Chart {
                title: String::new(),
                x_labels: vec![String::new(); 3],
                y_label: String::new(),
                series: vec![series("", &[Some(1.0)])],
                value_format: ValueFormat::Plain,
            },
        ];
        for c in &cases {
            let out = svg(c);
            parse(&out);
        }
        // A crowded chart: many positions with long labels, more series than the legend holds.
        let labels: Vec<String> = (0..300)
            .map(|i| format!("profile-set-{i:04}-long"))
            .collect();
        let many = Chart {
            title: "t".repeat(500),
            x_labels: labels,
            y_label: "y".repeat(500),
            series: (0..20)
                .map(|s| Series {
                    name: format!("service-{s}"),
                    points: (0..300).map(|i| Some((i * s) as f64)).collect(),
                })
                .collect(),
            value_format: ValueFormat::Plain,
        };
        let out = svg(&many);
        let doc = parse(&out);
        assert_eq!(count(&doc, "polyline"), 20);
        assert!(out.contains(">+9 more<"));
    }

    #[test]
    fn all_missing_says_no_data() {
        let out = svg(&chart(
            vec![series("x", &[None, Some(f64::NAN)])],
            &["a", "b"],
            ValueFormat::Plain,
        ));
        let doc = parse(&out);
        assert!(out.contains(">no data<"));
        assert_eq!(count(&doc, "polyline"), 0);
    }

    #[test]
    fn hostile_text_is_escaped_and_cleaned() {
        let hostile = "</svg><script>alert(1)</script>";
        let c = Chart {
            title: "A & B \"quoted\" 'single'".to_string(),
            x_labels: vec![
                "x\u{202E}gnp.exe\u{2066}\u{0007}\n<b>".to_string(),
                "\u{FFFF}&".to_string(),
            ],
            y_label: "<y>".to_string(),
            series: vec![series(hostile, &[Some(1.0), Some(2.0)])],
            value_format: ValueFormat::Plain,
        };
        let out = svg(&c);
        let doc = parse(&out);
        assert!(!out.contains('\u{202E}') && !out.contains('\u{2066}') && !out.contains('\u{7}'));
        assert!(!out.contains('\u{FFFF}'));
        assert!(out.contains("A &amp; B &quot;quoted&quot; &#39;single&#39;"));
        // The parsed text is the input, cleaned, not markup.
        let texts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("title"))
            .filter_map(|n| n.text())
            .collect();
        assert!(texts.contains(&hostile));
        assert!(texts.contains(&"x\u{FFFD}gnp.exe\u{FFFD}\u{FFFD} <b>"));
        assert!(texts.contains(&"\u{FFFD}&"));
        assert_eq!(count(&doc, "script"), 0);
    }

    #[test]
    fn long_text_is_truncated_with_an_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(clean("  a\u{202A}b\tc  ", 10), "a\u{FFFD}b c");
        let out = svg(&chart(
            vec![series(&"n".repeat(100), &[Some(1.0)])],
            &[&"L".repeat(100)],
            ValueFormat::Plain,
        ));
        assert!(out.contains(&format!(">{}…<title>", "n".repeat(21))));
    }

    #[test]
    fn same_input_same_bytes() {
        let c = chart(
            vec![
                series("a", &[Some(0.1 + 0.2), None, Some(1.0 / 3.0), Some(2.0)]),
                series("b", &[Some(1e9), Some(2.5e9), None, None]),
            ],
            &["s1", "s2", "s3", "s4"],
            ValueFormat::Bytes,
        );
        assert_eq!(svg(&c), svg(&c.clone()));
        assert!(!svg(&c).contains("0000000"));
    }

    #[test]
    fn nice_ticks() {
        let plain = ValueFormat::Plain;
        assert_eq!(tick_labels(&[7.3], plain), ["0", "2", "4", "6", "8"]);
        assert_eq!(
            tick_labels(&[1.0], plain),
            ["0", "0.2", "0.4", "0.6", "0.8", "1"]
        );
        assert_eq!(tick_labels(&[0.1 + 0.2], plain), ["0", "0.1", "0.2", "0.3"]);
        assert_eq!(
            tick_labels(&[950.0], plain),
            ["0", "200", "400", "600", "800", "1000"]
        );
        assert_eq!(tick_labels(&[-3.0, 7.0], plain), ["-5", "0", "5", "10"]);
        assert_eq!(tick_labels(&[-3.0, -1.0], plain), ["-3", "-2", "-1", "0"]);
        assert_eq!(
            tick_labels(&[2_500_000.0], plain),
            ["0", "0.5M", "1M", "1.5M", "2M", "2.5M"]
        );
        assert_eq!(
            tick_labels(&[], plain),
            ["0", "0.2", "0.4", "0.6", "0.8", "1"]
        );
        assert_eq!(
            tick_labels(&[100.0, 42.0], ValueFormat::Percent),
            ["0%", "20%", "40%", "60%", "80%", "100%"]
        );
        assert_eq!(
            tick_labels(&[1.5 * 1024.0 * 1024.0 * 1024.0], ValueFormat::Bytes),
            ["0", "0.5 GB", "1 GB", "1.5 GB"]
        );
        assert_eq!(
            tick_labels(&[0.0], ValueFormat::Bytes),
            ["0", "1 B", "2 B", "3 B"]
        );
        assert_eq!(
            tick_labels(&[f64::MAX], plain).last().map(String::as_str),
            Some("2e308")
        );
        // Always 4 to 6 ticks, over many magnitudes and signs.
        for exponent in -12..=20 {
            for mantissa in [1.0, 1.1, 1.5, 2.0, 2.6, 3.3, 4.9, 5.0, 7.7, 9.99] {
                let v = mantissa * 10f64.powi(exponent);
                for values in [vec![v], vec![-v], vec![-v, v], vec![-v / 3.0, v]] {
                    for format in [plain, ValueFormat::Bytes, ValueFormat::Percent] {
                        let n = tick_labels(&values, format).len();
                        assert!((4..=6).contains(&n), "{values:?} {format:?}: {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn gaps_for_missing_values() {
        let out = svg(&chart(
            vec![series(
                "a",
                &[Some(1.0), None, Some(3.0), Some(4.0), None, Some(2.0)],
            )],
            &["1", "2", "3", "4", "5", "6"],
            ValueFormat::Plain,
        ));
        let doc = parse(&out);
        let polylines: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline"))
            .collect();
        // Only 3 → 4 is joined; 1 and 2 stand alone as markers.
        assert_eq!(polylines.len(), 1);
        assert_eq!(
            polylines[0]
                .attribute("points")
                .map(|p| p.split(' ').count()),
            Some(2)
        );
        assert_eq!(count(&doc, "circle"), 4 + 1);

        let single = svg(&chart(
            vec![series("a", &[Some(1.0)])],
            &["x"],
            ValueFormat::Plain,
        ));
        let doc = parse(&single);
        assert_eq!(count(&doc, "polyline"), 0);
        assert_eq!(count(&doc, "circle"), 1 + 1);
    }

    #[test]
    fn value_formats() {
        assert_eq!(ValueFormat::Plain.format(0.1 + 0.2), "0.3");
        assert_eq!(ValueFormat::Plain.format(1234.0), "1234");
        assert_eq!(ValueFormat::Plain.format(2.0 / 3.0), "0.67");
        assert_eq!(ValueFormat::Plain.format(1_234_567.0), "1.23M");
        assert_eq!(ValueFormat::Plain.format(1e20), "1e20");
        assert_eq!(ValueFormat::Plain.format(-0.0001), "0");
        assert_eq!(ValueFormat::Plain.format(f64::NAN), "n/a");
        assert_eq!(ValueFormat::Percent.format(37.46), "37.5%");
        assert_eq!(ValueFormat::Percent.format(150.0), "150%");
        assert_eq!(ValueFormat::Bytes.format(1536.0), "1.5 kB");
        assert_eq!(ValueFormat::Bytes.format(512.0), "512 B");
        assert_eq!(ValueFormat::Bytes.format(300.0 * 1024.0 * 1024.0), "300 MB");
        assert_eq!(ValueFormat::Cores.format(1.256), "1.26");
        assert_eq!(decimal(3, -1), "0.3");
        assert_eq!(decimal(-25, -3), "-0.025");
        assert_eq!(decimal(20, 5), "2000000");
        assert_eq!(decimal(15, 307), "1.5e308");
        assert_eq!(decimal(5, -8), "5e-8");
    }
}
