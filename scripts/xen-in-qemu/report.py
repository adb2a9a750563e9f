#!/usr/bin/env python3
"""Turns the harness's serial log into the flight's results:

  junit.xml      one testcase per job (GitLab's artifacts:reports:junit)
  summary.json   per job: verdict, reason, timings, load factor; the benchmark; the problems
  report.txt     the same as text (what scripts/test.sh prints)
  report.html    one row per job: verdict, reason, a timeline bar (inline SVG), its console log
  consoles/      NAME.log: each job's whole console

report.py SERIAL_LOG RESULTS_DIR --qemu-status N [--host-results FILE]
Exit 0 when every job passed and no domain was left.
"""
import argparse
import html
import json
import os
import re
import statistics
import sys
from xml.sax.saxutils import escape, quoteattr

RESULT = re.compile(r"@@RESULT (.*)")
FIELD = re.compile(r"(\w+)=(.*?)(?= \w+=|$)")
TIMES = ("create_ms", "first_output_ms", "expect_ms", "job_ms")


def parse(lines):
    jobs, logs, consoles, info = [], {}, {}, {"leftover": None, "done": False, "dom0_ready_s": None}
    bench = {"xl_ms": [], "pvhboot_ms": [], "nvram": []}
    pending = [raw.rstrip("\r\n") for raw in lines]
    pending.reverse()
    while pending:
        line = pending.pop()
        i = line.find("@@")
        if i < 0:
            continue
        line = line[i:]
        inner = re.match(r"@@LOG [^|]*\| cmd: (@@BENCH.*)", line)
        if inner:  # a check script's benchmark lines reach the serial console through its log
            pending.append(inner.group(1))
        m = RESULT.match(line)
        if m:
            job = dict(FIELD.findall(m.group(1)))
            for k in TIMES:
                job[k] = int(job.get(k, "-1") or -1)
            job["factor"] = float(job.get("factor", "1") or 1)
            marks = job.get("marks", "none")
            job["marks"] = {} if marks in ("", "none") else {k: int(v) for k, v in (m.split(":", 1) for m in marks.split(","))}
            # A job run again by a restarted runner (dom0/init) counts once: its last result.
            jobs = [j for j in jobs if j.get("name") != job.get("name")]
            jobs.append(job)
        elif line.startswith("@@LOG "):
            name, _, text = line[6:].partition("| ")
            logs.setdefault(name, []).append(text)
        elif line.startswith("@@CONSOLE "):
            name, _, text = line[10:].partition("| ")
            consoles.setdefault(name, []).append(text)
        elif line.startswith("@@JSON "):
            name, _, text = line[7:].partition("| ")
            try:
                info.setdefault("json", {})[name] = json.loads(text)
            except ValueError:
                pass
        elif line.startswith("@@BENCH-XL "):
            bench["xl_ms"].append(int(line.split()[1]))
        elif line.startswith("@@BENCH-PVHBOOT "):
            _, start_us, text = line.split(" ", 2)
            try:
                t = json.loads(text)["unpaused_boottime_s"]
                bench["pvhboot_ms"].append(int((t * 1e6 - int(start_us)) / 1000))
            except (ValueError, KeyError):
                pass
        elif line.startswith("@@BENCH-NVRAM "):
            bench["nvram"].append(line[len("@@BENCH-NVRAM "):])
        elif line.startswith("@@LEFTOVER "):
            info["leftover"] = int(line.split()[1])
        elif line.startswith("@@DOM0-READY "):
            info["dom0_ready_s"] = float(line.split()[1])
        elif line.startswith("@@RUNNER-RESTART "):
            info.setdefault("runner_restarts", []).append(line[len("@@RUNNER-RESTART "):].strip())
        elif line.startswith("@@DOM0-CRASH "):
            info.setdefault("dom0_crashes", []).append(line[len("@@DOM0-CRASH "):].strip())
        elif line.startswith("@@DONE"):
            info["done"] = True
        elif line.startswith("@@FATAL"):
            info["fatal"] = line
    return jobs, logs, consoles, info, bench


def add_pvhboot_times(jobs, info):
    """pvhboot jobs: first output and the expected line from pvhboot's own JSON (its start = the job's)."""
    for j in jobs:
        r = info.get("json", {}).get(j.get("name"))
        if not r:
            continue
        if r.get("first_output_s", -1) >= 0 and j["first_output_ms"] < 0:
            j["first_output_ms"] = int(r["first_output_s"] * 1000)
        seen = [e.get("seen_s", -1) for e in r.get("expect", [])]
        if seen and min(seen) >= 0 and j["expect_ms"] < 0:
            j["expect_ms"] = int(max(seen) * 1000)


