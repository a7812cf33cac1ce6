#!/usr/bin/env python3
"""scripts/fuzz without running a campaign: --help, argument errors, the --dry-run plan (which
instances, the exact command lines, how --jobs is shared), and the statistics readers that the
status lines and report.md are built from."""

import glob
import json
import os
import re
import subprocess
import tempfile
import types
import unittest
import xml.etree.ElementTree as ET

import fuzz_helpers
from fuzz_helpers import BUILD, ROOT, flag, option, parse_plan, run_fuzz

import campaign_plan
import campaign_report
import campaign_stats


class HelpAndErrors(unittest.TestCase):
    def test_help(self):
        r = run_fuzz("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for word in ("--duration", "--jobs", "--engine", "--target", "--out", "--dry-run",
                     "8h", "exit status"):
            self.assertIn(word, r.stdout)

    def test_bad_duration(self):
        for bad in ("5x", "10 minutes", "0s", "-3m", "m", ""):
            r = run_fuzz("--duration=" + bad, "--dry-run")
            self.assertEqual(r.returncode, 2, (bad, r.stdout, r.stderr))
            self.assertIn("bad duration", r.stderr, bad)
            self.assertEqual(r.stdout, "", bad)

    def test_other_errors(self):
        cases = ((["--jobs", "0"], "--jobs must be at least 1"),
                 (["--target", "fuzz_nothing"], "unknown target 'fuzz_nothing'"),
                 (["--engine", "honggfuzz"], "invalid choice"),
                 (["--status-interval", "0"], "--status-interval must be positive"),
                 (["--frobnicate"], "unrecognized arguments"))
        for args, message in cases:
            r = run_fuzz(*(args + ["--dry-run"]))
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(message, r.stderr, args)

    def test_inject_bug_errors(self):
        r = run_fuzz("--inject-bug", "stale-first-active", "--dry-run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown injected bug 'stale-first-active' (known: stale-last-active, ",
                      r.stderr)
        self.assertIn("unlocked-sweep-bits, shrink-stale-lookahead, sweep-stale-lookahead, "
                      "resume-unpin-early)", r.stderr)
        self.assertEqual(r.stdout, "")
        r = run_fuzz("--inject-bug", "missing-barrier", "--merged-dir",
                     os.path.join(ROOT, "corpus", "merged"), "--dry-run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("do not go into the shipped corpus", r.stderr)

    def test_campaign_and_heap_must_match(self):
        """An --out that holds a campaign on another heap (campaign.json's injected_bug) is
        refused: a rehearsal must not resume from, or merge into, a real campaign's corpora,
        nor the other way round."""
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "campaign.json"), "w") as f:
                f.write('{"injected_bug": "version-wrap"}')
            r = run_fuzz("--out", tmp, "--dry-run")
            self.assertEqual(r.returncode, 2)
            self.assertIn("holds a campaign on a heap with injected bug version-wrap", r.stderr)
            r = run_fuzz("--out", tmp, "--inject-bug", "size-class-short", "--dry-run")
            self.assertEqual(r.returncode, 2)
            r = run_fuzz("--out", tmp, "--inject-bug", "version_wrap", "--dry-run")
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(tmp, "campaign.json"), "w") as f:
                f.write('{"commit": "abc"}')
            r = run_fuzz("--out", tmp, "--inject-bug", "version-wrap", "--dry-run")
            self.assertEqual(r.returncode, 2)
            self.assertIn("holds a campaign on the shipped heap", r.stderr)

    def test_known_bugs_are_cmakes(self):
        """KNOWN_BUGS is CMakeLists.txt's HC_KNOWN_BUGS; the presets that build each bug's
        heapfuzz_bug_<name> (HF_BUG_VARIANTS) are those the plan replays with."""
        with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
            m = re.search(r"set\(HC_KNOWN_BUGS([^)]*)\)", f.read())
        self.assertIsNotNone(m)
        self.assertEqual(tuple(m.group(1).split()), campaign_plan.KNOWN_BUGS)
        with open(os.path.join(ROOT, "CMakePresets.json")) as f:
            presets = {p["name"]: p for p in json.load(f)["configurePresets"]}
        for bug in campaign_plan.KNOWN_BUGS:
            preset = "tsan" if bug in campaign_plan.TSAN_BUGS else "asan"
            variants = presets[preset]["cacheVariables"]["HF_BUG_VARIANTS"].split(";")
            self.assertIn(campaign_plan.bug_slug(bug), variants, (bug, preset))

    def test_out_is_a_file(self):
        with tempfile.NamedTemporaryFile() as f:
            r = run_fuzz("--out", f.name, "--dry-run")
            self.assertEqual(r.returncode, 2)
            self.assertIn("is not a directory", r.stderr)

    def test_durations(self):
        for text, seconds in (("20s", 20), ("10m", 600), ("8h", 28800), ("1h30m", 5400),
                              ("90", 90), ("2H", 7200)):
            self.assertEqual(campaign_plan.parse_duration(text), seconds, text)


