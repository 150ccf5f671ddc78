#!/usr/bin/env python3
"""Boot tests under Bochs, which checks segment limits (QEMU's TCG does not).

Runs tests/cases.py's BOCHS_CASES in both paging formats, two Bochs at a
time, with the same checks as tests/run.py (status, no panic, no FAIL lines,
no frame leaked, the case's own expectations), and ends with one line:
"N passed, N failed". The serial logs are kept in build/test-logs/bochs-*.
Usage: tests/run_bochs.py [-k SUBSTRING] [--fmt nopae|pae] [--cpu MODEL]
"""

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bochs  # noqa: E402
import harness  # noqa: E402
from cases import BOCHS_CASES, common_checks  # noqa: E402
from run import FORMATS, Tally  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--fmt", choices=FORMATS, action="append")
    ap.add_argument("--cpu", default=bochs.DEFAULT_CPU, help="a model of `bochs -help cpu`")
    args = ap.parse_args()
    why = bochs.available()
    if why:
        print("FAIL bochs: " + why)
        return 1
    jobs = [(c, f) for f in args.fmt or FORMATS for c in BOCHS_CASES if args.k in c.name]

    def run(job):
        case, fmt = job
        return bochs.run_boot(fmt, case.module_list(fmt), name=case.name, cpu=args.cpu,
                              timeout=case.boot.get("timeout", 300))

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, jobs))
    tally = Tally()
    logs = os.path.join(harness.ROOT, "build", "test-logs")
    os.makedirs(logs, exist_ok=True)
    for (case, fmt), result in zip(jobs, results):
        with open(os.path.join(logs, "bochs-%s-%s.log" % (case.name, fmt)), "w") as f:
            f.write("# %.1f s under Bochs (%s), status %s\n%s"
                    % (result.seconds, args.cpu, result.status, result.log))
        for check, problem in common_checks(result, fmt, case):
            tally.add("bochs/%s/%s: %s" % (fmt, case.name, check), problem,
                      result.log if problem else None)
    for (case, fmt), result in zip(jobs, results):
        print("NOTE bochs/%s/%s: %.1f s" % (fmt, case.name, result.seconds))
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 1 if tally.failed or not tally.passed else 0


if __name__ == "__main__":
    sys.exit(main())
