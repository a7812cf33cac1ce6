"""campaign_explore: the campaign's explore phase, systematic schedules for its programs (issue 14).

An ordering bug needs one or two preemptions at the right heap yield point. A fuzzer that keeps
a program reaching a sweep, a shrink or a steal while another thread is about has the ops
already; what it lacks is the schedule, and `heapfuzz explore` (tools/explore.c) tries a
program's schedules systematically. This loop feeds it: round after round it lists the fuzz_heap
programs of the corpora it is given (the seeds, corpus/merged, the growing libFuzzer and AFL++
corpora of the campaign), picks those not explored yet, multi-threaded ones first, and explores
them in batches, each batch one process:

  <heapfuzz> explore --budget 1000 --seed 0 --out <out>/explore/fuzz_heap/crashes FILE...

A crashing schedule lands there as crash-explore-<hash> (the program with its preempts, binary)
with its report beside it (<name>.log), a hung one as timeout-explore-<hash>; scripts/triage
finds them in its scan of the campaign directory, and <out>/explore/instance.json (written by
the runner) tells it what they are: target fuzz_heap, engine explore, the heapfuzz to replay
them with.

Deterministic: explore tries the same schedules in the same order for the same program, build
and options (--seed is fixed; explore seeds its sample with it and the program's bytes), and
the loop picks programs in an order set by the corpora's contents alone. The clock decides only
when the loop stops. So a program is explored once per build: explored.txt remembers each by
its content hash across runs with the same output directory, with what came of it (explored,
crashes alone: a program that crashes without any preempt has no schedule to try, and the engine
that made it reports that crash; error or hung: it would fail again) and the build it was
explored with (the hash of the heapfuzz binary). A campaign resumed on a rebuilt heap (a fix, a
new yield point, a planted bug) explores its programs again: their schedules are not the same.

Which programs first. A preempt needs a thread to hand over to: a single-mutator program has
only the collector, a multi-threaded one (a live `attach`, `sweeper` or `preempt` op) has the
others too, and the ordering bugs of issue 14 sit between them. The decoder is total, so any
bytes are some program, and only it knows which of their ops are void (an attach past the last
mutator, a sweeper step of a heap without one). So the loop asks it: `heapfuzz print` marks void
ops in its schedule comments, at about 20 ms a program (under ASan) against about 0.7 s to
explore one, where deciding in Python would be a second decoder to keep in step with ops/. It
is not "newest first": the time a file was written would make the order, and so what a short
campaign explores, depend on the clock. Multi-threaded programs come first, then the others;
within each, the order of the sources (seeds, merged corpus, the engines' corpora) and of the
names in each.

The loop shares a core with the TSan replay loop (SharedCore): each batch takes a turn, and when
both have work they alternate batches; when one has none, the other runs on.
"""

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import threading
import time

from campaign_loop import CampaignLoop, stage_copies
from campaign_tsan import content_sha1, list_inputs

# Schedules per program: explore's own default, about 0.7 s a program under ASan.
BUDGET = 1000
# Programs per explore process: about 6 s of work, a turn on a shared core of the order of a
# TSan batch's, and all a stop() can lose (the programs a process finished are recorded as it
# reports them).
BATCH = 8
# Programs classified (`heapfuzz print`) per turn at most: a backlog of thousands (a merged
# corpus) is sorted a turn at a time, never in one long turn.
CLASSIFY = 64
# A watchdog on the whole process, should explore itself hang (explore stops a hung schedule
# after its own --timeout, 10 s): seconds for its start and per program.
START_SECONDS = 30
PER_PROGRAM_SECONDS = 120
# Ops that bring another thread in when the plan does not make them void.
THREAD_OPS = ("attach", "sweeper", "preempt")

FINISHED = re.compile(r"^(?P<file>.+): explored (?P<ran>\d+) of \d+ schedules ")
ALONE = re.compile(r"^(?P<file>.+): crashes without a change point")
SAVED = re.compile(r"^(?P<file>.+): (?P<kind>crash|timeout): (?P<path>.+?) \(schedule ")


