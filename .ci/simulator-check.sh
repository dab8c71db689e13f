#!/usr/bin/env bash
# Builds the simulator, runs it on a loopback port, collects a set from it with
# `pprof-report collect`, checks the set is complete and decodes, and that `top` on it
# matches the real `go tool pprof`; the simulator is always stopped.
#   bash .ci/simulator-check.sh BINARY
set -euo pipefail
bin=$1
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

(cd "$root/fixtures/tsnsim" && go build -trimpath -o "$work/tsnsim" .)
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

checked=0
for member in cpu heap allocs goroutine mutex block; do
	file=$(ls "$work"/set/*-"$member".prof)
	for opts in "" "-cum"; do
		if ! diff <(TZ=UTC go tool pprof -symbolize=none -top $opts "$file" 2>/dev/null) \
			<("$bin" top ${opts:+-$opts} "$file") >"$work/diff.txt"; then
			echo "top differs from go tool pprof on $member $opts:"
			head -n 20 "$work/diff.txt"
			exit 1
		fi
		checked=$((checked + 1))
	done
done
echo "simulator-check: set complete, $checked top outputs identical to go tool pprof"