def bench_summary(bench):
    if not bench["xl_ms"] or not bench["pvhboot_ms"]:
        return None
    xl, pv = statistics.median(bench["xl_ms"]), statistics.median(bench["pvhboot_ms"])
    return {"xl_create_to_unpaused_ms": bench["xl_ms"], "pvhboot_to_unpaused_ms": bench["pvhboot_ms"],
            "xl_median_ms": xl, "pvhboot_median_ms": pv, "ratio": round(pv / xl, 2), "target": 0.5}


def compare_boots(jobs, benches):
    """[bench.*] of jobs.toml: the UEFI path against a direct boot, time from xl create to the line."""
    by_name = {j.get("name"): j for j in jobs}
    out = {}
    for name, b in benches.items():
        u, d = by_name.get(b["uefi"]), by_name.get(b["direct"])
        if not u and not d:
            continue  # neither job ran here (another rig's shard, or not selected)
        if not u or not d or u.get("status") != "pass" or d.get("status") != "pass" or u["expect_ms"] <= 0 or d["expect_ms"] <= 0:
            out[name] = {"error": "both jobs must pass: %s, %s" % (b["uefi"], b["direct"])}
            continue
        steps, last = [], 0
        for mark, ms in sorted(list(u["marks"].items()) + [("line", u["expect_ms"])], key=lambda kv: kv[1]):
            steps.append({"until": mark, "ms": ms - last})
            last = ms
        out[name] = {"uefi_job": b["uefi"], "direct_job": b["direct"], "uefi_ms": u["expect_ms"], "direct_ms": d["expect_ms"],
                     "ratio": round(u["expect_ms"] / d["expect_ms"], 2), "target": b.get("target"), "uefi_steps": steps,
                     "direct_marks": d["marks"]}
    return out


def nvram_summary(lines):
    """The nvram-bench job's figures: time to the shell with and without the emulated flash."""
    if not lines:
        return None
    shell = {"with": [], "without": []}
    out = {}
    for l in lines:
        kind, _, rest = l.partition(" ")
        if kind.startswith("shell_") or kind == "first_boot":
            try:
                seen = json.loads(rest)["expect"][0]["seen_s"]
            except (ValueError, KeyError, IndexError):
                continue
            if kind == "first_boot":
                out["first_boot_shell_s"] = seen
            else:
                shell[kind[len("shell_"):]].append(seen)
        elif kind == "served":
            out["served"] = rest.split("served", 1)[-1].strip()
        elif kind == "started":
            out["started"] = rest.rsplit("; ", 1)[-1].strip()
        elif kind.startswith("setvar_"):
            f = dict(kv.split("=") for kv in rest.split())
            out[kind + "_ms"] = round((int(f["last_ms"]) - int(f["first_ms"])) / int(f["count"]), 1)
    if shell["with"] and shell["without"]:
        w, wo = statistics.median(shell["with"]), statistics.median(shell["without"])
        out.update({"shell_with_s": shell["with"], "shell_without_s": shell["without"], "shell_with_median_s": round(w, 2),
                    "shell_without_median_s": round(wo, 2), "ratio": round(w / wo, 2), "target": 1.25})
    return out


def write_junit(path, jobs, logs, problems):
    cases = []
    failed = 0
    for j in jobs:
        name = j.get("name", "?")
        body = ""
        if j.get("status") != "pass":
            failed += 1
            body = "<failure message=%s>%s</failure>" % (quoteattr(j.get("reason", "")), escape("\n".join(logs.get(name, []))))
        cases.append('  <testcase classname="xen-e2e" name=%s time="%.3f">%s<system-out>%s</system-out></testcase>' % (
            quoteattr(name), max(j["job_ms"], j["expect_ms"], j["create_ms"], 0) / 1000.0, body,
            escape("\n".join(logs.get(name, [])))))
    if problems:
        failed += 1
        cases.append('  <testcase classname="xen-e2e" name="harness"><failure message=%s/></testcase>' % quoteattr("; ".join(problems)))
    with open(path, "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="xen-e2e" tests="%d" failures="%d">\n%s\n</testsuite>\n' % (
            len(cases), failed, "\n".join(cases)))


def timeline_svg(j, scale_ms, width=360):
    """create, first output, expected line, end of the job, on one bar (no JavaScript)."""
    end = max(j["job_ms"], 0)
    x = lambda ms: 4 + (width - 8) * min(ms, scale_ms) / scale_ms if scale_ms else 4
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="18" role="img" aria-label="timeline">' % width,
             '<rect x="4" y="7" width="%.1f" height="4" fill="#c8d0d8"/>' % max(x(end) - 4, 1)]
    marks = (("create_ms", "#555", "created"), ("first_output_ms", "#2a7ab8", "first output"),
             ("expect_ms", "#1f9d55" if j.get("status") == "pass" else "#c0392b", "expected line"), ("job_ms", "#000", "end"))
    for key, color, label in marks:
        if j[key] >= 0:
            parts.append('<rect x="%.1f" y="2" width="3" height="14" fill="%s"><title>%s %.1f s</title></rect>' % (
                x(j[key]) - 1.5, color, label, j[key] / 1000.0))
    parts.append("</svg>")
    return "".join(parts)


