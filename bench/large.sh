#!/usr/bin/env bash
# Production-sized profiles: pprof-report against `go tool pprof` and `zcat`, side by side in
# one run, medians of RUNS runs (default 5), with the ratios and the targets of issue 9.
#
#   bash bench/large.sh [RUNS]     (SECTION1_ONLY=1: only the whole-report section)
#
# The first run builds bench/biggen (Go, standard library) and generates a large profile set
# into bench/generated/ (ignored by git; about 3 minutes): a heap/allocs profile recorded
# with MemProfileRate=1 over 800k distinct stacks, goroutine profile and dumps of 50k
# goroutines, a 30 s CPU profile. GO_RUNS sets the runs of `go tool pprof` on the large heap
# profile separately (each takes about a minute; default RUNS).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-5}
go_runs=${GO_RUNS:-$runs}
gen=bench/generated
prefix=large-1000svc-20261127-120000
sim=fixtures/profiles/sim-57svc-20261125-145700

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cargo build --release --quiet
bin=$(pwd)/target/release/pprof-report
if [[ ! -f "$gen/$prefix-heap.prof" ]]; then
	echo "generating $gen/$prefix-* (once)"
	(cd bench/biggen && GOWORK=off CGO_ENABLED=0 go build -trimpath -o "$tmp/biggen" .)
	"$tmp/biggen" -out "$gen" -prefix "$prefix"
fi
heap=$gen/$prefix-heap.prof

# Runs "$@" N times; prints the median wall time in ms (nanosecond clock) and the peak RSS
# in kB of one more run under /usr/bin/time.
measure() {
	local n=$1
	shift
	local times=()
	for ((i = 0; i < n; i++)); do
		local start end
		start=$(date +%s%N)
		"$@" >/dev/null 2>"$tmp/err" || {
			echo "bench: failed: $*" >&2
			cat "$tmp/err" >&2
			exit 1
		}
		end=$(date +%s%N)
		times+=($(((end - start) / 1000)))
	done
	/usr/bin/time -f '%M' -o "$tmp/rss" "$@" >/dev/null 2>&1
	printf '%s\n' "${times[@]}" | sort -n | awk -v rss="$(cat "$tmp/rss")" \
		'{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f %d\n", m/1000, rss}'
}

# Runs the command line $1 once (through eval: it holds quoted paths); prints its wall time
# in microseconds, or fails with its error output.
time_once() {
	local start end
	start=$(date +%s%N)
	eval "$1" >/dev/null 2>"$tmp/err" || {
		echo "bench: failed: $1" >&2
		cat "$tmp/err" >&2
		return 1
	}
	end=$(date +%s%N)
	echo $(((end - start) / 1000))
}

# Runs two command lines alternately N times each (so that a busy moment of a shared machine
# falls on both alike); prints the median wall time in ms of each.
measure_pair() {
	local n=$1 a=$2 b=$3
	local times_a=() times_b=() t
	for ((i = 0; i < n; i++)); do
		t=$(time_once "$a") || exit 1
		times_a+=("$t")
		t=$(time_once "$b") || exit 1
		times_b+=("$t")
	done
	local median='{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'
	echo "$(printf '%s\n' "${times_a[@]}" | sort -n | awk "$median") $(printf '%s\n' "${times_b[@]}" | sort -n | awk "$median")"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a/b}'; }
verdict() { awk -v ok="$1" 'BEGIN {print (ok ? "holds" : "MISSED")}'; }

raw=$(zcat "$heap" | wc -c)
echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1 /proc/loadavg)"
echo "go: $(go version | cut -d' ' -f3); runs per command: $runs (go tool pprof on the large profile: $go_runs), medians"
echo "large heap profile: $(du -k "$heap" | cut -f1) kB gzipped, $((raw / 1024)) kB decompressed"
echo

# A run of section 1 takes tens of ms, and the machine's noise is a few ms: more runs, taken
# alternately with go's.
small_runs=$((runs > 41 ? runs : 41))
echo "== 1. the whole report of a 57-service set vs one go tool pprof -top of its cpu profile (target: report faster; $small_runs runs each, alternating)"
# The committed simulator set (8 members, a 2.6 MB debug=2 dump among them); the same without
# the dump (the 7 files the production set has); the production set itself when ../shared
# holds it.
mkdir -p "$tmp/seven"
for f in "$sim"-*; do
	[[ $f == *debug2* ]] || cp "$f" "$tmp/seven/"
