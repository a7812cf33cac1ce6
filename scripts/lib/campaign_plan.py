"""campaign_plan: what scripts/fuzz starts: options, instances, their exact command lines.

Everything here is pure (no process is started, no file written), so `scripts/fuzz --dry-run`
prints exactly the plan a real run executes, and the tests check it.

Layout of a campaign's output directory (default campaign/, git-ignored):

  campaign.json              the plan and, once finished, what happened (read by scripts/triage)
  report.md, plots/          the summary and its SVG plots
  runner.log                 what the runner did (builds, starts, stops, merges)
  logs/<run>/<instance>.log  each engine's output, one folder per run (<run>: UTC start time)
  libfuzzer/<target>/corpus  libFuzzer's corpus (its first corpus directory: new inputs land here)
  libfuzzer/<target>/crashes crash-*, leak-*, timeout-*, oom-* (-artifact_prefix)
  <engine>/<target>/<instance>.ops-histogram
                             ops per executed program, counted by the target (fuzz_heap):
                             one cumulative line per process, appended (campaign_stats reads it)
  afl/<target>/input         AFL++'s -i: the seeds and corpus/merged/<target>
  afl/<target>/sync/<name>   AFL++'s -o sync directory: main (-M), s1, s2... (-S)
  tsan/<target>/crashes      inputs whose TSan replay failed, each with its .log
  tsan/replayed.txt          inputs already replayed under TSan (deterministic ones are not
                             replayed again)
  explore/fuzz_heap/crashes  the explore phase's crash-explore-* and timeout-explore-* files,
                             each with its .log
  explore/explored.txt       programs already explored (by content hash and build: once per build)
  explore/instance.json      what triage needs to know of those crash files (engine explore)
"""

import configparser
import os
import re
import shlex

import campaign_explore

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = ("fuzz_heap", "fuzz_heap_threads", "fuzz_ops_text")
# Targets fuzzed only when asked for (--target): the foreign heaps' fuzz_heap, each built when the
# fuzz preset has its heap: fuzz_lua (targets/fuzz_lua.c, a Lua 5.4 tree: cmake/lua.cmake) and
# fuzz_jsc (targets/fuzz_jsc.c, Debian's JavaScriptCore: cmake/jsc.cmake). libFuzzer only (neither
# is built for AFL++ yet); their seeds are fuzz_heap's (corpus_fuzz_heap's binaries).
EXTRA_TARGETS = ("fuzz_lua", "fuzz_jsc")
LIBFUZZER_ONLY_TARGETS = EXTRA_TARGETS
SEEDS_OF = {t: "fuzz_heap" for t in EXTRA_TARGETS}
# Targets whose input is a binary op program: the op dictionary and the op mutator fit them.
# fuzz_ops_text parses the text form, so it gets neither (cmplog finds its keywords).
BINARY_TARGETS = ("fuzz_heap", "fuzz_heap_threads") + EXTRA_TARGETS
# TSan replays these through the tsan preset's standalone binaries.
TSAN_TARGETS = ("fuzz_heap", "fuzz_heap_threads")
# Targets that count the ops of every program they execute into the file named by
# HEAPFUZZ_OPS_HISTOGRAM (targets/fuzz_heap.c), for the report's median ops per program.
OPS_HISTOGRAM_TARGETS = ("fuzz_heap",) + EXTRA_TARGETS
OPS_HISTOGRAM_ENV = "HEAPFUZZ_OPS_HISTOGRAM"
ENGINES = ("libfuzzer", "afl", "both")
OPTIONS_FILE = os.path.join(ROOT, "dictionaries", "fuzz_heap.options")
DICT_FILE = os.path.join(ROOT, "dictionaries", "fuzz_heap.dict")
# TSan settings of the unit and corpus tests (tests/CMakeLists.txt), no suppressions.
TSAN_OPTIONS = "halt_on_error=1:second_deadlock_stack=1"
# Seconds an engine gets to stop after SIGINT before the runner kills its process group.
STOP_GRACE = 20
# The bugs the heap core can be built with, for a rehearsal of the campaign (--inject-bug):
# CMakeLists.txt's HC_KNOWN_BUGS, the names -DHC_INJECT_BUG=NAME accepts (dashes or underscores).
KNOWN_BUGS = ("stale-last-active", "remove-block-order", "sweep-owned-block", "missing-barrier",
              "no-stop-allocating", "detach-keeps-block", "weak-not-cleared", "version-wrap",
              "size-class-short", "large-double-release", "unlocked-sweep-bits",
              "shrink-stale-lookahead", "sweep-stale-lookahead", "resume-unpin-early")