def write_html(path, jobs, summary):
    scale = max([j["job_ms"] for j in jobs if j["job_ms"] > 0] or [1])
    rows = []
    for j in jobs:
        name = j.get("name", "?")
        ok = j.get("status") == "pass"
        negative = j.get("expect_fail") == "1"
        verdict = ("pass (negative control)" if negative else "pass") if ok else "FAIL"
        if j.get("attempts", "1") not in ("", "1"):
            verdict += " (attempt %s)" % html.escape(j["attempts"])
        log = '<a href="consoles/%s.log">console</a>' % html.escape(name) if os.path.exists(
            os.path.join(os.path.dirname(path), "consoles", name + ".log")) else ""
        times = " / ".join("%.1f" % (j[k] / 1000.0) if j[k] >= 0 else "-" for k in TIMES)
        rows.append('<tr class="%s"><td>%s</td><td class="v">%s</td><td>%s</td><td>%s</td><td class="t">%s</td>'
                    '<td class="t">x%.2f</td><td>%s</td></tr>' % (
                        "ok" if ok else "bad", html.escape(name), verdict, html.escape(j.get("reason", "")),
                        timeline_svg(j, scale), times, j["factor"], log))
    b = summary.get("bench")
    bench = "" if not b else "<p>Benchmark: pvhboot/xl time to unpaused = %.2f (medians %d / %d ms; target &le; %.2f)</p>" % (
        b["ratio"], b["pvhboot_median_ms"], b["xl_median_ms"], b["target"])
    problems = "".join("<p class=\"bad\">harness: %s</p>" % html.escape(p) for p in summary["problems"])
    doc = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>xen-e2e flight: %(passed)d passed, %(failed)d failed</title>
