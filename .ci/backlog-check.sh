#!/usr/bin/env bash
# Attaches a committed report to a copy of fixtures/backlog and checks that the real
# Backlog.md CLI (npm package backlog.md) still reads the task and shows the block; the same
# for a task saved with a UTF-8 byte-order mark, which attach keeps.
# Skipped, saying so, when the CLI cannot be installed here.
#   bash .ci/backlog-check.sh BINARY
set -euo pipefail
bin=$1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! command -v npm >/dev/null 2>&1 ||
	! (cd "$work" && timeout 300 npm install --silent --no-audit --no-fund backlog.md@1.52.0 >/dev/null 2>&1); then
	echo "backlog-check: skipped (the backlog.md npm package could not be installed)"
	exit 0
fi
project="$work/project"
mkdir -p "$project/reports"
cp -r "$root/fixtures/backlog" "$project/backlog"
cp "$root/reports/sim-57svc-20261125-145700.md" "$project/reports/"
# attach reads the analysis the report wrote beside its flame graphs.
mkdir -p "$project/reports/sim-57svc-20261125-145700"
cp "$root/reports/sim-57svc-20261125-145700/analysis.json" "$project/reports/sim-57svc-20261125-145700/"
bom_task="$project/backlog/tasks/task-18 - Shrink-heap.md"
{ printf '\357\273\277'; cat "$bom_task"; } >"$bom_task.new" && mv "$bom_task.new" "$bom_task"
(cd "$project" && git init -q && "$bin" attach --task 17 reports/sim-57svc-20261125-145700.md &&
	"$bin" attach --task 18 reports/sim-57svc-20261125-145700.md)
if [ "$(head -c 3 "$bom_task" | od -An -tx1 | tr -d ' ')" != efbbbf ]; then
	echo "backlog-check: attach dropped the byte-order mark of $bom_task" >&2
	exit 1
fi
# Staging files are hidden and removed: the tasks folder holds only the fixture's tasks.
if [ "$(ls -A "$project/backlog/tasks" | grep -cv '^task-')" != 0 ]; then
	echo "backlog-check: attach left files in backlog/tasks: $(ls -A "$project/backlog/tasks")" >&2
	exit 1
fi
check() {
	local task=$1
	shift
	local shown
	shown=$(cd "$project" && timeout 60 "$work/node_modules/.bin/backlog" task "$task" --plain)
	for expected in "$@"; do
		if ! grep -qF -- "$expected" <<<"$shown"; then
			echo "backlog-check: 'backlog task $task --plain' does not show: $expected" >&2
			echo "$shown" >&2
			exit 1
		fi
	done
}
check 17 "Reduce CPU of the 57-service proxy" "reports/sim-57svc-20261125-145700.md" \
	"pprof-report:BEGIN reports/sim-57svc-20261125-145700.md" "1. Port listing polls /proc for every node" \
	"Profiling enabled on port 9099 behind an ssh tunnel."
check 18 "Task TASK-18 - Shrink heap" "Labels: memory" "pprof-report:BEGIN reports/sim-57svc-20261125-145700.md" \
	"1. Port listing polls /proc for every node"
echo "backlog-check: the Backlog.md CLI reads the attached tasks (one with a byte-order mark) and shows the block"
