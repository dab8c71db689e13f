#!/usr/bin/env bash
# Builds the simulator, runs it on a loopback port, collects a set from it with
# `pprof-report collect`, checks the set is complete and decodes, and that `top` on it
# matches the real `go tool pprof`; then collects again a minute later and compares the two.
# The simulator is always stopped.
#   bash .ci/simulator-check.sh BINARY [GO]
# GO builds the simulator (default: Debian's /usr/bin/go, else `go` on PATH); with another
# toolchain (Go 1.27) the set must still be complete, the dumps parse, and the numbers match
# Debian's go tool pprof, which makes the goldens. SNAPSHOTS=0 skips the minute-apart compare.
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
"$work/tsnsim" -services 3 -pprof 127.0.0.1:0 -duration 300s -mutex-fraction 1 -block-rate 1000000 \
	>"$work/sim.log" 2>&1 &
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

checked=0
for member in cpu heap allocs goroutine mutex block allocs-window mutex-window block-window; do
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
