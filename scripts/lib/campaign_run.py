"""campaign_run: runs a Plan (campaign_plan): installs, builds, starts the engines, shows their
status, stops them on time or on SIGINT/SIGTERM, merges the new corpus and calls triage.

Engines run in their own sessions (process groups), so the terminal's Ctrl-C reaches only the
runner, which then stops each group itself: SIGINT first (libFuzzer and AFL++ both wrap up on
it), SIGKILL after campaign_plan.STOP_GRACE seconds. Only process groups the runner started are
ever signalled.
"""

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import hfprogress
from campaign_plan import ROOT, STOP_GRACE, format_duration, libfuzzer_flags, sanitizer_env
import campaign_stats as stats
from campaign_explore import ExploreLoop, SharedCore
from campaign_tsan import TsanReplay

PROG = "scripts/fuzz"


class Failure(Exception):
    """A step the campaign cannot go on without (install, build, start): exit status 1."""


def say(msg):
    print("%s: %s" % (PROG, msg), file=sys.stderr, flush=True)


def have(cmd):
    return shutil.which(cmd) is not None


# --- installing -----------------------------------------------------------------------------

def missing_packages(plan):
    """Debian packages the plan needs that are not installed, judged by what they provide."""
    want = []
    # gdb: triage signs a replay that died of a bare signal from gdb's backtrace.
    for cmd, pkg in (("clang", "clang"), ("cmake", "cmake"), ("ninja", "ninja-build"),
                     ("llvm-symbolizer", "llvm"), ("gdb", "gdb")):
        if not have(cmd) and pkg not in want:
            want.append(pkg)
    rt_ok = False
    if have("clang"):
        r = subprocess.run(["clang", "--print-runtime-dir"], capture_output=True, text=True)
        rt = r.stdout.strip()
        libs = ["asan", "tsan", "fuzzer"]
        rt_ok = bool(rt) and all(os.path.exists(os.path.join(rt, "libclang_rt.%s-x86_64.a" % n))
                                 for n in libs)
    if not rt_ok:
        want.append("libclang-rt-dev")
    if "afl" in plan.engines:
        if not (have("afl-fuzz") and have("afl-clang-fast") and have("afl-cmin")):
            want.append("afl++")
        if not have("gnuplot"):
            want.append("gnuplot-nox")  # afl-plot draws with it
    return want


def install(plan, log):
    want = missing_packages(plan)
    if not want:
        return
    if os.geteuid() != 0:
        raise Failure("missing packages: %s; install them as root (apt-get install %s) or run "
                      "scripts/fuzz as root" % (" ".join(want), " ".join(want)))
    say("installing: " + " ".join(want))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run_logged(["apt-get", "update"], log, env=env, what="apt-get update")
    if "libclang-rt-dev" in want:
        # Debian 12 has the versioned name only where the unversioned one is absent.
        r = subprocess.run(["apt-cache", "policy", "libclang-rt-dev"], capture_output=True,
                           text=True)
        if "Candidate: (none)" in r.stdout or "Candidate:" not in r.stdout:
            want[want.index("libclang-rt-dev")] = "libclang-rt-14-dev"
    run_logged(["apt-get", "install", "-y", "--no-install-recommends"] + want, log, env=env,
               what="apt-get install")


def run_logged(cmd, log, env=None, cwd=ROOT, what=None):
    log.write("$ %s\n" % " ".join(cmd))
    log.flush()
    rc, output = hfprogress.run(cmd, "%s: %s" % (PROG, what or cmd[0]), cwd=cwd, env=env)
    log.write(output)
    log.flush()
    if rc != 0:
        sys.stderr.write(output[-3000:])
        raise Failure("%s failed (exit %d); the whole output is in %s"
                      % (what or cmd[0], rc, log.name))
    return output


# --- building -------------------------------------------------------------------------------

