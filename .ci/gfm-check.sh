#!/usr/bin/env bash
# The Markdown reports as GitHub renders them (cmark-gfm with GitHub's extensions): the flame
# graphs show as images linking to their SVGs, every table-of-contents link reaches a heading
# (ids computed as GitHub computes them), long tables fold into <details>, and the
# syscalls by kind and the hot paths are there.
#   bash .ci/gfm-check.sh PPROF_REPORT
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=${1:-target/release/pprof-report}
if ! command -v cmark-gfm >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq cmark-gfm >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

reports=(reports/sim-57svc-20261125-145700.md reports/sim-portlist-off-57svc-20261125-150000-with-baseline.md)
real=../shared/real/tsnsrv-storage-57svc-20251015-210532
if [[ -d "$real" ]]; then
	"$bin" report "$real" --context .ci/real-context.yaml --out "$tmp/real.md" >/dev/null
	reports+=("$tmp/real.md")
fi

for md in "${reports[@]}"; do
	cmark-gfm --unsafe -e table -e tagfilter -e autolink "$md" >"$tmp/page.html"
	python3 - "$md" "$tmp/page.html" <<'PY'
import html, re, sys
from html.parser import HTMLParser

md, page = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()

class Page(HTMLParser):
    """Headings' texts, links, and images inside links."""
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.headings, self.links, self.linked_images = [], [], []
        self.heading, self.href, self.details = None, None, 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if re.fullmatch(r"h[1-6]", tag):
            self.heading = ""
        elif tag == "a":
            self.href = a.get("href")
            self.links.append(self.href)
        elif tag == "img" and self.href is not None:
            self.linked_images.append((self.href, a.get("src")))
        elif tag == "details":
            self.details += 1
    def handle_endtag(self, tag):
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(self.heading)
            self.heading = None
        elif tag == "a":
            self.href = None
    def handle_data(self, data):
        if self.heading is not None:
            self.heading += data

p = Page()
p.feed(page)

# GitHub's anchors: lowercase, drop all but word characters, '-' and ' ', spaces to '-',
# -1, -2, … for repeats (github-slugger).
seen, ids = {}, set()
for text in p.headings:
    base = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
    slug = base
    while slug in seen:
        seen[base] += 1
        slug = f"{base}-{seen[base]}"
    seen[slug] = 0
    ids.add(slug)

failures = []
svgs = [(h, s) for h, s in p.linked_images if h and h == s and h.endswith(".svg")]
if len(svgs) < 4 or len(set(svgs)) != len(svgs):
    failures.append(f"{len(svgs)} flame graph images linking to their SVGs, expected 4: {p.linked_images}")
toc = [h[1:] for h in p.links if h and h.startswith("#")]
if len(toc) < 5:
    failures.append(f"only {len(toc)} links to headings (no table of contents?)")
for anchor in toc:
    if anchor not in ids:
        failures.append(f"link #{anchor} reaches no heading")
if p.details < 1:
    failures.append("no <details>: the long tables are not folded")
# Which syscalls and the hot paths: their sections, with a call and a path in them.
for heading, evidence in [("Syscalls by kind", r"<td><code>syscall\.read</code></td>"), ("Hot paths", r"<li><strong>[0-9.]+% of CPU</strong>")]:
    if heading not in p.headings:
        failures.append(f"no {heading} section")
    elif not re.search(evidence, page):
        failures.append(f"the {heading} section shows no {evidence!r}")
if failures:
    print(f"gfm-check: {md}:", *failures, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"{md}: {len(svgs)} flame graphs, {len(toc)} heading links resolve, {p.details} folded tables, syscalls by kind and hot paths shown")
PY
done
