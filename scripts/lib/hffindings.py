"""hffindings: what scripts/triage, scripts/repro and scripts/promote share.

The findings folder (findings/FORMAT.md has the layout), replaying inputs with heapfuzz under
the sanitizers, crash signatures from `heapfuzz signature`, minimization with `heapfuzz
minimize`, atomic and deterministic file writes, and the findings index (findings/README.md).

Python 3 standard library only. Nothing here deletes a finding: a finding folder is created
whole (built under findings/.tmp-*, then renamed into place) and afterwards only its meta.json,
inputs.txt and (when it was not minimized before) program.ops are rewritten, atomically.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import hfprogress

REPO = Path(__file__).resolve().parents[2]

TARGETS = ("fuzz_heap", "fuzz_heap_threads")
ENGINES = ("libfuzzer", "afl", "explore", "replay")
STATUSES = ("open", "fixed", "duplicate")
PRESETS = ("asan", "tsan", "fuzz", "debug", "release", "gcc", "coverage", "afl", "afl-cmplog")
# The builds a crash is replayed with: each preset's sanitizer. A crash found by an ASan build
# (libFuzzer's `fuzz`, AFL++'s `afl`) replays on `asan`, one found by TSan on `tsan`; a preset
# without a sanitizer (AFL++'s cmplog build, release, coverage...) never replays anything: a
# use-after-free runs "clean" there. SANITIZER_PRESETS is the order the others are tried in
# when the first replay does not crash.
SANITIZER_PRESETS = ("asan", "tsan")


def replay_preset(preset: str) -> str:
    """The sanitizer build that replays a crash found by (or filed under) preset."""
    return "tsan" if preset == "tsan" else "asan"

REPLAYS = 10        # reproducibility: replays out of 10 (ClusterFuzz: reproducible at >= 5 of 10)
THREAD_REPEAT = 20  # a real-thread replay is `heapfuzz run --threads --repeat 20`
REPLAY_TIMEOUT = 60  # seconds per replay; then SIGABRT (the sanitizer prints where it was)

ID_RE = re.compile(r"^[0-9a-f]{12}$")

# meta.json: the contract's keys, then the keys this implementation adds (findings/FORMAT.md).
META_KEYS = ("id", "signature", "type", "frames", "target", "preset", "engine", "commit",
             "first_seen", "count", "reproducible", "status", "duplicate_of", "minimized_ops",
             "original_ops")
META_EXTRA_KEYS = ("binary", "source", "report_from", "regression", "fixed_on", "bug_id",
                   "bug_signature", "bug_from", "minimize_complete", "seed")
# Only in a finding of a heap built with a known bug (scripts/fuzz --inject-bug, or a replay with
# a heapfuzz_bug_<name> build): the bug's name, dashed (stale-last-active).
META_BUG_KEY = "injected_bug"
FINDING_FILES = ("input", "program.ops", "report.txt", "signature.txt", "meta.json")

# Sanitizer settings for every replay: those of the corpus tests (corpus/CMakeLists.txt), plus
# handle_abort=1 so that an abort (the heap's hc_fatal, or triage stopping a hung replay) comes
# with a stack trace. The user's own settings come after ours and so win.
SANITIZER_OPTIONS = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:"
                    "handle_abort=1:symbolize=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:symbolize=1",
    "TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1:handle_abort=1:symbolize=1",
}


class Error(Exception):
    """A failure the scripts report as `<prog>: <message>` and exit 1."""

    status = 1


class UsageError(Error):
    """Bad arguments or a missing tool: exit 2."""

    status = 2


class MalformedFinding(Error):
    """A finding folder that does not follow findings/FORMAT.md."""


def main_wrapper(prog: str, fn) -> None:
    """Runs fn(), printing `prog: message` and exiting 1 or 2 on an Error."""
    try:
        rc = fn()
    except Error as e:
        print(f"{prog}: {e}", file=sys.stderr)
        sys.exit(e.status)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(1)
    except BrokenPipeError:  # `scripts/repro ... | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    sys.exit(rc or 0)


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------

def atomic_write(path: Path, data: bytes | str) -> bool:
    """Writes data to path through a temporary file in the same directory and os.replace.
    Leaves the file alone (same bytes, same mtime) when it already holds data. Returns True
    when the file changed."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    path = Path(path)
    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
        if path.read_bytes() == data:
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def json_bytes(obj) -> bytes:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def display_path(p: Path | str) -> str:
    """p relative to the current directory when below it, else as given (absolute)."""
    p = Path(p)
    with contextlib.suppress(ValueError):
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    return str(p)


