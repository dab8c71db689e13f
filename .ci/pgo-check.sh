#!/usr/bin/env bash
# `pprof-report pgo` against its oracle and its user:
# 1. over committed Go 1.20+ sets (two programs, two runtimes), the profile it writes reads
#    in Debian's `go tool pprof -top` (and in our `top`) exactly as pprof's own merge,
#    `go tool pprof -proto A B …`; a Go 1.19 set (no function start lines) is refused;
# 2. over two sets collected from the simulator built by Go 1.27 (the same binary: the
#    stacks overlap), the same equality; then Go 1.27 builds the simulator with
#    `-pgo=` that profile and records it in the binary's build settings (`go version -m`).
# The simulator is always stopped.
#   bash .ci/pgo-check.sh BINARY GO127
set -euo pipefail
bin=$1
go127=$2
pprof_go=/usr/bin/go
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

# same_as_pprof MERGED CPU_FILE…: MERGED reads as pprof's merge of the files does.
same_as_pprof() {
	local merged=$1
	shift
	"$pprof_go" tool pprof -symbolize=none -proto "$@" >"$work/oracle.pb.gz" 2>"$work/oracle.err" ||
		{ cat "$work/oracle.err"; exit 1; }
	local opts
	for opts in "" "-cum"; do
		TZ=UTC "$pprof_go" tool pprof -symbolize=none -top $opts "$work/oracle.pb.gz" >"$work/want.txt" 2>/dev/null
		if ! diff <(TZ=UTC "$pprof_go" tool pprof -symbolize=none -top $opts "$merged" 2>/dev/null) \
			"$work/want.txt" >"$work/diff.txt"; then
			echo "go tool pprof -top $opts of $merged differs from pprof's own merge:"
			head -n 20 "$work/diff.txt"
			exit 1
		fi
		if ! diff <("$bin" top ${opts:+-$opts} "$merged") "$work/want.txt" >"$work/diff.txt"; then
			echo "pprof-report top $opts of $merged differs from pprof's own merge:"
			head -n 20 "$work/diff.txt"
			exit 1
		fi
	done
	echo "pgo-check: $(basename "$merged") of $# CPU profiles reads as go tool pprof -proto's merge (-top, -top -cum)"
}

# 1. Committed sets.
p=$root/fixtures/profiles
r=$root/fixtures/runtimes
"$bin" pgo "$p/sim127-3svc-20261201-121500" "$r/go127-3svc-20261202-120000" \
	"$r/go121-3svc-20261202-120000" --out "$work/committed.pgo"
same_as_pprof "$work/committed.pgo" "$p/sim127-3svc-20261201-121500-cpu.prof" \
	"$r/go127-3svc-20261202-120000-cpu.prof" "$r/go121-3svc-20261202-120000-cpu.prof"
if "$bin" pgo "$p/sim-14svc-20261125-140000" "$p/sim-57svc-20261125-145700" \
	--out "$work/old.pgo" 2>"$work/old.err"; then
	echo "pgo accepted Go 1.19 profiles, which go build -pgo refuses" >&2
	exit 1
fi
grep -q "no start lines" "$work/old.err" || { cat "$work/old.err"; exit 1; }

# 2. Two sets from the simulator built by Go 1.27, then the build with the profile.
sim=$root/fixtures/tsnsim
"$go127" version
(cd "$sim" && GOTOOLCHAIN=local GOWORK=off "$go127" build -trimpath -o "$work/tsnsim" .)
# -duration bounds the simulator's life even if this script is killed.
"$work/tsnsim" -services 14 -pprof 127.0.0.1:0 -duration 300s >"$work/sim.log" 2>&1 &
sim_pid=$!
url=""
for _ in $(seq 1 100); do
	url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/sim.log" | head -n 1 || true)
	[[ -n "$url" ]] && break
	sleep 0.2
done
[[ -n "$url" ]] || { echo "simulator did not start:"; cat "$work/sim.log"; exit 1; }
for round in a b; do
	"$bin" collect --url "$url" --host "ci-$round" --services 14 --seconds 5 \
		--out "$work/sets-$round" --pid "$sim_pid" --quiet >/dev/null
done
kill -TERM "$sim_pid" 2>/dev/null || true
wait "$sim_pid" 2>/dev/null || true
sim_pid=""
"$bin" pgo "$work/sets-a" "$work/sets-b" --out "$work/default.pgo"
same_as_pprof "$work/default.pgo" "$work"/sets-a/*-cpu.prof "$work"/sets-b/*-cpu.prof

(cd "$sim" && GOTOOLCHAIN=local GOWORK=off "$go127" build -trimpath -pgo="$work/default.pgo" \
	-o "$work/tsnsim-pgo" .)
"$go127" version -m "$work/tsnsim-pgo" >"$work/buildinfo.txt"
if ! grep -q -- "-pgo=" "$work/buildinfo.txt"; then
	echo "the binary built with -pgo does not record it:" >&2
	cat "$work/buildinfo.txt" >&2
	exit 1
fi
echo "pgo-check: Go 1.27 built the simulator with the profile: $(grep -- '-pgo=' "$work/buildinfo.txt" | tr -s '\t ' ' ')"
