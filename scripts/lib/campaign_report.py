"""campaign_report: <out>/report.md and its plots, from the engines' own statistics."""

import datetime
import os
import shlex

from campaign_plan import ROOT, format_duration, relpath as _rel
import campaign_findings
import campaign_stats as stats


def _utc(t):
    if not t:
        return "-"
    return datetime.datetime.utcfromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S UTC")


def _where(path, out):
    """path relative to out when inside it, else to the repository when inside that, else
    absolute."""
    for base in (out, ROOT):
        rel = os.path.relpath(path, base)
        if not rel.startswith(os.pardir):
            return rel
    return path


def mutation_counts(queue_dir):
    """AFL++ queue entries by what made them, from their names: the op mutator's
    (",ops_mutate", ",ops_crossover": targets/afl_mutator.c's afl_custom_describe), AFL++'s own
    stages (",op:..."), imports from other instances (",sync:"), seeds (",orig:")."""
    counts = {"ops_mutate": 0, "ops_crossover": 0, "afl": 0, "imported": 0, "seeds": 0}
    try:
        names = os.listdir(queue_dir)
    except OSError:
        return counts
    for name in names:
        if not name.startswith("id:"):
            continue
        # A resumed instance re-imports its old queue as "id:N,...,orig:<the old name>".
        while ",orig:id:" in name:
            name = name.split(",orig:", 1)[1]
        if ",ops_mutate" in name:
            counts["ops_mutate"] += 1
        elif ",ops_crossover" in name:
            counts["ops_crossover"] += 1
        elif ",sync:" in name:
            counts["imported"] += 1
        elif ",orig:" in name:
            counts["seeds"] += 1
        else:
            counts["afl"] += 1
    return counts


def plots(campaign, figs):
    """SVG charts of execs/s and coverage over time; returns [(title, relative path)]."""
    out = campaign.plan.out
    made = []
    rate = [(name, figs[name]["rate_series"]) for name in figs]
    plot_dir = os.path.join(out, "plots" + campaign.plan.suffix())
    path = os.path.join(plot_dir, "execs_per_sec.svg")
    if stats.svg_chart(path, "Executions per second", "seconds since start", "execs/s", rate):
        made.append(("execs/s over time", _rel(path, out)))
    for kind, label, unit in (("libfuzzer", "libFuzzer coverage", "cov (covered PCs)"),
                              ("afl", "AFL++ coverage", "edges found")):
        series = [(r.inst.name, figs[r.inst.name]["cov_series"]) for r in campaign.runs
                  if r.inst.kind == kind]
        path = os.path.join(plot_dir, "coverage_%s.svg" % kind)
        if stats.svg_chart(path, label, "seconds since start", unit, series):
            made.append((label + " over time", _rel(path, out)))
    return made


def explore_of(r):
    """The explore phase a run carries (the TSan instance's, campaign_run.Running), or None."""
    return r.explore_inst if getattr(r, "explore", None) else None


def all_figures(campaign):
    """{name: figures} of every instance and explore phase, in the runs' order."""
    figs = {}
    for r in campaign.runs:
        figs[r.inst.name] = campaign.figures(r)
        if explore_of(r):
            figs[explore_of(r).name] = campaign.figures(r, explore=True)
    return figs


class Context:
    """What the report's sections are written from: the campaign (its plan and runs), the
    command line, each instance's figures (campaign_stats.figures), the plots made, and the
    results of the merge, triage and afl-plot steps."""

    def __init__(self, campaign, argv, merge, triage, afl_plots, figs=None, charts=None):
        self.campaign = campaign
        self.plan = campaign.plan
        self.out = campaign.plan.out
        self.argv = argv
        self.merge = merge
        self.triage = triage
        self.afl_plots = afl_plots
        self.figs = figs if figs is not None else all_figures(campaign)
        self.charts = charts if charts is not None else plots(campaign, self.figs)


