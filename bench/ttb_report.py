"""ttb_report: bench/time_to_bug's table (markdown) and survival plot (SVG), from results.json.

A trial that did not find its bug is censored at the budget: it counts as the budget in a
median (so a median over trials that mostly failed is shown as "> budget"), and a ratio built on
censored times is a lower bound, marked with >=.
"""

import math
import statistics

CONFIG_LABELS = {
    "lf-ops": "libFuzzer + op mutator + dict",
    "lf-plain": "libFuzzer, plain",
    "afl-ops": "AFL++ + op mutator + dict",
    "tsan": "libFuzzer (ASan) + TSan replay",
    "lf-explore": "libFuzzer + op mutator + dict, and explore",
}
COLORS = {"lf-ops": "#1f77b4", "lf-plain": "#d62728", "afl-ops": "#2ca02c", "tsan": "#9467bd",
          "lf-explore": "#ff7f0e"}


def group(doc):
    """{(bug, config): [results sorted by trial]} in the order bugs and configs first appear."""
    cells = {}
    for r in doc["results"]:
        cells.setdefault((r["bug"], r["config"]), []).append(r)
    for rs in cells.values():
        rs.sort(key=lambda r: r["trial"])
    return cells


def median_time(rs, budget):
    """(median seconds, censored). Misses count as never found: when they reach the middle the
    median is unknown beyond the budget, returned as the budget with censored True."""
    if not rs:
        return None, False
    m = statistics.median(sorted(r["seconds"] if r["found"] else math.inf for r in rs))
    if math.isinf(m):
        return float(budget), True
    return m, False


def fmt_seconds(s):
    if s is None:
        return "-"
    if s < 10:
        return "%.1f s" % s
    return "%.0f s" % s


def fmt_median(rs, budget):
    m, censored = median_time(rs, budget)
    if m is None:
        return "-"
    return "> %s" % fmt_seconds(budget) if censored else fmt_seconds(m)


def best_config(cells, bug):
    """The configuration that found bug most often, ties broken by the smaller median."""
    candidates = [(c, rs) for (b, c), rs in cells.items() if b == bug]
    if not candidates:
        return None
    return min(candidates, key=lambda item: (-sum(r["found"] for r in item[1]),
                                             median_time(item[1], 10 ** 9)[0]))[0]


def ratio(slow_rs, fast_rs, budget):
    """(median(slow)/median(fast), lower bound?) with misses at the budget."""
    ms, cs = median_time(slow_rs, budget)
    mf, cf = median_time(fast_rs, budget)
    if not ms or not mf or cf:
        return None, False
    return ms / max(mf, 0.01), cs


def render(doc):
    budget = doc["budget_seconds"]
    cells = group(doc)
    # The bugs asked for (a bug whose trials all failed to run has no result, and misses).
    bugs = list(dict.fromkeys(list(doc.get("zoo", {})) + [r["bug"] for r in doc["results"]]))
    configs = list(dict.fromkeys(r["config"] for r in doc["results"]))
    zoo = doc.get("zoo", {})
    out = ["# Time to bug", "",
           "`%s` at commit %s, %s: budget %s per trial, %d trial(s) per bug and "
           "configuration, each on one core." % (doc["command"], doc["commit"], doc["date"],
                                                 fmt_seconds(budget), doc["trials"]),
           "",
           "A trial ends at the first crash that is the bug's: it reproduces with the bug "
           "injected and runs clean on the shipped heap. *zoo sig* says whether its signature "
           "is the zoo program's (`heapfuzz signature`); *ops* is the minimized program's op "
           "count against the zoo program's; *replays* is how many of 10 replays of the found "
           "input crashed with its signature. *seeds* counts the shipped seeds (corpus/fuzz_heap) "
           "that already fail with the bug injected; %s" % (
               "the trials started from all the seeds." if doc.get("keep_crashing_seeds") else
               "the trials started from the others, so that the time is the engine's."), ""]
    if doc.get("only_seeds"):
        out += ["**The trials started from %s alone** (`--seed`), not the whole seed corpus."
                % ", ".join("`%s`" % s for s in doc["only_seeds"]), ""]
    out += ["| bug | seeds | configuration | found | median | trials | zoo sig | ops (zoo) "
            "| replays |",
            "|---|---:|---|---:|---:|---|---:|---:|---:|"]
    for bug in bugs:
        for config in configs:
            rs = cells.get((bug, config))
            if not rs:
                continue
            found = [r for r in rs if r["found"]]
            trials = ", ".join(fmt_seconds(r["seconds"]) if r["found"] else "-" for r in rs)
            zs = "%d/%d" % (sum(r.get("zoo_signature_match", False) for r in found),
                            len(found)) if found else "-"
            ops = [r.get("minimized_ops") for r in found if r.get("minimized_ops") is not None]
            ops_s = ("%s (%s)" % ("/".join(str(o) for o in ops), zoo.get(bug, {}).get("ops", "?"))
                     if ops else "-")
            rep = ("/".join("%d" % r["replays_same"] for r in found if "replays_same" in r)
                   or "-")
            z = zoo.get(bug, {})
            seeds = ("%d/%d" % (len(z["seeds_caught"]), z["seeds"]) if "seeds" in z else "?")
            out.append("| %s | %s | %s | %d/%d | %s | %s | %s | %s | %s |" % (
                bug, seeds, CONFIG_LABELS.get(config, config), len(found), len(rs),
                fmt_median(rs, budget), trials, zs, ops_s, rep))
    out += ["", "## Targets", ""]
    out += targets(cells, bugs, budget)
    other = [(r, c) for r in doc["results"] for c in r.get("shipped_crashes", [])]
    if other:
        out += ["", "## Crashes on the shipped heap (real bugs)", ""]
        out += ["- %s %s trial %d: %s" % (r["bug"], r["config"], r["trial"], c["signature"])
                for r, c in other]
    if doc.get("failures"):
        out += ["", "## Trials that failed to run", ""] + ["- " + f for f in doc["failures"]]
    return "\n".join(out) + "\n"