def repo_relative(p: Path | str) -> str:
    """p relative to the repository when inside it, else absolute."""
    p = Path(p).resolve()
    with contextlib.suppress(ValueError):
        return str(p.relative_to(REPO))
    return str(p)


def utc_iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(int(ts), _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> str:
    return utc_iso(_dt.datetime.now(_dt.timezone.utc).timestamp())


def git_commit() -> str:
    """The repository's HEAD commit (with `-dirty` when tracked files differ), or "unknown"."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               check=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def count_ops(text: str) -> int:
    """Ops in a program's text form: lines other than blanks, comments, the version line and
    the config line."""
    n = 0
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("heapfuzz-ops") or line.split()[0] == "config":
            continue
        n += 1
    return n


# ---------------------------------------------------------------------------------------------
# Builds and binaries
# ---------------------------------------------------------------------------------------------

def build_root() -> Path:
    """build/ of the repository; HF_BUILD_ROOT moves it (the scripts' tests lay out stand-in
    builds there)."""
    return Path(os.environ.get("HF_BUILD_ROOT") or REPO / "build")


def build_dir(preset: str) -> Path:
    return build_root() / preset


def binary_path(preset: str, binary: str) -> Path:
    """The replay binary of a finding: a name inside build/<preset>/, or a path."""
    if "/" in binary:
        return Path(binary) if os.path.isabs(binary) else REPO / binary
    return build_dir(preset) / binary


def binary_name(preset: str, path: Path) -> str:
    """How meta.json records a replay binary: its name when it is build/<preset>/NAME (so
    repro can build it), else its path (repository-relative when inside)."""
    path = Path(path).resolve()
    if path.parent == build_dir(preset).resolve():
        return path.name
    return repo_relative(path)


def injected_bug_of(path: Path) -> Optional[str]:
    """The bug a heapfuzz_bug_<name> build was built with (dashed), else None."""
    m = re.fullmatch(r"heapfuzz_bug_([a-z0-9_]+)", Path(path).name)
    return m.group(1).replace("_", "-") if m else None


def preset_of(path: Path) -> Optional[str]:
    """The preset of a binary under build/<preset>/, if it is one."""
    path = Path(path).resolve()
    with contextlib.suppress(ValueError):
        rel = path.relative_to(build_root().resolve())
        if len(rel.parts) >= 2:
            return rel.parts[0]
    return None


def ensure_built(preset: str, binary: str, prog: str, build: bool = True) -> Path:
    """Returns the path of `binary` for preset. With build, configures build/<preset> when it
    is not configured and brings the binary up to date (ninja does nothing when it is)."""
    path = binary_path(preset, binary)
    if "/" in binary or not build:
        if not path.exists():
            hint = "" if "/" in binary else f" (build it: cmake --build --preset {preset})"
            raise UsageError(f"{display_path(path)}: no such binary{hint}")
        return path
    if preset not in PRESETS:
        raise UsageError(f"unknown preset {preset!r} (one of: {', '.join(PRESETS)})")
    if not (build_dir(preset) / "CMakeCache.txt").exists():
        print(f"{prog}: configuring preset {preset}", file=sys.stderr)
        _run_build(["cmake", "--preset", preset], f"cmake --preset {preset}")
    _run_build(["cmake", "--build", "--preset", preset, "--target", binary],
               f"cmake --build --preset {preset} --target {binary}")
    if not path.exists():
        raise Error(f"{display_path(path)}: not built by preset {preset}")
    return path


def _run_build(argv: list[str], what: str) -> None:
    try:
        rc, output = hfprogress.run(argv, what, cwd=REPO)
    except OSError as e:
        raise UsageError(f"{what}: {e}") from None
    if rc != 0:
        tail = "\n".join(output.splitlines()[-30:])
        raise Error(f"{what} failed:\n{tail}")


# ---------------------------------------------------------------------------------------------
# Replays
# ---------------------------------------------------------------------------------------------

def replay_env() -> dict:
    """The environment of every replay: SANITIZER_OPTIONS, no trace, and HEAPFUZZ_NO_FORK=1.
    `heapfuzz run` runs each file in a forked child and exits 1 for any finding, a crash of the
    child included; a replay runs the file in heapfuzz's own process instead, so that a crash
    ends the replay itself: a bare signal is a negative returncode (signal_of) and gdb, run on
    the same argv (gdb_backtrace, scripts/repro --gdb), stops where it happened, not in a parent
    waiting for its child. A heapfuzz from before the fork ignores the variable."""
    env = dict(os.environ)
    for var, ours in SANITIZER_OPTIONS.items():
        theirs = env.get(var, "")
        env[var] = ours + (":" + theirs if theirs else "")
    env.pop("HEAPFUZZ_TRACE", None)
    env["HEAPFUZZ_NO_FORK"] = "1"
    return env


def run_argv(heapfuzz: Path, target: str, file: Path | str, verbose: bool = False,
             repeat: Optional[int] = None, eager: bool = False) -> list[str]:
    """`heapfuzz run` as the target replays a file: deterministic mode for fuzz_heap,
    `--threads --repeat 20` (stopping at the first finding) for fuzz_heap_threads. eager: the
    oracle at its most eager (`--eager`, deterministic mode only)."""
    argv = [str(heapfuzz), "run"]
    if verbose:
        argv += ["-v", "--trace"]
    if eager and target != "fuzz_heap_threads":
        argv.append("--eager")
    if target == "fuzz_heap_threads":
        argv += ["--threads", "--repeat", str(repeat or THREAD_REPEAT)]
    elif repeat:
        argv += ["--repeat", str(repeat)]
    return argv + ["--", str(file)]


@dataclass
class Replay:
    argv: list
    rc: int
    output: str
    timed_out: bool = False

    @property
    def clean(self) -> bool:
        return self.rc == 0 and not self.timed_out

    @property
    def tool_error(self) -> bool:
        """heapfuzz's own usage, read or parse error (exit 2, nothing else printed by a
        sanitizer)."""
        return self.rc == 2 and not self.timed_out and "Sanitizer" not in self.output


def run_capture(argv: list[str], timeout: float = REPLAY_TIMEOUT) -> Replay:
    """Runs argv with stdout and stderr in one stream (their order kept), under the sanitizer
    settings. On a timeout, the process gets SIGABRT (with handle_abort=1 the sanitizer prints
    the stack where it hung), then SIGKILL if it still runs 30 s later; the Replay says
    timed_out, which its signature must be told (compute_signature)."""
    try:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=replay_env())
    except OSError as e:
        raise UsageError(f"{argv[0]}: {e.strerror}") from None
    timed_out = False
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            p.send_signal(signal.SIGABRT)
        try:
            out, _ = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
    text = out.decode("utf-8", errors="replace")
    if timed_out:
        text += (f"\n[replay stopped with SIGABRT after {timeout:g} s: "
                 f"{' '.join(argv)}]\n")
    return Replay(argv=argv, rc=p.returncode, output=text, timed_out=timed_out)


def signal_of(r: Replay) -> Optional[str]:
    """The signal that ended a replay (SIGSEGV...), or None when it exited."""
    if r.rc is not None and r.rc < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-r.rc).name
        return f"signal {-r.rc}"
    return None


def gdb_backtrace(argv: list[str], timeout: float = REPLAY_TIMEOUT) -> Optional[str]:
    """argv run again under `gdb -batch` with a backtrace of every thread when it stops: how a
    bare signal (a segfault without a sanitizer report) gets frames to be signed by; heapfuzz
    runs the file in the process gdb starts (HEAPFUZZ_NO_FORK, replay_env). None when gdb is
    not installed."""
    gdb = os.environ.get("HF_GDB") or shutil.which("gdb")  # HF_GDB: the scripts' tests
    if not gdb or not os.access(gdb, os.X_OK):
        return None
    cmd = [gdb, "-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off",
           "-ex", "set startup-with-shell off", "-ex", "run", "-ex", "bt", "--args"] + argv
    return run_capture(cmd, timeout).output


# ---------------------------------------------------------------------------------------------
# heapfuzz signature / minimize / print
# ---------------------------------------------------------------------------------------------

@dataclass
class Signature:
    id: str
    signature: str
    type: str
    frames: list
    # What identifies the bug rather than whatever noticed it (`heapfuzz signature`'s bug_id and
    # bug_signature: an oracle finding without the op and the moment that noticed it); the
    # crash signature itself from a heapfuzz that does not print them.
    bug_id: str = ""
    bug_signature: str = ""

    def line(self) -> str:
        return f"{self.id} {self.signature}"

    def bug_line(self) -> str:
        return f"{self.bug_id or self.id} {self.bug_signature or self.signature}"


class SignatureUnavailable(Error):
    pass


def _unknown_command(p: subprocess.CompletedProcess) -> bool:
    return p.returncode == 2 and "unknown command" in (p.stderr or "")


def compute_signature(heapfuzz: Path, report: str,
                      timed_out: bool = False) -> Optional[Signature]:
    """`heapfuzz signature --json` of a report text: the Signature, or None when the text holds
    no crash. timed_out: the report is of a replay stopped at its timeout (run_capture's
    SIGABRT), so `--timed-out`: the abort's report signs as `timeout|<frames where it hung>`,
    as libFuzzer's own timeout report of the same hang does. Raises SignatureUnavailable when
    this heapfuzz has no signature command."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="hf-report-",
                                     encoding="utf-8", errors="replace", delete=False) as f:
        f.write(report)
        tmp = f.name
    try:
        argv = [str(heapfuzz), "signature", "--json", "--bug"] + \
            (["--timed-out"] if timed_out else [])
        p = subprocess.run(argv + [tmp], capture_output=True, text=True, env=replay_env(),
                           errors="replace")
        if p.returncode == 2 and "--bug" in (p.stderr or ""):  # a heapfuzz older than --bug
            argv.remove("--bug")
            p = subprocess.run(argv + [tmp], capture_output=True, text=True,
                               env=replay_env(), errors="replace")
    except OSError as e:
        raise UsageError(f"{heapfuzz}: {e.strerror}") from None
    finally:
        os.unlink(tmp)
    if _unknown_command(p):
        raise SignatureUnavailable(
            f"{display_path(heapfuzz)} has no `signature` command (it comes with branch "
            f"`minimize`): crash signatures cannot be computed, so no finding is written")
    if p.returncode == 1:
        return None
    if p.returncode != 0:
        raise Error(f"{display_path(heapfuzz)} signature failed (exit {p.returncode}): "
                    f"{(p.stderr or '').strip()}")
    for line in p.stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            break
        sid, sig = obj.get("id"), obj.get("signature")
        if not isinstance(sid, str) or not ID_RE.match(sid) or not isinstance(sig, str):
            break
        frames = obj.get("frames") or []
        bid, bsig = obj.get("bug_id"), obj.get("bug_signature")
        if not (isinstance(bid, str) and ID_RE.match(bid) and isinstance(bsig, str) and bsig):
            bid, bsig = sid, sig
        return Signature(id=sid, signature=sig, type=str(obj.get("type") or sig.split("|")[0]),
                         frames=[str(x) for x in frames], bug_id=bid, bug_signature=bsig)
    raise Error(f"{display_path(heapfuzz)} signature --json printed no signature object: "
                f"{p.stdout.strip()[:200]!r}")