class DryRun(unittest.TestCase):
    def plan(self, *args):
        return fuzz_helpers.dry_run_plan(self, *args)

    def test_default_campaign(self):
        plan, text, out = self.plan("--jobs", "8")
        self.assertEqual(list(plan), [
            "afl-fuzz_heap-main", "afl-fuzz_heap-s1", "libfuzzer-fuzz_heap",
            "afl-fuzz_heap_threads-main", "libfuzzer-fuzz_heap_threads",
            "afl-fuzz_ops_text-main", "libfuzzer-fuzz_ops_text", "tsan-replay"])
        self.assertIn("0:10:00 (600s)", text)
        self.assertIn("presets: fuzz, afl, afl-cmplog, tsan", text)
        dict_file = os.path.join(ROOT, "dictionaries", "fuzz_heap.dict")
        for target in ("fuzz_heap", "fuzz_heap_threads", "fuzz_ops_text"):
            lf = plan["libfuzzer-" + target]["argv"]
            self.assertEqual(lf[0], os.path.join(ROOT, "build", "fuzz", "targets", target))
            self.assertIn("-fork=1", lf)
            self.assertIn("-ignore_crashes=1", lf)
            self.assertEqual(flag(lf, "max_total_time"), "600")
            self.assertEqual(flag(lf, "max_len"), "4096")  # from fuzz_heap.options
            self.assertEqual(flag(lf, "timeout"), "10")
            # Every key of the options file's [libfuzzer] section (but dict) is a flag.
            self.assertEqual(flag(lf, "entropic_scale_per_exec_time"), "1")
            # Fork mode's job files go to a tmpfs when there is one.
            env = plan["libfuzzer-" + target]["env"]
            if os.environ.get("TMPDIR") or os.path.isdir("/dev/shm"):
                self.assertIn("TMPDIR", env)
            self.assertEqual(flag(lf, "artifact_prefix"),
                             os.path.join(out, "libfuzzer", target, "crashes") + "/")
            # New inputs land in the first directory: the campaign's own corpus.
            dirs = [a for a in lf[1:] if not a.startswith("-")]
            self.assertEqual(dirs[0], os.path.join(out, "libfuzzer", target, "corpus"))
            self.assertEqual(dirs[-1], os.path.join(ROOT, "corpus", "merged", target))
            afl = plan["afl-%s-main" % target]
            argv = afl["argv"]
            self.assertEqual(argv[0], "afl-fuzz")
            self.assertEqual(option(argv, "-M"), "main")
            self.assertEqual(option(argv, "-c"),
                             os.path.join(ROOT, "build", "afl-cmplog", "targets", target))
            self.assertEqual(option(argv, "-V"), "600")
            self.assertEqual(option(argv, "-o"), os.path.join(out, "afl", target, "sync"))
            self.assertEqual(argv[-1], os.path.join(ROOT, "build", "afl", "targets", target))
            self.assertEqual(argv[-2], "--")
            env = afl["env"]
            self.assertIn("abort_on_error=1", env["ASAN_OPTIONS"])
            self.assertIn("symbolize=0", env["ASAN_OPTIONS"])
            self.assertIn("quarantine_size_mb=32", env["ASAN_OPTIONS"])
            self.assertEqual(env["AFL_AUTORESUME"], "1")
            self.assertEqual(env["AFL_SYNC_TIME"], "1")  # minutes: a tenth of 10 minutes
            self.assertNotIn("AFL_CUSTOM_MUTATOR_ONLY", env)  # AFL++'s own mutations stay on
            binary = target != "fuzz_ops_text"
            self.assertEqual(flag(lf, "dict") == dict_file, binary, target)
            self.assertEqual(option(argv, "-x") == dict_file, binary, target)
            self.assertEqual(env.get("AFL_CUSTOM_MUTATOR_LIBRARY") == os.path.join(
                ROOT, "build", "afl", "targets", "afl_mutator.so"), binary, target)
        s1 = plan["afl-fuzz_heap-s1"]["argv"]
        self.assertEqual(option(s1, "-S"), "s1")
        self.assertNotIn("-M", s1)
        self.assertNotIn("-c", s1)
        self.assertEqual(option(s1, "-o"), os.path.join(out, "afl", "fuzz_heap", "sync"))
        tsan = plan["tsan-replay"]
        self.assertEqual(len(tsan["replays"]), 2)
        self.assertIn(os.path.join(out, "afl", "fuzz_heap", "sync", "s1", "queue"),
                      tsan["replays"][0])
        self.assertIn(os.path.join(out, "libfuzzer", "fuzz_heap_threads", "corpus"),
                      tsan["replays"][1])
        self.assertEqual(tsan["env"]["TSAN_OPTIONS"], "halt_on_error=1:second_deadlock_stack=1")
        self.assertEqual(tsan["argv"][0], os.path.join(ROOT, "build", "tsan", "targets",
                                                       "fuzz_heap"))

    def test_jobs_are_shared(self):
        # 7 instances need 7 jobs; 5 spare go round robin, fuzz_heap first, AFL++ first.
        plan, text, _ = self.plan("--jobs", "12")
        self.assertIn("12 processes on 12 jobs", text)
        names = [n for n in plan if n.startswith("afl-fuzz_heap-")]
        self.assertEqual(names, ["afl-fuzz_heap-main", "afl-fuzz_heap-s1"])
        self.assertEqual(flag(plan["libfuzzer-fuzz_heap"]["argv"], "fork"), "2")
        self.assertIn("afl-fuzz_heap_threads-s1", plan)
        self.assertEqual(flag(plan["libfuzzer-fuzz_heap_threads"]["argv"], "fork"), "2")
        self.assertIn("afl-fuzz_ops_text-s1", plan)
        self.assertEqual(flag(plan["libfuzzer-fuzz_ops_text"]["argv"], "fork"), "1")
        schedules = [option(plan[n]["argv"], "-p") for n in plan if n.endswith("-s1")]
        self.assertEqual(schedules, ["explore", "explore", "explore"])

    def test_fewer_jobs_than_instances(self):
        plan, text, _ = self.plan("--jobs", "2")
        self.assertEqual(len(plan), 7)
        self.assertIn("note: more instances than --jobs", text)

    def test_one_engine_one_target(self):
        plan, text, _ = self.plan("--duration", "20s", "--jobs", "2", "--engine", "libfuzzer",
                                  "--target", "fuzz_heap", "--no-tsan")
        self.assertEqual(list(plan), ["libfuzzer-fuzz_heap"])
        argv = plan["libfuzzer-fuzz_heap"]["argv"]
        self.assertEqual(flag(argv, "fork"), "2")
        self.assertEqual(flag(argv, "max_total_time"), "20")
        self.assertIn("presets: fuzz\n", text)

    def test_tsan_follows_targets(self):
        plan, text, _ = self.plan("--engine", "afl", "--target", "fuzz_heap_threads",
                                  "--jobs", "4", "--duration", "8h")
        self.assertEqual(list(plan), ["afl-fuzz_heap_threads-main", "afl-fuzz_heap_threads-s1",
                                      "afl-fuzz_heap_threads-s2", "tsan-replay"])
        main = plan["afl-fuzz_heap_threads-main"]["argv"]
        self.assertEqual(option(main, "-V"), "28800")
        self.assertEqual(plan["afl-fuzz_heap_threads-main"]["env"]["AFL_SYNC_TIME"], "30")
        self.assertNotIn(os.sep + "libfuzzer" + os.sep, " ".join(main))  # no -F to libFuzzer
        self.assertEqual(option(plan["afl-fuzz_heap_threads-s2"]["argv"], "-p"), "coe")
        self.assertIn("presets: afl, afl-cmplog, tsan", text)
        self.assertEqual(len(plan["tsan-replay"]["replays"]), 1)
        plan, _, _ = self.plan("--target", "fuzz_ops_text")
        self.assertNotIn("tsan-replay", plan)

    def test_secondary_machine(self):
        plan, _, out = self.plan("--secondary", "--node", "box2", "--engine", "afl", "--target",
                                 "fuzz_heap", "--jobs", "3")
        self.assertEqual(list(plan), ["afl-fuzz_heap-box2-s1", "afl-fuzz_heap-box2-s2",
                                      "tsan-replay"])
        for name in ("afl-fuzz_heap-box2-s1", "afl-fuzz_heap-box2-s2"):
            argv = plan[name]["argv"]
            self.assertNotIn("-M", argv)
            self.assertEqual(option(argv, "-S"), name[len("afl-fuzz_heap-"):])
            self.assertEqual(option(argv, "-o"), os.path.join(out, "afl", "fuzz_heap", "sync"))
        r = run_fuzz("--dry-run", "--node", "box2")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--node goes with --secondary", r.stderr)

    def test_inject_bug(self):
        """--inject-bug: the bug's own build trees (-DHC_INJECT_BUG), output, merged corpus and
        findings, triage with the bug's heapfuzz; all of it said in the plan."""
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "rehearsal")
            r = run_fuzz("--dry-run", "--inject-bug", "stale_last_active", "--out", out,
                         "--target", "fuzz_heap", "--jobs", "3")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertFalse(os.path.exists(out))
        text = r.stdout
        plan = parse_plan(text)
        bug_root = os.path.join(ROOT, "build", "bug-stale_last_active")
        self.assertIn("INJECTED BUG stale-last-active: a rehearsal on a heap built with "
                      "-DHC_INJECT_BUG=stale-last-active (%s/)" % bug_root, text)
        for preset in ("fuzz", "afl", "afl-cmplog", "tsan"):
            self.assertIn("  $ cmake --preset %s -B %s/%s -DHC_INJECT_BUG=stale-last-active\n"
                          % (preset, bug_root, preset), text)
        self.assertIn("  $ cmake --build --preset asan --target heapfuzz_bug_stale_last_active",
                      text)
        self.assertIn("  $ %s --campaign %s --findings %s --heapfuzz %s\n" % (
            os.path.join(ROOT, "scripts", "triage"), out, os.path.join(out, "findings"),
            os.path.join(ROOT, "build", "asan", "heapfuzz_bug_stale_last_active")), text)
        merged = os.path.join(out, "merged", "fuzz_heap")
        lf = plan["libfuzzer-fuzz_heap"]["argv"]
        self.assertEqual(lf[0], os.path.join(bug_root, "fuzz", "targets", "fuzz_heap"))
        self.assertEqual([a for a in lf[1:] if not a.startswith("-")][-1], merged)
        main = plan["afl-fuzz_heap-main"]
        self.assertEqual(option(main["argv"], "-c"),
                         os.path.join(bug_root, "afl-cmplog", "targets", "fuzz_heap"))
        self.assertEqual(main["argv"][-1], os.path.join(bug_root, "afl", "targets", "fuzz_heap"))
        self.assertIn(merged, main["argv"])
        self.assertEqual(main["env"]["AFL_CUSTOM_MUTATOR_LIBRARY"],
                         os.path.join(bug_root, "afl", "targets", "afl_mutator.so"))
        self.assertEqual(plan["tsan-replay"]["argv"][0],
                         os.path.join(bug_root, "tsan", "targets", "fuzz_heap"))
        self.assertIn(merged, plan["tsan-replay"]["replays"][0])
        self.assertNotIn(os.path.join(ROOT, "corpus", "merged"), text)

    def test_inject_bug_defaults(self):
        r = run_fuzz("--dry-run", "--inject-bug", "unlocked-sweep-bits", "--engine",
                     "libfuzzer", "--target", "fuzz_heap_threads")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = os.path.join(ROOT, "campaign-bug-unlocked_sweep_bits")
        self.assertIn("output %s\n" % out, r.stdout)
        self.assertIn("--findings %s --heapfuzz %s" % (
            os.path.join(out, "findings"),
            os.path.join(ROOT, "build", "tsan", "heapfuzz_bug_unlocked_sweep_bits")), r.stdout)
        with open(os.path.join(ROOT, ".gitignore")) as f:
            self.assertIn("/campaign-bug-*/\n", f.read())

    def test_ops_histogram_per_instance(self):
        """fuzz_heap's instances (both engines) name a file of their own for the target's ops
        count, in the directory the engine starts in; other targets and TSan get none."""
        plan, text, out = self.plan("--jobs", "8")
        for name, inst in plan.items():
            hist = inst["env"].get("HEAPFUZZ_OPS_HISTOGRAM")
            if name.startswith(("libfuzzer-fuzz_heap", "afl-fuzz_heap-")) and \
                    "threads" not in name:
                engine = name.split("-")[0]
                self.assertEqual(hist, os.path.join(out, engine, "fuzz_heap",
                                                    name + ".ops-histogram"), name)
            else:
                self.assertIsNone(hist, name)
        self.assertEqual(sum(1 for i in plan.values()
                             if "HEAPFUZZ_OPS_HISTOGRAM" in i["env"]), 3)
        plan, _, out = self.plan("--secondary", "--node", "box2", "--engine", "libfuzzer",
                                 "--target", "fuzz_heap", "--jobs", "1")
        self.assertEqual(plan["libfuzzer-fuzz_heap"]["env"]["HEAPFUZZ_OPS_HISTOGRAM"],
                         os.path.join(out, "libfuzzer", "fuzz_heap",
                                      "libfuzzer-fuzz_heap-box2.ops-histogram"))

    def test_targets_comma_separated(self):
        plan, _, _ = self.plan("--target", "fuzz_ops_text,fuzz_heap", "--engine", "libfuzzer",
                               "--no-tsan")
        self.assertEqual(list(plan), ["libfuzzer-fuzz_heap", "libfuzzer-fuzz_ops_text"])


