"""campaign_tsan: the campaign's TSan instance, a replay loop.

clang 14's libFuzzer cannot run under TSan (every thread of a run increments libFuzzer's
coverage counters without synchronization, and TSan reports that), so TSan does not fuzz: it
replays what the other instances find. Round after round it lists the inputs in the corpora it
is given (the seeds, corpus/merged and the growing libFuzzer and AFL++ corpora), replays the new
ones in batches through the tsan preset's standalone binary (`fuzz_heap -runs=1 FILE...`, one
process per batch: a TSan process takes about a second to start), and when a batch fails (a
TSan report, a finding, a crash or a timeout) bisects it down to the inputs that fail alone and
saves each as a crash in <out>/tsan/<target>/crashes/ with its log.

fuzz_heap is deterministic (fibers, one schedule per program), so an input is replayed once,
ever (tsan/replayed.txt remembers them across runs). fuzz_heap_threads runs real threads, so
when nothing new is waiting the loop replays earlier inputs again, each time another schedule,
and a failing batch is bisected with several runs per part (a race may show one time in N).

A race that no part repeats is still attributed: the replay binary announces each input before
running it (HEAPFUZZ_ANNOUNCE=1: `Running: FILE`), and a program's threads are all joined
before the next input starts, so the report belongs to the input announced last before it. That
input is replayed alone ALONE_RUNS more times and saved as a crash either way, its log saying
whether it repeated alone; only a failure that no announced input precedes stays unattributed.

In the campaign the loop shares its core with the explore loop (campaign_explore.py): each
batch takes a turn on the core, and when both loops have work they alternate batches.
"""

import hashlib
import os
import random
import shutil
import threading
import time

from campaign_loop import CampaignLoop, stage_copies

# Inputs per replay process: big enough to amortize TSan's start, small enough to bisect fast.
BATCH = 64
# A finding in real-thread mode may need several schedules: runs per part while bisecting.
THREADS_RUNS = 3
# Seconds per input and run before a replay counts as hung (fuzz_heap.options' timeout is 10 s
# under ASan; TSan is slower), plus TSan's start-up.
PER_INPUT_SECONDS = 20
START_SECONDS = 30
# Runs of a batch failure's announced input alone, when bisection did not repeat the failure.
ALONE_RUNS = 20
# Lines that start a report in a replay's output: a sanitizer's, the oracle's, a fatal signal's.
REPORT_MARKERS = ("WARNING: ThreadSanitizer", "==ERROR:", "ERROR: AddressSanitizer",
                  "runtime error:", "heapfuzz: finding", "heapfuzz: fatal", "deadly signal",
                  "replay timed out")


def running_input(output):
    """The input announced last (`Running: FILE`) before the first report in a replay's
    output, or None when no report follows an announcement."""
    current = None
    for line in output.splitlines():
        if line.startswith("Running: "):
            current = line[len("Running: "):].strip()
        elif current and any(m in line for m in REPORT_MARKERS):
            return current
    return None