# The preset that builds heapfuzz_bug_<name>, the replay tool triage uses on a bug campaign's
# crashes (CMakePresets.json's HF_BUG_VARIANTS): tsan for the race, asan for the others.
TSAN_BUGS = ("unlocked-sweep-bits",)


class UsageError(Exception):
    """A bad option: printed with the usage hint, exit status 2."""


def parse_duration(text):
    """'20s', '10m', '8h', '1h30m' or plain seconds ('90') -> seconds (int > 0)."""
    t = text.strip().lower()
    if re.fullmatch(r"\d+", t):
        seconds = int(t)
    elif re.fullmatch(r"(\d+[smh])+", t):
        unit = {"s": 1, "m": 60, "h": 3600}
        seconds = sum(int(n) * unit[u] for n, u in re.findall(r"(\d+)([smh])", t))
    else:
        raise UsageError("bad duration %r: give a number with s, m or h (20s, 10m, 8h)" % text)
    if seconds <= 0:
        raise UsageError("bad duration %r: must be more than 0 seconds" % text)
    return seconds


def parse_bug(text):
    """An --inject-bug name, with dashes or underscores -> its dashed name (as KNOWN_BUGS)."""
    name = text.strip().lower().replace("_", "-")
    if name not in KNOWN_BUGS:
        raise UsageError("unknown injected bug %r (known: %s)" % (text, ", ".join(KNOWN_BUGS)))
    return name


def bug_slug(name):
    """stale-last-active -> stale_last_active (build/bug-<slug>/, heapfuzz_bug_<slug>)."""
    return name.replace("-", "_")


def relpath(path, base):
    """path relative to base, or path itself where there is no relative path (another drive)."""
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return path


def format_duration(seconds):
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return "%d:%02d:%02d" % (h, m, s)


def read_options(path=OPTIONS_FILE):
    """dictionaries/fuzz_heap.options -> ({section: {key: value}}); the OSS-Fuzz style file
    libFuzzer itself does not read, so the runner turns it into flags and environment."""
    cp = configparser.ConfigParser(comment_prefixes=("#", ";"), inline_comment_prefixes=None,
                                   interpolation=None)
    cp.optionxform = str
    try:
        with open(path) as f:
            cp.read_file(f)
    except OSError as e:
        raise UsageError("cannot read %s: %s" % (path, e.strerror))
    except configparser.Error as e:
        raise UsageError("cannot parse %s: %s" % (path, e))
    if not cp.has_section("libfuzzer") or not cp.has_section("asan"):
        raise UsageError("%s needs [libfuzzer] and [asan] sections" % path)
    return {s: dict(cp.items(s)) for s in cp.sections()}


def libfuzzer_flags(options):
    """The options file's [libfuzzer] keys as flags, in file order: every key but dict, which
    only the targets that read binary programs get (the caller adds it)."""
    return ["-%s=%s" % (k, v) for k, v in options["libfuzzer"].items() if k != "dict"]


def fork_tmpdir():
    """Where libFuzzer's fork mode keeps its jobs' files (it makes a directory in $TMPDIR, else
    /tmp): every job's new inputs and their feature files are written there, and the parent
    merges and deletes them. On a disk file system that churn was a fifth of a campaign's CPU
    time (ext4 looking for free inodes among the ones just deleted), so the campaign gives the
    engine a tmpfs: the user's own TMPDIR if set, else /dev/shm if it is a writable directory,
    else nothing (the engine's /tmp)."""
    if os.environ.get("TMPDIR"):
        return os.environ["TMPDIR"]
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK):
        return "/dev/shm"
    return None


