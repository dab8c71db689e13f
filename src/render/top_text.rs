//! `go tool pprof -top` text, from a `TopReport` (pprof's printText).

use crate::analyze::top::TopReport;

/// The report exactly as `go tool pprof -top` prints it.
pub fn render(report: &TopReport) -> String {
    let mut out = String::new();
    for label in &report.labels {
        out.push_str(label);
        out.push('\n');
    }
    out.push_str(&format!(
        "{:>10} {:>5}% {:>5}% {:>10} {:>5}%\n",
        "flat", "flat", "sum", "cum", "cum"
    ));
    for item in &report.items {
        let inline = if item.inline_label.is_empty() {
            String::new()
        } else {
            format!(" {}", item.inline_label)
        };
        out.push_str(&format!(
            "{:>10} {} {} {:>10} {}  {}{}\n",
            item.flat_text,
            item.flat_percent,
            item.sum_percent,
            item.cum_text,
            item.cum_percent,
            item.name,
            inline
        ));
    }
    out
}
