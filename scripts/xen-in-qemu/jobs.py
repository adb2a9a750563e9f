#!/usr/bin/env python3
"""The real-Xen job matrix (tests/xen/jobs.toml): validate it, build its images, write each job's
inputs, and generate the documents that list it.

  jobs.py check                                     validate the file (exit 1 with every problem)
  jobs.py expand OUT --elfwrap B --mkfixture B --firmware DIR --guests DIR [--shard S] [--only RE]
                                                    build the images once each, write OUT/NN-NAME/
  jobs.py host OUT --elfwrap B ...                  run the host checks, print their @@RESULT lines
  jobs.py shards [--split N]                        the shard names, one a line (for GitLab); with
                                                    --split, N lines of shards balanced by budget
  jobs.py readme [--check FILE]                     README's job table (or check FILE holds it)

A job directory holds `job` (KEY=VALUE lines the dom0 runner reads field by field, never as
shell), and, by kind, guest.cfg (xl), args (pvhboot: one argument a line), fw.elf and files.
"""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
JOBS_FILE = os.path.join(TOP, "tests", "xen", "jobs.toml")

BOOTS = {"xl-pvh", "xl-hvm", "pvhboot", "cmd", "host"}
JOB_KEYS = {"name", "what", "shard", "boot", "image", "toolstack", "hvmloader", "cfg", "args", "files", "expect",
            "fail_on", "timeout", "negative", "send", "wait_gone", "retry", "memory", "shared", "private", "marks",
            "manual"}
IMAGE_KEYS = {"firmware", "fixture", "file", "guest", "disk", "deb", "elfwrap", "raw", "transform"}
# The binary packages debian/control builds.
DEB_PACKAGES = {l.split(":", 1)[1].strip() for l in open(os.path.join(HERE, "..", "..", "debian", "control"))
                if l.startswith("Package:")}
DEFAULT_FAIL_ON = "ASSERT|Xen isn't detected|[Pp]age [Ff]ault"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


class Problem(Exception):
    pass


def load(path=JOBS_FILE):
    with open(path, "rb") as f:
        data = tomllib.load(f)
    problems = validate(data)
    if problems:
        raise Problem("\n".join("%s: %s" % (path, p) for p in problems))
    return data


