#!/usr/bin/env python3
"""Turns the harness's serial log into junit.xml, summary.json and report.txt.

report.py SERIAL_LOG RESULTS_DIR --qemu-status N   (exit 0 when every job passed, none left)
"""
import argparse
import json
import re
import sys
from xml.sax.saxutils import escape, quoteattr

RESULT = re.compile(r"@@RESULT (.*)")
FIELD = re.compile(r"(\w+)=(.*?)(?= \w+=|$)")


def parse(lines):
    jobs, logs, info = [], {}, {"leftover": None, "done": False, "dom0_ready_s": None}
    for raw in lines:
        line = raw.rstrip("\r\n")
        i = line.find("@@")
        if i < 0:
            continue
        line = line[i:]
        m = RESULT.match(line)
        if m:
            job = dict(FIELD.findall(m.group(1)))
            for k in ("create_ms", "first_output_ms", "expect_ms", "job_ms"):
                job[k] = int(job.get(k, "-1") or -1)
            jobs.append(job)
        elif line.startswith("@@LOG "):
            name, _, text = line[6:].partition("| ")
            logs.setdefault(name, []).append(text)
        elif line.startswith("@@LEFTOVER "):
            info["leftover"] = int(line.split()[1])
        elif line.startswith("@@DOM0-READY "):
            info["dom0_ready_s"] = float(line.split()[1])
        elif line.startswith("@@DONE"):
            info["done"] = True
        elif line.startswith("@@FATAL"):
            info["fatal"] = line
    return jobs, logs, info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("serial")
    ap.add_argument("results")
    ap.add_argument("--qemu-status", type=int, default=-1)
    ap.add_argument("--host-results", help="more @@RESULT/@@LOG lines, from jobs run on the host")
    a = ap.parse_args()
    lines = open(a.serial, errors="replace").readlines()
    if a.host_results:
        lines = open(a.host_results, errors="replace").readlines() + lines
    jobs, logs, info = parse(lines)
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
    cases = []
    for j in jobs:
        name = j.get("name", "?")
        body = ""
        if j.get("status") != "pass":
            body = "<failure message=%s>%s</failure>" % (
                quoteattr(j.get("reason", "")), escape("\n".join(logs.get(name, []))))
        cases.append('  <testcase classname="xen-e2e" name=%s time="%.3f">%s<system-out>%s</system-out></testcase>' % (
            quoteattr(name), max(j["job_ms"], j["expect_ms"], j["create_ms"], 0) / 1000.0, body,
            escape("\n".join(logs.get(name, [])))))
    if problems:
        cases.append('  <testcase classname="xen-e2e" name="harness"><failure message=%s/></testcase>' %
                     quoteattr("; ".join(problems)))
    with open(a.results + "/junit.xml", "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="xen-e2e" tests="%d" failures="%d">\n%s\n</testsuite>\n' % (
            len(cases), len(failed) + (1 if problems else 0), "\n".join(cases)))
    summary = {"jobs": jobs, "dom0_ready_s": info["dom0_ready_s"], "leftover_domains": info["leftover"],
               "finished": info["done"], "qemu_status": a.qemu_status, "problems": problems,
               "passed": len(jobs) - len(failed), "failed": len(failed),
               "jobs_total_s": round(sum(max(j["job_ms"], 0) for j in jobs) / 1000.0, 1)}
    with open(a.results + "/summary.json", "w") as f:
        json.dump(summary, f, indent=2)
    out = []
    for j in jobs:
        out.append("%-28s %-4s create %5d ms  first output %6d ms  expected line %6d ms  job %6d ms  %s" % (
            j.get("name"), j.get("status"), j["create_ms"], j["first_output_ms"], j["expect_ms"], j["job_ms"],
            j.get("reason", "")) + (
            "  [dom0 clock jumps, ms: %s]" % j["clock_jumps_ms"] if j.get("clock_jumps_ms", "none") != "none" else ""))
        for l in logs.get(j.get("name"), [])[:3 if j.get("status") == "pass" else 40]:
            out.append("    | " + l)
    out += ["harness: " + p for p in problems]
    out.append("dom0 ready after %s s; the jobs took %.1f s in all" % (
        info["dom0_ready_s"], summary["jobs_total_s"]))
    out.append("xen-e2e: %d passed, %d failed" % (len(jobs) - len(failed), len(failed) + (1 if problems else 0)))
    text = "\n".join(out) + "\n"
    with open(a.results + "/report.txt", "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0 if not failed and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
