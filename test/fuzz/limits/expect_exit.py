#!/usr/bin/env python3
"""expect_exit.py STATUS COMMAND...: runs COMMAND, passes its stdout and
stderr through, and fails unless it exits with exactly STATUS (a crash, a
signal or another status is a failure; `not` would accept any of them)."""
import subprocess
import sys

want = int(sys.argv[1])
p = subprocess.run(sys.argv[2:])
if p.returncode != want:
    print("expect_exit: %s exited with %d, expected %d" %
          (sys.argv[2], p.returncode, want), file=sys.stderr)
    sys.exit(1)
