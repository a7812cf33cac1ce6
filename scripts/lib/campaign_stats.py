"""campaign_stats: the engines' own statistics, read back: status lines, report figures, plots.

- libFuzzer (fork mode) prints a line after every job:
    #14176: cov: 5184 ft: 6454 corp: 571 exec/s 382 oom/timeout/crash: 0/0/0 time: 30s job: 6
  `#N` counts executions of all jobs so far, `exec/s` is the last job's own rate, so the rate
  over time is taken from the change of `#N` between lines.
- AFL++ writes <instance>/plot_data (a line every 5 s, from its first minute on) and
  <instance>/fuzzer_stats (every minute and at exit; `stability` is there). On a resumed
  instance both carry on from the earlier run, so figures are taken relative to a snapshot made
  before the instance started.
- The TSan loop and the explore loop keep their own counts (campaign_tsan.TsanReplay.snapshot(),
  campaign_explore.ExploreLoop.snapshot(): its execs are schedules, its inputs programs).
- Ops per executed program: the engines do not say how long the inputs they ran were (the
  corpus holds only those that added coverage, and mostly the longer ones), so fuzz_heap counts
  them itself into <instance>.ops-histogram (campaign_plan.OPS_HISTOGRAM_ENV): every process
  appends one cumulative line every few seconds and at exit,
    heapfuzz-ops-histogram 1 id=PID.START_NS execs=N OPS:COUNT OPS:COUNT ...
  The last line of each id counts, lines from before this run (the file's size when the instance
  started) do not, and a line still being written (no newline yet) is skipped.
"""

import math
import os
import re

LF_LINE = re.compile(r"^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+) exec/s:? (\d+) "
                     r"oom/timeout/crash: (\d+)/(\d+)/(\d+) time: (\d+)s")


def count_files(d, prefixes=None):
    """Findings in a directory: regular files, without dot files, README.txt and logs."""
    try:
        names = os.listdir(d)
    except OSError:
        return 0
    n = 0
    for name in names:
        if name.startswith(".") or name == "README.txt" or name.endswith(".log"):
            continue
        if prefixes and not name.startswith(prefixes):
            continue
        if os.path.isfile(os.path.join(d, name)):
            n += 1
    return n


def libfuzzer_series(log_path):
    """[(time s, execs, cov, ft, corp, job exec/s)] from a fork-mode log."""
    rows = []
    try:
        with open(log_path, errors="replace") as f:
            for line in f:
                m = LF_LINE.match(line)
                if m:
                    g = [int(x) for x in m.groups()]
                    rows.append((g[8], g[0], g[1], g[2], g[3], g[4]))
    except OSError:
        pass
    return rows


def read_fuzzer_stats(path):
    stats = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep:
                    stats[key.strip()] = value.strip()
    except OSError:
        pass
    return stats


def number(text, default=0.0):
    """A figure from AFL++'s files ("29.13%", "inf" right after its start) as a finite float."""
    try:
        v = float(str(text).rstrip("%"))
    except ValueError:
        return default
    return v if math.isfinite(v) else default


def afl_plot_rows(path, skip=0):
    """plot_data rows after the first `skip` data rows, as dicts keyed by the header's names."""
    rows, names, n = [], None, 0
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("#"):
                    names = [c.strip() for c in line[1:].split(",")]
                    continue
                n += 1
                if n <= skip or not names:
                    continue
                values = [c.strip() for c in line.split(",")]
                if len(values) == len(names):
                    rows.append(dict(zip(names, values)))
    except OSError:
        pass
    return rows


def afl_plot_count(path):
    try:
        with open(path, errors="replace") as f:
            return sum(1 for line in f if line.strip() and not line.startswith("#"))
    except OSError:
        return 0