def print_program(heapfuzz: Path, file: Path) -> str:
    """`heapfuzz print FILE`: the program as text."""
    p = subprocess.run([str(heapfuzz), "print", "--", str(file)], capture_output=True,
                       env=replay_env())
    if p.returncode != 0:
        raise Error(f"{display_path(heapfuzz)} print {display_path(file)}: "
                    f"{p.stderr.decode('utf-8', 'replace').strip()}")
    return p.stdout.decode("utf-8", "replace")


def budget_exhausted(program: str) -> bool:
    """Whether `heapfuzz minimize` stopped at its budget or time limit (its header says `...:
    not fully minimized`) rather than at a program it could not shrink further."""
    for line in program.splitlines():
        if not line.startswith("#"):
            break
        if line.rstrip().endswith("not fully minimized"):
            return True
    return False


@dataclass
class Minimized:
    text: Optional[str]  # the minimized program, or None
    note: str            # what happened, for the user


def minimize(heapfuzz: Path, target: str, file: Path, timeout: float) -> Minimized:
    """`heapfuzz minimize [--threads] INPUT -o OUT`. Returns the text, or None with the reason
    (no minimize command in this heapfuzz, or the input did not crash)."""
    with tempfile.TemporaryDirectory(prefix="hf-minimize-") as d:
        out = Path(d) / "min.ops"
        argv = [str(heapfuzz), "minimize"]
        if target == "fuzz_heap_threads":
            argv.append("--threads")
        argv += ["--timeout", str(int(timeout)), str(file), "-o", str(out)]
        try:
            p = subprocess.run(argv, capture_output=True, text=True, env=replay_env(),
                               errors="replace", timeout=max(1800, timeout * 30))
        except subprocess.TimeoutExpired:
            return Minimized(None, "heapfuzz minimize ran over its time limit: not minimized")
        if _unknown_command(p):
            return Minimized(None, f"{display_path(heapfuzz)} has no `minimize` command "
                                   f"(branch `minimize`): program.ops is not minimized")
        if p.returncode == 1:
            return Minimized(None, "heapfuzz minimize: the input did not crash again: "
                                   "not minimized")
        if p.returncode != 0 or not out.exists():
            return Minimized(None, f"heapfuzz minimize failed (exit {p.returncode}): "
                                   f"{p.stderr.strip()[:300]}")
        return Minimized(out.read_text(encoding="utf-8", errors="replace"), "minimized")


