#!/usr/bin/env bash
# The hostile report (tests/cli/hostile.rs: profile sets full of Markdown, HTML, SVG and
# JavaScript payloads) in a real headless Chromium: its HTML page, the same page without its
# Content-Security-Policy, and two of its flame graphs, each loaded from file:// with
# --dump-dom and --screenshot. No payload may leave its trace in the DOM, every page must
# render (headings in the DOM, a screenshot that is not blank), and a control page that does
# let a payload through must show the trace. Installs Debian's chromium when it is missing;
# when it cannot, says so and skips.
#   bash .ci/browser-check.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 &&
	[[ $(id -u) == 0 ]]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null 2>&1 || true
	apt-get install -y -qq chromium >/dev/null 2>&1 || true
fi
if ! command -v chromium >/dev/null 2>&1; then
	echo "browser-check: SKIPPED, chromium is not installed and apt-get could not install it"
	exit 0
fi
# Debian's wrapper script prints a shell warning of its own on stderr; the version is enough.
chromium --version 2>/dev/null
# A renamed test would match no filter, run nothing and pass: the run must say it ran one.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --locked --test cli -- --ignored --nocapture --exact \
	hostile::browser_runs_nothing_from_profile_data 2>&1 | tee "$log"
grep -q '^test result: ok\. 1 passed' "$log" || {
	echo "browser-check: hostile::browser_runs_nothing_from_profile_data did not run" >&2
	exit 1
}