class Stats(unittest.TestCase):
    def test_libfuzzer_fork_lines(self):
        log = ("INFO: -fork=1: 28 seed inputs, starting to fuzz in /tmp/x\n"
               "#2040: cov: 4213 ft: 4213 corp: 28 exec/s 1020 oom/timeout/crash: 0/0/0 time: "
               "2s job: 1 dft_time: 0\n"
               "  NEW_FUNC: 0x1 in f x.c:1\n"
               "#6338: cov: 5175 ft: 6113 corp: 440 exec/s 644 oom/timeout/crash: 0/0/1 time: "
               "10s job: 3 dft_time: 0\n")
        with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
            f.write(log)
            f.flush()
            rows = campaign_stats.libfuzzer_series(f.name)
        self.assertEqual(rows, [(2, 2040, 4213, 4213, 28, 1020), (10, 6338, 5175, 6113, 440, 644)])

    def test_afl_plot_data_resumed(self):
        header = ("# relative_time, cycles_done, cur_item, corpus_count, pending_total, "
                  "pending_favs, map_size, saved_crashes, saved_hangs, max_depth, "
                  "execs_per_sec, total_execs, edges_found\n")
        with tempfile.NamedTemporaryFile("w") as f:
            f.write(header + "60, 0, 2, 668, 668, 19, 29.13%, 0, 0, 2, 720.84, 113676, 1059\n")
            f.write(header + "125, 0, 3, 700, 690, 19, 29.50%, 0, 0, 2, 800.5, 150000, 1070\n")
            f.flush()
            self.assertEqual(campaign_stats.afl_plot_count(f.name), 2)
            rows = campaign_stats.afl_plot_rows(f.name, skip=1)
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["edges_found"], "1070")
        self.assertEqual(rows[0]["execs_per_sec"], "800.5")

    def test_svg_chart(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "plots", "c.svg")
            self.assertFalse(campaign_stats.svg_chart(path, "t", "x", "y", [("a", [])]))
            self.assertFalse(os.path.exists(path))
            self.assertTrue(campaign_stats.svg_chart(
                path, "execs <&>", "s", "execs/s",
                [("libfuzzer-fuzz_heap", [(2, 1020.0), (10, 644.0)]), ("afl", [(60, 700)])]))
            root = ET.parse(path).getroot()  # well-formed, title escaped
            ns = "{http://www.w3.org/2000/svg}"
            self.assertEqual(len(root.findall(ns + "polyline")), 1)
            self.assertEqual(len(root.findall(ns + "circle")), 1)
            texts = [t.text for t in root.iter(ns + "text")]
            self.assertIn("execs <&>", texts)
            self.assertIn("libfuzzer-fuzz_heap", texts)

    def test_queue_by_mutation(self):
        names = ["id:000000,time:0,execs:0,orig:basic_lifecycle.bin",
                 "id:000001,src:000000,time:5,execs:40,ops_mutate",
                 "id:000002,src:000000+000001,time:9,execs:80,ops_crossover",
                 "id:000003,src:000001,time:12,execs:99,op:havoc,rep:4,+cov",
                 "id:000004,sync:s1,src:000010",
                 # resumed: the old name follows orig:
                 "id:000005,time:0,execs:0,orig:id:000136,src:000001+000029,time:2696,"
                 "execs:1806,ops_mutate",
                 "id:000006,time:0,execs:0,orig:id:000536,src:000001,time:82215,execs:31937,"
                 "op:havoc,rep:16",
                 "id:000007,time:0,execs:0,orig:id:000000,time:0,execs:0,orig:weak_refs.bin",
                 "README.txt"]
        with tempfile.TemporaryDirectory() as tmp:
            for n in names:
                open(os.path.join(tmp, n), "w").close()
            self.assertEqual(campaign_report.mutation_counts(tmp),
                             {"ops_mutate": 2, "ops_crossover": 1, "afl": 2, "imported": 1,
                              "seeds": 2})

    def test_ops_histogram(self):
        """The last line of each process counts (they are cumulative), processes add up, lines
        before the offset (earlier runs) and a line still being written do not count."""
        lines = ["heapfuzz-ops-histogram 1 id=7.100 execs=3 10:2 500:1",  # an earlier run
                 "heapfuzz-ops-histogram 1 id=8.200 execs=2 3:1 64:1",
                 "heapfuzz-ops-histogram 1 id=9.300 execs=1 40:1",
                 "heapfuzz-ops-histogram 1 id=8.200 execs=5 3:2 64:2 65:1",
                 "garbage line",
                 "heapfuzz-ops-histogram 2 id=1.1 execs=9 1:9",  # another format version
                 "heapfuzz-ops-histogram 1 id=9.300 execs=x 40:1"]
        with tempfile.NamedTemporaryFile("w") as f:
            f.write("\n".join(lines) + "\nheapfuzz-ops-histogram 1 id=9.300 execs=9 40:9")
            f.flush()
            offset = len(lines[0]) + 1
            hist = campaign_stats.read_ops_histogram(f.name, offset)
            self.assertEqual(hist, {3: 2, 64: 2, 65: 1, 40: 1})
            self.assertEqual(campaign_stats.histogram_median(hist), 40)
            self.assertEqual(campaign_stats.read_ops_histogram(f.name)[500], 1)
            self.assertEqual(campaign_stats.read_ops_histogram(f.name, 1 << 20), {})
        self.assertEqual(campaign_stats.read_ops_histogram("/nonexistent/x"), {})
        self.assertIsNone(campaign_stats.histogram_median({}))
        self.assertEqual(campaign_stats.histogram_median({5: 1, 9: 1}), 5)
        self.assertEqual(campaign_stats.histogram_median({1: 1, 2: 5, 100: 3}), 2)

    def test_figures_median_ops(self):
        """figures() takes the median ops from the instance's histogram, this run's lines only
        (the snapshot made before the instance started marks where they begin)."""
        with tempfile.TemporaryDirectory() as tmp:
            inst = campaign_plan.Instance("libfuzzer-fuzz_heap", "libfuzzer", "fuzz_heap",
                                          "fuzz", 1)
            inst.corpus_dir = os.path.join(tmp, "corpus")
            inst.crash_dirs = [os.path.join(tmp, "crashes")]
            inst.ops_histogram = os.path.join(tmp, "libfuzzer-fuzz_heap.ops-histogram")
            with open(inst.ops_histogram, "w") as f:
                f.write("heapfuzz-ops-histogram 1 id=1.1 execs=4 400:4\n")
            snap = campaign_stats.Snapshot(inst)
            with open(inst.ops_histogram, "a") as f:
                f.write("heapfuzz-ops-histogram 1 id=2.2 execs=3 20:1 30:1 900:1\n")
            log = os.path.join(tmp, "log")
            with open(log, "w") as f:
                f.write("#2040: cov: 4213 ft: 4213 corp: 28 exec/s 1020 oom/timeout/crash: "
                        "0/0/0 time: 2s job: 1 dft_time: 0\n")
            fig = campaign_stats.figures(inst, snap, log, 2)
            self.assertEqual((fig["ops_median"], fig["ops_execs"]), (30, 3))
            self.assertTrue(campaign_stats.status_line(inst, fig, "running").endswith(" ops~30"))
            inst.ops_histogram = None  # a target that does not count
            fig = campaign_stats.figures(inst, campaign_stats.Snapshot(inst), log, 2)
            self.assertEqual((fig["ops_median"], fig["ops_execs"]), (None, 0))

    @unittest.skipUnless(os.path.exists(os.path.join(BUILD, "targets", "fuzz_heap")) and
                         os.path.exists(os.path.join(BUILD, "heapfuzz")),
                         "fuzz_heap or heapfuzz is not built in %s" % BUILD)
    def test_target_counts_ops(self):
        """The real target (this build's replay driver): every execution of every seed counted
        once, with the op count `heapfuzz print` lists for it."""
        seeds = sorted(glob.glob(os.path.join(BUILD, "corpus", "fuzz_heap", "*.bin")))[:8]
        self.assertTrue(seeds)
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        want = {}
        for seed in seeds:
            text = subprocess.run([os.path.join(BUILD, "heapfuzz"), "print", seed],
                                  capture_output=True, text=True, env=env, check=True).stdout
            n = sum(1 for line in text.splitlines()
                    if line.strip() and not line.startswith(("#", "heapfuzz-ops", "config")))
            want[n] = want.get(n, 0) + 3
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "h")
            env["HEAPFUZZ_OPS_HISTOGRAM"] = path
            subprocess.run([os.path.join(BUILD, "targets", "fuzz_heap"), "-runs=3"] + seeds,
                           capture_output=True, env=env, check=True)
            with open(path) as f:
                lines = f.read().splitlines()
            self.assertEqual(len(lines), 1, lines)  # one process, one flush at its exit
            self.assertRegex(lines[0], r"^heapfuzz-ops-histogram 1 id=\d+\.\d+ execs=%d "
                             % (3 * len(seeds)))
            self.assertEqual(campaign_stats.read_ops_histogram(path), want)
            # without the variable: no file, nothing counted
            del env["HEAPFUZZ_OPS_HISTOGRAM"]
            os.unlink(path)
            subprocess.run([os.path.join(BUILD, "targets", "fuzz_heap")] + seeds,
                           capture_output=True, env=env, check=True)
            self.assertFalse(os.path.exists(path))

    def test_count_files(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("crash-1", "crash-1.log", "timeout-2", "README.txt", ".state"):
                open(os.path.join(tmp, name), "w").close()
            os.mkdir(os.path.join(tmp, "sub"))
            self.assertEqual(campaign_stats.count_files(tmp), 2)
            self.assertEqual(campaign_stats.count_files(tmp, ("crash-",)), 1)
            self.assertEqual(campaign_stats.count_files(os.path.join(tmp, "nope")), 0)


class FakeRun:
    def __init__(self, inst, state="stopped", rc=0):
        self.inst, self.state, self.rc = inst, state, rc


class Report(unittest.TestCase):
    """report.md from made-up figures: its sections in order, the instance table's execs/s and
    median ops, and a section added by another module."""

    def campaign(self, out):
        args = types.SimpleNamespace(
            duration=600, jobs=2, targets=["fuzz_heap"], engine="libfuzzer", tsan=True,
            out=out, merged_dir=os.path.join(out, "merged"), build_root=os.path.join(ROOT,
                                                                                    "build"),
            secondary=False, node=None, inject_bug=None)
        plan = campaign_plan.Plan(args)
        runs = [FakeRun(i) for i in plan.instances]
        figs = {}
        for r in runs:
            f = {"execs": 0, "rate": 0.0, "now_rate": None, "cov": None, "cov_label": "",
                 "corpus": None, "corpus_start": 0, "crashes": 0, "hangs": 0,
                 "new_crashes": 0, "new_hangs": 0, "stability": None, "rate_series": [],
                 "cov_series": [], "detail": "", "ops_median": None, "ops_execs": 0}
            if r.inst.kind == "libfuzzer":
                f.update(execs=3000000, rate=5012.4, cov=5200, cov_label="cov", corpus=900,
                         corpus_start=31, ops_median=57, ops_execs=2999000,
                         rate_series=[(10, 4000.0), (20, 5000.0)])
            else:
                f.update(execs=1200, rate=2.0, corpus=77)
            figs[r.inst.name] = f
        return types.SimpleNamespace(
            plan=plan, runs=runs, run_id="20260101T000000Z", manifest_commit="abc123",
            started=1000.0, ended=1600.0, interrupted=False,
            log_dir=os.path.join(out, "logs", "20260101T000000Z"),
            figures=lambda r: figs[r.inst.name])

    def test_sections_and_instances(self):
        with tempfile.TemporaryDirectory() as tmp:
            camp = self.campaign(tmp)
            ctx = campaign_report.Context(camp, ["scripts/fuzz", "--jobs", "2"], {},
                                          {"ran": False, "why": "test", "crashes": []}, {})
            lines = campaign_report.report_lines(ctx)
            self.assertEqual(lines[0], "# heapfuzz campaign report")
            heads = [line for line in lines if line.startswith("## ")]
            self.assertEqual(heads, ["## Findings of this run", "## Instances", "## Plots",
                                     "## Corpus merge", "## Commands"])
            header = next(line for line in lines if line.startswith("| instance |"))
            cols = [c.strip() for c in header.strip("|").split("|")]
            self.assertEqual(cols[4:7], ["execs", "execs/s", "median ops"])
            row = next(line for line in lines if line.startswith("| libfuzzer-fuzz_heap |"))
            cells = [c.strip() for c in row.strip("|").split("|")]
            self.assertEqual(len(cells), len(cols))
            self.assertEqual(cells[4:8], ["3000000", "5012", "57 (of 2999000 execs)",
                                          "cov 5200"])
            row = next(line for line in lines if line.startswith("| tsan-replay |"))
            self.assertEqual([c.strip() for c in row.strip("|").split("|")][6], "-")
            self.assertIn("HEAPFUZZ_OPS_HISTOGRAM=", "\n".join(lines))  # in the commands

            # Another module's section goes where it is put, the others stay in order.
            def extra(c):
                return ["", "## Extra", "", "%d runs" % len(c.campaign.runs)]
            sections = list(campaign_report.SECTIONS)
            sections.insert(sections.index(campaign_report.section_commands), extra)
            lines = campaign_report.report_lines(ctx, sections)
            heads = [line for line in lines if line.startswith("## ")]
            self.assertEqual(heads, ["## Findings of this run", "## Instances", "## Plots",
                                     "## Corpus merge", "## Extra", "## Commands"])
            self.assertIn("2 runs", lines)

    def test_write(self):
        with tempfile.TemporaryDirectory() as tmp:
            camp = self.campaign(tmp)
            path, figs = campaign_report.write(camp, ["scripts/fuzz"], {},
                                               {"ran": False, "why": "x", "crashes": []}, {})
            self.assertEqual(path, os.path.join(tmp, "report.md"))
            with open(path) as f:
                text = f.read()
            self.assertIn("| libfuzzer-fuzz_heap | libFuzzer | fuzz_heap | stopped | 3000000 | "
                          "5012 | 57 (of 2999000 execs) | cov 5200 |", text)
            self.assertTrue(os.path.exists(os.path.join(tmp, "plots", "execs_per_sec.svg")))
            self.assertEqual(figs["libfuzzer-fuzz_heap"]["ops_median"], 57)


if __name__ == "__main__":
    fuzz_helpers.unittest_main()