def section_header(ctx):
    campaign, plan, out = ctx.campaign, ctx.plan, ctx.out
    ran = (campaign.ended or campaign.started) - campaign.started
    L = ["# heapfuzz campaign report", ""]
    if plan.inject_bug:
        preset, name, path = plan.replay_heapfuzz()
        L += ["> **INJECTED BUG: `%s`.** This campaign fuzzed a heap built with "
              "`-DHC_INJECT_BUG=%s` (`%s/`), a rehearsal: what it found is that bug, not a bug "
              "of the shipped heap. Its findings are in `%s/` (replayed with `%s`), its new "
              "inputs were merged into `%s/`; `findings/` and `corpus/merged/` were not touched."
              % (plan.inject_bug, plan.inject_bug, _where(plan.build_root, out),
                 _where(plan.findings_dir(), out), _where(path, out),
                 _where(plan.merged, out)), ""]
    L.append("- command: `%s`" % " ".join(shlex.quote(a) for a in ctx.argv))
    L.append("- run %s, commit `%s`" % (campaign.run_id, campaign.manifest_commit or "?"))
    L.append("- from %s to %s: planned %s, ran %s%s"
             % (_utc(campaign.started), _utc(campaign.ended), format_duration(plan.duration),
                format_duration(ran), " (interrupted)" if campaign.interrupted else ""))
    L.append("- targets: %s; engines: %s; TSan replay: %s; explore: %s; %d jobs on a machine "
             "with %d cores%s"
             % (", ".join(plan.targets), ", ".join(plan.engines), "yes" if plan.tsan else "no",
                "yes (fuzz_heap, in turns on the TSan instance's core)" if plan.explore else "no",
                plan.jobs, os.cpu_count() or 1,
                " (more instances than jobs: they shared the cores)" if plan.oversubscribed
                else ""))
    L.append("- output: `%s` (engine logs in `%s`)" % (out, _rel(campaign.log_dir, out)))
    return L


def ops_cell(f):
    """The instance table's median ops per executed program: `N (of M execs)`, or `-`."""
    if f.get("ops_median") is None:
        return "-"
    return "%d (of %d execs)" % (f["ops_median"], f["ops_execs"])


def section_instances(ctx):
    L = ["", "## Instances", "",
         "Figures are this run's, from the engines' own statistics. Execs/s is per instance "
         "(a libFuzzer instance with -fork=N runs N jobs at once). Median ops is the median "
         "number of ops of the programs the instance executed, counted by the target itself "
         "(`fuzz_heap`, into `<engine>/<target>/<instance>.ops-histogram`; `-` for the targets "
         "that do not count): what an execution costs, where the corpus would show only the "
         "inputs that added coverage. Coverage is libFuzzer's "
         "`cov` (covered PCs of the `fuzz` build) or AFL++'s `edges_found` (of the `afl` "
         "build's map): different instrumentations, so compare within one engine only. "
         "Stability is AFL++'s share of the map that repeats for the same input "
         "(`fuzzer_stats`). Crashes and hangs count the files in the instance's directories, "
         "earlier runs' included, and how many this run added. The explore phase's execs are "
         "schedules (`heapfuzz explore`, each program's preempts tried systematically), its "
         "corpus the programs explored, its hangs timeout-explore files; it runs in turns with "
         "the TSan replays on their one core.", "",
         "| instance | engine | target | state | execs | execs/s | median ops | coverage | "
         "corpus start -> end | crashes | hangs | stability |",
         "|---|---|---|---|---:|---:|---:|---|---|---:|---:|---|"]
    rows = []
    for r in ctx.campaign.runs:
        rows.append((r, r.inst))
        if explore_of(r):
            rows.append((r, explore_of(r)))
    for r, inst in rows:
        f = ctx.figs[inst.name]
        cov = "%s %s" % (f["cov_label"], f["cov"]) if f["cov"] is not None else "-"
        if f["detail"] and r.inst.kind == "afl":
            cov += " (%s)" % f["detail"]
        if inst.kind == "tsan":
            corpus = "%d inputs replayed" % (f["corpus"] or 0)
        elif inst.kind == "explore":
            corpus = "%d programs explored" % (f["corpus"] or 0)
        elif f["corpus"] is not None:
            corpus = "%d -> %d (+%d)" % (f["corpus_start"], f["corpus"],
                                         f["corpus"] - f["corpus_start"])
        else:
            corpus = "-"
        state = r.state if r.rc in (None, 0) or r.state == "stopped" else "%s (exit %s)" % (
            r.state, r.rc)
        L.append("| %s | %s | %s | %s | %d | %.0f | %s | %s | %s | %d (%d new) | %d (%d new) "
                 "| %s |"
                 % (inst.name, inst.engine_label(), inst.target, state, f["execs"],
                    f["rate"], ops_cell(f), cov, corpus, f["crashes"], f["new_crashes"],
                    f["hangs"], f["new_hangs"], f["stability"] or "-"))
    tsan = [ctx.figs[r.inst.name] for r in ctx.campaign.runs if r.inst.kind == "tsan"]
    if tsan and tsan[0]["detail"]:
        L += ["", "TSan: %s (logs in `tsan/<target>/`)." % tsan[0]["detail"]]
    for _, inst in rows:
        if inst.kind == "explore" and ctx.figs[inst.name]["detail"]:
            L += ["", "Explore: %s (crash files in `%s/`, what was explored in "
                  "`explore/explored.txt`)." % (ctx.figs[inst.name]["detail"],
                                               _rel(inst.crash_dirs[0], ctx.out))]
    return L


