#!/usr/bin/env python3
"""Run every umbra test and end with one line: "N passed, N failed".

N counts test cases: each host-side test program (build/host/test_*, whose
PASS and FAIL lines are its checks), the console-reading checks of
tests/parse_cases.py, the arithmetic of tools/bench.py (tests/bench_cases.py), each boot case of tests/cases.py in each paging
format, each of its Bochs cases (the ones that need segment limits, which
QEMU's TCG does not check) in each format, and each test of
tools/umbra-boot (tests/tool_cases.py) in each format. A case passes when all its checks pass. A failing case prints the
checks that failed and its output or serial log; -v prints every check.
Two jobs (a host test program, a boot, a test of umbra-boot) run at a
time. Each boot case leaves its serial log and its JUnit report in
build/test-logs/.
Usage: tests/run.py [-v] [-k SUBSTRING] [--fmt nopae|pae] [--no-host] [--no-tool]
                    [--no-bochs | --bochs-only]
"""

import argparse
import glob
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_cases  # noqa: E402
import bochs  # noqa: E402
import harness  # noqa: E402
import parse_cases  # noqa: E402
import tool_cases  # noqa: E402
from cases import BOCHS_CASES, CASES, common_checks  # noqa: E402

FORMATS = ["nopae", "pae"]
LOGS = os.path.join(harness.ROOT, "build", "test-logs")
FIGURE_CASES = ("two_hello", "syscalls", "ptbench")


class Tally:
    def __init__(self, verbose):
        self.verbose = verbose
        self.passed = self.failed = 0

    def case(self, name, checks, output=None):
        """checks: [(check name, problem or None)]; output is shown if one failed."""
        bad = [(c, p) for c, p in checks if p is not None]
        if not checks:
            bad = [("has checks", "no check ran")]
        if bad:
            self.failed += 1
            print("FAIL %s: %d of %d checks failed" % (name, len(bad), len(checks)))
        else:
            self.passed += 1
            print("PASS %s (%d checks)" % (name, len(checks)))
        for c, p in checks if self.verbose else bad:
            print("  %s %s%s" % ("FAIL" if p else "ok  ", c, ": " + p if p else ""))
        if bad and output:
            print("---- output ----\n%s\n----------------" % output.rstrip("\n"))
        sys.stdout.flush()


def host_job(exe):
    """A host test program: (name, checks, output, figures)."""
    proc = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.decode(errors="replace")
    checks = []
    for verdict, rest in re.findall(r"^(PASS|FAIL) (.*)$", out, re.M):
        if verdict == "PASS":
            checks.append((rest, None))
        else:
            what, _, why = rest.partition(": ")
            checks.append((what, why or "failed"))
    checks.append(("exit status 0", None if proc.returncode == 0 else
                   "exit status %d" % proc.returncode))
    return "host/" + os.path.basename(exe), checks, out[-3000:], []


def parse_job():
    """umbra-boot's reading of consoles no real boot prints (tests/parse_cases.py)."""
    return "host/umbraboot_console", parse_cases.run(), None, []


def bench_job():
    """tools/bench.py's parsing and model, on made-up lines (tests/bench_cases.py)."""
    return "host/bench_model", bench_cases.run(), None, []


