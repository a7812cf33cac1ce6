"""hftriage: scripts/triage's engine. Crashing inputs -> findings, in three phases:

1. replay (in parallel): each input on the sanitizer build of the preset that found it
   (hffindings.replay_preset: never a cmplog or uninstrumented build); one that runs clean is
   replayed again on every other sanitizer build before it is called "not reproduced"; a replay
   killed by a bare signal (no sanitizer report) is run again under gdb and signed from its
   backtrace (`signal:<NAME>|frames`);
2. for each crash signature not seen before (in parallel): print, minimize, measure its
   reproducibility, and sign its *bug*: the minimized program replayed with the oracle at its
   most eager (`heapfuzz run --eager`: verify and check every reachable object after every op),
   so every symptom of one broken invariant is reported where the invariant first breaks, and
   `heapfuzz signature`'s bug signature (the broken invariant, not the op that noticed it);
   where the eager replay reports nothing, or for real-thread programs, the crash's own bug
   signature (a sanitizer report: ClusterFuzz's crash state);
3. filing (in input order, so a run is deterministic): a known crash signature counts one more
   input; a new one becomes a finding folder; a new crash signature of a known bug becomes a
   folder with status `duplicate` and `duplicate_of` its bug's finding (merged, never deleted).

Findings filed before bugs were signed (no `bug_id` in meta.json) are signed and merged the same
way on the next run. One finding per bug: findings/README.md has one row per bug.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import hffindings as hf

PROG = "scripts/triage"

# What became of each input (the summary line's order and words).
TALLY = ("new", "merged", "duplicate", "already triaged", "not reproduced", "skipped", "error")
TALLY_WORDS = {"new": ("new finding", "new findings"),
               "merged": ("new crash signature of a known bug",
                          "new crash signatures of known bugs"),
               "duplicate": ("duplicate", "duplicates"), "error": ("error", "errors")}


@dataclass
class Artifact:
    path: Path
    kind: str                      # crash leak timeout oom hang input
    ctx: dict = field(default_factory=dict)  # target preset engine commit heapfuzz
    campaign: Optional[Path] = None


@dataclass
class Outcome:
    """Phase 1's answer for one input."""
    art: Artifact
    status: str = ""               # crash, already triaged, skipped, not reproduced, error
    message: str = ""
    data: bytes = b""
    sha: str = ""
    sig: Optional[hf.Signature] = None
    report: str = ""
    report_from: str = ""
    heapfuzz: Optional[Path] = None  # the build that reproduced it
    preset: str = ""


@dataclass
class NewCrash:
    """Phase 2's answer for a crash signature seen for the first time."""
    original: str
    mini: hf.Minimized
    program: str
    same: int
    bug: hf.Signature
    bug_from: str


class Progress:
    """`triage: 120/311 inputs, 3 findings, eta 40 s` on stderr, at most every 2 s (a line each
    time: logs and terminals alike)."""

    def __init__(self, what: str, total: int, extra: Callable[[], str]):
        self.what, self.total, self.extra = what, total, extra
        self.done = 0
        self.start = self.last = time.monotonic()
        self.lock = threading.Lock()

    def step(self) -> None:
        with self.lock:
            self.done += 1
            now = time.monotonic()
            if now - self.last < 2 and self.done != self.total:
                return
            self.last = now
            eta = (now - self.start) / self.done * (self.total - self.done)
            extra = self.extra()
            print(f"{PROG}: {self.done}/{self.total} {self.what}"
                  f"{', ' + extra if extra else ''}, eta {eta:.0f} s", file=sys.stderr,
                  flush=True)


def _say(path: Path, msg: str) -> None:
    print(f"{hf.display_path(path)}: {msg}", flush=True)


def shipped_seeds(target: str) -> dict[str, str]:
    """sha1 -> corpus/<target>/<name>.ops of every shipped seed, from the canonical binaries the
    builds compiled (build/<preset>/corpus/<target>/<name>.bin, a bug build's as well): how a
    crash of a seed by itself is told from one the engines made."""
    out = {}
    root = hf.build_root()
    for pattern in (f"*/corpus/{target}/*.bin", f"bug-*/*/corpus/{target}/*.bin"):
        for b in sorted(root.glob(pattern)):
            src = hf.REPO / "corpus" / target / (b.stem + ".ops")
            if src.is_file():
                out.setdefault(hashlib.sha1(b.read_bytes()).hexdigest(), hf.repo_relative(src))
    return out


