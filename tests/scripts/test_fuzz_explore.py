#!/usr/bin/env python3
"""The campaign's explore phase (scripts/lib/campaign_explore.py) without a build:

- the loop against a stand-in heapfuzz (a shell script that, like `heapfuzz print` and `heapfuzz
  explore`, prints a program and reports each program it explores, saving a crash-explore file
  for one marked BAD): multi-threaded programs go first (a live attach or sweeper step; a void
  attach does not count), every program is explored once, crashes are counted and land in
  <out>/fuzz_heap/crashes, a program that crashes by itself is recorded and not explored;
- explored.txt: a second loop with the same output directory explores only what is new;
- stop() in mid-batch records the programs explore finished and no other;
- SharedCore: two loops that both have work alternate, one alone is never kept waiting;
- scripts/fuzz --dry-run shows the phase under tsan-replay with its exact command (the bug's
  heapfuzz with --inject-bug), and --no-explore, --no-tsan and a campaign without fuzz_heap
  leave it out; the instances and their jobs are those of the plan without it;
- bench/time_to_bug's lf-explore configuration: on request only, and its trial watches the
  explore loop's crashes too.

tests/scripts/test_fuzz_explore_triage.py runs the real heapfuzz explore on a planted bug."""

import hashlib
import os
import tempfile
import threading
import time
import unittest

import fuzz_helpers  # puts scripts/lib on the path
from fuzz_helpers import ROOT

import campaign_explore

FAKE = """#!/bin/sh
# stand-in for heapfuzz: print FILE | explore [--option VALUE]... FILE...
cmd=$1; shift
case "$cmd" in
print) cat "$1"; exit 0 ;;
explore) ;;
*) echo "stand-in: unknown command $cmd" >&2; exit 2 ;;
esac
out=.
while [ $# -gt 0 ]; do
  case "$1" in
  --out) out=$2; shift 2 ;;
  --*) shift 2 ;;
  *) break ;;
  esac
done
echo "$*" >> "$HF_TEST_CALLS"
rc=0
for f in "$@"; do
  if grep -q ALONE "$f"; then
    echo "$f: crashes without a change point: not explored (replay it with heapfuzz run)"
    rc=1; continue
  fi
  if grep -q SLOW "$f"; then sleep 30; fi
  if grep -q BAD "$f"; then
    h=$(sha1sum "$f" | cut -c1-16)
    cp "$f" "$out/crash-explore-$h"; echo "stand-in report" > "$out/crash-explore-$h.log"
    echo "$f: crash: $out/crash-explore-$h (schedule 3 of 5: preempt before op 2)"
    echo "$f: explored 3 of 5 schedules (5 of depth 1, 0 of depth 2) in 2 children:" \
      "1 crashes, 0 timeouts"
    rc=1; continue
  fi
  echo "$f: explored 5 of 5 schedules (5 of depth 1, 0 of depth 2) in 1 children:" \
    "0 crashes, 0 timeouts"
done
exit $rc
"""

SINGLE = b"heapfuzz-ops 1\nalloc h=0 size=8 slots=0 flags=0\n"
VOID = b"heapfuzz-ops 1\nattach  # void\nalloc h=0 size=8 slots=0 flags=0\n"
THREADED = b"heapfuzz-ops 1\nattach  # starts m1\nalloc h=0 size=8 slots=0 flags=0\n"
SWEEPER = b"heapfuzz-ops 1\nsweeper n=3  # on sweeper\n"


def sha1(data):
    return hashlib.sha1(data).hexdigest()


