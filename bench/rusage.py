#!/usr/bin/env python3
"""Runs a command and writes what it cost to a JSON file:  rusage.py OUT.json CMD [ARGS...]

{"cpu_s": user + system CPU seconds of the command (getrusage of the waited child: the kernel's
precise run time, where `/usr/bin/time` prints hundredths — 4 % of a curl PUT of 512 MiB here),
"rss_kib": its peak resident set, "rc": its exit code}. Exits with the command's code.
"""
import json
import resource
import subprocess
import sys

out, cmd = sys.argv[1], sys.argv[2:]
before = resource.getrusage(resource.RUSAGE_CHILDREN)
rc = subprocess.call(cmd)
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
with open(out, "w") as f:
    json.dump({"cpu_s": cpu, "rss_kib": after.ru_maxrss, "rc": rc}, f)
sys.exit(rc)