def boot_job(case, fmt):
    """A boot case in one format: (name, checks, log), leaving its log and JUnit report."""
    if hasattr(case, "run"):        # booted some other way (tests/native.py)
        result = case.run(fmt)
        with open(os.path.join(LOGS, "%s-%s.log" % (case.name, fmt)), "w") as f:
            f.write("# %.1f s, QEMU status %s\n%s" % (result.seconds, result.status, result.log))
        return "boot/%s/%s" % (fmt, case.name), list(case.checks(result)), result.log, []
    boot = harness.Boot(fmt=fmt, modules=case.module_list(fmt), **case.boot)
    result = harness.run(boot)
    base = os.path.join(LOGS, "%s-%s" % (case.name, fmt))
    with open(base + ".log", "w") as f:
        f.write("# %.1f s, QEMU status %s\n%s" % (result.seconds, result.status, result.log))
    harness.write_junit(result, base + ".xml", "boot/%s/%s" % (fmt, case.name))
    checks = list(common_checks(result, fmt, case))
    figures = []
    if case.name in FIGURE_CASES:
        figures = ["%-6s %s" % (fmt, f) for f in
                   re.findall(r"^(?:\[[^\]]+\] FIGURE |umbra: )((?:boot to first guest|image|"
                              r"memory|frames free).*|(?<=FIGURE ).*)$", result.log, re.M)]
    return "boot/%s/%s" % (fmt, case.name), checks, result.log, figures


def bochs_megs(size):
    """QEMU's -m size ("64M", "2G") in Bochs's megabytes."""
    return int(size[:-1]) * (1024 if size[-1] in "Gg" else 1) if size[-1] in "MmGg" else int(size)


def bochs_job(case, fmt):
    """A boot case under Bochs, checked as under QEMU."""
    result = bochs.run_boot(fmt, case.module_list(fmt), name=case.name,
                            timeout=case.boot.get("timeout", 300),
                            cpu=case.boot.get("cpu") or bochs.DEFAULT_CPU,
                            megs=bochs_megs(case.boot.get("memory", "256M")))
    with open(os.path.join(LOGS, "bochs-%s-%s.log" % (case.name, fmt)), "w") as f:
        f.write("# %.1f s under Bochs, status %s\n%s" % (result.seconds, result.status, result.log))
    return "bochs/%s/%s" % (fmt, case.name), list(common_checks(result, fmt, case)), result.log, []


def tool_job(test, fmt):
    checks, log = tool_cases.run(test, fmt)
    return "tool/%s/%s" % (fmt, test.__name__[len("test_"):]), checks, log, []


def run_jobs(tally, jobs):
    os.makedirs(LOGS, exist_ok=True)
    figures = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, checks, log, figs in pool.map(lambda j: j[0](*j[1:]), jobs):
            tally.case(name, checks, log)
            figures += figs
    if figures:
        print("---- figures (TSC = instructions under -icount shift=0) ----")
        print("\n".join(figures))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="", help="only boot cases and tool tests whose name has this")
    ap.add_argument("--fmt", choices=FORMATS, action="append")
    ap.add_argument("--no-host", action="store_true", help="skip the host-side tests")
    ap.add_argument("--no-tool", action="store_true", help="skip the tests of tools/umbra-boot")
    ap.add_argument("--no-bochs", action="store_true", help="skip the boot cases under Bochs")
    ap.add_argument("--bochs-only", action="store_true", help="only the boot cases under Bochs")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every check")
    args = ap.parse_args()
    tally = Tally(args.verbose)
    formats = args.fmt or FORMATS
    jobs = []
    if args.bochs_only:
        args.no_host = args.no_tool = True
    if not args.no_host:
        jobs += [(host_job, exe) for exe in
                 sorted(glob.glob(os.path.join(harness.ROOT, "build", "host", "test_*")))]
        jobs.append((parse_job,))
        jobs.append((bench_job,))
    if not args.bochs_only:
        jobs += [(boot_job, c, f) for f in formats for c in CASES if args.k in c.name]
    if not args.no_bochs:
        why = bochs.available()
        if why:
            tally.case("bochs", [("Bochs is available", why)])
        else:
            jobs += [(bochs_job, c, f) for f in formats for c in BOCHS_CASES if args.k in c.name]
    if not args.no_tool:
        jobs += [(tool_job, t, f) for f in formats for t in tool_cases.TESTS
                 if args.k in t.__name__]
    run_jobs(tally, jobs)
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 1 if tally.failed or not tally.passed else 0


if __name__ == "__main__":
    sys.exit(main())