class Triage:
    def __init__(self, args, engine_log: Callable):
        self.args = args
        self.engine_log = engine_log
        self.findings: Path = args.findings
        self.by_id: dict[str, hf.Finding] = {}
        self.by_input: dict[str, str] = {}
        self.tally = {k: 0 for k in TALLY}
        self.binaries: dict[tuple, Optional[Path]] = {}
        self.build_lock = threading.Lock()
        self.seeds: dict[str, dict] = {}
        self.summary: list[dict] = []  # this run's findings, for the campaign report
        self.problems: list[dict] = []  # inputs not reproduced or in error
        self.sources: set[str] = set()  # this run's inputs

    # ---- the findings folder ----------------------------------------------------------------

    def load(self) -> bool:
        found, errors = hf.load_all(self.findings)
        for e in errors:
            print(f"{PROG}: {e}", file=sys.stderr)
        if errors:
            print(f"{PROG}: fix these folders (git checkout findings/<id>) or move them out of "
                  f"{hf.display_path(self.findings)}: nothing was written", file=sys.stderr)
            return False
        for f in found:
            self.by_id[f.id] = f
            for sha in f.inputs:
                self.by_input[sha] = f.id
        return True

    def reindex(self) -> None:
        hf.write_index(self.findings, self.by_id.values())

    def owner_of(self, f: hf.Finding) -> hf.Finding:
        """The finding that stands for f's bug: f itself, or the one it is merged into."""
        if f.meta["status"] == "duplicate" and f.meta.get("duplicate_of") in self.by_id:
            return self.by_id[f.meta["duplicate_of"]]
        return f

    def bug_owner(self, bug_id: str, but: str = "") -> Optional[hf.Finding]:
        """The finding that stands for a bug: the earliest filed one with that bug that is not
        itself a duplicate."""
        owners = [f for f in self.by_id.values() if f.id != but
                  and f.meta.get("bug_id") == bug_id and f.meta["status"] != "duplicate"]
        return min(owners, key=lambda f: (str(f.meta.get("first_seen")), f.id), default=None)

    # ---- binaries ----------------------------------------------------------------------------

    def binary(self, preset: str, name_or_path: str, build: bool) -> Optional[Path]:
        """A replay build, built once when missing (and building is allowed); None when it
        cannot be had (a bug variant that preset does not build, say)."""
        key = (preset, name_or_path)
        with self.build_lock:
            if key not in self.binaries:
                path = hf.binary_path(preset, name_or_path)
                if not path.exists() and build and "/" not in name_or_path:
                    try:
                        path = hf.ensure_built(preset, name_or_path, PROG, build=True)
                    except hf.Error as e:
                        print(f"{PROG}: {e}", file=sys.stderr)
                self.binaries[key] = path if path.exists() else None
            return self.binaries[key]

    def primary(self, ctx: dict) -> Path:
        if ctx.get("heapfuzz"):
            p = Path(ctx["heapfuzz"])
            if not p.exists():
                raise hf.UsageError(f"{hf.display_path(p)}: no such binary")
            return p
        p = self.binary(ctx["preset"], "heapfuzz", not self.args.no_build)
        if p is None:
            raise hf.UsageError(f"{hf.display_path(hf.binary_path(ctx['preset'], 'heapfuzz'))}"
                                f": no such binary (build it: cmake --build --preset "
                                f"{ctx['preset']})")
        return p

    def alternates(self, ctx: dict, first: Path) -> list[tuple[str, Path]]:
        """The same build (heapfuzz, or the bug build heapfuzz_bug_<name>) under every other
        sanitizer: a race only TSan sees, a use-after-free only ASan sees."""
        out = []
        if hf.preset_of(first) is None:
            return out  # a binary outside build/: there is nothing to pair it with
        name = first.name
        for preset in hf.SANITIZER_PRESETS:
            if preset == ctx["preset"]:
                continue
            # heapfuzz is built where missing; a bug build only where its preset has it already
            # (HF_BUG_VARIANTS differ per preset: asking ninja for another is a wasted configure).
            p = self.binary(preset, name, not self.args.no_build and name == "heapfuzz")
            if p is not None:
                out.append((preset, p))
        return out

    # ---- phase 1: replay ---------------------------------------------------------------------

    def replay(self, art: Artifact) -> Outcome:
        o = Outcome(art=art)
        try:
            o.data = art.path.read_bytes()
        except OSError as e:
            o.status, o.message = "error", f"ERROR: cannot read: {e.strerror}"
            return o
        if not o.data:
            o.status, o.message = "skipped", "skipped: empty file (an interrupted write?)"
            return o
        o.sha = hashlib.sha1(o.data).hexdigest()
        if o.sha in self.by_input:
            o.status = "already triaged"
            o.message = f"already triaged: finding {self.by_input[o.sha]}"
            return o
        ctx = art.ctx
        if ctx["target"] not in hf.TARGETS:
            o.status, o.message = "error", f"ERROR: unknown target {ctx['target']!r}"
            return o
        first = self.primary(ctx)
        builds = [(ctx["preset"], first)]
        path = art.path.resolve()
        error = None
        i = 0
        while i < len(builds):
            preset, heapfuzz = builds[i]
            r = hf.run_capture(hf.run_argv(heapfuzz, ctx["target"], path), self.args.timeout)
            if r.tool_error:
                o.status = "error"
                o.message = (f"ERROR: {hf.display_path(heapfuzz)} could not run it: "
                             f"{r.output.strip()[:300]}")
                return o
            if not r.clean:
                signed = hf.sign_replay(heapfuzz, r, self.args.timeout)
                if signed.sig is not None:
                    o.status, o.sig, o.report, o.heapfuzz, o.preset = \
                        "crash", signed.sig, signed.report, heapfuzz, preset
                    o.report_from = signed.how if i == 0 else \
                        f"{signed.how} on {preset} (clean on {builds[0][0]})"
                    return o
                error = error or f"ERROR: {signed.problem}"
            if i == 0:
                builds += self.alternates(ctx, first)
            i += 1
        log = self.engine_log(art)
        if log:
            s = hf.compute_signature(first, log[1])
            if s:
                o.status, o.sig, o.report, o.heapfuzz, o.preset = \
                    "crash", s, log[1], first, ctx["preset"]
                o.report_from = f"engine log {hf.repo_relative(log[0])}"
                return o
        if error:
            o.status, o.message = "error", error
            return o
        tried = ", ".join(p for p, _ in builds)
        how = "ran clean" if art.kind == "input" or not art.campaign else \
            "ran clean and no engine log beside it holds a crash"
        o.status = "not reproduced"
        o.message = f"not reproduced: {how} on {tried} (flaky, or a truncated artifact)"
        return o

    # ---- phase 2: a new crash signature ------------------------------------------------------

    def bug_of(self, heapfuzz: Path, target: str, program: Path, crash: hf.Signature):
        """The bug a crash is: the eager oracle's report of the program, else the crash's own."""
        if target != "fuzz_heap_threads":
            r = hf.run_capture(hf.run_argv(heapfuzz, target, program, eager=True),
                               self.args.timeout)
            if not r.clean and not r.tool_error:
                s = hf.compute_signature(heapfuzz, r.output, r.timed_out)
                if s is not None:
                    return s, "eager replay of program.ops"
        return crash, "the crash report"

    def examine(self, o: Outcome) -> NewCrash:
        target = o.art.ctx["target"]
        with tempfile.TemporaryDirectory(prefix="hf-triage-") as d:
            inp = Path(d) / "input"
            inp.write_bytes(o.data)
            original = hf.print_program(o.heapfuzz, inp)
            if self.args.no_minimize:
                mini = hf.Minimized(None, "not minimized (--no-minimize)")
            else:
                mini = hf.minimize(o.heapfuzz, target, inp, self.args.timeout)
            program = mini.text if mini.text is not None else \
                f"# {o.sig.line()}\n# {mini.note}\n" + original
            prog_file = Path(d) / "program.ops"
            prog_file.write_text(program, encoding="utf-8")
            same = 0
            for _, s in hf.replay_signatures(o.heapfuzz, target, inp, self.args.runs,
                                             self.args.timeout):
                same += s is not None and s.id == o.sig.id
            bug, bug_from = self.bug_of(o.heapfuzz, target, prog_file, o.sig)
        return NewCrash(original=original, mini=mini, program=program, same=same, bug=bug,
                        bug_from=bug_from)

    # ---- phase 3: filing ---------------------------------------------------------------------

    def add_duplicate(self, o: Outcome, f: hf.Finding, src: str) -> None:
        f.inputs[o.sha] = src
        f.meta["count"] = len(f.inputs)
        owner = self.owner_of(f)
        note = self.reopen(owner)
        f.write_inputs()
        f.write_meta()
        self.by_input[o.sha] = f.id
        of = f.id if owner is f else f"{f.id} (bug {owner.id})"
        o_msg = f"duplicate of {of} (count {f.meta['count']}){note}"
        _say(o.art.path, o_msg)
        self.tally["duplicate"] += 1

    def reopen(self, f: hf.Finding) -> str:
        if f.meta["status"] != "fixed":
            return ""
        f.meta["status"] = "open"
        f.write_meta()
        return f" -- REGRESSION: finding {f.id} was marked fixed and is open again"

    def create(self, o: Outcome, nc: NewCrash, src: str) -> None:
        ctx, sig = o.art.ctx, o.sig
        final = self.findings / sig.id
        tmp = self.findings / f".tmp-{sig.id}-{os.getpid()}"
        tmp.mkdir(parents=True)
        owner = self.bug_owner(nc.bug.bug_id)
        try:
            (tmp / "input").write_bytes(o.data)
            (tmp / "report.txt").write_text(o.report, encoding="utf-8")
            (tmp / "signature.txt").write_text(sig.line() + "\n", encoding="utf-8")
            (tmp / "program.ops").write_text(nc.program, encoding="utf-8")
            commit = self.args.commit or ctx.get("commit") or self.head
            meta = {
                "id": sig.id, "signature": sig.signature, "type": sig.type,
                "frames": sig.frames, "target": ctx["target"], "preset": o.preset,
                "engine": ctx["engine"], "commit": commit,
                "first_seen": hf.utc_iso(o.art.path.stat().st_mtime),
                "count": 1, "reproducible": f"{nc.same}/{self.args.runs}",
                "status": "duplicate" if owner else "open",
                "duplicate_of": owner.id if owner else None,
                "minimized_ops": hf.count_ops(nc.mini.text) if nc.mini.text is not None
                else None,
                "original_ops": hf.count_ops(nc.original),
                "binary": hf.binary_name(o.preset, o.heapfuzz), "source": src,
                "report_from": o.report_from, "regression": None, "fixed_on": None,
                "bug_id": nc.bug.bug_id, "bug_signature": nc.bug.bug_signature,
                "bug_from": nc.bug_from,
                "minimize_complete": nc.mini.text is not None and not hf.budget_exhausted(
                    nc.mini.text),
            }
            seed = self.seed_of(ctx["target"], o.sha)
            if seed:
                meta["seed"] = seed
            bug = ctx.get(hf.META_BUG_KEY) or hf.injected_bug_of(o.heapfuzz)
            if bug:
                meta[hf.META_BUG_KEY] = bug
            (tmp / "meta.json").write_bytes(hf.json_bytes(meta))
            (tmp / "inputs.txt").write_text(hf.render_inputs({o.sha: src}), encoding="utf-8")
            os.rename(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        f = hf.load_finding(final)
        self.by_id[f.id] = f
        self.by_input[o.sha] = f.id
        mops = meta["minimized_ops"]
        minimized = f"minimized {meta['original_ops']} -> {mops} ops" if mops is not None \
            else nc.mini.note
        if mops is not None and not meta["minimize_complete"]:
            minimized += " (budget exhausted: not fully minimized)"
        extra = f"; injected bug {meta[hf.META_BUG_KEY]}" if hf.META_BUG_KEY in meta else ""
        if seed:
            extra += f"; a shipped seed crashed by itself: {seed}"
        status = f"{hf.display_path(final)}/"
        if owner:
            head = (f"NEW crash signature {sig.id} {sig.signature}\n    the same bug as "
                    f"finding {owner.id} ({nc.bug.bug_signature}, by {nc.bug_from})"
                    f"{self.reopen(owner)}")
            status += f" (duplicate of {owner.id})"
            self.tally["merged"] += 1
        else:
            head = (f"NEW finding {sig.id} {sig.signature}\n    bug {nc.bug.bug_id} "
                    f"{nc.bug.bug_signature} (by {nc.bug_from})")
            self.tally["new"] += 1
        _say(o.art.path, f"{head}\n    reproducible {meta['reproducible']}; {minimized}; "
                         f"{status}{extra}")

    def seed_of(self, target: str, sha: str) -> Optional[str]:
        if target not in self.seeds:
            self.seeds[target] = shipped_seeds(target)
        return self.seeds[target].get(sha)

    def record(self, o: Outcome) -> None:
        """The inputs' findings, for the campaign report (--summary): every input that is a
        finding's, whether filed by this run or an earlier one (so a second run writes the same
        summary)."""
        crash = self.by_id[self.by_input[o.sha]]
        owner = self.owner_of(crash)
        for row in self.summary:
            if row["id"] == owner.id:
                break
        else:
            row = {"id": owner.id, "inputs": 0, "engines": [], "crash_ids": [], "seeds": []}
            self.summary.append(row)
        row["inputs"] += 1
        if o.art.ctx.get("engine") and o.art.ctx["engine"] not in row["engines"]:
            row["engines"].append(o.art.ctx["engine"])
        if crash.id not in row["crash_ids"]:
            row["crash_ids"].append(crash.id)
        seed = self.seed_of(o.art.ctx["target"], o.sha)
        if seed and seed not in row["seeds"]:
            row["seeds"].append(seed)

    # ---- findings filed before bugs were signed ------------------------------------------------

    def sign_old_bugs(self) -> None:
        """Signs the bug of every finding that has none yet (filed by an older triage) and merges
        those of one bug into its earliest finding."""
        unsigned = [f for f in self.by_id.values() if not f.meta.get("bug_id")]
        if not unsigned:
            return
        print(f"{PROG}: signing the bug of {len(unsigned)} finding(s) filed before bugs were "
              f"signed", file=sys.stderr)

        def sign(f: hf.Finding):
            hfz = hf.binary_path(f.meta["preset"], f.meta.get("binary") or "heapfuzz")
            if not hfz.exists():
                return f, None, f"{hf.display_path(hfz)} is not built"
            sig = hf.compute_signature(hfz, (f.dir / "report.txt").read_text(
                encoding="utf-8", errors="replace"))
            if sig is None:
                return f, None, "its report holds no crash"
            return (f,) + self.bug_of(hfz, f.meta["target"], f.dir / "program.ops", sig)

        for f, bug, how in self.parallel(sign, unsigned):
            if bug is None:
                print(f"{PROG}: finding {f.id}: bug not signed ({how})", file=sys.stderr)
                continue
            f.meta.update({"bug_id": bug.bug_id, "bug_signature": bug.bug_signature,
                           "bug_from": how})
        for f in sorted(unsigned, key=lambda f: (str(f.meta.get("first_seen")), f.id)):
            if not f.meta.get("bug_id"):
                continue
            owner = self.bug_owner(f.meta["bug_id"], but=f.id)
            if owner and f.meta["status"] == "open" and \
                    (str(owner.meta.get("first_seen")), owner.id) < \
                    (str(f.meta.get("first_seen")), f.id):
                f.meta["status"], f.meta["duplicate_of"] = "duplicate", owner.id
                print(f"{PROG}: finding {f.id} is the same bug as {owner.id} "
                      f"({f.meta['bug_signature']}): merged (status duplicate)", file=sys.stderr)
            f.write_meta()

    # ---- the run -----------------------------------------------------------------------------

    def parallel(self, fn, items):
        """fn over items on --jobs workers (the work is in child processes), results in the
        items' order."""
        if self.args.jobs <= 1 or len(items) <= 1:
            return [fn(x) for x in items]
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.args.jobs) as ex:
            return list(ex.map(fn, items))

    def run(self, artifacts: list[Artifact]) -> int:
        self.head = hf.git_commit()
        self.sign_old_bugs()
        for a in artifacts:  # builds happen here, one at a time, before the workers start
            if a.ctx.get("target") in hf.TARGETS:
                self.primary(a.ctx)
        sigs: set[str] = set()
        p1 = Progress("inputs replayed", len(artifacts), lambda: f"{len(sigs)} crash signatures")

        def phase1(a: Artifact) -> Outcome:
            o = self.replay(a)
            if o.sig:
                sigs.add(o.sig.id)
            p1.step()
            return o

        outcomes = self.parallel(phase1, artifacts)
        first: dict[str, Outcome] = {}
        for o in outcomes:
            if o.status == "crash" and o.sig.id not in self.by_id:
                first.setdefault(o.sig.id, o)
        news = list(first.values())
        p2 = Progress("new crash signatures minimized", len(news), lambda: "")

        def phase2(o: Outcome) -> NewCrash:
            nc = self.examine(o)
            p2.step()
            return nc

        examined = dict(zip((o.sig.id for o in news), self.parallel(phase2, news)))
        for o in outcomes:
            if o.status != "crash":
                _say(o.art.path, o.message)
                self.tally[o.status] += 1
                if o.status in ("not reproduced", "error"):
                    self.problems.append({"input": hf.repo_relative(o.art.path),
                                          "status": o.status, "message": o.message})
                if o.status == "already triaged":
                    self.record(o)
                continue
            if o.sha in self.by_input:  # the same bytes twice in this run
                _say(o.art.path, f"already triaged: finding {self.by_input[o.sha]}")
                self.tally["already triaged"] += 1
            else:
                src = hf.repo_relative(o.art.path)
                known = self.by_id.get(o.sig.id)
                if known:
                    self.add_duplicate(o, known, src)
                else:
                    self.create(o, examined[o.sig.id], src)
            self.record(o)
        self.sources = {hf.repo_relative(o.art.path) for o in outcomes}
        self.reindex()
        t = self.tally
        n = len(artifacts)
        bugs = sum(1 for f in self.by_id.values() if f.meta["status"] != "duplicate")
        print(f"{PROG}: {n} input{'' if n == 1 else 's'}: "
              + ", ".join(f"{v} {TALLY_WORDS.get(k, (k, k))[v != 1]}" for k, v in t.items())
              + f"; {bugs} finding{'' if bugs == 1 else 's'} ({len(self.by_id)} crash "
              f"signature{'' if len(self.by_id) == 1 else 's'}) in "
              f"{hf.display_path(self.findings)}/")
        return 1 if t["error"] else 0

    def summary_json(self) -> dict:
        """This run's findings, one row per bug, for scripts/fuzz's report.md: what triage
        decided, not what promote changes later (status), so a second triage writes the same."""
        rows = []
        for row in self.summary:
            f = self.by_id[row["id"]]
            m = f.meta
            rows.append(dict(row, new=m.get("source") in self.sources, signature=m[
                "signature"], bug_signature=m.get(
                "bug_signature") or m["signature"],
                reproducible=m.get("reproducible"), minimized_ops=m.get("minimized_ops"),
                original_ops=m.get("original_ops"), minimize_complete=m.get(
                    "minimize_complete"), folder=hf.repo_relative(f.dir),
                injected_bug=m.get(hf.META_BUG_KEY)))
        # The same figures whichever run filed the inputs (a second triage writes the same).
        inputs = {"filed": sum(r["inputs"] for r in rows),
                  "not reproduced": self.tally["not reproduced"],
                  "skipped": self.tally["skipped"], "error": self.tally["error"]}
        return {"findings_dir": hf.repo_relative(self.findings), "inputs": inputs,
                "findings": rows, "problems": self.problems}
