#!/usr/bin/env python3
"""Random differential testing of propagation + partitioning.

Per seed:

    gshard-random-hlo --seed=S                       -> rand-S.hlo
    gshard-opt rand-S.hlo --propagate --partition --num-partitions=N -o part.hlo
    gshard-sim part.hlo --check=rand-S.hlo --num-partitions=N

(N is the module's num_partitions.) Each program ends in one outcome:

    pass       partitioned, and the simulator found the outputs equal
    rejected   gshard-opt refused it with a clear `error:` (exit 2): counted,
               grouped by cause, not a failure
    mismatch   gshard-sim --check exit 1: outputs differ, deadlock, or a
               run-time failure of the partitioned program
    sim-error  gshard-sim exit 2 on the partitioned program (e.g. a local
               parameter shape that does not match its sharding)
    invalid    the generated module itself does not import (generator bug)
    crash      a signal or an exit status other than 0, 1, 2
    timeout    a step took longer than --timeout seconds

Prints one summary line

    random differential: P programs (seeds A..B): X pass, R rejected, M mismatch, ...

the rejection causes, and every failing seed (its module is copied to
--failures). Seeds listed in --known (`SEED OUTCOME  # why`) are expected to
fail that way and are reported but not counted as new failures. Exits 1 on
any new failure, 2 on bad usage, 0 otherwise.
"""

import argparse
import collections
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

FAILURES = ("mismatch", "sim-error", "invalid", "crash", "timeout")


def cause_of(stderr):
    """A short cause from a diagnostic, without file:line and numbers."""
    for line in stderr.splitlines():
        if "error" in line:
            line = re.sub(r"^.*?error:\s*", "", line.strip())
            line = re.sub(r"'%?[\w.\-]+'", "'X'", line)
            line = re.sub(r"%[\w.\-]+", "%X", line)
            line = re.sub(r"\d+", "N", line)
            return line[:110]
    return (stderr.strip().splitlines() or ["(no message)"])[0][:110]


def replacement(indent, name, shape):
    """Lines defining `name` as a broadcast constant 12345: differs from any
    output value (negation would not: NaN and zero outputs stay equal)."""
    return ["%s%%broken.value = f32[] constant(12345)" % indent,
            "%s%s = %s broadcast(%%broken.value), dimensions={}" %
            (indent, name, shape)]


def break_partitioned(path):
    """--self-test: replace one output of the partitioned ENTRY (the ROOT, or
    the first element of a ROOT tuple) by a constant, so a working check must
    report a mismatch."""
    with open(path) as f:
        lines = f.read().split("\n")
    entry = max(i for i, l in enumerate(lines) if l.startswith("ENTRY"))
    shapes = {}
    for i in range(entry, len(lines)):
        m = re.match(r"\s*(?:ROOT )?(%[\w.\-]+) = (f32\[[^\]]*\](?:\{[\d,]*\})?) ",
                     lines[i])
        if m:
            shapes[m.group(1)] = m.group(2)
        m = re.match(r"(\s*)ROOT (%[\w.\-]+) = (.*?) ([a-z][\w\-]*)\("
                     r"(%[\w.\-]+)", lines[i])
        if not m:
            continue
        indent, name, shape, opcode, first = m.groups()
        if opcode == "tuple":
            if first not in shapes:
                return
            lines[i] = lines[i].replace("(" + first, "(%broken", 1)
            lines[i:i] = replacement(indent, "%broken", shapes[first])
        elif shape.startswith("f32["):
            lines[i + 1:i + 1] = replacement(indent, "ROOT " + name, shape)
            lines[i] = lines[i].replace("ROOT " + name, name + ".unbroken", 1)
        break
    with open(path, "w") as f:
        f.write("\n".join(lines))


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return None, "", "timeout"


def check_one(args, path, workdir):
    seed = int(re.search(r"rand-(\d+)\.hlo$", path).group(1))
    with open(path) as f:
        header = f.readline()
    n = int(re.search(r"num_partitions=(\d+)", header).group(1))
    part = os.path.join(workdir, "part-%d.hlo" % seed)
    result = {"seed": seed, "path": path, "outcome": "pass", "cause": ""}

    rc, _, err = run([args.gshard_opt, path, "--propagate", "--partition",
                      "--num-partitions=%d" % n, "-o", part] + args.opt_arg,
                     args.timeout)
    if rc is None:
        result.update(outcome="timeout", cause="gshard-opt: timeout")
        return result
    if rc < 0 or rc > 2:
        result.update(outcome="crash",
                      cause="gshard-opt exit %d: %s" % (rc, cause_of(err)))
        return result
    if rc != 0:
        # Rejected, unless the generated module does not even import.
        vrc, _, verr = run([args.gshard_opt, path, "-o", os.devnull],
                           args.timeout)
        if vrc != 0:
            result.update(outcome="invalid", cause=cause_of(verr))
        else:
            result.update(outcome="rejected", cause=cause_of(err))
        return result

    result["replicated"] = re.findall(r"warning: '([\w\-]+)' runs replicated",
                                      err)
    if args.self_test:
        break_partitioned(part)
    rc, out, err = run([args.gshard_sim, part, "--check=" + path,
                        "--num-partitions=%d" % n], args.timeout)
    if os.path.exists(part):
        os.unlink(part)
    if rc is None:
        result.update(outcome="timeout", cause="gshard-sim: timeout")
    elif rc < 0 or rc > 2:
        result.update(outcome="crash",
                      cause="gshard-sim exit %d: %s" % (rc, cause_of(err)))
    elif rc == 1:
        text = out + err
        first = next((l.strip() for l in text.splitlines()
                      if re.search(r"error|FAILED|differ", l)), "")
        result.update(outcome="mismatch", cause=first[:160])
    elif rc == 2:
        result.update(outcome="sim-error", cause=cause_of(err))
    return result


