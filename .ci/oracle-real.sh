#!/usr/bin/env bash
# Runs `pprof-report top` on every file of the real production set in ../shared/real with the
# options its oracle/ file names, and diffs against what go tool pprof printed.
#   bash .ci/oracle-real.sh BINARY [SET_DIR]
set -euo pipefail
bin=$1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
set_dir=${2:-$(ls -d "$here"/../shared/real/*/ 2>/dev/null | head -n 1)}
if [[ -z "$set_dir" || ! -d "$set_dir/oracle" ]]; then
	if [[ "${CI:-}" == "true" ]]; then
		echo "oracle-real: ../shared/real is missing" >&2
		exit 1
	fi
	echo "oracle-real: skipped (no ../shared/real here)"
	exit 0
fi
prefix=$(ls "$set_dir"/*-cpu.prof | sed 's/-cpu\.prof$//')
failures=0
checked=0
check() {
	local oracle=$1
	shift
	checked=$((checked + 1))
	if ! diff -u "$set_dir/oracle/$oracle" <("$bin" top "$@") >"${TMPDIR:-/tmp}/oracle-diff.txt"; then
		echo "DIFFERS: $oracle"
		head -n 20 "${TMPDIR:-/tmp}/oracle-diff.txt"
		failures=$((failures + 1))
	fi
}
for n in 10 20; do
	check "cpu-top$n.txt" --nodecount "$n" "$prefix-cpu.prof"
	check "cpu-top$n-cum.txt" --cum --nodecount "$n" "$prefix-cpu.prof"
done
check cpu-top10-lines.txt --lines --nodecount 10 "$prefix-cpu.prof"
for kind in heap allocs; do
	for index in alloc_objects alloc_space inuse_objects inuse_space; do
		check "$kind-$index-top15.txt" --nodecount 15 --sample-index "$index" "$prefix-$kind.prof"
	done
done
check goroutine-top15.txt --nodecount 15 "$prefix-goroutine.prof"
check mutex-top.txt "$prefix-mutex.prof"
check block-top.txt "$prefix-block.prof"
# Every oracle -top file must have been checked.
expected=$(ls "$set_dir"/oracle/*top*.txt | wc -l)
if [[ $checked -ne $expected ]]; then
	echo "oracle-real: checked $checked files but oracle/ has $expected -top files" >&2
	exit 1
fi
echo "oracle-real: $((checked - failures)) of $checked oracle files identical"
[[ $failures -eq 0 ]]