def build(plan, log):
    jobs = str(max(1, min(plan.jobs, os.cpu_count() or 1)))
    for preset, targets in plan.presets():
        build_dir = plan.build_dir(preset)
        configure = plan.configure_command(preset)
        say("building preset %s (%s)%s" % (preset, " ".join(targets),
                                          " with -DHC_INJECT_BUG=%s in %s" % (
                                              plan.inject_bug, build_dir)
                                          if plan.inject_bug else ""))
        run_logged(configure, log, what="cmake --preset %s" % preset)
        run_logged(["cmake", "--build", build_dir, "-j", jobs,
                    "--target"] + targets, log, what="building preset %s" % preset)
    # Triage's replay tool of a bug campaign, where repro and promote find it again
    # (build/<preset>/), and the heapfuzz the explore phase runs.
    for preset, name in plan.tools():
        say("building %s (preset %s) for %s" % (name, preset, "triage and explore" if (
            plan.explore and (preset, name) == plan.explore_heapfuzz()[:2]) else "triage"))
        if not os.path.exists(os.path.join(ROOT, "build", preset, "CMakeCache.txt")):
            run_logged(["cmake", "--preset", preset], log, what="cmake --preset %s" % preset)
        run_logged(["cmake", "--build", "--preset", preset, "-j", jobs, "--target", name], log,
                   what="building %s" % name)


def configured_bug(build_dir):
    """HC_INJECT_BUG of a configured build directory, dashed ("none" for the shipped heap), or
    None when it is not configured."""
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt"), errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(r"^HC_INJECT_BUG:\w+=(.*)$", text, re.M)
    value = (m.group(1).strip() if m else "") or "none"
    return value.lower().replace("_", "-")


def check_binaries(plan):
    """Every file the plan executes or loads must exist (a --no-build run on a missing build)."""
    need = []
    for inst in plan.instances:
        if inst.kind == "tsan":
            need += inst.binary.split(",")
        else:
            need.append(inst.binary)
        need += [inst.env[k] for k in ("AFL_CUSTOM_MUTATOR_LIBRARY",) if k in inst.env]
        if "-c" in inst.cmd:
            need.append(inst.cmd[inst.cmd.index("-c") + 1])
    for t in plan.targets:
        for preset in set(i.preset for i in plan.instances if i.kind != "tsan"):
            need.append(plan.seeds(preset, t))
    if "afl" in plan.engines:
        for tool in ("afl-fuzz", "afl-cmin"):
            if not have(tool):
                raise Failure("%s is not installed (Debian package afl++; run without "
                              "--no-install, as root)" % tool)
    if plan.inject_bug:
        need.append(plan.replay_heapfuzz()[2])
    if plan.explore:
        need.append(plan.explore_heapfuzz()[2])
    missing = [p for p in dict.fromkeys(need) if not os.path.exists(p)]
    if missing:
        tools = ", ".join("cmake --build --preset %s --target %s" % t for t in plan.tools()
                          if os.path.join(ROOT, "build", t[0], t[1]) in missing)
        raise Failure("not built: %s (run without --no-build, or build the presets: %s%s%s)"
                      % (", ".join(missing), ", ".join(p for p, _ in plan.presets()),
                         "; and " + tools if tools else "",
                         " (or --no-explore)" if plan.explore and
                         plan.explore_heapfuzz()[2] in missing and not plan.inject_bug
                         else ""))
    if plan.inject_bug:
        # A rehearsal on a build without the bug would find nothing, and say the bug escaped.
        for preset, _ in plan.presets():
            bug = configured_bug(plan.build_dir(preset))
            if bug is not None and bug != plan.inject_bug:
                raise Failure("%s is configured with HC_INJECT_BUG=%s, not %s (run without "
                              "--no-build, or choose another --build-root)"
                              % (plan.build_dir(preset), bug, plan.inject_bug))


# --- preparing the output directory --------------------------------------------------------

def copy_inputs(src_dirs, dest):
    """Copies the regular files of src_dirs into dest (AFL++'s -i), keeping existing ones."""
    os.makedirs(dest, exist_ok=True)
    for d in src_dirs:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            src = os.path.join(d, name)
            if name.startswith(".") or not os.path.isfile(src):
                continue
            target = os.path.join(dest, name)
            if not os.path.exists(target):
                shutil.copyfile(src, target)