def read_ops_histogram(path, offset=0):
    """{ops: executions} over every process's last line in path from byte offset on; {} when
    the file is missing or holds nothing after offset."""
    last = {}
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return {}
    for raw in data.split(b"\n")[:-1]:  # the part after the last newline is incomplete
        words = raw.decode("ascii", "replace").split()
        if len(words) < 4 or words[:2] != ["heapfuzz-ops-histogram", "1"]:
            continue
        if not words[2].startswith("id=") or not words[3].startswith("execs="):
            continue
        try:
            execs = int(words[3][len("execs="):])
            counts = {}
            for w in words[4:]:
                k, _, v = w.partition(":")
                counts[int(k)] = counts.get(int(k), 0) + int(v)
        except ValueError:
            continue
        key = words[2][len("id="):]
        if key not in last or execs >= last[key][0]:
            last[key] = (execs, counts)
    hist = {}
    for _, counts in last.values():
        for k, v in counts.items():
            hist[k] = hist.get(k, 0) + v
    return hist


def histogram_median(hist):
    """The median of a {value: count} histogram (the lower one of an even count), or None."""
    total = sum(hist.values())
    if total == 0:
        return None
    seen = 0
    for k in sorted(hist):
        seen += hist[k]
        if 2 * seen >= total:
            return k
    return None


def file_size(path):
    try:
        return os.path.getsize(path)
    except (OSError, TypeError):
        return 0


def finding_counts(inst):
    """(crashes, hangs) in an instance's directories: every run's, as their files are kept."""
    if inst.kind == "libfuzzer":
        d = inst.crash_dirs[0]
        return (count_files(d, ("crash-", "leak-")),
                count_files(d, ("timeout-", "oom-", "slow-unit-")))
    if inst.kind == "afl":
        return count_files(inst.crash_dirs[0]), count_files(inst.crash_dirs[1])
    return (sum(count_files(d, ("crash-",)) for d in inst.crash_dirs),
            sum(count_files(d, ("timeout-",)) for d in inst.crash_dirs))


class Snapshot:
    """What an instance's directories held before it started (for per-run figures)."""

    def __init__(self, inst):
        self.corpus = count_files(inst.corpus_dir) if inst.corpus_dir else 0
        self.crashes, self.hangs = finding_counts(inst)
        self.afl_stats = {}
        self.afl_plot_rows = 0
        # Where this run's lines start in the instance's ops histogram (earlier runs' are before).
        self.ops_histogram_offset = file_size(getattr(inst, "ops_histogram", None))
        if inst.kind == "afl":
            base = os.path.dirname(inst.corpus_dir)
            self.afl_stats = read_fuzzer_stats(os.path.join(base, "fuzzer_stats"))
            self.afl_plot_rows = afl_plot_count(os.path.join(base, "plot_data"))
            if not os.path.isdir(inst.corpus_dir):
                # A fresh instance starts from its -i directory (a resumed one ignores it).
                self.corpus = count_files(inst.cmd[inst.cmd.index("-i") + 1])