@dataclass
class Signed:
    sig: Optional[Signature]
    report: str       # what was signed
    how: str          # "replay", or "gdb backtrace of the replay"
    problem: str = ""  # why a crash could not be signed


def sign_replay(heapfuzz: Path, r: Replay, timeout: float = REPLAY_TIMEOUT) -> Signed:
    """The signature of a replay that did not run clean. A replay killed by a signal without
    any report it could be signed by (a build without a sanitizer, or a crash the sanitizer
    does not handle) runs again under gdb, and its backtrace is signed: `signal:<NAME>|frames`
    (glibc's abort messages, printed before, sign as the crash they name)."""
    sig = compute_signature(heapfuzz, r.output, r.timed_out)
    if sig is not None:
        return Signed(sig, r.output, "replay")
    name = signal_of(r)
    if name and not r.timed_out:
        bt = gdb_backtrace(r.argv, timeout)
        if bt is None:
            return Signed(None, r.output, "replay",
                          f"replay killed by {name} without a sanitizer report, and gdb (to "
                          f"sign it from a backtrace) is not installed: apt-get install gdb")
        report = r.output + "\n[gdb backtrace of the replay]\n" + bt
        sig = compute_signature(heapfuzz, report)
        if sig is not None:
            return Signed(sig, report, "gdb backtrace of the replay")
        r = Replay(argv=r.argv, rc=r.rc, output=report)
    last = "\n    ".join(r.output.strip().splitlines()[-5:])
    return Signed(None, r.output, "replay", f"replay failed (exit {r.rc}) but heapfuzz "
                                             f"signature recognizes no crash in its output:\n"
                                             f"    {last}")