class Loop(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="hf-explore-test-")
        self.dir = self.tmp.name
        self.heapfuzz = fuzz_helpers.write_stand_in(os.path.join(self.dir, "heapfuzz"), FAKE)
        self.seeds = os.path.join(self.dir, "seeds")
        self.queue = os.path.join(self.dir, "queue")
        os.makedirs(self.seeds)
        os.makedirs(os.path.join(self.queue, ".state"))  # AFL++ metadata: not a program
        self.out = os.path.join(self.dir, "explore")
        self.calls = os.path.join(self.dir, "calls")

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, d, name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    def loop(self, batch=2):
        loop = campaign_explore.ExploreLoop(self.heapfuzz, [self.seeds, self.queue,
                                                            os.path.join(self.dir, "absent")],
                                            self.out, os.path.join(self.dir, "explore.log"),
                                            time.monotonic() + 60, batch=batch)
        loop.env["HF_TEST_CALLS"] = self.calls
        return loop

    def run_loop(self, until, batch=2, seconds=30):
        loop = self.loop(batch)
        loop.start()
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until(loop.snapshot()):
            time.sleep(0.05)
        loop.stop()
        snap = loop.snapshot()
        self.assertIsNone(snap["error"])
        return snap

    def batches(self):
        """The programs of each explore call, by content hash (the loop stages copies)."""
        try:
            with open(self.calls) as f:
                return [[os.path.basename(p) for p in line.split()] for line in f]
        except FileNotFoundError:
            return []

    def explored(self):
        """{program: outcome} of explored.txt, checking every line names this build."""
        build = campaign_explore.build_key(self.heapfuzz)
        out = {}
        with open(os.path.join(self.out, "explored.txt")) as f:
            for line in f:
                digest, outcome, key = line.split()
                self.assertEqual(key, build)
                out[digest] = outcome
        return out

    def test_threaded_first_once_each_crash_saved(self):
        self.write(self.seeds, "a_single", SINGLE)
        self.write(self.seeds, "b_void", VOID)
        self.write(self.queue, "c_threaded", THREADED)
        self.write(self.queue, "d_sweeper", SWEEPER)
        self.write(self.queue, "d_sweeper_again", SWEEPER)  # the same program twice
        bad = THREADED + b"# BAD\n"
        self.write(self.queue, "e_bad", bad)
        alone = SINGLE + b"# ALONE\n"
        self.write(self.seeds, "f_alone", alone)
        snap = self.run_loop(lambda s: s["unique"] + s["alone"] >= 6)
        self.assertEqual(snap["unique"], 5)
        self.assertEqual(snap["alone"], 1)
        self.assertEqual(snap["threaded"], 3)
        self.assertEqual(snap["execs"], 4 * 5 + 3)  # schedules run
        self.assertEqual(snap["crashes"], 1)
        self.assertEqual(snap["pending"], 0)
        # Multi-threaded first (in source order: seeds, then the queue, names sorted), then
        # the others; a void attach is no thread.
        self.assertEqual(self.batches(), [[sha1(THREADED), sha1(SWEEPER)], [sha1(bad)],
                                          [sha1(SINGLE), sha1(VOID)], [sha1(alone)]])
        self.assertEqual(self.explored(), {sha1(SINGLE): "explored", sha1(VOID): "explored",
                                           sha1(THREADED): "explored", sha1(SWEEPER): "explored",
                                           sha1(bad): "explored", sha1(alone): "crashes-alone"})
        crash_dir = os.path.join(self.out, "fuzz_heap", "crashes")
        name = "crash-explore-" + sha1(bad)[:16]
        self.assertEqual(sorted(os.listdir(crash_dir)), [name, name + ".log"])
        with open(os.path.join(crash_dir, name), "rb") as f:
            self.assertEqual(f.read(), bad)
        self.assertFalse(os.path.exists(os.path.join(self.out, "fuzz_heap", "staging")))

    def test_explored_programs_are_remembered(self):
        self.write(self.seeds, "one", THREADED)
        self.write(self.seeds, "two", SINGLE)
        snap = self.run_loop(lambda s: s["unique"] >= 2)
        self.assertEqual(snap["unique"], 2)
        self.assertEqual(len(self.batches()), 2)
        # A later run with the same output directory: nothing to do...
        snap = self.run_loop(lambda s: False, seconds=3)
        self.assertEqual((snap["unique"], snap["execs"], snap["pending"]), (0, 0, 0))
        self.assertEqual(len(self.batches()), 2)
        # ...but what is new, under any name (a copy of an explored program is not new).
        self.write(self.queue, "three", SWEEPER)
        self.write(self.queue, "one-again", THREADED)
        snap = self.run_loop(lambda s: s["unique"] >= 1)
        time.sleep(0.5)
        self.assertEqual(snap["unique"], 1)
        self.assertEqual(self.batches()[2:], [[sha1(SWEEPER)]])
        self.assertEqual(len(self.explored()), 3)

    def test_a_rebuilt_heap_explores_again(self):
        self.write(self.seeds, "one", THREADED)
        snap = self.run_loop(lambda s: s["unique"] >= 1)
        self.assertEqual(snap["unique"], 1)
        # The same binary: nothing to do. Another build (a fix, a planted bug): explored again.
        snap = self.run_loop(lambda s: False, seconds=2)
        self.assertEqual(snap["unique"], 0)
        with open(self.heapfuzz, "a") as f:
            f.write("# rebuilt\n")
        snap = self.run_loop(lambda s: s["unique"] >= 1)
        self.assertEqual(snap["unique"], 1)
        self.assertEqual(self.batches(), [[sha1(THREADED)], [sha1(THREADED)]])
        with open(os.path.join(self.out, "explored.txt")) as f:
            builds = [line.split()[2] for line in f]
        self.assertEqual(len(builds), 2)
        self.assertNotEqual(builds[0], builds[1])

    def test_stop_keeps_what_was_finished(self):
        self.write(self.seeds, "a", THREADED)
        slow = THREADED + b"# SLOW\n"
        self.write(self.seeds, "b", slow)
        loop = self.loop(batch=2)
        loop.start()
        end = time.monotonic() + 20
        while loop.snapshot()["unique"] < 1 and time.monotonic() < end:
            time.sleep(0.05)
        self.assertEqual(loop.snapshot()["unique"], 1)
        began = time.monotonic()
        loop.stop()
        self.assertLess(time.monotonic() - began, 5)
        self.assertFalse(loop.running())
        self.assertEqual(self.explored(), {sha1(THREADED): "explored"})  # not the slow one
        self.assertFalse(os.path.exists(os.path.join(self.out, "fuzz_heap", "staging")))


