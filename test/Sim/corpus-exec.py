#!/usr/bin/env python3
"""Corpus executability of the simulator: does every xla-partitioner module
run under the interpreter?

For every module of the xla-partitioner corpus:

    gshard-sim CASE.hlo --run --num-partitions=P --print-limit=0

with P = 1 (the unpartitioned program on one device), or P = N from
cases.tsv when the module's own semantics involve devices (collectives,
partition-id/replica-id, SPMD custom-calls). Each run gets --timeout
CPU seconds (robust to a loaded machine; 10x that in wall time catches hangs;
--budgets gives a few model-sized modules more). Prints

    simulator: N/M modules execute

and the others grouped by reason (timeout, too large to simulate, cannot
execute OPCODE: why, run-time error), in full to --failures. Exits 1 if N
drops below the checked-in --baseline, 2 on bad usage, 0 otherwise (also
when the corpus is absent: skipped). --times FILE writes every module's
CPU and wall time (most CPU first).
"""

import argparse
import collections
import concurrent.futures
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# Opcodes and targets whose semantics depend on the device set.
DEVICE_OPS = re.compile(
    r"\b(all-reduce|all-gather|all-to-all|reduce-scatter|collective-permute|"
    r"collective-broadcast|partition-id|replica-id|send|recv|"
    r"all-reduce-start|all-gather-start|collective-permute-start)\(|"
    r"SPMDFullToShardShape|SPMDShardToFullShape")


def find_tool(name, given):
    if given:
        return shutil.which(given) or given
    for candidate in (os.path.join(REPO, "build", "bin", name),
                      shutil.which(name)):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def read_cases(corpus):
    partitions = {}
    path = os.path.join(corpus, "cases.tsv")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                fields = line.rstrip("\n").split("\t")
                if len(fields) >= 2 and fields[1].isdigit():
                    partitions[fields[0]] = int(fields[1])
    return partitions


def read_budgets(path):
    """Per-module CPU-second budgets: `MODULE<TAB>SECONDS<TAB>why` lines
    ('#' comments) for the few model-sized modules that need more than
    --timeout."""
    budgets = {}
    if not path:
        return budgets
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split("\t")
            try:
                budgets[fields[0]] = float(fields[1])
            except (IndexError, ValueError):
                sys.exit("%s:%d: error: expected MODULE<TAB>SECONDS" %
                         (path, number))
    return budgets


def classify(rc, stderr):
    """The reason a run failed, generic enough to group modules."""
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    text = "\n".join(lines)
    if "too large to simulate" in text or "more than the simulator's" in text:
        return "too large to simulate"
    m = re.search(r"error: cannot execute (\S+) at \S+: (.*)", text)
    if m:
        why = re.sub(r"%[\w.\-]+", "%v", m.group(2))
        why = re.sub(r"\d+", "#", why)
        return "cannot execute %s: %s" % (m.group(1), why)
    for line in lines:
        if "error:" in line:
            why = line.split("error:", 1)[1].strip()
            why = re.sub(r"%[\w.\-]+", "%v", why)
            why = re.sub(r"\S+\.hlo:\d+(:\d+)?", "FILE", why)
            why = re.sub(r"\d+", "#", why)
            return "error (exit %d): %s" % (rc, why[:120])
    return "exit %d" % rc


def run_one(sim, corpus, name, partitions, timeout):
    path = os.path.join(corpus, name)
    with open(path, errors="replace") as f:
        text = f.read()
    p = partitions.get(name, 1) if DEVICE_OPS.search(text) else 1
    cmd = [sim, path, "--run", "--num-partitions=%d" % p, "--print-limit=0"]
    start = time.monotonic()

    def limit_cpu():
        # CPU seconds (all threads), so a loaded machine does not turn slow
        # scheduling into timeouts; the wall-clock limit only catches hangs.
        cpu = max(1, int(math.ceil(timeout)))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))

    # Popen + wait4 rather than subprocess.run: wait4 gives this child's own
    # CPU time (the --times report), which a loaded machine does not inflate.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, preexec_fn=limit_cpu)
    hang = threading.Timer(10 * timeout, proc.kill)
    hang.start()
    try:
        stderr = proc.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        hang.cancel()
        proc.stderr.close()
    cpu = usage.ru_utime + usage.ru_stime
    elapsed = time.monotonic() - start
    rc = os.waitstatus_to_exitcode(status)
    proc.returncode = rc
    if rc in (-signal.SIGXCPU, -signal.SIGKILL):
        return name, False, "timeout (> %gs)" % timeout, elapsed, cpu, ""
    if rc == 0:
        return name, True, "", elapsed, cpu, ""
    return (name, False, classify(rc, stderr), elapsed, cpu, stderr.strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gshard-sim")
    parser.add_argument("--corpus", required=True,
                        help="the xla-partitioner directory")
    parser.add_argument("--baseline", help="file holding the minimum N")
    parser.add_argument("--failures", help="write every failure here")
    parser.add_argument("--times", help="write every module's time here")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--budgets",
                        help="file of per-module CPU budgets overriding "
                        "--timeout")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--filter", default="", help="regex on file names")
    args = parser.parse_args()

    if not os.path.isdir(args.corpus):
        print("simulator: corpus %s absent, skipped" % args.corpus)
        return 0
    sim = find_tool("gshard-sim", args.gshard_sim)
    if not sim:
        print("error: gshard-sim not found", file=sys.stderr)
        return 2
    partitions = read_cases(args.corpus)
    budgets = read_budgets(args.budgets)
    names = sorted(n for n in os.listdir(args.corpus)
                   if n.endswith(".hlo") and re.search(args.filter, n))

    results = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_one, sim, args.corpus, n, partitions,
                               budgets.get(n, args.timeout)) for n in names]
        for future in futures:
            results.append(future.result())

    ok = sum(1 for r in results if r[1])
    total = len(results)
    print("simulator: %d/%d modules execute" % (ok, total))
    groups = collections.defaultdict(list)
    for name, passed, reason, _, _, _ in results:
        if not passed:
            groups[reason].append(name)
    for reason, members in sorted(groups.items(),
                                  key=lambda kv: (-len(kv[1]), kv[0])):
        shown = ", ".join(members[:3]) + (", ..." if len(members) > 3 else "")
        print("  %3d  %s  (%s)" % (len(members), reason, shown))

    if args.failures:
        with open(args.failures, "w") as f:
            for name, passed, reason, _, _, stderr in results:
                if not passed:
                    f.write("%s\t%s\n" % (name, reason))
                    for line in stderr.splitlines()[:5]:
                        f.write("    %s\n" % line)
    if args.times:
        with open(args.times, "w") as f:
            f.write("cpu_s\twall_s\tmodule\tresult\n")
            for name, passed, reason, elapsed, cpu, _ in sorted(
                    results, key=lambda r: -r[4]):
                f.write("%.3f\t%.3f\t%s\t%s\n" % (cpu, elapsed, name,
                                                  "ok" if passed else reason))

    if args.baseline:
        with open(args.baseline) as f:
            baseline = int(f.read().split()[0])
        if ok < baseline:
            print("error: %d modules execute, fewer than the baseline %d" %
                  (ok, baseline))
            return 1
        if ok > baseline:
            print("note: %d > baseline %d; raise %s" %
                  (ok, baseline, args.baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