def replay_signatures(heapfuzz: Path, target: str, file: Path, runs: int,
                      timeout: float = REPLAY_TIMEOUT):
    """Replays file `runs` times. Yields (replay, Signature or None) for each."""
    for _ in range(runs):
        r = run_capture(run_argv(heapfuzz, target, file), timeout)
        if r.tool_error:
            raise Error(f"{' '.join(r.argv)}: {r.output.strip()[:300]}")
        sig = None if r.clean else sign_replay(heapfuzz, r, timeout).sig
        yield r, sig


# ---------------------------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------------------------

def default_findings_dir() -> Path:
    return REPO / "findings"


@dataclass
class Finding:
    dir: Path
    meta: dict
    inputs: dict = field(default_factory=dict)  # sha1 -> where it was first seen

    @property
    def id(self) -> str:
        return self.meta["id"]

    def write_meta(self) -> bool:
        return atomic_write(self.dir / "meta.json", json_bytes(self.meta))

    def write_inputs(self) -> bool:
        return atomic_write(self.dir / "inputs.txt", render_inputs(self.inputs))


def render_inputs(inputs: dict) -> str:
    return "".join(f"{sha} {src}\n" for sha, src in sorted(inputs.items()))


def load_finding(d: Path) -> Finding:
    """Reads and checks one finding folder. Raises MalformedFinding saying what is wrong."""
    name = display_path(d)
    if not d.is_dir():
        raise UsageError(f"{name}: no such finding")
    meta_path = d / "meta.json"
    if not meta_path.exists():
        raise MalformedFinding(f"{name}: malformed finding: no meta.json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MalformedFinding(f"{name}: malformed finding: meta.json: {e}") from None
    if not isinstance(meta, dict):
        raise MalformedFinding(f"{name}: malformed finding: meta.json is not an object")
    missing = [k for k in META_KEYS if k not in meta]
    if missing:
        raise MalformedFinding(f"{name}: malformed finding: meta.json lacks "
                               f"{', '.join(missing)}")
    problems = []
    if meta["id"] != d.name:
        problems.append(f"id {meta['id']!r} is not the folder's name")
    if not isinstance(meta["signature"], str) or not meta["signature"]:
        problems.append("signature is not a string")
    if meta["status"] not in STATUSES:
        problems.append(f"status {meta['status']!r} is not one of {', '.join(STATUSES)}")
    if not isinstance(meta["count"], int) or meta["count"] < 1:
        problems.append(f"count {meta['count']!r} is not a positive integer")
    if not isinstance(meta["frames"], list):
        problems.append("frames is not a list")
    for f in FINDING_FILES:
        if not (d / f).is_file():
            problems.append(f"no {f}")
    if not problems and (d / "signature.txt").read_text(encoding="utf-8", errors="replace") \
            .strip() != f"{meta['id']} {meta['signature']}":
        problems.append("signature.txt does not match meta.json")
    if problems:
        raise MalformedFinding(f"{name}: malformed finding: {'; '.join(problems)}")
    inputs = {}
    inputs_path = d / "inputs.txt"
    if inputs_path.exists():
        for line in inputs_path.read_text(encoding="utf-8", errors="replace").splitlines():
            sha, _, src = line.partition(" ")
            if sha:
                inputs[sha] = src
    return Finding(dir=d, meta=meta, inputs=inputs)


def finding_dirs(findings: Path) -> list[Path]:
    """The folders of findings/ that are findings (12 hex digits), sorted."""
    if not findings.is_dir():
        return []
    return sorted(p for p in findings.iterdir() if p.is_dir() and ID_RE.match(p.name))


def load_all(findings: Path) -> tuple[list[Finding], list[str]]:
    """Every finding, and a message for each malformed one."""
    found, errors = [], []
    for d in finding_dirs(findings):
        try:
            found.append(load_finding(d))
        except MalformedFinding as e:
            errors.append(str(e))
    return found, errors


def resolve_finding(arg: str, findings: Path) -> Path:
    """`findings/<id>`, `<id>` or any path to a finding folder."""
    p = Path(arg)
    if p.is_dir():
        return p
    if ID_RE.match(arg) and (findings / arg).is_dir():
        return findings / arg
    raise UsageError(f"{arg}: no such finding")


@contextlib.contextmanager
def locked(findings: Path, prog: str):
    """Holds findings/.lock (one triage or promote at a time) and removes temporary folders
    that an interrupted run left (findings/.tmp-*; never a finding)."""
    findings.mkdir(parents=True, exist_ok=True)
    with open(findings / ".lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{prog}: waiting for another triage or promote on {display_path(findings)}",
                  file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        for tmp in sorted(findings.glob(".tmp-*")):
            print(f"{prog}: removing {display_path(tmp)} (left by an interrupted run)",
                  file=sys.stderr)
            shutil.rmtree(tmp, ignore_errors=True)
        yield


# ---------------------------------------------------------------------------------------------
# The index (findings/README.md)
# ---------------------------------------------------------------------------------------------

INDEX_HEAD = """\
# Findings

One row per bug, written by `scripts/triage`; this index is regenerated by `scripts/triage` and
`scripts/promote` (do not edit it by hand). A bug is what the eager oracle reports when the
minimized program is replayed with `heapfuzz run --eager` (the broken invariant, whichever op
or sanitizer noticed it first), else the crash signature; the crash signatures that turned out
to be one bug are merged into its row (their folders stay, status `duplicate`).
[FORMAT.md](FORMAT.md) describes a finding's files. Reproduce one with `scripts/repro
findings/<id>`; once the heap is fixed, `scripts/promote findings/<id>` keeps it as a
regression test (`corpus/regression/`).

| id | status | bug | crash signatures | target | preset | inputs | reproducible | ops | first seen | regression |
|----|--------|-----|------------------|--------|--------|-------:|--------------|----:|------------|------------|
"""


def _cell(v) -> str:
    s = "" if v is None else str(v)
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _order(f: Finding):
    return (str(f.meta.get("first_seen")), f.id)


def render_index(found: Iterable[Finding]) -> str:
    rows = sorted(found, key=_order)
    by_id = {f.id: f for f in rows}
    merged: dict[str, list[Finding]] = {}
    for f in rows:
        owner = f.meta.get("duplicate_of")
        if f.meta["status"] == "duplicate" and owner in by_id:
            merged.setdefault(owner, []).append(f)
    lines = [INDEX_HEAD]
    counts = {s: 0 for s in STATUSES}
    for f in rows:
        m = f.meta
        counts[m["status"]] = counts.get(m["status"], 0) + 1
        if m["status"] == "duplicate" and m.get("duplicate_of") in by_id:
            continue  # in its bug's row
        status = m["status"]
        if status == "duplicate" and m.get("duplicate_of"):
            status = f"duplicate of {m['duplicate_of']}"
        group = [f] + merged.get(f.id, [])
        sigs = ", ".join(f"[{g.id}]({g.id}/) {_cell(g.meta.get('type'))}" for g in group)
        reg = m.get("regression")
        reg_cell = ""
        if reg:
            reg_cell = f"[{Path(reg).name}]({reg if os.path.isabs(reg) else '../' + reg})"
        ops = m.get("minimized_ops")
        if ops is not None and m.get("minimize_complete") is False:
            ops = f"{ops} (budget ran out)"
        lines.append("| " + " | ".join([
            f"[{m['id']}]({m['id']}/)", _cell(status),
            _cell(m.get("bug_signature") or m.get("signature")), sigs,
            _cell(m.get("target")), _cell(m.get("preset")),
            _cell(sum(int(g.meta.get("count") or 0) for g in group)),
            _cell(m.get("reproducible")), _cell(ops), _cell(m.get("first_seen")),
            reg_cell]) + " |\n")
    bugs = len(rows) - sum(len(v) for v in merged.values())
    lines.append(f"\n{bugs} finding{'' if bugs == 1 else 's'} (one per bug): "
                 f"{counts['open']} open, {counts['fixed']} fixed; {len(rows)} crash "
                 f"signature{'' if len(rows) == 1 else 's'}, "
                 f"{sum(len(v) for v in merged.values())} merged into a finding.\n")
    if rows:
        lines.append("\n## Crash signatures\n\n| id | signature | bug of | inputs | status |\n"
                     "|----|-----------|--------|-------:|--------|\n")
        for f in rows:
            m = f.meta
            owner = m.get("duplicate_of") if m["status"] == "duplicate" else m["id"]
            lines.append("| " + " | ".join([
                f"[{m['id']}]({m['id']}/)", _cell(m.get("signature")),
                _cell(owner), _cell(m.get("count")), _cell(m["status"])]) + " |\n")
    return "".join(lines)


def write_index(findings: Path, found: Iterable[Finding]) -> bool:
    return atomic_write(findings / "README.md", render_index(found))