def section_plots(ctx):
    out = ctx.out
    L = ["", "## Plots", ""]
    if ctx.charts:
        for title, path in ctx.charts:
            L.append("![%s](%s)" % (title, path))
            L.append("")
    else:
        L.append("No engine wrote statistics over time (libFuzzer prints a line per finished "
                 "fork job; AFL++ starts plot_data after its first minute).")
    if ctx.afl_plots:
        L.append("afl-plot: " + ", ".join("[%s](%s/index.html)" % (n, _rel(p, out))
                                          for n, p in sorted(ctx.afl_plots.items())))
    return L


def section_afl_queue(ctx):
    afl_runs = [r for r in ctx.campaign.runs if r.inst.kind == "afl"]
    if not afl_runs:
        return []
    L = ["", "## AFL++ queue by mutation", "",
         "Queue entries by what produced them (the whole queue: entries of earlier runs "
         "are counted by what first found them): the op mutator (`afl_custom_fuzz`, "
         "targets/afl_mutator.c), AFL++'s own stages, imports from other instances (-M/-S "
         "sync and -F), seeds.", "",
         "| instance | ops_mutate | ops_crossover | AFL++ stages | imported | seeds |",
         "|---|---:|---:|---:|---:|---:|"]
    for r in afl_runs:
        c = mutation_counts(r.inst.corpus_dir)
        L.append("| %s | %d | %d | %d | %d | %d |" % (r.inst.name, c["ops_mutate"],
                                                    c["ops_crossover"], c["afl"],
                                                    c["imported"], c["seeds"]))
    return L


def section_merge(ctx):
    L = ["", "## Corpus merge", ""]
    if ctx.merge:
        L += ["| target | into | tool | files before | after | from |",
              "|---|---|---|---:|---:|---|"]
        for t, m in ctx.merge.items():
            tool = m["tool"] or "nothing new"
            if m["rc"]:
                tool += " (failed, exit %d)" % m["rc"]
            L.append("| %s | `%s` | %s | %d | %d | %s |" % (
                t, m["dest"], tool, m["before"], m["after"],
                ", ".join("`%s`" % _rel(s, ctx.out) for s in m["sources"]) or "-"))
    else:
        L.append("Skipped (interrupted twice).")
    return L


def section_crash_files(ctx):
    """Where the raw crash files are (the findings section, first, says what they are)."""
    crashes = ctx.triage.get("crashes", [])
    if not crashes:
        return []
    dirs = sorted({_rel(os.path.dirname(c), ctx.out) for c in crashes})
    return ["", "## Crash files", "",
            "%d crash, hang and timeout files, in: %s." % (len(crashes),
                                                          ", ".join("`%s/`" % d for d in dirs))]


def section_commands(ctx):
    L = ["", "## Commands", ""]
    for r in ctx.campaign.runs:
        if r.inst.kind == "tsan":
            L.append("- %s: the runner's replay loop: `%s` over the other instances' corpora "
                     "(scripts/lib/campaign_tsan.py)" % (r.inst.name, r.inst.command_line()))
            if explore_of(r):
                L.append("- %s: the runner's explore loop, in turns on %s's core: `%s` over the "
                         "same corpora, a batch of programs at a time "
                         "(scripts/lib/campaign_explore.py)"
                         % (explore_of(r).name, r.inst.name, explore_of(r).command_line()))
        else:
            L.append("- %s: `%s`" % (r.inst.name, r.inst.command_line()))
    return L


# The report's sections, in order: each takes the Context and returns its markdown lines
# (starting with a blank line and its heading, or [] to leave the section out). A new section is
# one more function here (or passed to report_lines by whoever adds it).
SECTIONS = (section_header, campaign_findings.section_findings, section_instances,
            section_plots, section_afl_queue, section_merge, section_crash_files,
            section_commands)


def report_lines(ctx, sections=SECTIONS):
    """The markdown lines of the report's sections, in order."""
    lines = []
    for section in sections:
        lines += section(ctx)
    return lines


def write(campaign, argv, merge, triage, afl_plots):
    """Writes <out>/report.md (report-<node>.md on a --secondary machine) and the plots;
    returns (its path, each instance's figures)."""
    ctx = Context(campaign, argv, merge, triage, afl_plots)
    path = os.path.join(ctx.out, "report%s.md" % ctx.plan.suffix())
    with open(path, "w") as f:
        f.write("\n".join(report_lines(ctx)) + "\n")
    return path, ctx.figs
