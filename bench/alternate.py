#!/usr/bin/env python3
"""Runs commands alternately, N rounds, and prints each one's median and fastest wall time.

    python3 bench/alternate.py 60 "CMD A" "CMD B" ...

For commands of a few tens of ms on a shared machine, where a busy moment would otherwise
fall on one command only. Each command is split as a shell would (shlex) and run without a
shell; its output is discarded. The Python start of each run is the same for every command.
"""
import shlex
import statistics
import subprocess
import sys
import time


def main():
    rounds = int(sys.argv[1])
    commands = sys.argv[2:]
    times = [[] for _ in commands]
    for _ in range(rounds):
        for i, command in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(shlex.split(command), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
            times[i].append((time.perf_counter() - start) * 1e3)
    for command, ms in zip(commands, times):
        print(f"{statistics.median(ms):7.2f} ms median {min(ms):7.2f} ms fastest  {command}")


if __name__ == "__main__":
    main()