class Core(unittest.TestCase):
    def test_loops_alternate_and_one_alone_runs_on(self):
        core = campaign_explore.SharedCore()
        order = []

        def work(name, n):
            for _ in range(n):
                with core.turn(name):
                    order.append(name)
                    time.sleep(0.02)

        threads = [threading.Thread(target=work, args=(name, 6)) for name in ("tsan", "explore")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        self.assertEqual(sorted(order), ["explore"] * 6 + ["tsan"] * 6)
        # Both always waiting: strict turns after the first.
        self.assertTrue(all(a != b for a, b in zip(order, order[1:])), order)
        began = time.monotonic()
        work("explore", 5)  # alone: never waits for the other
        self.assertLess(time.monotonic() - began, 1)

    def test_stopping_ends_the_wait(self):
        core = campaign_explore.SharedCore()
        stopping = threading.Event()
        held, done = threading.Event(), threading.Event()

        def hog():
            with core.turn("tsan"):
                held.set()
                done.wait(10)

        t = threading.Thread(target=hog)
        t.start()
        held.wait(5)
        threading.Timer(0.3, stopping.set).start()
        began = time.monotonic()
        with core.turn("explore", stopping):
            waited = time.monotonic() - began
        done.set()
        t.join(5)
        self.assertLess(waited, 3)


class DryRun(unittest.TestCase):
    def dry_run(self, *args):
        return fuzz_helpers.dry_run_plan(self, *args)

    def explore_argv(self, plan):
        """The explore command shown under tsan-replay (after its replay commands)."""
        found = [argv for _, argv in plan["tsan-replay"].get("more", [])
                 if len(argv) > 1 and argv[1] == "explore"]
        self.assertEqual(len(found), 1, plan["tsan-replay"])
        return found[0]

    def test_default_campaign_explores_on_the_tsan_core(self):
        plan, text, out = self.dry_run("--jobs", "2")
        self.assertNotIn("explore-fuzz_heap", plan)  # a phase, not an instance
        self.assertEqual(len(plan), 7)
        self.assertIn("7 processes on 2 jobs", text)  # no core of its own
        argv = self.explore_argv(plan)
        crashes = os.path.join(out, "explore", "fuzz_heap", "crashes")
        self.assertEqual(argv, [os.path.join(ROOT, "build", "asan", "heapfuzz"), "explore",
                                "--budget", "1000", "--seed", "0", "--out", crashes, "FILE..."])
        self.assertIn("in turns: explore-fuzz_heap explores the programs of %s %s "
                      % (os.path.join(ROOT, "build", "tsan", "corpus", "fuzz_heap"),
                         os.path.join(ROOT, "corpus", "merged", "fuzz_heap")), text)
        self.assertIn(os.path.join(out, "libfuzzer", "fuzz_heap", "corpus"), text)
        self.assertIn(os.path.join(out, "afl", "fuzz_heap", "sync", "main", "queue"), text)
        self.assertIn("(multi-threaded first) into %s\n" % crashes, text)
        # the same plan with --no-explore: the same instances, nothing of explore
        plan2, text2, _ = self.dry_run("--jobs", "2", "--no-explore")
        self.assertEqual(list(plan2), list(plan))
        self.assertNotIn("explore", text2.replace("-p explore", ""))  # AFL++'s power schedule

    def test_no_explore_without_its_core_or_target(self):
        for args in (["--no-tsan"], ["--target", "fuzz_heap_threads"],
                     ["--target", "fuzz_heap", "--no-explore"]):
            _, text, _ = self.dry_run("--engine", "libfuzzer", *args)
            self.assertNotIn("heapfuzz explore", text.replace("/heapfuzz explore", " "), args)
            self.assertNotIn("explore-fuzz_heap", text, args)

    def test_inject_bug_explores_with_the_bug_build(self):
        plan, text, out = self.dry_run("--inject-bug", "large_double_release", "--target",
                                       "fuzz_heap", "--engine", "libfuzzer")
        argv = self.explore_argv(plan)
        self.assertEqual(argv[0], os.path.join(ROOT, "build", "asan",
                                               "heapfuzz_bug_large_double_release"))
        self.assertEqual(argv[argv.index("--out") + 1],
                         os.path.join(out, "explore", "fuzz_heap", "crashes"))
        self.assertIn(os.path.join(out, "merged", "fuzz_heap"), text)

    def test_plan_meta_for_triage(self):
        """What <out>/explore/instance.json says, for triage's scan."""
        import types
        import campaign_plan
        args = types.SimpleNamespace(
            duration=60, jobs=2, targets=["fuzz_heap"], engine="libfuzzer", tsan=True,
            explore=True, out="/tmp/x", merged_dir="/tmp/x/merged",
            build_root=os.path.join(ROOT, "build"), secondary=False, node=None,
            inject_bug="large-double-release")
        plan = campaign_plan.Plan(args)
        self.assertEqual(plan.explore_meta(), {
            "target": "fuzz_heap", "preset": "asan", "engine": "explore",
            "heapfuzz": os.path.join("build", "asan", "heapfuzz_bug_large_double_release")})
        self.assertEqual(plan.tools(), [("asan", "heapfuzz_bug_large_double_release")])
        args.inject_bug = None
        plan = campaign_plan.Plan(args)
        self.assertEqual(plan.explore_meta()["heapfuzz"], os.path.join("build", "asan",
                                                                       "heapfuzz"))
        self.assertEqual(plan.tools(), [("asan", "heapfuzz")])
        args.explore = False
        self.assertEqual(campaign_plan.Plan(args).tools(), [])


class Report(unittest.TestCase):
    """The explore phase's row in report.md and its status line, from made-up figures."""

    def test_row_and_status_line(self):
        import types
        import campaign_plan
        import campaign_report
        import campaign_stats
        with tempfile.TemporaryDirectory() as out:
            args = types.SimpleNamespace(
                duration=600, jobs=2, targets=["fuzz_heap"], engine="libfuzzer", tsan=True,
                explore=True, out=out, merged_dir=os.path.join(out, "merged"),
                build_root=os.path.join(ROOT, "build"), secondary=False, node=None,
                inject_bug=None)
            plan = campaign_plan.Plan(args)
            self.assertEqual([i.name for i in plan.instances],
                             ["libfuzzer-fuzz_heap", "tsan-replay"])
            snap = {"execs": 52000, "unique": 52, "crashes": 1, "timeouts": 0, "alone": 2,
                    "threaded": 50, "pending": 7, "unattributed": 0, "attributed": 0,
                    "samples": [(10.0, 20000), (20.0, 52000)], "error": None}
            e = plan.explore_inst
            os.makedirs(e.crash_dirs[0])
            before = campaign_stats.Snapshot(e)
            for name in ("crash-explore-00000000000000aa", "crash-explore-00000000000000aa.log",
                         "timeout-explore-00000000000000bb", ".explore-1.log"):
                open(os.path.join(e.crash_dirs[0], name), "w").close()
            fig = campaign_stats.figures(e, before, os.devnull, 100, snap)
            self.assertEqual((fig["execs"], fig["corpus"], fig["crashes"], fig["new_crashes"],
                              fig["hangs"]), (52000, 52, 1, 1, 1))
            self.assertIn("52 programs explored (50 multi-threaded), 7 waiting", fig["detail"])
            self.assertIn("2 crash by themselves", fig["detail"])
            line = campaign_stats.status_line(e, fig, "running")
            self.assertRegex(line, r"^explore-fuzz_heap\s+running\s+execs 52000 .* programs 52 "
                             r".*crashes 1 hangs 1")

            class Run:
                def __init__(self, inst):
                    self.inst, self.state, self.rc = inst, "stopped", 0
                    self.explore = self.explore_inst = None

            runs = [Run(i) for i in plan.instances]
            runs[1].explore, runs[1].explore_inst = object(), e
            empty = dict(fig, execs=0, rate=0.0, corpus=None, detail="", crashes=0, hangs=0,
                         new_crashes=0, new_hangs=0, rate_series=[])
            figs = {"libfuzzer-fuzz_heap": empty, "tsan-replay": empty,
                    "explore-fuzz_heap": fig}
            camp = types.SimpleNamespace(
                plan=plan, runs=runs, run_id="20260101T000000Z", manifest_commit="abc",
                started=1000.0, ended=1600.0, interrupted=False,
                log_dir=os.path.join(out, "logs", "x"), figures=None)
            ctx = campaign_report.Context(camp, ["scripts/fuzz"], {},
                                          {"ran": False, "why": "test", "crashes": []}, {},
                                          figs=figs)
            lines = campaign_report.report_lines(ctx)
        rows = [line for line in lines if line.startswith("| ")]
        names = [r.split("|")[1].strip() for r in rows]
        self.assertEqual(names[-3:], ["libfuzzer-fuzz_heap", "tsan-replay", "explore-fuzz_heap"])
        cells = [c.strip() for c in rows[-1].strip("|").split("|")]
        self.assertEqual(cells[1:5], ["explore", "fuzz_heap", "stopped", "52000"])
        self.assertEqual(cells[8:11], ["52 programs explored", "1 (1 new)", "1 (1 new)"])
        text = "\n".join(lines)
        self.assertIn("explore: yes (fuzz_heap, in turns on the TSan instance's core)", text)
        self.assertIn("Explore: 52 programs explored", text)
        self.assertIn("- explore-fuzz_heap: the runner's explore loop, in turns on tsan-replay's "
                      "core", text)


class Bench(unittest.TestCase):
    """bench/time_to_bug's lf-explore configuration, without running a trial: chosen only on
    request, for the bugs ASan finds, and its trial watches the explore loop's crash
    directory as well as libFuzzer's."""

    @classmethod
    def setUpClass(cls):
        import importlib.machinery
        import importlib.util
        path = os.path.join(ROOT, "bench", "time_to_bug")
        loader = importlib.machinery.SourceFileLoader("time_to_bug", path)
        spec = importlib.util.spec_from_loader("time_to_bug", loader)
        cls.ttb = importlib.util.module_from_spec(spec)
        loader.exec_module(cls.ttb)

    def test_configuration(self):
        ttb = self.ttb
        self.assertIn("lf-explore", ttb.CONFIGS)
        self.assertNotIn("lf-explore", ttb.DEFAULT_CONFIGS)  # the measured command unchanged
        self.assertNotIn("lf-explore", ttb.parse_args(["--bugs", "version-wrap"]).configs)
        args = ttb.parse_args(["--configs", "lf-ops,lf-explore", "--bugs",
                               "large-double-release"])
        self.assertEqual(args.configs, ["lf-ops", "lf-explore"])
        self.assertEqual(ttb.configs_of("large-double-release", args.configs),
                         ["lf-ops", "lf-explore"])
        self.assertEqual(ttb.configs_of("unlocked-sweep-bits", ["lf-explore", "tsan"]),
                         ["tsan"])
        import ttb_report
        self.assertIn("explore", ttb_report.CONFIG_LABELS["lf-explore"])

    def test_trial_watches_explore_crashes(self):
        from pathlib import Path
        import types
        ttb = self.ttb
        with tempfile.TemporaryDirectory() as tmp:
            bench = types.SimpleNamespace(out=Path(tmp), builds=ttb.Builds(tmp))
            found = {}
            for config in ("lf-ops", "lf-explore"):
                trial = ttb.Trial(bench, "large-double-release", config, 1)
                trial.crashes = trial.dir / "crashes"
                explore = Path(campaign_explore.crash_dir(str(trial.dir / "explore")))
                for d, name in ((trial.crashes, "crash-1"), (explore, "crash-explore-2")):
                    d.mkdir(parents=True, exist_ok=True)
                    (d / name).write_bytes(b"x")
                    (d / (name + ".log")).write_text("report")
                found[config] = sorted(p.name for p in trial.crash_files())
        self.assertEqual(found, {"lf-ops": ["crash-1"],
                                 "lf-explore": ["crash-1", "crash-explore-2"]})


if __name__ == "__main__":
    fuzz_helpers.unittest_main()
