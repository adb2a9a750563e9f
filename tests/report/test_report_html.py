#!/usr/bin/env python3
"""The flight report (report.html of scripts/xen-in-qemu/report.py) in a real browser.

Builds a run's serial log here (a pass with its timeline marks, a failure, a negative control
that failed as meant, a job that passed on its second attempt after a rig fault), has report.py
turn it into report.html, then checks:
  - the page parses: every element closed in order, one table body;
  - one row per job with its verdict, its reason (a negative control's included), an inline SVG
    timeline with a mark per known time, a link to a console log that exists;
  - Debian's chromium renders it headless to a PNG of the window's size, and the PNG shows the
    timeline marks' colours (the SVG was drawn, not only the text).

test_report_html.py REPORT_PY [--png OUT.png] [--html IN.html]
  --html renders an existing report (a real run's) instead of only the built one; --png keeps
  the screenshot.
"""
import argparse
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile

from PIL import Image

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "wbr", "source"}
# (name, status, negative, attempts, times create/first/expect/job ms, reason)
JOBS = [
    ("pvh-shell", "pass", 0, 1, (40, 2100, 14800, 16000), ""),
    ("os-grub-pvh", "fail", 0, 1, (3300, 8000, -1, 95000), "timeout: 'GUEST-OK' not seen in 90 s"),
    ("firmware-ovmf-stock-xl", "pass", 1, 1, (30, -1, -1, 900), "expected failure seen: only pvgrub is supported"),
    ("platform-pvhboot-linux", "pass", 0, 2, (50, 9400, 24700, 27000), ""),
]
GREEN, RED, BLUE = (0x1f, 0x9d, 0x55), (0xc0, 0x39, 0x2b), (0x2a, 0x7a, 0xb8)
BAR = (0xc8, 0xd0, 0xd8)  # the timeline's bar: drawn only by the SVG


def serial_log():
    out = ["Xen 4.17 boot noise that report.py skips", "@@DOM0-READY 18.2"]
    for name, status, neg, attempts, (c, f, e, j), reason in JOBS:
        first = " (earlier attempts: guest crash known from the rig: segfault in busybox: exited 1)" if attempts > 1 else ""
        out.append("[  99.1] @@RESULT name=%s status=%s expect_fail=%d attempts=%d create_ms=%d first_output_ms=%d expect_ms=%d "
                   "destroyed=yes job_ms=%d factor=1.25 spin_ms=750 marks=%s clock_jumps_ms=none reason=%s%s" % (
                       name, status, neg, attempts, c, f, e, j, "firmware:9000" if name == "pvh-shell" else "none", reason, first))
        out.append("@@CONSOLE %s| console line of %s <b>not markup</b>" % (name, name))
    out += ["@@LEFTOVER 0", "@@DONE"]
    return "\n".join(out) + "\n"