def content_sha1(path, cache):
    """The sha1 of path's bytes, cached by (size, mtime) in cache ({path: (key, sha1)}); None
    when it cannot be read (an engine removed it)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (st.st_size, st.st_mtime_ns)
    cached = cache.get(path)
    if cached and cached[0] == key:
        return cached[1]
    try:
        with open(path, "rb") as f:
            digest = hashlib.sha1(f.read()).hexdigest()
    except OSError:
        return None
    cache[path] = (key, digest)
    return digest


def list_inputs(dirs):
    """Regular files directly in dirs (AFL++ queue metadata and dot files skipped), by path."""
    found = []
    for d in dirs:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue  # not created yet (an engine that has not started): next round
        for name in names:
            if name.startswith(".") or name == "README.txt" or name.endswith(".log"):
                continue
            path = os.path.join(d, name)
            if os.path.isfile(path):
                found.append(path)
    return found


class TsanReplay(CampaignLoop):
    """The loop, run on a thread of the runner: start(), then stop() (or the deadline)."""

    THREAD_NAME = "tsan-replay"

    def __init__(self, binaries, sources, out_dir, log_path, deadline, batch=BATCH, core=None):
        self.binaries = binaries  # {target: tsan standalone binary}
        self.sources = sources  # {target: [dirs]}
        self.out_dir = out_dir  # <out>/tsan
        self.log_path = log_path
        self.deadline = deadline  # time.monotonic() at which to stop
        self.batch = batch
        # The core this loop shares with the explore loop (campaign_explore.SharedCore): a turn
        # per batch. None: the core is its own.
        self.core = core
        self.env = dict(os.environ)
        self.env["HEAPFUZZ_ANNOUNCE"] = "1"  # `Running: FILE` before each input: attribution
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.thread = None
        self.proc = None
        self.started = None
        # Figures read by the status line and the report (under self.lock).
        self.execs = 0  # input executions, reruns included
        self.unique = 0  # distinct inputs replayed at least once
        self.crashes = 0
        self.unattributed = 0  # failing batches whose parts all passed, no input announced
        self.attributed = 0  # of those saved by the batch log's announcement alone
        self.samples = []  # (seconds since start, execs)
        self.error = None
        self.hash_cache = {}  # path -> (size, mtime, sha1)
        self.replayed = {t: {} for t in binaries}  # target -> {sha1: path}
        self.origin = {}  # staged copy -> the input it was copied from
        self.state_file = os.path.join(out_dir, "replayed.txt")

    # --- bookkeeping ----------------------------------------------------------------------

    def load_state(self):
        """Inputs replayed by earlier runs with this output directory."""
        try:
            with open(self.state_file) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 2 and parts[0] in self.replayed:
                        self.replayed[parts[0]][parts[1]] = None
        except FileNotFoundError:
            pass

    def sha1(self, path):
        return content_sha1(path, self.hash_cache)

    # --- running one replay ---------------------------------------------------------------

    def replay(self, target, files, runs):
        """Runs the target's binary over files, runs times each. Returns (ok, output)."""
        cmd = [self.binaries[target], "-runs=%d" % runs] + files
        limit = START_SECONDS + PER_INPUT_SECONDS * len(files) * runs
        chunks = []
        rc, _, killed = self.run_watched(cmd, limit, lambda out: chunks.append(out.read()))
        timed_out = killed == "watchdog"
        output = b"".join(c for c in chunks if c).decode("utf-8", "replace")
        if killed == "stop" and rc != 0:
            return True, output  # killed by stop(): not a finding
        with self.lock:
            self.execs += len(files) * runs if rc == 0 else 0
            self.samples.append((time.monotonic() - self.started, self.execs))
        if timed_out:
            output += "\nscripts/fuzz: replay timed out after %d s\n" % limit
        return rc == 0 and not timed_out, output

    def culprits(self, target, files, runs):
        """The inputs among files that fail alone (bisection); [] when no part fails."""
        if self.stopping.is_set():
            return []
        if len(files) == 1:
            ok, output = self.replay(target, files, runs)
            return [] if ok else [(files[0], output)]
        mid = len(files) // 2
        found = []
        for part in (files[:mid], files[mid:]):
            ok, _ = self.replay(target, part, runs)
            if not ok:
                found += self.culprits(target, part, runs)
        return found

    def save_crash(self, target, path, output, note=None):
        crash_dir = os.path.join(self.out_dir, target, "crashes")
        os.makedirs(crash_dir, exist_ok=True)
        digest = self.sha1(path) or hashlib.sha1(path.encode()).hexdigest()
        kind = "timeout" if "replay timed out" in output else "crash"
        dest = os.path.join(crash_dir, "%s-%s" % (kind, digest))
        if os.path.exists(dest):
            return
        shutil.copyfile(path, dest)
        with open(dest + ".log", "w") as f:
            f.write("# %s -runs=N %s (replayed from %s)\n" % (
                self.binaries[target], os.path.basename(dest), self.origin.get(path, path)))
            if note:
                f.write("".join("# %s\n" % line for line in note.splitlines()))
            f.write(output)
        with self.lock:
            self.crashes += 1
        self.log("%s: %s fails under TSan: saved %s" % (target, self.origin.get(path, path),
                                                        dest))

    def run_batch(self, target, files, runs):
        ok, output = self.replay(target, files, runs)
        if ok or self.stopping.is_set():
            return
        self.log("%s: a batch of %d failed; bisecting" % (target, len(files)))
        found = self.culprits(target, files, runs if runs > 1 else
                              (THREADS_RUNS if target == "fuzz_heap_threads" else 1))
        for path, out in found:
            self.save_crash(target, path, out)
        suspect = running_input(output)
        if not found and suspect in files and not self.stopping.is_set():
            # Schedule-dependent: the announced input, replayed alone a while longer.
            alone_ok, alone_out = self.replay(target, [suspect], ALONE_RUNS)
            if self.stopping.is_set():
                return
            if not alone_ok:
                self.save_crash(target, suspect, alone_out)
                return
            self.save_crash(target, suspect, output, note=(
                "attributed by the batch's log: this input was running when the batch of %d "
                "failed (the report below);\nalone it ran clean %d times, and no part of the "
                "batch repeated the failure: a schedule-dependent finding, replay it with "
                "repeats" % (len(files), ALONE_RUNS)))
            with self.lock:
                self.attributed += 1
            return
        if not found and not self.stopping.is_set():
            # A schedule-dependent failure that no part repeated: keep the evidence.
            with self.lock:
                self.unattributed += 1
                n = self.unattributed
            log = os.path.join(self.out_dir, target, "unattributed-%d.log" % n)
            os.makedirs(os.path.dirname(log), exist_ok=True)
            with open(log, "w") as f:
                f.write("# batch failure not repeated by any part; inputs:\n")
                f.write("".join("#   %s\n" % p for p in files))
                f.write(output)
            self.log("%s: batch failure not repeated by its parts: %s" % (target, log))

    # --- the loop -------------------------------------------------------------------------

    def new_inputs(self, target):
        fresh = []
        seen = self.replayed[target]
        for path in list_inputs(self.sources[target]):
            digest = self.sha1(path)
            if digest is None:
                continue
            if digest not in seen:
                seen[digest] = path
                fresh.append((digest, path))
            elif seen[digest] is None:
                seen[digest] = path  # replayed in an earlier run: remember where it is now
        return fresh

    def stage(self, target, chunk):
        """Copies of a batch's inputs, named by content, that the batch and its bisection
        replay: the engines rewrite their corpora as they run (libFuzzer removes an input it
        has reduced), and an input gone in mid-bisection would fail alone as unreadable. An
        input already gone is skipped."""
        staged = stage_copies(os.path.join(self.out_dir, target, "staging"), chunk)
        self.origin.update((copy, path) for copy, (_, path) in staged.items())
        return list(staged)

    def unstage(self, target):
        shutil.rmtree(os.path.join(self.out_dir, target, "staging"), ignore_errors=True)
        self.origin.clear()

    def round(self):
        """One pass: new inputs of every target, or else a rerun of real-thread inputs.
        Returns whether anything ran."""
        did = False
        for target in self.binaries:
            fresh = self.new_inputs(target)
            for i in range(0, len(fresh), self.batch):
                if self.stopping.is_set():
                    return did
                chunk = fresh[i:i + self.batch]
                with self.turn():
                    self.run_batch(target, self.stage(target, chunk), 1)
                    self.unstage(target)
                if self.stopping.is_set():
                    return did  # the batch may not have run to its end: not recorded
                with open(self.state_file, "a") as f:
                    f.writelines("%s %s\n" % (target, d) for d, _ in chunk)
                with self.lock:
                    self.unique += len(chunk)
                did = True
        if not did and "fuzz_heap_threads" in self.binaries:
            known = [p for p in self.replayed["fuzz_heap_threads"].values()
                     if p and os.path.exists(p)]
            if known:
                sample = random.sample(known, min(self.batch, len(known)))
                with self.turn():
                    self.run_batch("fuzz_heap_threads", self.stage(
                        "fuzz_heap_threads", [(self.sha1(p) or "x%d" % i, p)
                                              for i, p in enumerate(sample)]), 1)
                    self.unstage("fuzz_heap_threads")
                did = True
        return did

    def setup(self):
        os.makedirs(self.out_dir, exist_ok=True)
        self.load_state()

    def snapshot(self):
        with self.lock:
            return {"execs": self.execs, "unique": self.unique, "crashes": self.crashes,
                    "unattributed": self.unattributed, "attributed": self.attributed,
                    "samples": list(self.samples),
                    "error": self.error}