def figures(inst, snap, log_path, elapsed, loop=None):
    """The instance's figures for this run so far: a dict with execs, rate, coverage, corpus,
    crashes, hangs, stability (AFL++), series for the plots, and the median ops per executed
    program with how many executions it is of (ops_median and ops_execs: None and 0 where the
    target does not count them). loop: the snapshot of the runner's loop that is the instance
    (the TSan replays, the explore phase)."""
    crashes, hangs = finding_counts(inst)
    fig = {"execs": 0, "rate": 0.0, "now_rate": None, "cov": None, "cov_label": "",
           "corpus": None, "corpus_start": snap.corpus, "crashes": crashes, "hangs": hangs,
           "new_crashes": crashes - snap.crashes, "new_hangs": hangs - snap.hangs,
           "stability": None, "rate_series": [], "cov_series": [], "detail": "",
           "ops_median": None, "ops_execs": 0}
    if getattr(inst, "ops_histogram", None):
        hist = read_ops_histogram(inst.ops_histogram,
                                  getattr(snap, "ops_histogram_offset", 0))
        fig["ops_median"] = histogram_median(hist)
        fig["ops_execs"] = sum(hist.values())
    if inst.kind == "libfuzzer":
        rows = libfuzzer_series(log_path)
        fig["cov_label"] = "cov"
        if rows:
            # libFuzzer's own corpus size (`corp:`): seeds and merged corpus it kept, then
            # what it added; the first line comes after its initial pass over the inputs.
            fig["corpus_start"], fig["corpus"] = rows[0][4], rows[-1][4]
            t, execs, cov, ft, corp, _ = rows[-1]
            fig["execs"], fig["cov"] = execs, cov
            fig["rate"] = execs / max(t, elapsed, 1)
            fig["detail"] = "ft %d" % ft
            prev = (0, 0)
            for r in rows:
                if r[0] > prev[0]:
                    fig["rate_series"].append((r[0], (r[1] - prev[1]) / (r[0] - prev[0])))
                    prev = (r[0], r[1])
                fig["cov_series"].append((r[0], r[2]))
            if fig["rate_series"]:
                fig["now_rate"] = fig["rate_series"][-1][1]
    elif inst.kind == "afl":
        base = os.path.dirname(inst.corpus_dir)
        if os.path.isdir(inst.corpus_dir):  # AFL++ makes its queue after its checks
            fig["corpus"] = count_files(inst.corpus_dir)
        fig["cov_label"] = "edges"
        stats = read_fuzzer_stats(os.path.join(base, "fuzzer_stats"))
        fresh = stats.get("start_time") and stats.get("start_time") != snap.afl_stats.get(
            "start_time")
        prev_run = number(snap.afl_stats.get("run_time", 0))
        prev_execs = number(snap.afl_stats.get("execs_done", 0))
        rows = afl_plot_rows(os.path.join(base, "plot_data"), snap.afl_plot_rows)
        for r in rows:
            t = number(r.get("relative_time", 0)) - prev_run
            fig["rate_series"].append((t, number(r.get("execs_per_sec", 0))))
            fig["cov_series"].append((t, number(r.get("edges_found", 0))))
        if fresh:
            fig["now_rate"] = number(stats.get("execs_per_sec", 0)) or None
            # fuzzer_stats is a minute old at worst; the queue itself is up to date
            fig["corpus"] = max(fig["corpus"] or 0, int(number(stats.get("corpus_count", 0))))
            fig["execs"] = int(number(stats.get("execs_done", 0)) - prev_execs)
            fig["cov"] = int(number(stats.get("edges_found", 0)))
            fig["stability"] = stats.get("stability")
            fig["detail"] = "map %s of %s" % (stats.get("bitmap_cvg", "?"),
                                              stats.get("total_edges", "?"))
        if rows and number(rows[-1].get("total_execs", 0)) - prev_execs > fig["execs"]:
            # plot_data is more recent than fuzzer_stats (5 s against a minute)
            fig["execs"] = int(number(rows[-1]["total_execs"]) - prev_execs)
            fig["cov"] = int(number(rows[-1].get("edges_found", 0)))
            fig["corpus"] = max(fig["corpus"] or 0, int(number(rows[-1].get("corpus_count", 0))))
            fig["now_rate"] = number(rows[-1].get("execs_per_sec", 0))
        run_time = number(stats.get("run_time", 0)) - prev_run if fresh else 0
        fig["rate"] = fig["execs"] / max(run_time, elapsed, 1)
    elif loop is not None:
        s = loop
        fig["execs"] = s["execs"]
        fig["rate"] = s["execs"] / max(elapsed, 1)
        fig["corpus"] = s["unique"]
        # The rate over about the last 30 s: replays come in batches of several seconds each.
        recent = [p for p in s["samples"] if p[0] >= elapsed - 30]
        if len(recent) > 1 and recent[-1][0] > recent[0][0]:
            fig["now_rate"] = (recent[-1][1] - recent[0][1]) / (recent[-1][0] - recent[0][0])
        fig["corpus_start"] = None
        detail = []
        if inst.kind == "explore":
            detail.append("%d programs explored (%d multi-threaded), %d waiting"
                          % (s["unique"], s["threaded"], s["pending"]))
            if s["alone"]:
                detail.append("%d crash by themselves (not explored: their engine reports "
                              "them)" % s["alone"])
        if s.get("attributed"):
            detail.append("%d crashes attributed by a batch log only (schedule-dependent)"
                          % s["attributed"])
        if s["unattributed"]:
            detail.append("%d unattributed batch failures" % s["unattributed"])
        fig["detail"] = "; ".join(detail)
        prev = (0, 0)
        for t, execs in s["samples"]:
            if t - prev[0] >= 5:
                fig["rate_series"].append((t, (execs - prev[1]) / (t - prev[0])))
                prev = (t, execs)
    return fig


