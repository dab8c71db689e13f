#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with the project's own fixtures and regression inputs, the
# seeds libFuzzer starts from. The corpora libFuzzer grows are not committed (see .gitignore).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
root=..
seed() {
	local target=$1
	shift
	mkdir -p "corpus/$target"
	cp "$@" "corpus/$target/"
}
profiles=("$root"/fixtures/profiles/*.prof "$root"/fixtures/handmade/* "$root"/tests/fuzz-regressions/profile/*)
seed decode "${profiles[@]}"
seed decode_top "${profiles[@]}"
# decode_gzip compresses its input itself: its seeds are plain protobuf.
seed decode_gzip "$root"/fixtures/profiles/*.prof "$root"/fixtures/handmade/*.pb
# The simulator's debug=2 dumps are 2 MB: libFuzzer is faster on the small ones.
seed debug1 "$root"/fixtures/profiles/*-goroutines.txt "$root"/fixtures/goroutine/debug1.txt \
	"$root"/tests/fuzz-regressions/debug1/*
seed debug2 "$root"/fixtures/profiles/fixture-*-goroutines-debug2.txt "$root"/fixtures/goroutine/debug2*.txt
seed context "$root"/fixtures/context-example.yaml "$root"/fixtures/profiles/*-context.yaml \
	"$root"/tests/fuzz-regressions/context/*
seed rules "$root"/src/rules/*.yaml "$root"/tests/fuzz-regressions/rules/*
seed backlog_task "$root"/fixtures/backlog/*/*.md "$root"/tests/fuzz-regressions/backlog-task/*
echo "seeded: $(ls corpus | tr '\n' ' ')"
