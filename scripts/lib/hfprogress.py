"""hfprogress: runs a build (or any long command) with its output kept and its progress shown:
a line `<label>: [N/M] <what ninja is doing>` on stderr at most every 2 s, instead of minutes of
silence. Shared by scripts/fuzz (campaign_run) and scripts/triage, repro and promote
(hffindings), which build what they replay with."""

import re
import subprocess
import sys
import time

NINJA_STEP = re.compile(r"^\[(\d+)/(\d+)\] (.*)$")


def run(argv, label, cwd=None, env=None, every=2.0, out=sys.stderr):
    """Runs argv with stdout and stderr together; returns (exit status, the whole output)."""
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                         errors="replace")
    lines = []
    last = time.monotonic()
    shown = None
    for line in p.stdout:
        lines.append(line)
        m = NINJA_STEP.match(line.strip())
        if not m:
            continue
        now = time.monotonic()
        done = m.group(1) == m.group(2)
        if now - last >= every or (done and shown is not None):
            shown = "%s: [%s/%s] %s" % (label, m.group(1), m.group(2), m.group(3)[:90])
            print(shown, file=out, flush=True)
            last = now
    return p.wait(), "".join(lines)