def prepare(plan):
    for t in plan.targets:
        os.makedirs(os.path.join(plan.merged, t), exist_ok=True)
    for inst in plan.instances:
        for d in inst.crash_dirs:
            if inst.kind != "afl":  # AFL++ makes its own, and refuses a half-made one
                os.makedirs(d, exist_ok=True)
        if inst.kind == "libfuzzer":
            os.makedirs(inst.corpus_dir, exist_ok=True)
        if inst.kind == "afl":
            base = os.path.join(plan.out, "afl", inst.target)
            copy_inputs([plan.seeds("afl", inst.target), os.path.join(plan.merged, inst.target)],
                        os.path.join(base, "input"))
            os.makedirs(os.path.join(base, "sync"), exist_ok=True)
            if "libfuzzer" in plan.engines:  # -F wants it even before libFuzzer writes to it
                os.makedirs(os.path.join(plan.out, "libfuzzer", inst.target, "corpus"),
                            exist_ok=True)
    if plan.explore:
        # Read by scripts/triage's scan for every crash file below it (its META_FILES).
        os.makedirs(plan.explore_inst.crash_dirs[0], exist_ok=True)
        path = os.path.join(plan.out, "explore", "instance.json")
        with open(path + ".tmp", "w") as f:
            json.dump(plan.explore_meta(), f, indent=2, sort_keys=True)
        os.replace(path + ".tmp", path)


# --- running --------------------------------------------------------------------------------

class Running:
    """An instance while the campaign runs: its process (or the TSan loop, with the explore
    loop as its phase) and its log."""

    def __init__(self, inst, log_path):
        self.inst = inst
        self.log_path = log_path
        self.proc = None
        self.tsan = None
        self.explore = None  # the explore loop sharing the TSan loop's core
        self.explore_inst = None
        self.explore_snap = None
        self.explore_log = None
        self.snap = stats.Snapshot(inst)
        self.state = "starting"
        self.rc = None
        self.started = None
        self.ended = None

    def loops(self):
        return [loop for loop in (self.tsan, self.explore) if loop]

    def alive(self):
        if self.tsan:
            return any(loop.running() for loop in self.loops())
        return self.proc is not None and self.proc.poll() is None


