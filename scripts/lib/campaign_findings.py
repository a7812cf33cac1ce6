"""campaign_findings: report.md's first section, the findings of this run, from what
scripts/triage wrote about them (<out>/triage.json: one row per bug, written again identically by
a second triage of the same campaign).

What a person reads first in the morning: one row per finding (a bug: crash signatures that are
one bug are one row), whether it is new or was known before this campaign, how many inputs and
which engines hit it, its reproducibility and minimized size, and a link to its folder; a shipped
seed that crashed by itself is said to be one; the crash files that could not be reproduced or
signed are listed by name. The raw crash files stay in the campaign directory.
"""

import json
import os
import shlex

from campaign_plan import ROOT, relpath as _rel

MAX_PROBLEMS = 20


def _cell(v):
    s = "" if v is None else str(v)
    return s.replace("|", "\\|").replace("\n", " ")


def load_summary(out):
    """<out>/triage.json, or None when triage did not write one (not run, or interrupted)."""
    try:
        with open(os.path.join(out, "triage.json"), encoding="utf-8") as f:
            obj = json.load(f)
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) and isinstance(obj.get("findings"), list) else None


def _ops(row):
    mops, oops = row.get("minimized_ops"), row.get("original_ops")
    if mops is None:
        return "not minimized (%s ops)" % oops if oops is not None else "-"
    note = " (budget ran out)" if row.get("minimize_complete") is False else ""
    return "%s of %s%s" % (mops, oops, note)


def section_findings(ctx):
    """## Findings of this run (see the module's doc)."""
    plan, out, triage = ctx.plan, ctx.out, ctx.triage
    crashes = triage.get("crashes", [])
    L = ["", "## Findings of this run", ""]
    if not triage.get("ran"):
        L.append("Not triaged: %s. %d crash, hang and timeout files are in the campaign "
                 "directory." % (triage.get("why", "?"), len(crashes)))
        return L
    cmd = plan.triage_command()
    how = "`%s` (exit %d; its output: `%s`)" % (
        " ".join(shlex.quote(_rel(a, ROOT) if os.path.isabs(a) else a) for a in cmd),
        triage.get("rc", -1), _rel(triage.get("log", ""), out))
    summary = load_summary(out)
    if summary is None:
        L.append("Triaged by %s, which wrote no summary (`triage.json`): see its output. "
                 "%d crash, hang and timeout files." % (how, len(crashes)))
        return L
    rows = summary["findings"]
    inputs = summary.get("inputs") or {}
    findings_dir = os.path.join(ROOT, summary.get("findings_dir") or "findings")
    new = sum(1 for r in rows if r.get("new"))
    total = sum(inputs.get(k, 0) for k in ("filed", "not reproduced", "error", "skipped"))
    L.append("**%d finding%s** (one per bug), %d new, %d seen before; %d crash, hang and "
             "timeout files triaged: %d filed, %d not reproduced, %d errors, %d skipped. Index: "
             "[%s](%s)." % (len(rows), "" if len(rows) == 1 else "s", new, len(rows) - new,
                            total, inputs.get("filed", 0), inputs.get("not reproduced", 0),
                            inputs.get("error", 0), inputs.get("skipped", 0),
                            _rel(os.path.join(findings_dir, "README.md"), ROOT),
                            _rel(os.path.join(findings_dir, "README.md"), out)))
    if rows:
        L += ["", "| finding | bug | | inputs | engines | reproducible | ops (minimized of "
              "original) |", "|---|---|---|---:|---|---|---|"]
        for r in sorted(rows, key=lambda r: (not r.get("new"), -r.get("inputs", 0), r["id"])):
            folder = os.path.join(ROOT, r.get("folder") or "")
            sigs = len(r.get("crash_ids") or [])
            inputs_cell = "%d%s" % (r.get("inputs", 0),
                                    " (%d crash signatures)" % sigs if sigs > 1 else "")
            engines = ", ".join(r.get("engines") or [])
            if r.get("seeds"):
                engines += (", " if engines else "") + "seed"
            L.append("| [%s](%s/) | `%s` | %s | %s | %s | %s | %s |" % (
                r["id"], _rel(folder, out), _cell(r.get("bug_signature")),
                "**new**" if r.get("new") else "seen before", inputs_cell, _cell(engines),
                _cell(r.get("reproducible")), _ops(r)))
    seeds = [(s, r["id"]) for r in rows for s in r.get("seeds") or []]
    if seeds:
        L += ["", "A shipped seed crashed by itself, before any fuzzing: %s. The heap fails its "
              "own seed corpus." % ", ".join("`%s` (%s)" % s for s in seeds)]
    problems = summary.get("problems") or []
    if problems:
        L += ["", "Crash files not accounted for (`%s` has each one's message):" %
              _rel(triage.get("log", ""), out), ""]
        for p in problems[:MAX_PROBLEMS]:
            first = (p.get("message") or "").splitlines()[0] if p.get("message") else ""
            L.append("- `%s`: %s" % (_rel(os.path.join(ROOT, p.get("input", "")), out),
                                     _cell(first)))
        if len(problems) > MAX_PROBLEMS:
            L.append("- ... and %d more" % (len(problems) - MAX_PROBLEMS))
    L += ["", "Triaged by %s. The raw crash files stay in the engines' directories "
          "(`libfuzzer/<target>/crashes/`, `afl/<target>/sync/<instance>/crashes/`, "
          "`tsan/<target>/crashes/`, `explore/fuzz_heap/crashes/`)." % how]
    return L
