#!/usr/bin/env python3
"""Runs a command and writes what it cost to a JSON file:  rusage.py OUT.json CMD [ARGS...]

{"cpu_s": user + system CPU seconds of the command (getrusage of the waited children: the
kernel's precise run time, where `/usr/bin/time` prints hundredths, 4 % of a curl PUT of 512 MiB
here), "rss_kib": its peak resident set, "rc": its exit code}. Exits with the command's code.

The peak RSS is `/usr/bin/time`'s (the command runs under it): a child forked from this Python
process would count Python's own pages until it execs.
"""
import json
import resource
import subprocess
import sys
import tempfile

out, cmd = sys.argv[1], sys.argv[2:]
with tempfile.NamedTemporaryFile("r") as rss_file:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", rss_file.name, *cmd])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = int(rss_file.read().split()[-1])
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
with open(out, "w") as f:
    json.dump({"cpu_s": cpu, "rss_kib": rss, "rc": rc}, f)
sys.exit(rc)