def validate(data):
    p = []
    images = data.get("images", {})
    for name, img in images.items():
        unknown = set(img) - IMAGE_KEYS
        if unknown:
            p.append("image %s: unknown keys %s" % (name, sorted(unknown)))
        sources = [k for k in ("firmware", "fixture", "file", "guest", "disk", "deb") if k in img]
        if len(sources) != 1:
            p.append("image %s: needs exactly one of firmware, fixture, file, guest, disk, deb" % name)
        if "deb" in img and img["deb"] not in DEB_PACKAGES:
            p.append("image %s: deb is one of %s (debian/control)" % (name, sorted(DEB_PACKAGES)))
        if img.get("transform") not in (None, "note-to-load"):
            p.append("image %s: unknown transform %r" % (name, img["transform"]))
    seen = set()
    for i, job in enumerate(data.get("job", [])):
        name = job.get("name", "#%d" % i)
        where = "job %s" % name
        if not NAME_RE.match(str(name)):
            p.append("%s: a name is lower case letters, digits, dots and dashes" % where)
        if name in seen:
            p.append("%s: the name is used twice" % where)
        seen.add(name)
        unknown = set(job) - JOB_KEYS
        if unknown:
            p.append("%s: unknown keys %s" % (where, sorted(unknown)))
        if job.get("boot") not in BOOTS:
            p.append("%s: boot must be one of %s" % (where, sorted(BOOTS)))
        if not job.get("shard"):
            p.append("%s: no shard" % where)
        if not job.get("what"):
            p.append("%s: no 'what' (the README's description of the job)" % where)
        for ref in [job["image"]] if "image" in job else []:
            if ref not in images:
                p.append("%s: image %r is not an [images.*] recipe" % (where, ref))
        for key in ("shared", "private"):
            for ref in job.get(key, []):
                if ref not in images:
                    p.append("%s: %s %r is not an [images.*] recipe" % (where, key, ref))
        for mark, rx in job.get("marks", {}).items():
            if not NAME_RE.match(mark) or "\n" in rx:
                p.append("%s: marks: %r = %r (a name and a one-line regex)" % (where, mark, rx))
        if job.get("boot") in ("xl-pvh", "xl-hvm", "pvhboot") and not job.get("expect"):
            p.append("%s: a boot job needs an expect line" % where)
        if job.get("boot") in ("xl-hvm", "pvhboot") and "image" not in job:
            p.append("%s: needs an image" % where)
        for key in ("expect", "fail_on", "negative", "send", "what"):
            if "\n" in str(job.get(key, "")):
                p.append("%s: %s has a newline" % (where, key))
        for key in ("expect", "fail_on", "negative"):
            if key in job:
                try:
                    re.compile(job[key])
                except re.error as e:
                    p.append("%s: %s is not a regex: %s" % (where, key, e))
        if job.get("toolstack", "stock") not in ("stock", "patched"):
            p.append("%s: toolstack is stock or patched" % where)
        if job.get("hvmloader", "patched") not in ("stock", "patched", "itself"):
            p.append("%s: hvmloader is patched, stock or itself" % where)
        if not isinstance(job.get("manual", False), bool):
            p.append("%s: manual is true or false" % where)
        if not isinstance(job.get("timeout", 60), int) or job.get("timeout", 60) <= 0:
            p.append("%s: timeout is a positive number of seconds" % where)
        for f, spec in job.get("files", {}).items():
            if not re.match(r"^(zeros:\d+|blank-vars:0x(20000|84000))$", str(spec)) or "/" in f:
                p.append("%s: files: %s = %r (NAME = \"zeros:N\" or \"blank-vars:0x20000|0x84000\")" % (where, f, spec))
        if job.get("boot") == "cmd" and not os.path.exists(os.path.join(HERE, "checks", name + ".sh")):
            p.append("%s: a cmd job needs scripts/xen-in-qemu/checks/%s.sh" % (where, name))
        if job.get("boot") == "host" and not os.path.exists(os.path.join(HERE, "host-checks", name + ".sh")):
            p.append("%s: a host job needs scripts/xen-in-qemu/host-checks/%s.sh" % (where, name))
    for name, b in data.get("bench", {}).items():
        for key in ("uefi", "direct"):
            if b.get(key) not in seen:
                p.append("bench %s: %s %r is not a job" % (name, key, b.get(key)))
    cal = data.get("calibration", {})
    if not isinstance(cal.get("spin_loops"), int) or not isinstance(cal.get("spin_ms_idle"), int):
        p.append("[calibration]: spin_loops and spin_ms_idle are integers")
    return p


def selected(data, shard=None, only=None):
    for job in data["job"]:
        if shard and job["shard"] not in shard.split():  # one shard, or several separated by spaces
            continue
        if only and not re.search(only, job["name"]):
            continue
        if job.get("manual") and not only:  # run only when named (XEN_E2E_ONLY)
            continue
        yield job


# ---- images ----------------------------------------------------------------------------------
def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise Problem("%s failed (%d):\n%s" % (" ".join(cmd), r.returncode, r.stdout))
    return r.stdout


