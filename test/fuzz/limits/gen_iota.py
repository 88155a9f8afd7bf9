#!/usr/bin/env python3
"""gen_iota.py N: an HLO module whose ROOT is an f32[N] iota sharded 4 ways."""
import sys

n = int(sys.argv[1])
sys.stdout.write("HloModule big, num_partitions=4\n\nENTRY %%main {\n"
                 "  ROOT %%i = f32[%d] iota(), iota_dimension=0, "
                 "sharding={devices=[4]<=[4]}\n}\n" % n)