<style>
body { font: 14px sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: middle; }
tr.bad td.v { color: #c0392b; font-weight: bold; } tr.ok td.v { color: #1f9d55; }
td.t { font-variant-numeric: tabular-nums; white-space: nowrap; } .bad { color: #c0392b; }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }
</style></head><body>
<h1>xen-e2e flight: %(passed)d passed, %(failed)d failed</h1>
<p>Xen 4.17 nested in QEMU; dom0 ready after %(dom0)s s; the jobs took %(total).1f s in all. Every bar spans the longest job
(%(scale).1f s).<span class="legend"><span style="background:#555"></span>created<span style="background:#2a7ab8"></span>first output
<span style="background:#1f9d55"></span>expected line<span style="background:#000"></span>end</span></p>
%(bench)s%(problems)s
<table><thead><tr><th>job</th><th>verdict</th><th>reason</th><th>timeline</th><th>create / first output / expected / end (s)</th>
<th>load factor</th><th>log</th></tr></thead><tbody>
%(rows)s
</tbody></table></body></html>
""" % {"passed": summary["passed"], "failed": summary["failed"], "dom0": summary["dom0_ready_s"], "total": summary["jobs_total_s"],
       "scale": scale / 1000.0, "bench": bench, "problems": problems, "rows": "\n".join(rows)}
    with open(path, "w") as f:
        f.write(doc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("serial")
    ap.add_argument("results")
    ap.add_argument("--qemu-status", type=int, default=-1)
    ap.add_argument("--host-results", help="more @@RESULT/@@LOG lines, from jobs run on the host")
    ap.add_argument("--expected", type=int, default=-1, help="how many jobs dom0 was given")
    a = ap.parse_args()
    lines = open(a.serial, errors="replace").readlines()
    if a.host_results and os.path.exists(a.host_results):
        lines = open(a.host_results, errors="replace").readlines() + lines
    jobs, logs, consoles, info, bench = parse(lines)
    add_pvhboot_times(jobs, info)
    failed = [j for j in jobs if j.get("status") != "pass"]
    problems = []
    if not info["done"]:
        problems.append("the run did not finish (QEMU status %d): see serial.log" % a.qemu_status)
    if info.get("fatal"):
        problems.append(info["fatal"])
    if info["leftover"] is None:
        problems.append("no leftover-domain count in the log (the check did not run)")
    elif info["leftover"]:
        problems.append("%d domain(s) left after the jobs" % info["leftover"])
    if not jobs:
        problems.append("no job ran")
    ran = len([j for j in jobs if j.get("job_ms", -1) >= 0 or j.get("create_ms", -1) >= 0])
    if a.expected >= 0 and ran != a.expected:
        problems.append("dom0 was given %d jobs and reported %d" % (a.expected, ran))
    os.makedirs(os.path.join(a.results, "consoles"), exist_ok=True)
    for name, text in consoles.items():
        with open(os.path.join(a.results, "consoles", name + ".log"), "w") as f:
            f.write("\n".join(text) + "\n")
    summary = {"jobs": jobs, "dom0_ready_s": info["dom0_ready_s"], "leftover_domains": info["leftover"],
               "finished": info["done"], "qemu_status": a.qemu_status, "problems": problems,
               "passed": len(jobs) - len(failed), "failed": len(failed) + (1 if problems else 0),
               "jobs_total_s": round(sum(max(j["job_ms"], 0) for j in jobs) / 1000.0, 1),
               "max_factor": max([j["factor"] for j in jobs] or [1]), "bench": bench_summary(bench),
               "dom0_crashes": info.get("dom0_crashes", []), "runner_restarts": info.get("runner_restarts", [])}
    summary["nvram_bench"] = nvram_summary(bench["nvram"])
    bench_file = os.path.join(a.results, "bench.json")
    if os.path.exists(bench_file):
        summary["boot_compare"] = compare_boots(jobs, json.load(open(bench_file)))
    write_junit(os.path.join(a.results, "junit.xml"), jobs, logs, problems)
    with open(os.path.join(a.results, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    write_html(os.path.join(a.results, "report.html"), jobs, summary)
    out = []
    for j in jobs:
        out.append("%-28s %-4s create %5d ms  first output %6d ms  expected line %6d ms  job %6d ms  x%.2f  %s" % (
            j.get("name"), j.get("status"), j["create_ms"], j["first_output_ms"], j["expect_ms"], j["job_ms"], j["factor"],
            j.get("reason", "")) + (
            "  [dom0 clock jumps, ms: %s]" % j["clock_jumps_ms"] if j.get("clock_jumps_ms", "none") != "none" else ""))
        for l in logs.get(j.get("name"), [])[:3 if j.get("status") == "pass" else 40]:
            out.append("    | " + l)
        if j.get("status") != "pass":
            for l in consoles.get(j.get("name"), [])[-30:]:
                out.append("    > " + l)
    out += ["harness: " + p for p in problems]
    b = summary["bench"]
    if b:
        out.append("bench: xl create to unpaused ms %s (median %d); pvhboot %s (median %d); ratio pvhboot/xl = %.2f (target <= 0.50)" % (
            b["xl_create_to_unpaused_ms"], b["xl_median_ms"], b["pvhboot_to_unpaused_ms"], b["pvhboot_median_ms"], b["ratio"]))
    nb = summary.get("nvram_bench")
    if nb:
        if "ratio" in nb:
            out.append("bench nvram: time to the shell with the emulated flash %.2f s, without %.2f s (medians): ratio %.2f (target <= 1.25)"
                       % (nb["shell_with_median_s"], nb["shell_without_median_s"], nb["ratio"]))
        out.append("bench nvram: first boot on a blank store reaches the shell at %s s; a boot: %s; one setvar: %s ms with the "
                   "emulated flash, %s ms with variables in RAM; xen-pflash was %s" % (nb.get("first_boot_shell_s"), nb.get("served"),
                                                                    nb.get("setvar_with_ms"), nb.get("setvar_without_ms"), nb.get("started")))
    for name, c in summary.get("boot_compare", {}).items():
        if "error" in c:
            out.append("bench %s: %s" % (name, c["error"]))
            continue
        out.append("bench %s: %s %.1f s vs %s %.1f s from xl create to the guest's line: ratio %.2f (target <= %s)" % (
            name, c["uefi_job"], c["uefi_ms"] / 1000.0, c["direct_job"], c["direct_ms"] / 1000.0, c["ratio"], c["target"]))
        out.append("bench %s: where the UEFI path's time goes: %s" % (
            name, ", ".join("%.1f s to %s" % (st["ms"] / 1000.0, st["until"]) for st in c["uefi_steps"])))
    # Not a failure by itself (a job it broke has failed already), but the rig's health.
    for c in summary["dom0_crashes"]:
        out.append("dom0 process crashed: " + c)
    for c in summary["runner_restarts"]:
        out.append("dom0 runner restarted: " + c)
    out.append("dom0 ready after %s s; the jobs took %.1f s in all; load factor up to x%.2f" % (
        info["dom0_ready_s"], summary["jobs_total_s"], summary["max_factor"]))
    out.append("xen-e2e: %d passed, %d failed" % (summary["passed"], summary["failed"]))
    text = "\n".join(out) + "\n"
    with open(os.path.join(a.results, "report.txt"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0 if not failed and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
