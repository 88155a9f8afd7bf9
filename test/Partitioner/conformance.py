#!/usr/bin/env python3
"""Differential conformance of the SPMD partitioner over XLA's own cases.

For every module of the xla-partitioner corpus (num_partitions from
cases.tsv):

    gshard-opt CASE.hlo \
        --pass-pipeline='builtin.module(gshard-partition{num-partitions=N})' \
        -o PART.hlo

(the pass alone: unannotated instructions are replicated, as in XLA's
partitioner tests; `--partition` would propagate shardings first)
    gshard-sim PART.hlo --check=CASE.hlo --num-partitions=N

A case counts only if partitioning succeeded AND the check passed. Prints

    partitioner conformance: N/M numerically equal

(a case whose elementwise comparison fails but whose normwise one
passes, `gshard-sim --normwise`, counts and is listed), plus the misses
grouped by cause (written in full to --failures), and how
often the collectives XLA chose (cases.tsv `expects: AllToAll`,
`CollectivePermute`) appear in our output. Exits 1 if N drops below the
checked-in baseline (or any numeric mismatch appears, unless
--allow-mismatch), 2 on bad usage, 0 otherwise (also when the corpus is
absent: skipped).
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
import tempfile

# Custom-call targets that XLA's partitioner tests invent (002, 391, 394):
# they have no semantics anywhere, so the simulator runs them as opaque pure
# functions of their operands' bits (gshard-sim --opaque-custom-call). The
# check then proves each call gets the same operands as in the original.
TEST_ONLY_CUSTOM_CALLS = "SomeCustomCall,dummy,BatchableCustomCall"

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def find_tool(name, given):
    if given:
        return given
    for candidate in (os.path.join(REPO, "build", "bin", name),
                      shutil.which(name)):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def first_line(text, pattern=None):
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if pattern is None or re.search(pattern, line):
            return line
    return ""


def classify_error(stderr):
    """A short cause from a diagnostic: `error: ...` without file:line."""
    line = first_line(stderr, r"error") or first_line(stderr)
    line = re.sub(r"^.*?error:\s*", "", line)
    # Group by what went wrong, not where: drop file paths and value names.
    line = re.sub(r"\s+at\s+\S+\.hlo(:\d+)*", "", line)
    line = re.sub(r"value %[\w.\-]+ \S+", "a value", line)
    line = re.sub(r"'%?[\w.\-]+'", "'X'", line)
    line = re.sub(r"\d+", "N", line)
    return line[:120]


def run_limited(cmd, cpu_seconds):
    """Runs `cmd` with a CPU-time budget (so the count does not depend on the
    machine's load) and a wall-clock backstop of 10x for hangs. Returns the
    CompletedProcess, or None when the budget ran out."""
    def limit_cpu():
        # Soft == hard: the kernel then sends SIGKILL rather than SIGXCPU,
        # which LLVM's crash handler would report as a crash.
        cpu = max(1, int(math.ceil(cpu_seconds)))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=10 * cpu_seconds, preexec_fn=limit_cpu)
    except subprocess.TimeoutExpired:
        return None
    if p.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return None
    return p


def run_case(args, tmpdir, name, partitions, notes):
    path = os.path.join(args.corpus, name)
    out = os.path.join(tmpdir, name)
    budget = args.budgets_by_case.get(name, args.timeout)
    result = {"name": name, "status": "pass", "cause": "", "detail": "",
              "collectives": collections.Counter(), "notes": notes}
    p = run_limited(
        [args.gshard_opt, path,
         "--pass-pipeline=builtin.module(gshard-partition{num-partitions=%d})"
         % partitions, "-o", out], budget)
    if p is None:
        result.update(status="partition", cause="partition: timeout")
        return result
    if p.returncode != 0:
        kind = "crash" if p.returncode < 0 or p.returncode > 2 else "partition"
        result.update(status=kind,
                      cause="%s: %s" % (kind, classify_error(p.stderr)),
                      detail=first_line(p.stderr, r"error") or
                      first_line(p.stderr))
        return result
    with open(out) as f:
        text = f.read()
    for op in ("all-reduce", "all-gather", "all-to-all", "collective-permute",
               "reduce-scatter"):
        result["collectives"][op] = len(re.findall(r"\s%s\(" % op, text))
    result["replicated_warning"] = "runs replicated" in p.stderr
    sim = [args.gshard_sim, out, "--check=" + path,
           "--num-partitions=%d" % partitions,
           "--opaque-custom-call=" + TEST_ONLY_CUSTOM_CALLS]
    if name in args.value_mib_by_case:
        sim.append("--max-value-mib=%d" % args.value_mib_by_case[name])
    s = run_limited(sim, budget)
    if s is None:
        result.update(status="sim", cause="sim: timeout")
        return result
    if s.returncode == 0:
        return result
    if s.returncode == 1 and "FAILED" in (s.stderr + s.stdout) and \
            "did not run to completion" not in s.stderr:
        detail = first_line(s.stdout + s.stderr, r"MISMATCH|differs")
        with open(path) as f:
            original = f.read()
        if re.search(r"\brng\(", original):
            result.update(status="rng", cause="rng: random values cannot "
                          "match between runs", detail=detail)
            return result
        # Partial sums change the summation order and round partial results
        # to the element type: where terms cancel, a small element carries
        # the rounding error of large partial sums. Normwise, at the default
        # tolerance, bounds every element's error by the output's largest
        # magnitude; that counts as equal (reported separately).
        normwise = run_limited(sim + ["--normwise"], budget)
        if normwise is not None and normwise.returncode == 0:
            result.update(normwise=True, detail=detail)
            return result
        loose = run_limited(sim + ["--rtol=0.05", "--atol=0.05"], budget)
        if loose is not None and loose.returncode == 0:
            result.update(status="reassociation",
                          cause="float reassociation: equal at rtol/atol 5e-2, "
                          "not at the default tolerance", detail=detail)
            return result
        result.update(status="mismatch", cause="MISMATCH", detail=detail)
        return result
    if s.returncode == 1:
        result.update(status="sim", cause="sim run: " + classify_error(
            s.stderr), detail=first_line(s.stderr, r"error") or
            first_line(s.stderr))
        return result
    result.update(status="sim", cause="sim: " + classify_error(s.stderr),
                  detail=first_line(s.stderr, r"error") or
                  first_line(s.stderr))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gshard-opt", default=os.environ.get("GSHARD_OPT"))
    parser.add_argument("--gshard-sim", default=os.environ.get("GSHARD_SIM"))
    parser.add_argument("--corpus", default=os.path.join(
        os.environ.get("GSHARD_CORPUS",
                       os.path.join(REPO, "..", "shared", "corpus")),
        "xla-partitioner"))
    parser.add_argument("--baseline",
                        default=os.path.join(HERE, "conformance-baseline.txt"))
    parser.add_argument("--failures", default="partitioner-failures.txt")
    parser.add_argument("--update-baseline", action="store_true")
    parser.add_argument("--allow-mismatch", action="store_true")
    parser.add_argument("--known-mismatches",
                        default=os.path.join(HERE, "known-mismatches.txt"),
                        help="cases whose wrong numbers are known, open bugs: "
                             "reported and counted, but not a new failure")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=120,
                        help="CPU seconds per step (partition, check); "
                        "a step is killed after 10x this in wall time")
    parser.add_argument("--budgets", default="",
                        help="file of MODULE<TAB>CPU-SECONDS[<TAB>...]: larger "
                        "budgets than --timeout for model-sized cases; a "
                        "field max-value-mib=N raises the simulator's value "
                        "limit for that case, which then runs alone after "
                        "the others")
    parser.add_argument("--filter", default="",
                        help="only cases whose file name matches this regular "
                        "expression, e.g. '^(339|340)_' (the baseline is not "
                        "checked then)")
    args = parser.parse_args()
    args.budgets_by_case = {}
    args.value_mib_by_case = {}
    if args.budgets:
        with open(args.budgets) as f:
            for line in f:
                fields = line.split("\t")
                if line.startswith("#") or len(fields) < 2:
                    continue
                args.budgets_by_case[fields[0]] = float(fields[1])
                for field in fields[2:]:
                    m = re.match(r"max-value-mib=(\d+)", field.strip())
                    if m:
                        args.value_mib_by_case[fields[0]] = int(m.group(1))

    if not os.path.isdir(args.corpus):
        print("corpus not found: skipped (%s)" % args.corpus)
        return 0
    args.gshard_opt = find_tool("gshard-opt", args.gshard_opt)
    args.gshard_sim = find_tool("gshard-sim", args.gshard_sim)
    if not args.gshard_opt or not args.gshard_sim:
        print("conformance.py: gshard-opt or gshard-sim not found",
              file=sys.stderr)
        return 2

    cases = []
    with open(os.path.join(args.corpus, "cases.tsv")) as f:
        next(f)
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2 or not re.search(args.filter, fields[0]):
                continue
            cases.append((fields[0], int(fields[1]),
                          fields[2] if len(fields) > 2 else ""))

    tmpdir = tempfile.mkdtemp(prefix="gshard-conformance-")
    results = []
    try:
        # Cases with a raised value limit need most of the machine's memory:
        # they run one at a time once the others are done.
        heavy = [c for c in cases if c[0] in args.value_mib_by_case]
        light = [c for c in cases if c[0] not in args.value_mib_by_case]
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(run_case, args, tmpdir, *c) for c in light]
            for fut in futures:
                results.append(fut.result())
        for c in heavy:
            results.append(run_case(args, tmpdir, *c))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)

    passed = [r for r in results if r["status"] == "pass"]
    mismatches = [r for r in results if r["status"] == "mismatch"]
    by_cause = collections.defaultdict(list)
    for r in results:
        if r["status"] != "pass":
            by_cause[r["cause"]].append(r)

    with open(args.failures, "w") as f:
        for cause, rs in sorted(by_cause.items(), key=lambda kv: -len(kv[1])):
            f.write("== %d: %s\n" % (len(rs), cause))
            for r in rs:
                f.write("  %s  %s\n" % (r["name"], r["detail"]))

    print("partitioner conformance: %d/%d numerically equal" %
          (len(passed), len(results)))
    normwise = [r["name"] for r in passed if r.get("normwise")]
    if normwise:
        print("  of which %d equal normwise (error within the default "
              "tolerance of the output's largest magnitude): %s"
              % (len(normwise), " ".join(sorted(normwise))))
    for cause, rs in sorted(by_cause.items(), key=lambda kv: -len(kv[1]))[:15]:
        print("  %4d  %s" % (len(rs), cause))
    # Collectives XLA chose as the cheapest, and how often we emit them too.
    for matcher, op in (("AllToAll", "all-to-all"),
                        ("CollectivePermute", "collective-permute"),
                        ("AllReduce", "all-reduce")):
        expecting = [r for r in results
                     if re.search(r"expects:[^;]*\b%s\b" % matcher, r["notes"])]
        ours = [r for r in expecting if r["collectives"][op] > 0]
        print("  XLA expects %s in %d cases; our output has %s in %d of them"
              % (matcher, len(expecting), op, len(ours)))
    totals = collections.Counter()
    for r in results:
        totals.update(r["collectives"])
    print("  collectives emitted: " +
          ", ".join("%s %d" % kv for kv in sorted(totals.items())))
    replicated = sum(1 for r in results if r.get("replicated_warning"))
    print("  cases with an op run replicated (warning): %d" % replicated)
    print("  failures by cause: %s" % os.path.abspath(args.failures))

    if args.update_baseline:
        with open(args.baseline, "w") as f:
            f.write("%d\n" % len(passed))
        print("baseline updated: %d" % len(passed))
        return 0
    baseline = 0
    if os.path.exists(args.baseline):
        with open(args.baseline) as f:
            baseline = int(f.read().split()[0])
    known = set()
    if os.path.exists(args.known_mismatches):
        with open(args.known_mismatches) as f:
            known = {line.split()[0] for line in f
                     if line.strip() and not line.startswith("#")}
    known_hits = [r for r in mismatches if r["name"] in known]
    new_mismatches = [r for r in mismatches if r["name"] not in known]
    if known_hits:
        print("KNOWN BUGS: %d numeric mismatches listed in %s (not passes): %s"
              % (len(known_hits), os.path.basename(args.known_mismatches),
                 " ".join(sorted(r["name"] for r in known_hits))))
    status = 0
    if new_mismatches and not args.allow_mismatch:
        print("FAIL: %d new numeric mismatches: %s" %
              (len(new_mismatches),
               " ".join(sorted(r["name"] for r in new_mismatches))))
        status = 1
    if len(passed) < baseline and not args.filter:
        print("FAIL: %d numerically equal, below the baseline %d" %
              (len(passed), baseline))
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
