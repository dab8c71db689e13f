#!/usr/bin/env bash
# Wall time of `pprof-report top` against `go tool pprof -top` on the same files and options:
# median of RUNS runs each, side by side, with the ratio.
#   bash bench/top-vs-pprof.sh [RUNS] [PROFILE...]
# Without profiles it uses the real production set in ../shared/real when present, else the
# fixture sets. Needs `go` (Debian's golang-go) and builds the release binary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-9}
shift || true
cargo build --release --quiet
bin=$(pwd)/target/release/pprof-report
files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then
	real=$(ls -d ../shared/real/*/ 2>/dev/null | head -n 1 || true)
	if [[ -n "$real" ]]; then
		files=("$real"*-cpu.prof "$real"*-heap.prof)
	else
		files=(fixtures/profiles/*-cpu.prof fixtures/profiles/*-heap.prof)
	fi
fi

# Median wall time in milliseconds of running "$@" $runs times (output discarded).
median_ms() {
	local times=()
	for ((i = 0; i < runs; i++)); do
		local start end
		start=$(date +%s%N)
		"$@" >/dev/null 2>&1
		end=$(date +%s%N)
		times+=($(((end - start) / 1000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'
}

echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "go: $(go version | cut -d' ' -f3), runs per command: $runs (median)"
printf '%-44s %-26s %12s %12s %8s\n' file options "pprof-report" "go pprof" speedup
for f in "${files[@]}"; do
	for opts in "" "-cum"; do
		ours=$(median_ms "$bin" top ${opts:+-$opts} "$f")
		theirs=$(median_ms go tool pprof -symbolize=none -top $opts "$f")
		ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.1fx", b/a}')
		printf '%-44s %-26s %10sms %10sms %8s\n' "$(basename "$f")" "-top $opts" "$ours" "$theirs" "$ratio"
	done
done