def sanitizer_env(options, afl):
    """ASAN_OPTIONS and UBSAN_OPTIONS for the ASan+UBSan builds. AFL++ refuses to start unless
    both abort (abort_on_error=1) and do not symbolize (symbolize=0): its crash detection is
    the signal, and triage replays every crash with full reports anyway."""
    asan = dict(options["asan"])
    ubsan = dict(options.get("ubsan", {}))
    ubsan.setdefault("print_stacktrace", "1")
    ubsan.setdefault("halt_on_error", "1")
    if afl:
        for d in (asan, ubsan):
            d["abort_on_error"] = "1"
            d["symbolize"] = "0"
    return {"ASAN_OPTIONS": ":".join("%s=%s" % kv for kv in asan.items()),
            "UBSAN_OPTIONS": ":".join("%s=%s" % kv for kv in ubsan.items())}


class Instance:
    """One thing the campaign runs: a libFuzzer fork-mode parent, one afl-fuzz, or the TSan
    replay loop (run inside the runner; its cmd is informational)."""

    def __init__(self, name, kind, target, preset, jobs):
        self.name = name
        self.kind = kind  # libfuzzer | afl | tsan
        self.target = target  # for tsan: "fuzz_heap,fuzz_heap_threads"
        self.preset = preset
        self.jobs = jobs  # cores it is meant to keep busy
        self.cmd = []
        self.env = {}
        self.role = ""  # afl: main or secondary
        self.corpus_dir = None  # where its corpus grows
        self.crash_dirs = []  # where its findings land
        self.binary = None
        self.ops_histogram = None  # where its target counts ops per executed program, if it does

    def engine_label(self):
        return {"libfuzzer": "libFuzzer", "afl": "AFL++", "tsan": "TSan replay",
                "explore": "explore"}[self.kind]

    def command_line(self):
        """The exact command, environment first, as one copy-pasteable shell line."""
        envs = ["%s=%s" % (k, shlex.quote(v)) for k, v in sorted(self.env.items())]
        return " ".join(envs + [shlex.join(self.cmd)])

    def to_json(self):
        return {"name": self.name, "engine": {"tsan": "replay"}.get(self.kind, self.kind),
                "target": self.target, "preset": self.preset, "jobs": self.jobs,
                "role": self.role, "binary": self.binary, "command": self.cmd,
                "env": self.env, "corpus_dir": self.corpus_dir, "crash_dirs": self.crash_dirs,
                "ops_histogram": self.ops_histogram}