def note_to_load(path):
    """The PT_NOTE of an ELF64 becomes a second PT_LOAD (an ELF the patched hvmloader refuses)."""
    b = bytearray(open(path, "rb").read())
    phoff, = struct.unpack_from("<Q", b, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", b, 0x36)
    for i in range(phnum):
        at = phoff + i * phentsize
        if struct.unpack_from("<I", b, at)[0] == 4:
            struct.pack_into("<I", b, at, 1)
    open(path, "wb").write(b)


def deb_package(package, tools):
    """This tree's .deb of PACKAGE: from $ELFWRAP_DEBS (a pipeline's package job), else
    scripts/build-debs.sh's cache (built the first time one is needed)."""
    if not tools.get("debs") and os.environ.get("ELFWRAP_DEBS"):
        tools["debs"] = os.environ["ELFWRAP_DEBS"]
    if not tools.get("debs"):
        r = subprocess.run(["bash", os.path.join(HERE, "..", "build-debs.sh"), "--print-dir"], stdout=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise Problem("scripts/build-debs.sh failed (exit %d)" % r.returncode)
        tools["debs"] = r.stdout.strip().splitlines()[-1]
    found = sorted(f for f in os.listdir(tools["debs"]) if f.startswith(package + "_") and f.endswith(".deb"))
    if len(found) != 1:
        raise Problem("%s: expected one %s_*.deb, found %s" % (tools["debs"], package, found or "none"))
    return os.path.join(tools["debs"], found[0])


def build_image(name, img, out, tools):
    """Builds one image recipe into out/NAME; returns the path."""
    dst = os.path.join(out, name)
    if "firmware" in img:
        src = os.path.join(tools["firmware"], "OvmfXen-%s.fd" % img["firmware"])
    elif "fixture" in img:
        src = os.path.join(out, name + ".fixture")
        run([tools["mkfixture"], img["fixture"], src])
    elif "guest" in img:
        src = os.path.join(tools["guests"], img["guest"] + ".elf")
    elif "disk" in img:
        src = os.path.join(tools["disks"], img["disk"])
    elif "deb" in img:
        src = deb_package(img["deb"], tools)
    else:
        src = img["file"]
    if img.get("raw") or "guest" in img or "disk" in img or "deb" in img:
        shutil.copyfile(src, dst)
    else:
        run([tools["elfwrap"], src, "-o", dst] + list(img.get("elfwrap", [])))
        if "--allow-mmio-hole" not in img.get("elfwrap", []):  # stock libxc refuses those, by design
            run([tools["elfwrap"], "verify", dst, "--loader", "xen"])
    if img.get("transform") == "note-to-load":
        note_to_load(dst)
    return dst


# ---- job inputs ------------------------------------------------------------------------------
SHARED_DIR = "/jobs/shared"
REF = re.compile(r"([@^])([A-Za-z0-9][A-Za-z0-9._-]*)")


def xl_value(v, jobdir):
    """An xl.cfg value: @NAME is a file of the job's directory, ^NAME a shared image."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(xl_value(x, jobdir) for x in v) + "]"
    s = REF.sub(lambda m: (jobdir if m.group(1) == "@" else SHARED_DIR) + "/" + m.group(2), str(v))
    if '"' in s or "\\" in s or "\n" in s:
        raise Problem("xl.cfg value %r has a quote, backslash or newline" % s)
    return '"%s"' % s


def guest_cfg(job, jobdir):
    name = job["name"]
    if job["boot"] == "xl-hvm":
        loader = {"patched": "/opt/xen-patched/boot/hvmloader", "stock": "/usr/lib/xen-4.17/boot/hvmloader",
                  "itself": "@fw.elf"}[job.get("hvmloader", "patched")]
        cfg = {"name": name, "type": "hvm", "bios": "ovmf", "bios_path_override": "@fw.elf", "firmware_override": loader,
               "memory": 256, "vcpus": 1, "vnc": 0, "sdl": 0, "vga": "none", "serial": "file:/tmp/%s.serial" % name,
               "on_reboot": "destroy", "on_crash": "destroy",
               # OVMF polls its serial terminals every 20 ms of its own time, which it counts in
               # timer ticks; each poll is a round trip to the device model in dom0, slow under
               # nested TCG. With xl's default mode Xen delivers every tick the guest missed, so
               # on a busy host the polls take all its time (hvm-same-elf-stock at x2.36: 534 s,
               # 158 s with this mode; README.md here, "Budgets on a busy host").
               "timer_mode": "no_missed_ticks_pending"}
    else:
        # on_reboot/on_crash destroy: a triple fault is a reboot for HVM-container guests, and
        # xl's default (restart) would re-create a failing guest behind the next job's back.
        cfg = {"name": name, "type": "pvh", "kernel": "@fw.elf", "memory": 256, "vcpus": 1,
               "on_reboot": "destroy", "on_crash": "destroy"}
    cfg.update(job.get("cfg", {}))
    lines = []
    for k, v in cfg.items():
        val = xl_value(v, jobdir)
        if val is not None:  # false removes a default
            lines.append("%s = %s" % (k, val))
    return "\n".join(lines) + "\n"


def job_fields(job, jobdir):
    kind = {"xl-pvh": "xl", "xl-hvm": "xl"}.get(job["boot"], job["boot"])
    f = {"NAME": job["name"], "KIND": kind, "TIMEOUT": job.get("timeout", 60),
         "EXPECT": job.get("expect", ""), "FAIL_ON": job.get("fail_on", DEFAULT_FAIL_ON),
         "NEGATIVE": job.get("negative", ""), "SEND": job.get("send", ""), "WAIT_GONE": job.get("wait_gone", 0),
         "RETRY_TRIPLE_FAULT": 0 if (job.get("negative") or job.get("retry") is False) else 1,
         "XL": "xl-patched" if job.get("toolstack") == "patched" else "xl", "CONSOLE_FILE": "",
         "MEMORY": job.get("memory", 256)}
    if job["boot"] == "xl-hvm":
        f["XL"] = "xl-patched" if job.get("hvmloader", "patched") == "patched" else "xl"
        f["CONSOLE_FILE"] = "/tmp/%s.serial" % job["name"]
    if kind == "cmd":
        f["SCRIPT"] = "/harness/checks/%s.sh" % job["name"]
    for k, v in f.items():
        if "\n" in str(v):
            raise Problem("job %s: %s has a newline" % (job["name"], k))
    return "".join("%s=%s\n" % (k, v) for k, v in f.items())


def expand(data, out, tools, shard=None, only=None):
    jobs = [j for j in selected(data, shard, only) if j["boot"] != "host"]
    images_dir = os.path.join(out, "images")
    os.makedirs(images_dir, exist_ok=True)
    built = {}
    for job in jobs:
        for name in ([job["image"]] if "image" in job else []) + job.get("shared", []) + job.get("private", []):
            if name not in built:
                built[name] = build_image(name, data["images"][name], images_dir, tools)
    jobs_dir = os.path.join(out, "jobs")
    os.makedirs(os.path.join(jobs_dir, "shared"), exist_ok=True)
    for job in jobs:  # once, however many jobs use them (dom0 holds them in RAM)
        for name in job.get("shared", []):
            dst = os.path.join(jobs_dir, "shared", name)
            if not os.path.exists(dst):
                shutil.copyfile(built[name], dst)
    for n, job in enumerate(jobs, 1):
        d = os.path.join(jobs_dir, "%02d-%s" % (n, job["name"]))
        dom0_dir = "/jobs/" + os.path.basename(d)
        os.makedirs(d)
        if "image" in job:
            shutil.copyfile(built[job["image"]], os.path.join(d, "fw.elf"))
        for name in job.get("private", []):  # a copy of its own: the job writes to it
            shutil.copyfile(built[name], os.path.join(d, name))
        if job.get("marks"):
            with open(os.path.join(d, "marks"), "w") as f:
                f.write("".join("%s=%s\n" % kv for kv in job["marks"].items()))
        for fname, spec in job.get("files", {}).items():
            kind, arg = spec.split(":", 1)
            if kind == "blank-vars":  # a pristine VARS file of that layout
                run([tools["elfwrap"], "vars", "blank", "--layout", arg, "-o", os.path.join(d, fname)])
            else:
                with open(os.path.join(d, fname), "wb") as f:
                    f.write(bytes(int(arg)))
        with open(os.path.join(d, "job"), "w") as f:
            f.write(job_fields(job, dom0_dir))
        if job["boot"] in ("xl-pvh", "xl-hvm"):
            with open(os.path.join(d, "guest.cfg"), "w") as f:
                f.write(guest_cfg(job, dom0_dir))
        if job["boot"] == "pvhboot":
            with open(os.path.join(d, "args"), "w") as f:
                # ^NAME: a shared image (a kernel's initramfs, say), as in xl.cfg values.
                f.write("".join(REF.sub(lambda m: SHARED_DIR + "/" + m.group(2) if m.group(1) == "^" else m.group(0), a) + "\n"
                                for a in job.get("args", [])))
    return jobs


def host_checks(data, out, tools, shard=None, only=None):
    """Runs the host jobs; their @@RESULT and @@LOG lines go to stdout."""
    env = dict(os.environ, ELFWRAP=tools["elfwrap"], FIRMWARE=tools["firmware"], WORK=out)
    for job in selected(data, shard, only):
        if job["boot"] != "host":
            continue
        script = os.path.join(HERE, "host-checks", job["name"] + ".sh")
        r = subprocess.run(["bash", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        status = "pass" if r.returncode == 0 else "fail"
        last = (r.stdout.strip().splitlines() or ["(no output)"])[-1]
        print("@@RESULT name=%s status=%s expect_fail=0 attempts=1 create_ms=-1 first_output_ms=-1 expect_ms=-1 destroyed=yes "
              "job_ms=-1 factor=1.00 reason=%s" % (job["name"], status, last))
        for line in r.stdout.splitlines():
            print("@@LOG %s| %s" % (job["name"], line))


# ---- documents -------------------------------------------------------------------------------
def readme_table(data):
    rows = ["| job | shard | how | what | passes when |", "|---|---|---|---|---|"]
    for job in data["job"]:
        how = {"xl-pvh": "xl, `type=\"pvh\"`", "xl-hvm": "xl, `type=\"hvm\"`", "pvhboot": "pvhboot",
               "cmd": "script in dom0", "host": "on the host"}[job["boot"]]
        if job.get("toolstack") == "patched" or (job["boot"] == "xl-hvm" and job.get("hvmloader", "patched") == "patched"):
            how += " (patched)"
        if job.get("negative"):
            verdict = "negative control: fails with `%s`" % job["negative"].replace("|", "\\|")
        elif job.get("expect"):
            verdict = "`%s`" % job["expect"].replace("|", "\\|")
            if job.get("wait_gone"):
                verdict += ", then the domain ends"
        else:
            verdict = "the check's exit status"
        shard = job["shard"] + (" (manual)" if job.get("manual") else "")
        rows.append("| %s | %s | %s | %s | %s |" % (job["name"], shard, how, job["what"].replace("|", "\\|"), verdict))
    return "\n".join(rows) + "\n"


BEGIN, END = "<!-- jobs: generated by scripts/xen-in-qemu/jobs.py readme; edit tests/xen/jobs.toml -->", "<!-- end of jobs -->"


def readme_check(path, table):
    text = open(path).read()
    if BEGIN not in text or END not in text:
        return "%s has no generated job table (markers %r ... %r)" % (path, BEGIN, END)
    current = text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    if current != table:
        return "%s: the job table is not what tests/xen/jobs.toml gives (run: scripts/xen-in-qemu/jobs.py readme --write %s)" % (path, path)
    return None


def readme_write(path, table):
    text = open(path).read()
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n" + table + END + tail)


GITLAB_BEGIN = "# shards: generated by scripts/xen-in-qemu/jobs.py gitlab; edit tests/xen/jobs.toml"
GITLAB_END = "# end of shards"


def gitlab_matrix(data):
    """The smoke job's parallel:matrix lines: one runner per shard."""
    names = sorted({j["shard"] for j in data["job"]})
    return "      - SHARD: [%s]\n" % ", ".join(names)


def generated_check(path, begin, end, block, fix):
    text = open(path).read()
    if begin not in text or end not in text:
        return "%s has no generated block (markers %r ... %r)" % (path, begin, end)
    current = text.split(begin, 1)[1].split(end, 1)[0]
    current = current[current.index("\n") + 1:] if "\n" in current else current
    current = current[:current.rindex("\n") + 1] if "\n" in current else current
    if current != block:
        return "%s: the generated block is not what tests/xen/jobs.toml gives (run: %s)" % (path, fix)
    return None


def generated_write(path, begin, end, block):
    text = open(path).read()
    head, rest = text.split(begin, 1)
    indent = head[head.rindex("\n") + 1:]
    tail = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(head + begin + "\n" + block + indent + end + tail)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check")
    sh = sub.add_parser("shards")
    sh.add_argument("--split", type=int, default=0)
    for name in ("expand", "host"):
        e = sub.add_parser(name)
        e.add_argument("out")
        for t in ("elfwrap", "mkfixture", "firmware", "guests", "disks"):
            e.add_argument("--" + t, default="")
        e.add_argument("--shard")
        e.add_argument("--only")
    g = sub.add_parser("gitlab")
    g.add_argument("--check", metavar="FILE")
    g.add_argument("--write", metavar="FILE")
    r = sub.add_parser("readme")
    r.add_argument("--check", metavar="FILE")
    r.add_argument("--write", metavar="FILE")
    a = ap.parse_args()
    try:
        data = load()
        if a.cmd == "check":
            print("%s: %d jobs, %d images, shards: %s" % (JOBS_FILE, len(data["job"]), len(data["images"]),
                                                        " ".join(sorted({j["shard"] for j in data["job"]}))))
        elif a.cmd == "shards":
            names = sorted({j["shard"] for j in data["job"]})
            if a.split > 0:
                # Groups of shards with about the same total budget (largest first, each to the
                # group with the least so far): parallel rigs that end at about the same time.
                # The jobs a whole-matrix run takes (selected(): manual jobs are not among them).
                cost = {n: sum(j.get("timeout", 60) for j in selected(data, n) if j["boot"] != "host") for n in names}
                groups = [[] for _ in range(min(a.split, len(names)))]
                for n in sorted(names, key=lambda n: (-cost[n], n)):
                    min(groups, key=lambda g: sum(cost[x] for x in g)).append(n)
                for g in groups:
                    print(" ".join(sorted(g)))
            else:
                for n in names:
                    print(n)
        elif a.cmd == "expand":
            tools = {t: getattr(a, t) for t in ("elfwrap", "mkfixture", "firmware", "guests", "disks")}
            jobs = expand(data, a.out, tools, a.shard, a.only)
            with open(os.path.join(a.out, "bench.json"), "w") as f:
                json.dump(data.get("bench", {}), f)
            with open(os.path.join(a.out, "jobs", "calibration"), "w") as f:
                f.write("SPIN_LOOPS=%d\nSPIN_MS_IDLE=%d\n" % (data["calibration"]["spin_loops"], data["calibration"]["spin_ms_idle"]))
            print("%d jobs in %s/jobs" % (len(jobs), a.out), file=sys.stderr)
        elif a.cmd == "host":
            tools = {t: getattr(a, t) for t in ("elfwrap", "mkfixture", "firmware", "guests", "disks")}
            host_checks(data, a.out, tools, a.shard, a.only)
        elif a.cmd == "gitlab":
            block = gitlab_matrix(data)
            if a.check:
                err = generated_check(a.check, GITLAB_BEGIN, GITLAB_END, block,
                                      "scripts/xen-in-qemu/jobs.py gitlab --write %s" % a.check)
                if err:
                    print(err, file=sys.stderr)
                    return 1
                print("%s: the smoke matrix is tests/xen/jobs.toml's shards" % a.check)
            elif a.write:
                generated_write(a.write, GITLAB_BEGIN, GITLAB_END, block)
            else:
                sys.stdout.write(block)
        elif a.cmd == "readme":
            table = readme_table(data)
            if a.check:
                msg = readme_check(a.check, table)
                if msg:
                    print(msg, file=sys.stderr)
                    return 1
            elif a.write:
                readme_write(a.write, table)
            else:
                sys.stdout.write(table)
    except Problem as e:
        print("jobs.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
