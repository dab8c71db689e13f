#!/usr/bin/env bash
# Builds the simulator, runs it on a loopback port, collects a set from it with
# `pprof-report collect`, checks the set is complete and decodes, and that `top` on it
# matches the real `go tool pprof`; then collects again a minute later and compares the two.
# The simulator is always stopped.
#   bash .ci/simulator-check.sh BINARY [GO]
# GO builds the simulator (default: Debian's /usr/bin/go, else `go` on PATH); with another
# toolchain (Go 1.27) the set must still be complete, the dumps parse, and the numbers match
# Debian's go tool pprof, which makes the goldens. SNAPSHOTS=0 skips the minute-apart compare.
# LEAKS=1 (for a Go 1.26+ build) starts the nodes under pprof labels and leaking goroutines,
# and checks the set has the goroutine leak profile, the report counts what it holds, and
# shows the labels.
set -euo pipefail
bin=$1
pprof_go=/usr/bin/go
command -v "$pprof_go" >/dev/null || pprof_go=go
build_go=${2:-$pprof_go}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work=$(mktemp -d)
sim_pid=""
cleanup() {
	if [[ -n "$sim_pid" ]]; then
		kill -TERM "$sim_pid" 2>/dev/null || true
		wait "$sim_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

"$build_go" version
(cd "$root/fixtures/tsnsim" && GOTOOLCHAIN=local GOWORK=off "$build_go" build -trimpath -o "$work/tsnsim" .)
# -duration bounds the simulator's life even if this script is killed.
leak_flags=()
[[ "${LEAKS:-0}" == 1 ]] && leak_flags=(-labels -leaks-per-node 2)
# tracebacklabels: the debug=2 headers carry the labels, the default of go 1.27 modules.
GODEBUG=tracebacklabels=1 "$work/tsnsim" -services 3 -pprof 127.0.0.1:0 -duration 300s \
	-mutex-fraction 1 -block-rate 1000000 "${leak_flags[@]}" >"$work/sim.log" 2>&1 &
sim_pid=$!
url=""
for _ in $(seq 1 100); do
	url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/sim.log" | head -n 1 || true)
	[[ -n "$url" ]] && break
	sleep 0.2
done
[[ -n "$url" ]] || { echo "simulator did not start:"; cat "$work/sim.log"; exit 1; }
echo "simulator up at $url (pid $sim_pid)"

"$bin" collect --url "$url" --host ci --services 3 --seconds 5 --out "$work/set" \
	--pid "$sim_pid" --quiet
"$bin" members "$work/set" | tee "$work/members.txt"
if grep -q '^missing:' "$work/members.txt"; then
	echo "the collected set is incomplete" >&2
	exit 1
fi

# The window profiles and the runtime statistics are optional members, but a current
# server has them all.
for extra in allocs-window.prof mutex-window.prof block-window.prof heap.txt; do
	ls "$work"/set/*-"$extra" >/dev/null || { echo "collect did not keep the $extra member" >&2 && exit 1; }
done

if [[ "${LEAKS:-0}" == 1 ]]; then
	leak=$(ls "$work"/set/*-goroutineleak.prof)
	ls "$work"/set/*-goroutineleak-debug2.txt >/dev/null
	# The oracle: pprof's total of the leak profile (3 nodes × 2 abandoned lookups).
	expected=$(TZ=UTC "$pprof_go" tool pprof -symbolize=none -top "$leak" 2>/dev/null |
		sed -n 's/.* of \([0-9]*\) total.*/\1/p' | head -n 1)
	"$bin" report "$work/set" --out "$work/leaks.md" >/dev/null
	"$bin" report "$work/set" --format json --out "$work/leaks.json" >/dev/null
	reported=$(python3 -c 'import json,sys; l=json.load(open(sys.argv[1]))["leaks"]; print(l["total"] if l else 0)' "$work/leaks.json")
	if [[ -z "$expected" || "$expected" != "$reported" || "$reported" -lt 6 ]]; then
		echo "leaked goroutines: the report says ${reported}, go tool pprof's leak profile ${expected:-nothing}" >&2
		exit 1
	fi
	grep -q 'resolver.answer' "$work/leaks.md" || { echo "the leak site is not named" >&2 && exit 1; }
	grep -q 'node=svc0' "$work/leaks.md" || { echo "the node labels are not shown" >&2 && exit 1; }
	echo "simulator-check: $reported leaked goroutines, as in the leak profile, with their site and labels"
fi

checked=0
members=(cpu heap allocs goroutine mutex block allocs-window mutex-window block-window)
[[ "${LEAKS:-0}" == 1 ]] && members+=(goroutineleak)
for member in "${members[@]}"; do
	file=$(ls "$work"/set/*-"$member".prof)
	for opts in "" "-cum"; do
		if ! diff <(TZ=UTC "$pprof_go" tool pprof -symbolize=none -top $opts "$file" 2>/dev/null) \
			<("$bin" top ${opts:+-$opts} "$file") >"$work/diff.txt"; then
			echo "top differs from go tool pprof on $member $opts:"
			head -n 20 "$work/diff.txt"
			exit 1
		fi
		checked=$((checked + 1))
	done
done
echo "simulator-check: set complete, $checked top outputs identical to go tool pprof"

[[ "${SNAPSHOTS:-1}" == 0 ]] && exit 0

# Two snapshots of one unchanged process a minute apart: nothing was applied, so no
# recommendation "did not materialise", and a goroutine count that moved by a few is churn.
sleep 45
"$bin" collect --url "$url" --host ci --services 3 --seconds 5 --out "$work/later" \
	--pid "$sim_pid" --quiet
"$bin" compare "$work/set" "$work/later" --out "$work/compare.md" >/dev/null
if grep -n 'did not materialise' "$work/compare.md"; then
	echo "compare of two unchanged snapshots says a recommendation did not materialise" >&2
	exit 1
fi
awk -F'|' '$2 == " goroutines " {
	change = $4 - $3; if (change < 0) change = -change
	if (change < 10 && $6 ~ /^ yes/) { print "a change of " change " goroutines called significant: " $0; bad = 1 }
	found = 1
} END { if (!found) { print "no goroutines row in the comparison"; exit 1 } exit bad }' "$work/compare.md" >&2
echo "simulator-check: two snapshots a minute apart compare as unchanged ($(grep -c 'not applied' "$work/compare.md") recommendations not applied)"
