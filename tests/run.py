#!/usr/bin/env python3
"""Run every umbra test and end with one line: "N passed, N failed".

First the host-side unit tests (build/host/test_*, each printing one PASS or
FAIL line per check), then every boot case of tests/cases.py in both paging
formats, two QEMUs at a time. A failing check prints the serial log of its
boot. Usage: tests/run.py [-k SUBSTRING] [--fmt nopae|pae] [--no-host]
"""

import argparse
import glob
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from cases import CASES, common_checks  # noqa: E402

FORMATS = ["nopae", "pae"]


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def add(self, name, problem, log=None):
        if problem is None:
            self.passed += 1
            print("PASS %s" % name)
        else:
            self.failed += 1
            print("FAIL %s: %s" % (name, problem))
            if log:
                print("---- serial log ----\n%s--------------------" % log)


def run_host_tests(tally):
    for exe in sorted(glob.glob(os.path.join(harness.ROOT, "build", "host", "test_*"))):
        proc = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = proc.stdout.decode(errors="replace")
        results = re.findall(r"^(PASS|FAIL) (.*)$", out, re.M)
        for verdict, rest in results:
            if verdict == "PASS":
                tally.add("host/" + rest, None)
            else:
                name, _, why = rest.partition(": ")
                tally.add("host/" + name, why or "failed")
        if proc.returncode != 0 and not any(v == "FAIL" for v, _ in results):
            tally.add("host/" + os.path.basename(exe),
                      "exit status %d\n%s" % (proc.returncode, out[-3000:]))


def run_case(case, fmt):
    if hasattr(case, "run"):        # booted some other way (tests/native.py)
        return case.run(fmt)
    boot = harness.Boot(fmt=fmt, modules=case.module_list(fmt), **case.boot)
    return harness.run(boot)


def run_boot_tests(tally, cases, formats):
    jobs = [(c, f) for f in formats for c in cases]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda j: run_case(*j), jobs))
    figures = []
    logs = os.path.join(harness.ROOT, "build", "test-logs")
    os.makedirs(logs, exist_ok=True)
    for (case, fmt), result in zip(jobs, results):
        with open(os.path.join(logs, "%s-%s.log" % (case.name, fmt)), "w") as f:
            f.write("# %.1f s, QEMU status %s\n%s" % (result.seconds, result.status, result.log))
        figures += ["%-6s %s" % (fmt, f) for f in
                    re.findall(r"^(?:\[[^\]]+\] FIGURE |umbra: )((?:boot to first guest|image|"
                               r"memory|frames free).*|(?<=FIGURE ).*)$", result.log, re.M)
                    if case.name in ("two_hello", "syscalls", "ptbench")]
        if result.status is None:
            print("NOTE boot/%s/%s: no power-off after %.0f s (the time-out is %d s)"
                  % (fmt, case.name, result.seconds, case.boot.get("timeout", 60)))
        for check, problem in common_checks(result, fmt, case):
            tally.add("boot/%s/%s: %s" % (fmt, case.name, check), problem,
                      result.log if problem else None)
        for verdict, what in re.findall(r"^\[[^\]]+\] (PASS) (.*)$", result.log, re.M):
            tally.add("guest/%s/%s: %s" % (fmt, case.name, what), None)
    if figures:
        print("---- figures (TSC = instructions under -icount shift=0) ----")
        print("\n".join(figures))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="", help="only boot cases whose name contains this")
    ap.add_argument("--fmt", choices=FORMATS, action="append")
    ap.add_argument("--no-host", action="store_true")
    args = ap.parse_args()
    tally = Tally()
    if not args.no_host:
        run_host_tests(tally)
    cases = [c for c in CASES if args.k in c.name]
    run_boot_tests(tally, cases, args.fmt or FORMATS)
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 1 if tally.failed or not tally.passed else 0


if __name__ == "__main__":
    sys.exit(main())