def build_key(path):
    """12 hex digits of the binary's SHA-1: the build a program was explored with."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


def crash_dir(out_dir):
    """Where the loop with output directory out_dir (<out>/explore) saves its crashes."""
    return os.path.join(out_dir, "fuzz_heap", "crashes")


def explore_argv(heapfuzz, crashes, files, budget=BUDGET):
    """The explore command the loop runs on a batch of files (and --dry-run shows)."""
    return [heapfuzz, "explore", "--budget", str(budget), "--seed", "0", "--out",
            crashes] + list(files)


def is_threaded(text):
    """Whether a program, as `heapfuzz print` writes it, has an op that is not void and brings
    another thread in (an attach, a sweeper step, a preempt)."""
    for line in text.splitlines():
        words = line.split()
        if words and words[0] in THREAD_OPS and "# void" not in line:
            return True
    return False


class SharedCore:
    """One core for two loops: each holds it for a batch (turn()). A loop that wants it again
    right after its own turn waits while the other one is waiting, so the two alternate; a loop
    that wants it alone gets it at once."""

    def __init__(self):
        self.cond = threading.Condition()
        self.holder = None
        self.last = None
        self.waiting = set()

    @contextlib.contextmanager
    def turn(self, name, stopping=None):
        """The core for the with-block. Waiting ends too when stopping (an Event) is set: the
        block then runs without the core, and the loop is expected to see it is stopping."""
        with self.cond:
            self.waiting.add(name)
            while self.holder is not None or (self.last == name and self.waiting - {name}):
                if stopping is not None and stopping.is_set():
                    break
                self.cond.wait(0.5)
            self.waiting.discard(name)
            held = self.holder is None
            if held:
                self.holder = name
        try:
            yield
        finally:
            if held:
                with self.cond:
                    self.holder = None
                    self.last = name
                    self.cond.notify_all()


class ExploreLoop(CampaignLoop):
    """The loop, run on a thread of the runner: start(), then stop() (or the deadline)."""

    THREAD_NAME = "explore"

    def __init__(self, heapfuzz, sources, out_dir, log_path, deadline, budget=BUDGET,
                 batch=BATCH, core=None):
        self.heapfuzz = heapfuzz
        self.sources = sources  # [dirs] of fuzz_heap programs, in order of preference
        self.out_dir = out_dir  # <out>/explore
        self.crash_dir = crash_dir(out_dir)
        self.staging = os.path.join(out_dir, "fuzz_heap", "staging")
        self.state_file = os.path.join(out_dir, "explored.txt")
        self.log_path = log_path
        self.deadline = deadline  # time.monotonic() at which to stop
        self.budget = budget
        self.batch = batch
        self.core = core  # a SharedCore, or None when the core is the loop's own
        self.env = dict(os.environ)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.thread = None
        self.proc = None
        self.started = None
        # Figures read by the status line and the report (under self.lock), this run's.
        self.programs = 0  # programs explored
        self.threaded = 0  # of those, multi-threaded ones
        self.schedules = 0  # schedules run
        self.crashes = 0  # crash-explore files saved
        self.timeouts = 0  # timeout-explore files saved
        self.alone = 0  # programs that crash by themselves: not explored
        self.pending = 0  # programs waiting, at the last listing
        self.samples = []  # (seconds since start, schedules)
        self.error = None
        self.hash_cache = {}
        self.explored = set()  # content hashes of programs done with this build (any run)
        self.build = None  # build_key(heapfuzz), at setup
        self.kind = {}  # content hash -> multi-threaded? (classified this run)

    # --- bookkeeping ----------------------------------------------------------------------

    def load_state(self):
        """The programs explored with this build; lines of another build (or of one before
        builds were recorded) are kept in the file but explored again."""
        try:
            with open(self.state_file) as f:
                for line in f:
                    fields = line.split()
                    if len(fields) >= 3 and fields[2] == self.build:
                        self.explored.add(fields[0])
        except FileNotFoundError:
            pass

    def record(self, digest, outcome):
        """digest is done (outcome: explored, crashes-alone, error, hung): never again."""
        self.explored.add(digest)
        with open(self.state_file, "a") as f:
            f.write("%s %s %s\n" % (digest, outcome, self.build))
        with self.lock:
            self.pending = max(0, self.pending - 1)

    # --- choosing programs ----------------------------------------------------------------

    def fresh(self):
        """[(sha1, path)] of the programs not explored yet, one path per content, in the order
        of the sources and of the names in each."""
        found, seen = [], set()
        for path in list_inputs(self.sources):
            digest = content_sha1(path, self.hash_cache)
            if digest is None or digest in self.explored or digest in seen:
                continue
            seen.add(digest)
            found.append((digest, path))
        return found

    def classify(self, path):
        """Whether the program at path is multi-threaded, by `heapfuzz print`; False when it
        cannot say (explore then reports what is wrong with the file)."""
        try:
            r = subprocess.run([self.heapfuzz, "print", path], capture_output=True,
                               env=self.env, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return r.returncode == 0 and is_threaded(r.stdout.decode("utf-8", "replace"))

    def pick(self, fresh):
        """The next batch: multi-threaded programs first; the others once every waiting program
        is classified and no multi-threaded one is left. Classifies up to CLASSIFY programs."""
        for digest, path in [x for x in fresh if x[0] not in self.kind][:CLASSIFY]:
            if self.stopping.is_set():
                return []
            self.kind[digest] = self.classify(path)
        chunk = [x for x in fresh if self.kind.get(x[0])][:self.batch]
        if not chunk and all(d in self.kind for d, _ in fresh):
            chunk = fresh[:self.batch]
        return chunk

    # --- running one batch ----------------------------------------------------------------

    def stage(self, chunk):
        """Copies of the batch's programs named by content, {copy: sha1}: the engines rewrite
        their corpora as they run (libFuzzer removes an input it reduced), and explore names
        the file it is on in what it prints. A program already gone is left out."""
        return {copy: digest for copy, (digest, _) in stage_copies(self.staging, chunk).items()}

    def on_line(self, line, staged, done):
        """One line of explore's output: a saved crash, or a program finished."""
        self.log(line)
        m = SAVED.match(line)
        if m:
            with self.lock:
                if m.group("kind") == "crash":
                    self.crashes += 1
                else:
                    self.timeouts += 1
            return
        m = FINISHED.match(line) or ALONE.match(line)
        digest = staged.get(m.group("file")) if m else None
        if digest is None or digest in done:
            return
        alone = "ran" not in m.groupdict()
        done[digest] = "crashes-alone" if alone else "explored"
        self.record(digest, done[digest])
        with self.lock:
            if alone:
                self.alone += 1
            else:
                self.programs += 1
                self.threaded += bool(self.kind.get(digest))
                self.schedules += int(m.group("ran"))
            self.samples.append((time.monotonic() - self.started, self.schedules))

    def run_batch(self, chunk):
        staged = self.stage(chunk)
        if not staged:
            return
        files = list(staged)
        cmd = explore_argv(self.heapfuzz, self.crash_dir, files, self.budget)
        self.log("$ " + " ".join(cmd))
        limit = START_SECONDS + PER_PROGRAM_SECONDS * len(files)
        done = {}

        def read(out):
            for raw in out:
                self.on_line(raw.decode("utf-8", "replace").rstrip("\n"), staged, done)

        rc, pid, killed = self.run_watched(cmd, limit, read)
        left = [digest for digest in staged.values() if digest not in done]
        if killed:
            # explore's scratch log of the running schedule, which it removes when it ends.
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.crash_dir, ".explore-%d.log" % pid))
        if killed == "watchdog" and left:
            # The program it was on (they run in order): exploring it again would hang again.
            self.record(left[0], "hung")
            self.log("explore ran over %d s on %s: killed, that program left out" % (limit,
                                                                                   left[0]))
        elif not killed:
            for digest in left:  # unreadable or unparsable (exit 2): it would fail again
                self.record(digest, "error")
            if left or rc not in (0, 1):
                self.log("explore exited %d; %d programs without a result (see above)"
                         % (rc, len(left)))
        shutil.rmtree(self.staging, ignore_errors=True)

    # --- the loop -------------------------------------------------------------------------

    def round(self):
        """One batch of the programs waiting. Returns whether there were any."""
        fresh = self.fresh()
        with self.lock:
            self.pending = len(fresh)
        if not fresh:
            return False
        with self.turn():
            if self.stopping.is_set():
                return True
            chunk = self.pick(fresh)
            if chunk and not self.stopping.is_set():
                self.run_batch(chunk)
        return True

    def setup(self):
        os.makedirs(self.crash_dir, exist_ok=True)
        self.build = build_key(self.heapfuzz)
        self.load_state()

    def snapshot(self):
        """The figures so far, with the keys of TsanReplay.snapshot() that campaign_stats
        reads (execs: schedules; unique: programs explored) and the loop's own."""
        with self.lock:
            return {"execs": self.schedules, "unique": self.programs, "crashes": self.crashes,
                    "timeouts": self.timeouts, "alone": self.alone, "threaded": self.threaded,
                    "pending": self.pending, "unattributed": 0, "attributed": 0,
                    "samples": list(self.samples), "error": self.error}