def targets(cells, bugs, budget):
    lines = []
    # 1. Every bug, every trial, by its best configuration.
    missed = []
    for bug in bugs:
        c = best_config(cells, bug)
        if c is None:
            missed.append("%s (no trial ran)" % bug)
            continue
        rs = cells[(bug, c)]
        if not all(r["found"] for r in rs):
            missed.append("%s (best: %s, %d/%d)" % (bug, c, sum(r["found"] for r in rs),
                                                    len(rs)))
    lines.append("- Every bug found by its best configuration in every trial: %s" % (
        "**met**" if not missed else "**not met**: " + "; ".join(missed)))
    # 2. The motivating bug under 60 s median.
    for config in ("lf-ops", "afl-ops"):
        rs = cells.get(("stale-last-active", config))
        if rs:
            m, censored = median_time(rs, budget)
            ok = not censored and m < 60
            lines.append("- stale-last-active, median time to bug under 60 s (%s): %s, %s" % (
                CONFIG_LABELS[config], fmt_median(rs, budget),
                "**met**" if ok else "**not met**"))
    # 3. Structure-aware at least 3x faster than plain libFuzzer (median).
    per_bug = []
    for bug in bugs:
        fast, slow = cells.get((bug, "lf-ops")), cells.get((bug, "lf-plain"))
        if fast and slow:
            r, lower = ratio(slow, fast, budget)
            per_bug.append((bug, r, lower))
    if per_bug:
        known = [r for _, r, _ in per_bug if r is not None]
        detail = ", ".join("%s %s%s" % (b, ">= " if lower else "",
                                        "%.1fx" % r if r is not None else "n/a")
                           for b, r, lower in per_bug)
        if known:
            med = statistics.median(known)
            geo = math.exp(sum(math.log(max(r, 1e-9)) for r in known) / len(known))
            lines.append("- libFuzzer with the op mutator vs plain libFuzzer, median over bugs "
                         "of the ratio of median times to bug: %.1fx (geometric mean %.1fx; "
                         "target 3x): %s. Per bug: %s. (>= : plain libFuzzer missed in most "
                         "trials, its time counted as the budget.)"
                         % (med, geo, "**met**" if med >= 3 else "**not met**", detail))
    return lines


# ---------------------------------------------------------------------------------------------
# Survival plot
# ---------------------------------------------------------------------------------------------

def survival_svg(doc):
    """Fraction of (bug, trial) pairs not yet found against time (log scale), one step curve
    per configuration, over the bugs it ran on."""
    budget = float(doc["budget_seconds"])
    W, H, L, R, T, B = 720, 420, 70, 230, 40, 60
    pw, ph = W - L - R, H - T - B
    t0 = 0.1

    def x(t):
        t = min(max(t, t0), budget)
        return L + pw * math.log(t / t0) / math.log(budget / t0)

    def y(frac):
        return T + ph * (1 - frac)

    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'font-family="sans-serif" font-size="12">' % (W, H),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="22" font-size="14">Survival of the planted bugs: share not yet '
             'found (budget %ds, %d trials)</text>' % (L, budget, doc["trials"])]
    # Axes and grid.
    parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>'
                 % (L, T, pw, ph))
    tick = 0.1
    while tick <= budget * 1.0001:
        for m in (1, 2, 5):
            t = tick * m
            if t < t0 or t > budget:
                continue
            parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>'
                         % (x(t), T, x(t), T + ph))
            if m == 1:
                parts.append('<text x="%.1f" y="%d" text-anchor="middle">%gs</text>'
                             % (x(t), T + ph + 16, t))
        tick *= 10
    for frac in (0, 0.25, 0.5, 0.75, 1):
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>'
                     % (L, y(frac), L + pw, y(frac)))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%d%%</text>'
                     % (L - 6, y(frac) + 4, frac * 100))
    parts.append('<text x="%d" y="%d" text-anchor="middle">time to bug (log scale)</text>'
                 % (L + pw / 2, H - 18))
    # Curves.
    configs = list(dict.fromkeys(r["config"] for r in doc["results"]))
    for i, config in enumerate(configs):
        rs = [r for r in doc["results"] if r["config"] == config]
        n = len(rs)
        found = sorted(r["seconds"] for r in rs if r["found"])
        color = COLORS.get(config, "#333")
        pts = [(x(t0), y(1.0))]
        alive = n
        for t in found:
            pts.append((x(t), y(alive / n)))
            alive -= 1
            pts.append((x(t), y(alive / n)))
        pts.append((x(budget), y(alive / n)))
        parts.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                     % (color, " ".join("%.1f,%.1f" % p for p in pts)))
        bugs = len(set(r["bug"] for r in rs))
        ly = T + 14 + 34 * i
        parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>'
                     % (L + pw + 12, ly, L + pw + 32, ly, color))
        parts.append('<text x="%d" y="%d">%s</text>' % (L + pw + 38, ly + 4,
                                                        CONFIG_LABELS.get(config, config)))
        parts.append('<text x="%d" y="%d" fill="#555">%d bug(s), %d/%d found</text>'
                     % (L + pw + 38, ly + 18, bugs, len(found), n))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