class Page(html.parser.HTMLParser):
    """Element nesting checked; the rows of the table body collected."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.rows, self.tbodies = [], [], [], 0
        self.cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tbody":
            self.tbodies += 1
        if tag == "tr" and "tbody" in self.stack:
            self.rows.append({"class": a.get("class"), "cells": [], "svg_rects": 0, "links": []})
        if tag == "td" and self.rows and "tbody" in self.stack:
            self.rows[-1]["cells"].append("")
        if tag == "rect" and "svg" in self.stack and self.rows:
            self.rows[-1]["svg_rects"] += 1
        if tag == "a" and self.rows and "tbody" in self.stack:
            self.rows[-1]["links"].append(a.get("href"))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s> at line %d" % (tag, self.stack[-1] if self.stack else "nothing", self.getpos()[0]))
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data):
        if self.rows and "td" in self.stack and "tbody" in self.stack and "svg" not in self.stack:
            self.rows[-1]["cells"][-1] += data


def check_page(path, names):
    p = Page()
    p.feed(open(path, encoding="utf-8").read())
    p.close()
    problems = list(p.errors)
    if p.stack:
        problems.append("elements left open at the end: %s" % p.stack)
    if p.tbodies != 1:
        problems.append("%d table bodies (one expected)" % p.tbodies)
    by_name = {r["cells"][0]: r for r in p.rows if r["cells"]}
    if names is not None and (sorted(by_name) != sorted(names) or len(p.rows) != len(names)):
        problems.append("rows %s, jobs %s" % ([r["cells"][:1] for r in p.rows], names))
    return p, by_name, problems


def render(page, png, width=1400, height=900):
    chromium = shutil.which("chromium")
    if not chromium:
        raise SystemExit("test_report_html: chromium is not installed (scripts/setup.sh installs it)")
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--user-data-dir=" + profile, "--window-size=%d,%d" % (width, height),
                            "--screenshot=" + png, "file://" + os.path.abspath(page)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180)
    if r.returncode != 0 or not os.path.exists(png):
        raise SystemExit("chromium failed (exit %d):\n%s" % (r.returncode, r.stdout[-2000:]))
    img = Image.open(png).convert("RGB")
    pixels = list(img.getdata())
    return img.size, set(pixels), pixels.count(BAR)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report_py")
    ap.add_argument("--png")
    ap.add_argument("--html")
    a = ap.parse_args()
    problems = []
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "serial.log"), "w") as f:
            f.write(serial_log())
        res = os.path.join(d, "results")
        subprocess.run([sys.executable, a.report_py, os.path.join(d, "serial.log"), res, "--qemu-status", "0",
                        "--expected", str(len(JOBS))], stdout=subprocess.DEVNULL)
        page = os.path.join(res, "report.html")
        if not os.path.exists(page):
            raise SystemExit("report.py wrote no report.html")
        p, rows, problems = check_page(page, [j[0] for j in JOBS])
        for name, status, neg, attempts, times, reason in JOBS:
            r = rows.get(name)
            if not r:
                continue
            verdict = r["cells"][1]
            want = ("pass (negative control)" if neg else "pass") if status == "pass" else "FAIL"
            if not verdict.startswith(want) or (attempts > 1) != ("attempt %d" % attempts in verdict):
                problems.append("%s: verdict %r (expected %r, attempts %d)" % (name, verdict, want, attempts))
            if reason and reason not in r["cells"][2]:
                problems.append("%s: reason %r not in %r" % (name, reason, r["cells"][2]))
            marks = 1 + sum(1 for t in times if t >= 0)  # the bar, then a mark per known time
            if r["svg_rects"] != marks:
                problems.append("%s: %d SVG rects, expected %d" % (name, r["svg_rects"], marks))
            if r["links"] != ["consoles/%s.log" % name] or not os.path.exists(os.path.join(res, r["links"][0])):
                problems.append("%s: console link %s" % (name, r["links"]))
            if "<b>" not in open(os.path.join(res, "consoles", name + ".log")).read():
                problems.append("%s: the console log lost its text" % name)
        png = a.png or os.path.join(d, "report.png")
        size, colours, bar = render(page, png)
        missing = [c for c in (GREEN, RED, BLUE) if c not in colours]
        print("report.html: %d rows; chromium's PNG %dx%d, %d colours; verdict and mark colours present: %s; "
              "%d pixels of the SVG bars" % (len(p.rows), size[0], size[1], len(colours),
                                             "all" if not missing else "missing %s" % missing, bar))
        # Each bar is 4 px high and spans its job's share of the longest: together at least
        # 4 x (the longest bar's width, 352 px) of the bar colour.
        if bar < 4 * 352:
            problems.append("%d pixels of the bar colour: the SVG timelines were not drawn" % bar)
        if size != (1400, 900):
            problems.append("the PNG is %dx%d, not the window's 1400x900" % size)
        if missing:
            problems.append("the PNG lacks the timeline colours %s: the SVG was not drawn" % missing)
    if a.html:
        p, rows, more = check_page(a.html, None)
        out = os.path.splitext(a.png or "report")[0] + "-given.png"
        size, colours, bar = render(a.html, out)
        print("%s: %d rows, parses %s; rendered to %s (%dx%d, %d colours)" % (
            a.html, len(p.rows), "cleanly" if not p.errors and not p.stack else "with errors %s" % p.errors, out, size[0],
            size[1], len(colours)))
        problems += more
    for x in problems:
        print("FAIL: " + x)
    print("report-html: %s" % ("ok" if not problems else "%d problem(s)" % len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
