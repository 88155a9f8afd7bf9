#!/usr/bin/env python3
"""gen_call_chain.py N: an HLO module whose ENTRY calls %c0, %c0 calls %c1,
... down to %c{N-1} (N nested calls)."""
import sys

n = int(sys.argv[1])
out = ["HloModule chain, num_partitions=2\n"]
for i in range(n):
    out.append("%%c%d (x: f32[4]) -> f32[4] {\n  %%x = f32[4] parameter(0)\n" % i)
    if i + 1 < n:
        out.append("  ROOT %%r = f32[4] call(%%x), to_apply=%%c%d\n}\n" % (i + 1))
    else:
        out.append("  ROOT %r = f32[4] negate(%x)\n}\n")
out.append("ENTRY %main (p: f32[4]) -> f32[4] {\n"
           "  %p = f32[4] parameter(0), sharding={devices=[2]<=[2]}\n"
           "  ROOT %r = f32[4] call(%p), to_apply=%c0\n}\n")
sys.stdout.write("".join(out))