class Plan:
    """The campaign: options plus the instances, derived without touching the machine."""

    def __init__(self, args):
        self.duration = args.duration
        self.jobs = args.jobs
        self.targets = args.targets
        self.engines = ["libfuzzer", "afl"] if args.engine == "both" else [args.engine]
        self.tsan = args.tsan and any(t in TSAN_TARGETS for t in self.targets)
        # The explore phase (campaign_explore.py) of fuzz_heap's programs runs on the TSan
        # instance's core, in turns with the replays: it goes where that instance goes.
        self.explore = getattr(args, "explore", True) and self.tsan and \
            "fuzz_heap" in self.targets
        self.out = os.path.abspath(args.out)
        self.merged = os.path.abspath(args.merged_dir)
        self.build_root = os.path.abspath(args.build_root)
        # Another machine's AFL++ instances share this --out (NFS, or rsync of the sync
        # directories): these are all -S, named after the machine, and leave -M to the first.
        self.secondary = args.secondary
        self.node = re.sub(r"[^A-Za-z0-9_-]", "_", args.node or os.uname().nodename)
        # A rehearsal on a heap built with one known bug (-DHC_INJECT_BUG=NAME): its own build
        # trees, merged corpus and findings (scripts/fuzz chose the defaults), replayed by
        # triage with the bug's heapfuzz. None for a real campaign.
        self.inject_bug = getattr(args, "inject_bug", None)
        self.options = read_options()
        self.instances = []
        self.explore_inst = None  # not in instances: it is a phase of tsan-replay
        self.oversubscribed = False
        self._plan()

    # --- paths ----------------------------------------------------------------------------

    def build_dir(self, preset):
        return os.path.join(self.build_root, preset)

    def binary(self, preset, target):
        return os.path.join(self.build_dir(preset), "targets", target)

    def seeds(self, preset, target):
        """The starting corpus: the build's compiled seeds, or for the text parser the
        hand-written .ops seeds themselves (as ctest replays them)."""
        if target == "fuzz_ops_text":
            return os.path.join(ROOT, "corpus", "fuzz_heap")
        return os.path.join(self.build_dir(preset), "corpus", SEEDS_OF.get(target, target))

    def configure_command(self, preset):
        """cmake's configure step of preset in this plan's build root."""
        cmd = ["cmake", "--preset", preset]
        if os.path.realpath(self.build_dir(preset)) != os.path.realpath(
                os.path.join(ROOT, "build", preset)):
            cmd += ["-B", self.build_dir(preset)]
        if self.inject_bug:
            cmd.append("-DHC_INJECT_BUG=%s" % self.inject_bug)
        return cmd

    def replay_heapfuzz(self):
        """A bug campaign's replay tool: (preset, binary name, path) of heapfuzz_bug_<name> in
        the repository's build/<preset>/ (where scripts/repro and scripts/promote find it again
        from a finding's meta.json). None for a real campaign (triage's own default)."""
        if not self.inject_bug:
            return None
        preset = "tsan" if self.inject_bug in TSAN_BUGS else "asan"
        name = "heapfuzz_bug_" + bug_slug(self.inject_bug)
        return preset, name, os.path.join(ROOT, "build", preset, name)

    def explore_heapfuzz(self):
        """(preset, binary name, path) of the heapfuzz the explore phase runs: on a bug campaign
        the bug's replay tool (explore must run the broken heap to find the bug), else
        build/asan/heapfuzz; either way the build triage replays its crashes with."""
        return self.replay_heapfuzz() or ("asan", "heapfuzz",
                                          os.path.join(ROOT, "build", "asan", "heapfuzz"))

    def explore_meta(self):
        """<out>/explore/instance.json: how scripts/triage replays the explore phase's crashes
        (its scan reads it for every artifact below)."""
        preset, _, path = self.explore_heapfuzz()
        rel = relpath(path, ROOT)
        return {"target": "fuzz_heap", "preset": preset, "engine": "explore",
                "heapfuzz": path if rel.startswith(os.pardir) else rel}

    def findings_dir(self):
        """Where triage files the findings: the repository's findings/ (triage's default) for a
        real campaign, <out>/findings for a bug campaign."""
        return os.path.join(self.out, "findings") if self.inject_bug else None

    def triage_command(self):
        cmd = [os.path.join(ROOT, "scripts", "triage"), "--campaign", self.out]
        if self.inject_bug:
            cmd += ["--findings", self.findings_dir(), "--heapfuzz", self.replay_heapfuzz()[2]]
        return cmd

    def tools(self):
        """[(preset, binary)] of build/<preset>/ the campaign needs besides the presets' targets:
        the replay tool of a bug campaign and the explore phase's heapfuzz (often the same)."""
        want = [self.replay_heapfuzz(), self.explore_heapfuzz() if self.explore else None]
        return list(dict.fromkeys((t[0], t[1]) for t in want if t))

    def presets(self):
        """Presets to build, each with its targets, in build order."""
        need = []
        if "libfuzzer" in self.engines:
            need.append(("fuzz", list(self.targets)))
        afl = [t for t in self.targets if t not in LIBFUZZER_ONLY_TARGETS]
        if "afl" in self.engines and afl:
            need.append(("afl", afl + ["afl_mutator"]))
            need.append(("afl-cmplog", afl))
        if self.tsan:
            need.append(("tsan", [t for t in self.targets if t in TSAN_TARGETS]))
        result = []
        for preset, targets in need:
            corpora = ["corpus_" + SEEDS_OF.get(t, t) for t in targets if t in BINARY_TARGETS]
            result.append((preset, targets + list(dict.fromkeys(corpora))))
        return result

    # --- the plan -------------------------------------------------------------------------

    def _shares(self):
        """Jobs per (target, engine): one each, and the rest round robin, fuzz_heap first (the
        deterministic target finds the most per execution), AFL++ before libFuzzer in each
        target (an AFL++ share beyond one becomes a -S instance, libFuzzer's a fork job)."""
        units = [(t, e) for t in self.targets for e in sorted(self.engines)
                 if e == "libfuzzer" or t not in LIBFUZZER_ONLY_TARGETS]
        shares = {u: 1 for u in units}
        base = len(units) + (1 if self.tsan else 0)
        self.oversubscribed = base > self.jobs
        spare = max(0, self.jobs - base)
        i = 0
        while spare > 0 and units:
            shares[units[i % len(units)]] += 1
            spare -= 1
            i += 1
        return units, shares

    def _plan(self):
        units, shares = self._shares()
        for target, engine in units:
            if engine == "libfuzzer":
                self.instances.append(self._libfuzzer(target, shares[(target, engine)]))
            else:
                for k in range(shares[(target, engine)]):
                    self.instances.append(self._afl(target, k))
        if self.tsan:
            self.instances.append(self._tsan())
        if self.explore:
            self.explore_inst = self._explore()

    def _libfuzzer(self, target, jobs):
        inst = Instance("libfuzzer-" + target, "libfuzzer", target, "fuzz", jobs)
        base = os.path.join(self.out, "libfuzzer", target)
        inst.corpus_dir = os.path.join(base, "corpus")
        inst.crash_dirs = [os.path.join(base, "crashes")]
        inst.binary = self.binary("fuzz", target)
        # Fork mode: every job is a child process, so a crash (kept by -ignore_crashes=1, as
        # are OOMs and timeouts by default) ends a job, never the campaign.
        cmd = [inst.binary, "-fork=%d" % jobs, "-ignore_crashes=1",
               "-max_total_time=%d" % self.duration, "-print_final_stats=1",
               "-artifact_prefix=%s/" % inst.crash_dirs[0]]
        cmd += libfuzzer_flags(self.options)
        if target in BINARY_TARGETS:
            cmd.append("-dict=%s" % DICT_FILE)
        # New inputs go to the first directory: the campaign's own corpus, which a later run
        # with the same --out resumes from; the seeds and the merged corpus are read only.
        cmd += [inst.corpus_dir, self.seeds("fuzz", target), os.path.join(self.merged, target)]
        inst.cmd = cmd
        inst.env = sanitizer_env(self.options, afl=False)
        tmp = fork_tmpdir()
        if tmp:
            inst.env["TMPDIR"] = tmp
        self._ops_histogram(inst)
        return inst

    def _afl(self, target, k):
        if self.secondary:
            k += 1  # no main here
            role = "%s-s%d" % (self.node, k)
        else:
            role = "main" if k == 0 else "s%d" % k
        inst = Instance("afl-%s-%s" % (target, role), "afl", target, "afl", 1)
        inst.role = "main" if k == 0 else "secondary"
        base = os.path.join(self.out, "afl", target)
        sync = os.path.join(base, "sync")
        inst.corpus_dir = os.path.join(sync, role, "queue")
        inst.crash_dirs = [os.path.join(sync, role, "crashes"), os.path.join(sync, role, "hangs")]
        inst.binary = self.binary("afl", target)
        timeout_ms = int(float(self.options["libfuzzer"].get("timeout", "10")) * 1000)
        cmd = ["afl-fuzz", "-i", os.path.join(base, "input"), "-o", sync,
               "-m", "none", "-t", str(timeout_ms), "-V", str(self.duration)]
        if k == 0:
            # The main instance: comparison logging (its binary from the afl-cmplog preset),
            # and it imports the libFuzzer instance's finds and the merged corpus (-F).
            cmd += ["-M", role, "-c", self.binary("afl-cmplog", target)]
            if "libfuzzer" in self.engines:
                cmd += ["-F", os.path.join(self.out, "libfuzzer", target, "corpus")]
            cmd += ["-F", os.path.join(self.merged, target)]
        else:
            # Secondaries differ in power schedule, so they do not all chase the same seeds.
            schedules = ("explore", "coe", "fast", "rare", "exploit", "seek")
            cmd += ["-S", role, "-p", schedules[(k - 1) % len(schedules)]]
        if target in BINARY_TARGETS:
            cmd += ["-x", DICT_FILE]
        cmd += ["--", inst.binary]
        inst.cmd = cmd
        env = sanitizer_env(self.options, afl=True)
        env.update({
            "AFL_NO_UI": "1",  # a log file, not a status screen
            "AFL_AUTORESUME": "1",  # an existing sync dir (same --out) resumes; -i is ignored
            "AFL_SKIP_CPUFREQ": "1",  # no governor checks on shared machines
            "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES": "1",  # core_pattern is left as it is
            # Instances share the cores with each other and with whatever else runs: pinning
            # fails or piles instances up once there are more of them than free cores.
            "AFL_NO_AFFINITY": "1",
            "AFL_SKIP_CRASHES": "1",  # a merged input that crashes must not stop the start
            "AFL_CMPLOG_ONLY_NEW": "1",  # on resume, cmplog only for new finds
            # Instances import each other's finds every AFL_SYNC_TIME minutes, 30 by default:
            # a 10-minute campaign would never sync. A tenth of the campaign, 1 to 30 minutes.
            "AFL_SYNC_TIME": str(min(30, max(1, self.duration // 600))),
        })
        if target in BINARY_TARGETS:
            # The structure-aware mutator; AFL++'s own stages stay on (targets/afl_mutator.c).
            env["AFL_CUSTOM_MUTATOR_LIBRARY"] = os.path.join(
                self.build_dir("afl"), "targets", "afl_mutator.so")
        inst.env = env
        self._ops_histogram(inst)
        return inst

    def _ops_histogram(self, inst):
        """Where the instance's target counts its executed programs' ops: a file in the
        directory the runner starts the engine in (<out>/<engine>/<target>/, made before the
        start), named after the instance (and the machine, for a --secondary one)."""
        if inst.target in OPS_HISTOGRAM_TARGETS:
            name = "%s%s.ops-histogram" % (inst.name, self.suffix())
            inst.ops_histogram = os.path.join(self.out, inst.kind, inst.target, name)
            inst.env[OPS_HISTOGRAM_ENV] = inst.ops_histogram

    def _tsan(self):
        targets = [t for t in self.targets if t in TSAN_TARGETS]
        inst = Instance("tsan-replay", "tsan", ",".join(targets), "tsan", 1)
        inst.corpus_dir = None
        inst.crash_dirs = [os.path.join(self.out, "tsan", t, "crashes") for t in targets]
        inst.binary = ",".join(self.binary("tsan", t) for t in targets)
        # What the loop runs, batch by batch (scripts/lib/campaign_tsan.py).
        inst.cmd = [self.binary("tsan", targets[0]), "-runs=1", "INPUT..."]
        inst.env = {"TSAN_OPTIONS": TSAN_OPTIONS}
        return inst

    def _explore(self):
        preset, _, path = self.explore_heapfuzz()
        # No core of its own (jobs 0): it takes turns with the TSan replays on theirs.
        inst = Instance("explore-fuzz_heap", "explore", "fuzz_heap", preset, 0)
        inst.crash_dirs = [campaign_explore.crash_dir(os.path.join(self.out, "explore"))]
        inst.binary = path
        # What the loop runs, batch by batch (scripts/lib/campaign_explore.py).
        inst.cmd = campaign_explore.explore_argv(path, inst.crash_dirs[0], ["FILE..."])
        inst.env = sanitizer_env(self.options, afl=False)
        return inst

    def tsan_sources(self, target):
        """Directories whose inputs the TSan loop replays for target: the seeds, the merged
        corpus, and the corpora of this campaign's other instances (growing as they run)."""
        dirs = [self.seeds("tsan", target), os.path.join(self.merged, target)]
        for inst in self.instances:
            if inst.kind in ("libfuzzer", "afl") and inst.target == target:
                dirs.append(inst.corpus_dir)
        return dirs

    def merge_sources(self, target):
        """The campaign's corpora of target, to merge into corpus/merged/<target>."""
        return [i.corpus_dir for i in self.instances
                if i.kind in ("libfuzzer", "afl") and i.target == target]

    def suffix(self):
        """Files of a --secondary machine carry its name, so that machines sharing one --out
        do not overwrite each other's campaign.json, report.md and logs."""
        return "-" + self.node if self.secondary else ""

    def to_json(self):
        data = {"duration": self.duration, "secondary": self.secondary, "node": self.node,
                "jobs": self.jobs, "targets": self.targets, "engines": self.engines,
                "tsan": self.tsan, "out": self.out, "merged": self.merged,
                "explore": self.explore_inst.to_json() if self.explore else None,
                "oversubscribed": self.oversubscribed,
                "instances": [i.to_json() for i in self.instances]}
        if self.inject_bug:
            data.update({"inject_bug": self.inject_bug, "build_root": self.build_root,
                         "findings": self.findings_dir(),
                         "heapfuzz": self.replay_heapfuzz()[2]})
        return data

    def bug_banner(self):
        """The loud line a bug campaign starts with (and its report and --dry-run)."""
        return ("INJECTED BUG %s: a rehearsal on a heap built with -DHC_INJECT_BUG=%s (%s/); "
                "its findings are not bugs of the shipped heap"
                % (self.inject_bug, self.inject_bug, self.build_root))

    def describe(self):
        """The --dry-run text: one block per instance with its exact command line."""
        procs = sum(i.jobs for i in self.instances)
        lines = ["plan: %d instances, %d processes on %d jobs, %s (%ds), output %s"
                 % (len(self.instances), procs, self.jobs, format_duration(self.duration),
                    self.duration, self.out)]
        if self.inject_bug:
            preset, name, path = self.replay_heapfuzz()
            lines.append(self.bug_banner())
            for p, _ in self.presets():
                lines.append("  $ " + shlex.join(self.configure_command(p)))
            lines.append("  $ " + shlex.join(["cmake", "--build", "--preset", preset,
                                              "--target", name]))
            lines.append("  new inputs are merged into %s (never corpus/merged)" % self.merged)
            lines.append("  triage files the crashes into %s, replayed with %s"
                         % (self.findings_dir(), path))
            lines.append("  $ " + shlex.join(self.triage_command()))
        if self.oversubscribed:
            lines.append("note: more instances than --jobs: they share the cores")
        lines.append("presets: " + ", ".join(p for p, _ in self.presets()))
        for inst in self.instances:
            what = "%s, %s, preset %s, %d job%s" % (inst.engine_label(), inst.target,
                                                    inst.preset, inst.jobs,
                                                    "" if inst.jobs == 1 else "s")
            if inst.role:
                what += ", " + inst.role
            lines.append("")
            lines.append("instance %s (%s)" % (inst.name, what))
            if inst.kind == "tsan":
                for t in inst.target.split(","):
                    lines.append("  replays %s into %s" % (
                        " ".join(self.tsan_sources(t)), os.path.join(self.out, "tsan", t,
                                                                     "crashes")))
                    lines.append("  $ " + shlex.join(["env", "TSAN_OPTIONS=" + TSAN_OPTIONS,
                                                      self.binary("tsan", t), "-runs=1",
                                                      "INPUT..."]))
                if self.explore:
                    e = self.explore_inst
                    lines.append("  and on the same core, in turns: %s explores the programs of "
                                 "%s (multi-threaded first) into %s"
                                 % (e.name, " ".join(self.tsan_sources(e.target)),
                                    e.crash_dirs[0]))
                    lines.append("  $ " + e.command_line())
            else:
                lines.append("  $ " + inst.command_line())
        return "\n".join(lines)