class Campaign:
    def __init__(self, plan, status_interval):
        self.plan = plan
        self.status_interval = status_interval
        self.run_id = datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
        self.log_dir = os.path.join(plan.out, "logs", self.run_id + plan.suffix())
        self.runs = []
        self.interrupts = 0
        self.started = None
        self.ended = None
        self.deadline = None
        self.interrupted = False
        self.tty = sys.stdout.isatty()
        self.drawn = 0
        self.runner_log = None
        self.manifest_commit = git_commit()

    def on_signal(self, signum, frame):
        self.interrupts += 1
        self.interrupted = True
        if self.interrupts == 1:
            print("\n%s: %s: stopping the engines, then merge, triage and report (again to "
                  "skip merge and triage)" % (PROG, signal.Signals(signum).name), flush=True)
        else:
            print("\n%s: %s again: skipping what is left but the report"
                  % (PROG, signal.Signals(signum).name), flush=True)

    def note(self, msg):
        self.runner_log.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
        self.runner_log.flush()

    def start(self):
        os.makedirs(self.log_dir, exist_ok=True)
        self.started = time.time()
        mono = time.monotonic()
        self.deadline = mono + self.plan.duration
        for inst in self.plan.instances:
            r = Running(inst, os.path.join(self.log_dir, inst.name + ".log"))
            self.runs.append(r)
            r.started = time.time()
            if inst.kind == "tsan":
                targets = inst.target.split(",")
                core = SharedCore() if self.plan.explore else None
                r.tsan = TsanReplay({t: self.plan.binary("tsan", t) for t in targets},
                                    {t: self.plan.tsan_sources(t) for t in targets},
                                    os.path.join(self.plan.out, "tsan"), r.log_path,
                                    self.deadline, core=core)
                r.tsan.env.update(inst.env)
                r.tsan.start()
                if self.plan.explore:
                    e = r.explore_inst = self.plan.explore_inst
                    r.explore_snap = stats.Snapshot(e)
                    r.explore_log = os.path.join(self.log_dir, e.name + ".log")
                    r.explore = ExploreLoop(e.binary, self.plan.tsan_sources(e.target),
                                            os.path.join(self.plan.out, "explore"),
                                            r.explore_log, self.deadline, core=core)
                    r.explore.env.update(e.env)
                    r.explore.start()
                r.state = "running"
                self.note("started %s (TSan replay loop%s)" % (
                    inst.name, ", and %s in turns on its core" % r.explore_inst.name
                    if r.explore else ""))
                continue
            cwd = os.path.join(self.plan.out, inst.kind, inst.target)
            os.makedirs(cwd, exist_ok=True)
            with open(r.log_path, "ab") as logf:
                logf.write(("$ %s\n" % inst.command_line()).encode())
                logf.flush()
                try:
                    r.proc = subprocess.Popen(inst.cmd, env=dict(os.environ, **inst.env),
                                              cwd=cwd, stdin=subprocess.DEVNULL, stdout=logf,
                                              stderr=subprocess.STDOUT, start_new_session=True)
                except OSError as e:
                    r.state, r.rc = "failed", -1
                    self.note("cannot start %s: %s" % (inst.name, e))
                    say("cannot start %s: %s" % (inst.name, e))
                    continue
            r.state = "running"
            self.note("started %s, pid %d: %s" % (inst.name, r.proc.pid, inst.command_line()))

    def poll(self):
        for r in self.runs:
            if r.state == "running" and not r.alive():
                r.ended = time.time()
                if r.tsan:
                    err = any(loop.snapshot()["error"] for loop in r.loops())
                    r.state, r.rc = ("failed", 1) if err else ("done", 0)
                else:
                    r.rc = r.proc.returncode
                    r.state = "done" if r.rc == 0 else "failed"
                    if r.rc != 0:
                        say("%s exited early with status %d; its log: %s"
                            % (r.inst.name, r.rc, r.log_path))
                self.note("%s ended: %s (status %s)" % (r.inst.name, r.state, r.rc))

    def figures(self, r, explore=False):
        """The instance's figures, or with explore those of its explore phase."""
        elapsed = (r.ended or time.time()) - (r.started or time.time())
        if explore:
            return stats.figures(r.explore_inst, r.explore_snap, r.explore_log, elapsed,
                                 r.explore.snapshot())
        snap = r.tsan.snapshot() if r.tsan else None
        return stats.figures(r.inst, r.snap, r.log_path, elapsed, snap)

    def draw(self, final=False):
        elapsed = time.time() - self.started
        lines = ["[%s / %s] %s" % (format_duration(elapsed), format_duration(self.plan.duration),
                                   "interrupted" if self.interrupted else "")]
        for r in self.runs:
            lines.append(stats.status_line(r.inst, self.figures(r), r.state))
            if r.explore:
                lines.append(stats.status_line(r.explore_inst, self.figures(r, explore=True),
                                               r.state))
        if self.tty and not final:
            if self.drawn:
                sys.stdout.write("\x1b[%dA" % self.drawn)
            sys.stdout.write("".join("\x1b[2K%s\n" % line for line in lines))
            self.drawn = len(lines)
        else:
            sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()

    def wait(self):
        """Until the deadline, an interrupt, or every instance has ended."""
        last_draw = 0.0
        interval = 2.0 if self.tty else self.status_interval
        while not self.interrupted and time.monotonic() < self.deadline:
            self.poll()
            if all(r.state != "running" for r in self.runs):
                break
            if time.monotonic() - last_draw >= interval:
                self.draw()
                last_draw = time.monotonic()
            time.sleep(0.5)

    def stop(self):
        """Each engine gets its own stop signal, sent to its main process only: afl-fuzz wraps
        up on SIGINT (and ends its fork server); libFuzzer's fork-mode parent runs each job
        through system(), which ignores SIGINT while a job runs, so it gets SIGTERM. Signalling
        the whole group would hit the targets first, and an engine could count that as a
        crash. After the main process exits (or STOP_GRACE seconds), what is left of the
        group (jobs, fork servers) is killed."""
        live = [r for r in self.runs if r.state == "running" and r.proc is not None and r.alive()]
        for r in live:
            try:
                os.kill(r.proc.pid, signal.SIGTERM if r.inst.kind == "libfuzzer"
                        else signal.SIGINT)
            except ProcessLookupError:
                pass
        for r in self.runs:  # every loop told first: none takes a turn another one left
            for loop in r.loops():
                loop.stopping.set()
        for r in self.runs:
            for loop in r.loops():
                loop.stop()
        end = time.monotonic() + STOP_GRACE
        while any(r.alive() for r in live) and time.monotonic() < end:
            time.sleep(0.2)
        for r in live:
            if r.alive():
                self.note("%s did not stop in %d s: SIGKILL" % (r.inst.name, STOP_GRACE))
            try:
                os.killpg(r.proc.pid, signal.SIGKILL)  # the main process and its leftovers
            except ProcessLookupError:
                pass
            r.proc.wait()
            if r.inst.kind == "libfuzzer":
                self.remove_fork_dir(r)
        for r in self.runs:
            if r.state == "running":
                r.state = "stopped"
                r.rc = r.proc.returncode if r.proc else 0
                r.ended = time.time()
        self.ended = time.time()
        self.poll()

    def remove_fork_dir(self, r):
        """libFuzzer's fork mode keeps its jobs' files in /tmp/libFuzzerTemp.FuzzWithFork<pid>
        .dir and removes it only when it ends by itself, not when it is interrupted."""
        try:
            with open(r.log_path, errors="replace") as f:
                m = re.search(r"starting to fuzz in (\S*FuzzWithFork%d\.dir)" % r.proc.pid,
                              f.read())
        except OSError:
            return
        if m and os.path.isdir(m.group(1)):
            shutil.rmtree(m.group(1), ignore_errors=True)
            self.note("removed %s" % m.group(1))

    # --- after the engines ----------------------------------------------------------------

    def merge(self):
        """New inputs of each target into <merged>/<target>: libFuzzer's -merge=1 where the
        fuzz preset is built (it keeps what adds coverage to what is already there), afl-cmin
        otherwise. Returns {target: {...}}."""
        results = {}
        for t in self.plan.targets:
            if self.interrupts > 1:
                break
            dest = os.path.join(self.plan.merged, t)
            os.makedirs(dest, exist_ok=True)
            sources = [d for d in self.plan.merge_sources(t) if stats.count_files(d)]
            before = stats.count_files(dest)
            res = {"dest": dest, "before": before, "after": before, "tool": None, "rc": None,
                   "sources": sources}
            results[t] = res
            if not sources:
                continue
            log_path = os.path.join(self.log_dir, "merge-%s.log" % t)
            lf_bin = self.plan.binary("fuzz", t)
            afl_bin = self.plan.binary("afl", t)
            lf = self.plan.options["libfuzzer"]
            if os.path.exists(lf_bin):
                # The control file lets libFuzzer resume a merge whose process crashed; one left
                # by an earlier campaign names files that may be gone (AFL++ renames its queue
                # on resume), so each merge starts from a fresh one.
                control = os.path.join(self.plan.out, "merge", t + ".ctl")
                os.makedirs(os.path.dirname(control), exist_ok=True)
                if os.path.exists(control):
                    os.unlink(control)
                cmd = [lf_bin, "-merge=1", "-merge_control_file=%s" % control]
                cmd += libfuzzer_flags(self.plan.options)
                cmd += [dest] + sources
                env = dict(os.environ, **self.instance_env("libfuzzer"))
                res["tool"] = "libFuzzer -merge=1"
            elif os.path.exists(afl_bin) and have("afl-cmin"):
                union = os.path.join(self.plan.out, "merge", t + "-union")
                minimized = os.path.join(self.plan.out, "merge", t + "-min")
                for d in (union, minimized):
                    shutil.rmtree(d, ignore_errors=True)
                copy_inputs([dest] + sources, union)
                timeout_ms = int(float(lf.get("timeout", "10")) * 1000)
                cmd = ["afl-cmin", "-i", union, "-o", minimized, "-m", "none",
                       "-t", str(timeout_ms), "--", afl_bin]
                # afl-cmin refuses to work under /tmp (other users could plant files there);
                # these directories are the campaign's own, made by this runner.
                env = dict(os.environ, AFL_ALLOW_TMP="1", **self.instance_env("afl"))
                res["tool"] = "afl-cmin"
            else:
                res["tool"] = "none (neither build/fuzz nor build/afl has %s)" % t
                continue
            say("merging %s: %s" % (t, res["tool"]))
            with open(log_path, "w") as logf:
                logf.write("$ %s\n" % " ".join(cmd))
                logf.flush()
                r = subprocess.run(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=self.plan.out)
            res["rc"] = r.returncode
            if r.returncode == 0 and res["tool"] == "afl-cmin":
                for name in os.listdir(dest):
                    os.unlink(os.path.join(dest, name))
                copy_inputs([minimized], dest)
            if r.returncode != 0:
                say("merging %s failed (exit %d): %s" % (t, r.returncode, log_path))
            res["after"] = stats.count_files(dest)
            self.note("merge %s: %s, %d -> %d files, exit %d"
                      % (t, res["tool"], before, res["after"], r.returncode))
        return results

    def instance_env(self, kind):
        """The sanitizer settings the engine's instances ran with, for merging with its tool."""
        return sanitizer_env(self.plan.options, afl=(kind == "afl"))

    def crash_files(self):
        files = []
        for r in self.runs:
            for d in r.inst.crash_dirs + (r.explore_inst.crash_dirs if r.explore else []):
                try:
                    names = sorted(os.listdir(d))
                except OSError:
                    continue
                files += [os.path.join(d, n) for n in names
                          if not n.startswith(".") and n != "README.txt"
                          and not n.endswith(".log") and os.path.isfile(os.path.join(d, n))]
        return files

    def triage(self):
        """scripts/triage --campaign OUT (written on branch triage). Returns a dict."""
        script = os.path.join(ROOT, "scripts", "triage")
        crashes = self.crash_files()
        if self.interrupts > 1:
            return {"ran": False, "why": "interrupted twice", "crashes": crashes}
        if not os.path.exists(script):
            say("triage skipped: scripts/triage is not in this tree; crash files (%d):"
                % len(crashes))
            for c in crashes:
                print("  " + os.path.relpath(c, os.getcwd()))
            return {"ran": False, "why": "scripts/triage is not in this tree",
                    "crashes": crashes}
        cmd = self.plan.triage_command()
        say("triage: " + " ".join(cmd))
        log_path = os.path.join(self.log_dir, "triage.log")
        with open(log_path, "w") as logf:
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=ROOT)
            for line in iter(p.stdout.readline, b""):
                sys.stdout.write(line.decode("utf-8", "replace"))
                logf.write(line.decode("utf-8", "replace"))
            rc = p.wait()
        if rc != 0:
            say("triage exited with status %d: %s" % (rc, log_path))
        return {"ran": True, "rc": rc, "log": log_path, "crashes": crashes}

    def afl_plots(self):
        """afl-plot's own pages for each AFL++ instance, where afl-plot and gnuplot exist and
        the instance wrote enough plot_data (AFL++ starts it after a minute)."""
        made = {}
        if not (have("afl-plot") and have("gnuplot")):
            return made
        for r in self.runs:
            if r.inst.kind != "afl" or self.interrupts > 1:
                continue
            src = os.path.dirname(r.inst.corpus_dir)
            if stats.afl_plot_count(os.path.join(src, "plot_data")) < 2:
                continue
            dest = os.path.join(self.plan.out, "afl-plot", r.inst.name)
            os.makedirs(dest, exist_ok=True)
            p = subprocess.run(["afl-plot", src, dest], capture_output=True, text=True,
                               stdin=subprocess.DEVNULL)
            if p.returncode == 0 and os.path.exists(os.path.join(dest, "index.html")):
                made[r.inst.name] = dest
            else:
                self.note("afl-plot %s failed: %s" % (r.inst.name, p.stdout[-500:]))
        return made

    def manifest(self, extra=None):
        data = {"run": self.run_id, "started": self.started, "ended": self.ended,
                "interrupted": self.interrupted, "log_dir": self.log_dir,
                "commit": self.manifest_commit, "plan": self.plan.to_json()}
        if self.plan.inject_bug:
            # Read by scripts/triage for every artifact below (its findings default, the replay
            # tool, the key `injected_bug` of each finding's meta.json).
            data["injected_bug"] = self.plan.inject_bug
            data["heapfuzz"] = os.path.relpath(self.plan.replay_heapfuzz()[2], ROOT)
        if extra:
            data.update(extra)
        path = os.path.join(self.plan.out, "campaign%s.json" % self.plan.suffix())
        with open(path + ".tmp", "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
        os.replace(path + ".tmp", path)


def git_commit():
    r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None