done
sets=("$sim" "$tmp/seven/$(basename "$sim")")
real=$(ls -d ../shared/real/*/ 2>/dev/null | head -n 1 || true)
if [[ -n "$real" ]]; then
	sets+=("$real$(ls "$real" | grep -m1 -- '-cpu.prof$' | sed 's/-cpu.prof$//')")
fi
for set in "${sets[@]}"; do
	case $set in
	"$sim") what="fixture set sim-57svc (8 members)" ;;
	"$tmp/seven/"*) what="fixture set sim-57svc without its debug=2 dump (7 members)" ;;
	*) what="production set (7 members, ../shared/real)" ;;
	esac
	read -r ours theirs < <(measure_pair "$small_runs" \
		"$bin report '$set' --out '$tmp/sim/report.md'" \
		"go tool pprof -symbolize=none -top '$set-cpu.prof'")
	echo "$what: report (every analysis, 4 flame graphs) ${ours} ms; go tool pprof -top cpu ${theirs} ms;" \
		"$(ratio "$theirs" "$ours")x -> $(verdict "$(awk -v a="$ours" -v b="$theirs" 'BEGIN{print a<b}')")"
done
echo

# SECTION1_ONLY=1 stops here: the check issue 17 asks of every change to the rules.
if [[ ${SECTION1_ONLY:-0} == 1 ]]; then
	exit 0
fi

echo "== 2. top on the large heap profile, each sample index (target: >= 15x faster, peak RSS <= 3x decompressed)"
printf '%-14s %12s %12s %9s %14s %10s\n' index pprof-report "go pprof" speedup "our peak RSS" "x raw"
for index in inuse_space inuse_objects alloc_space alloc_objects; do
	read -r ours ours_rss < <(measure "$runs" "$bin" top --sample-index "$index" "$heap")
	read -r theirs theirs_rss < <(measure "$go_runs" go tool pprof -symbolize=none -top -sample_index="$index" "$heap")
	speedup=$(ratio "$theirs" "$ours")
	rss_ratio=$(ratio "$((ours_rss * 1024))" "$raw")
	printf '%-14s %10s ms %10s ms %8sx %11s kB %9sx   go pprof peak RSS %s kB\n' \
		"$index" "$ours" "$theirs" "$speedup" "$ours_rss" "$rss_ratio" "$theirs_rss"
	if ! diff <("$bin" top --sample-index "$index" "$heap") \
		<(go tool pprof -symbolize=none -top -sample_index="$index" "$heap" 2>/dev/null) >/dev/null; then
		echo "   (output differs from go tool pprof: check the Time: line's time zone)"
	fi
done
echo

echo "== 3. the whole report on sets holding the large heap profile vs zcat (target: within 3x)"
read -r zcat_ms _ < <(measure "$runs" zcat "$heap")
echo "zcat heap profile: ${zcat_ms} ms"
mkdir -p "$tmp/heap-only" "$tmp/memory"
cp "$heap" "$tmp/heap-only/"
cp "$heap" "$gen/$prefix-allocs.prof" "$tmp/memory/"
for set in "$tmp/heap-only/$prefix" "$tmp/memory/$prefix" "$gen/$prefix"; do
	case $set in
	"$tmp/heap-only/"*) what="heap profile only" ;;
	"$tmp/memory/"*) what="heap and allocs profiles" ;;
	*) what="the whole generated set (heap, allocs, cpu, goroutine, 50k-goroutine dumps, mutex, block)" ;;
	esac
	read -r ours ours_rss < <(measure "$runs" "$bin" report "$set" --out "$tmp/out/report.md")
	echo "report, $what: ${ours} ms ($(ratio "$ours" "$zcat_ms")x zcat), peak RSS ${ours_rss} kB ($(ratio "$((ours_rss * 1024))" "$raw")x the heap's decompressed size)"
done
echo

echo "== 4. goroutine dump parse rate (target: >= 300 MB/s on debug=2, >= 50k goroutines)"
RUNS=$runs cargo bench --quiet --bench large -- parse "$gen/$prefix-goroutines-debug2.txt" 2>/dev/null
RUNS=$runs cargo bench --quiet --bench large -- parse "$gen/$prefix-goroutines.txt" 2>/dev/null
echo

echo "== 5. flame graph SVG of the large heap profile (target: < 1 s, bounded size)"
for index in inuse_space alloc_space; do
	RUNS=$runs cargo bench --quiet --bench large -- flame "$heap" "$index" 2>/dev/null
done
