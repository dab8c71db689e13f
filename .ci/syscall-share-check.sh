#!/usr/bin/env bash
# On every Go CPU profile of the fixtures (and the real set), the report's syscall share is
# within 1 point of an independent oracle: from go tool pprof's -traces, the share of samples
# whose leaf is a kernel entry (`runtime/internal/syscall.Syscall6` in Go 1.19–1.22,
# `internal/runtime/syscall.Syscall6` in 1.23–1.25, `internal/runtime/syscall/linux.Syscall6`
# since 1.26, `syscall.RawSyscall*`, `syscall.rawVforkSyscall`, `x/sys/unix` entries) reached
# from the `syscall` or `x/sys/unix` packages. The runtime's own stubs and its netpoller are not the application's syscalls.
# And the report's syscalls by kind: each of its first three calls within 1 point of
# go tool pprof's cum of the call's wrapper (`syscall.read`, `runtime.futex`).
#   bash .ci/syscall-share-check.sh BINARY [SET…]
set -euo pipefail
bin=$1
shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
go=${GO:-/usr/bin/go}
command -v "$go" >/dev/null || go=go
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sets=("$@")
if [[ ${#sets[@]} -eq 0 ]]; then
	for cpu in "$root"/fixtures/{profiles,runtimes,services}/*-cpu.prof; do
		sets+=("${cpu%-cpu.prof}")
	done
	for real in "$root"/../shared/real/*/; do
		[[ -d "$real" ]] && sets+=("${real%/}")
	done
fi

checked=0
for set in "${sets[@]}"; do
	cpu=$( (ls "$set"*-cpu.prof "$set"/*-cpu.prof 2>/dev/null || true) | head -n 1)
	[[ -n "$cpu" ]] || { echo "$set: no CPU profile" >&2 && exit 1; }
	oracle=$("$go" tool pprof -symbolize=none -traces "$cpu" 2>/dev/null | python3 -c '
import re, sys
units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "mins": 60.0, "hrs": 3600.0}
leaf = re.compile(r"^(runtime/internal/syscall\.Syscall6|internal/runtime/syscall(/linux)?\.Syscall6|syscall\.(Raw)?Syscall6?|syscall\.rawVforkSyscall|syscall\.rawSyscallNoError|golang\.org/x/sys/unix\.(Raw)?Syscall6?(NoError)?)$")
caller = re.compile(r"^(syscall|golang\.org/x/sys/unix)\.")
def seconds(text):
    number, unit = re.fullmatch(r"([0-9.]+)([a-zµ]+)", text).groups()
    return float(number) * units[unit]
total = matched = 0.0
for block in sys.stdin.read().split("-----------+-------------------------------------------------------")[1:]:
    # Label lines (`  service:  svc3`) come before the value line.
    lines = [l for l in block.splitlines() if l.strip() and not l.split()[0].endswith(":")]
    if not lines:
        continue
    value, top = lines[0].split(None, 1)
    frames = [top.strip().removesuffix(" (inline)")] + [l.strip().removesuffix(" (inline)") for l in lines[1:]]
    v = seconds(value)
    total += v
    if leaf.match(frames[0]) and any(caller.match(f) for f in frames):
        matched += v
print(f"{100 * matched / total:.2f}" if total else "0")
')
	"$bin" report "$set" --format json --out "$work/r.json" >/dev/null
	ours=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["cpu"]; print("%.2f" % (c["syscalls"]["share"] if c and c.get("syscalls") else 0))' "$work/r.json")
	if ! python3 -c 'import sys; sys.exit(abs(float(sys.argv[1]) - float(sys.argv[2])) > 1.0)' "$ours" "$oracle"; then
		echo "$(basename "$set"): the report's syscall share $ours% against $oracle% in syscall leaves (go tool pprof -traces)" >&2
		exit 1
	fi
	# Which calls: each of the report's first three calls against go tool pprof's cum of
	# its wrapper (the -top row of that function), within 1 point.
	"$go" tool pprof -symbolize=none -top -nodecount=100000 -nodefraction=0 "$cpu" 2>/dev/null >"$work/top.txt"
	calls=$(python3 - "$work/r.json" "$work/top.txt" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rows = {}
for line in open(sys.argv[2]):
    parts = line.split()
    if len(parts) >= 6 and parts[4].endswith("%"):
        rows[" ".join(parts[5:]).removesuffix(" (inline)")] = float(parts[4].rstrip("%"))
checked = []
for call in ((report.get("cpu") or {}).get("syscalls") or {}).get("by_call", [])[:3]:
    ours = float(call["share_text"].rstrip("%").lstrip("<"))
    theirs = rows.get(call["function"])
    if theirs is None or abs(ours - theirs) > 1.0:
        sys.exit(f"{call['function']}: the report's {ours}% against go tool pprof's cum {theirs}%")
    checked.append(f"{call['call']} {ours}%")
print(", ".join(checked) or "none")
PY
)
	printf '%-45s report %6s%%  pprof leaves %6s%%  calls: %s\n' "$(basename "$set")" "$ours" "$oracle" "$calls"
	checked=$((checked + 1))
done
echo "syscall-share-check: $checked sets within 1 point of go tool pprof's syscall leaves"