def read_known(path):
    known = {}
    if not path:
        return known
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                seed, outcome = line.split()[:2]
                known[int(seed)] = outcome
    return known


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generator", required=True)
    parser.add_argument("--gshard-opt", required=True)
    parser.add_argument("--gshard-sim", required=True)
    parser.add_argument("--opt-arg", action="append", default=[],
                        help="extra gshard-opt flag for the partition step, "
                        "e.g. --opt-arg=--windowed-einsum-threshold-mib=0 "
                        "(repeatable)")
    parser.add_argument("--seeds", required=True,
                        help="FIRST:COUNT, e.g. 0:200")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--known", help="expected failures: SEED OUTCOME")
    parser.add_argument("--failures", help="copy failing modules here")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--self-test", action="store_true",
                        help="replace one output of each partitioned module by a constant: "
                        "the check must then report mismatches")
    args = parser.parse_args()

    m = re.fullmatch(r"(\d+):(\d+)", args.seeds)
    if not m or int(m.group(2)) == 0:
        print("error: --seeds wants FIRST:COUNT", file=sys.stderr)
        return 2
    first, count = int(m.group(1)), int(m.group(2))
    for name in ("generator", "gshard_opt", "gshard_sim"):
        tool = getattr(args, name)
        found = tool if os.sep in tool else shutil.which(tool)
        if not found or not os.access(found, os.X_OK):
            print("error: no tool %s" % tool, file=sys.stderr)
            return 2
        setattr(args, name, found)
    known = read_known(args.known)

    outcomes = collections.Counter()
    rejections = collections.Counter()
    replicated = collections.Counter()
    failed = []
    with tempfile.TemporaryDirectory(prefix="gshard-random-") as workdir:
        for start in range(first, first + count, args.batch):
            size = min(args.batch, first + count - start)
            gen = subprocess.run([args.generator, "--seed=%d" % start,
                                  "--count=%d" % size, "--out-dir=" + workdir])
            if gen.returncode != 0:
                print("error: generator failed at seed %d" % start,
                      file=sys.stderr)
                return 1
            paths = [os.path.join(workdir, "rand-%d.hlo" % s)
                     for s in range(start, start + size)]
            with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
                for r in pool.map(lambda p: check_one(args, p, workdir),
                                  paths):
                    outcomes[r["outcome"]] += 1
                    replicated.update(set(r.get("replicated", [])))
                    if r["outcome"] == "rejected":
                        rejections[r["cause"]] += 1
                    elif r["outcome"] != "pass":
                        failed.append(r)
                        if args.failures:
                            os.makedirs(args.failures, exist_ok=True)
                            shutil.copy(r["path"], args.failures)
                    else:
                        os.unlink(r["path"])
            for p in paths:
                if os.path.exists(p):
                    os.unlink(p)

    total = sum(outcomes.values())
    print("random differential: %d programs (seeds %d..%d): %s" % (
        total, first, first + count - 1,
        ", ".join("%d %s" % (outcomes[k], k)
                  for k in ("pass", "rejected") + FAILURES)))
    if rejections:
        print("rejected by cause:")
        for cause, n in rejections.most_common():
            print("  %5d  %s" % (n, cause))
    if replicated:
        print("programs with an op run replicated (no partitioning rule), "
              "by op: " + ", ".join("%s %d" % kv
                                    for kv in replicated.most_common()))
    new = [r for r in failed if known.get(r["seed"]) != r["outcome"]]
    for r in failed:
        tag = "known" if r not in new else "NEW"
        print("%s %s seed %d: %s" % (tag, r["outcome"], r["seed"], r["cause"]))
    fixed = [s for s, o in known.items()
             if first <= s < first + count and
             not any(r["seed"] == s for r in failed)]
    for s in sorted(fixed):
        print("known failure of seed %d (%s) now passes or is rejected: "
              "update --known" % (s, known[s]))
    print("new failures: %d" % len(new))
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