def status_line(inst, fig, state):
    """One line per instance, for the live display: the engine's current rate where it reports
    one (libFuzzer's last job, AFL++'s last stats), else the average so far."""
    rate = fig["now_rate"] if fig["now_rate"] is not None else fig["rate"]
    rate = "%7.0f/s" % rate if fig["execs"] else "      -/s"
    cov = "%s %s" % (fig["cov_label"], fig["cov"]) if fig["cov"] is not None else ""
    if inst.kind in ("tsan", "explore"):
        cov = "%s %d" % ("inputs" if inst.kind == "tsan" else "programs", fig["corpus"] or 0)
    corpus = ""
    if fig["corpus"] is not None and inst.kind not in ("tsan", "explore"):
        corpus = "corpus %d (+%d)" % (fig["corpus"], fig["corpus"] - fig["corpus_start"])
    stab = " stab %s" % fig["stability"] if fig["stability"] else ""
    finds = "crashes %d" % fig["crashes"]
    if fig["hangs"]:
        finds += " hangs %d" % fig["hangs"]
    ops = " ops~%d" % fig["ops_median"] if fig.get("ops_median") is not None else ""
    return "%-28s %-8s execs %-9d %s  %-11s %-18s %s%s%s" % (
        inst.name[:28], state[:8], fig["execs"], rate, cov, corpus, finds, stab, ops)


# --- SVG plots (stdlib only) ----------------------------------------------------------------

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


def _ticks(hi, n=5):
    """Round tick values from 0 to at least hi, about n of them; returns (ticks, top)."""
    if hi <= 0:
        hi = 1
    raw = hi / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if raw <= m * mag * 1.0000001)
    count = int(math.ceil(hi / step - 1e-9))
    ticks = [round(i * step, 10) for i in range(count + 1)]
    return ticks, ticks[-1]


def _esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg_chart(path, title, xlabel, ylabel, series):
    """A line chart of series [(label, [(x, y)...])] written to path. Returns False (and
    writes nothing) when no series has a point."""
    series = [(label, sorted(pts)) for label, pts in series if pts]
    if not series:
        return False
    w, h, left, right, top, bottom = 800, 380, 70, 240, 40, 50
    xs = [x for _, pts in series for x, _ in pts]
    ys = [y for _, pts in series for _, y in pts]
    xt, x1 = _ticks(max(xs))
    yt, y1 = _ticks(max(ys))
    x0 = y0 = 0
    pw, ph = w - left - right, h - top - bottom

    def px(x):
        return left + (x - x0) / ((x1 - x0) or 1) * pw

    def py(y):
        return top + ph - (y - y0) / ((y1 - y0) or 1) * ph

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>' % (left, _esc(title))]
    for v in xt:
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>'
                   % (px(v), top, px(v), top + ph))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                   % (px(v), top + ph + 16, "%g" % v))
    for v in yt:
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>'
                   % (left, py(v), left + pw, py(v)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>'
                   % (left - 6, py(v) + 4, "%g" % v))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>'
               % (left, top, pw, ph))
    out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
               % (left + pw / 2, h - 10, _esc(xlabel)))
    out.append('<text x="16" y="%.1f" text-anchor="middle" transform="rotate(-90 16 %.1f)">%s'
               '</text>' % (top + ph / 2, top + ph / 2, _esc(ylabel)))
    for i, (label, pts) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        coords = " ".join("%.1f,%.1f" % (px(x), py(y)) for x, y in pts)
        if len(pts) == 1:
            x, y = pts[0]
            out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (px(x), py(y), color))
        else:
            out.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>'
                       % (color, coords))
        ly = top + 14 + 18 * i
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>'
                   % (left + pw + 12, ly - 4, left + pw + 32, ly - 4, color))
        out.append('<text x="%d" y="%d">%s</text>' % (left + pw + 38, ly, _esc(label[:32])))
    out.append("</svg>")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return True
