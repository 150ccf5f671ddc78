#!/usr/bin/env python3
"""Long runs of the in-guest fuzzer (tests/guests/hcfuzz), one per paging format.

Each run boots hcfuzz beside a hello canary and prints the fuzzer's own
lines (seed, progress, NOTE, FAIL, PASS), how the run ended and the ops per
second of wall time. The whole serial log goes to build/test-logs/.
Usage: tests/fuzz_guest.py [--ops N] [--seed N] [--mode M] [--skip a+b] [--fmt F]
The exit status is 0 only if every run passed.
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=10000000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mode", default="mixed")
    ap.add_argument("--skip", default="")
    ap.add_argument("--fmt", choices=["nopae", "pae"], action="append")
    ap.add_argument("--timeout", type=int, default=0, help="seconds per run (default: from --ops)")
    args = ap.parse_args()
    fuzz_args = "name=fz mem=16M seed=%d ops=%d mode=%s" % (args.seed, args.ops, args.mode)
    if args.skip:
        fuzz_args += " skip=" + args.skip
    # About 4000 ops/s under TCG with -icount; leave room for a slower machine.
    timeout = args.timeout or 120 + args.ops // 500
    logs = os.path.join(harness.ROOT, "build", "test-logs")
    os.makedirs(logs, exist_ok=True)
    failed = 0
    for fmt in args.fmt or ["nopae", "pae"]:
        print("hcfuzz %s: %s (time-out %d s)" % (fmt, fuzz_args, timeout), flush=True)
        boot = harness.Boot(fmt=fmt, timeout=timeout,
                            modules=[("tests/guests/hcfuzz.elf", fuzz_args),
                                     (harness.src("build/%s/guests/hello.elf" % fmt), "name=canary")])
        result = harness.run(boot)
        log = result.log
        with open(os.path.join(logs, "fuzz-guest-%s.log" % fmt), "w") as f:
            f.write(log)
        for line in log.splitlines():
            if re.match(r"^\[fz\] (hcfuzz|PASS|FAIL|NOTE)", line) or \
               re.search(r"PANIC|hypervisor exception|killed:|LEAK|powering off", line):
                print("  " + line)


        ops = max([int(m) for m in re.findall(r"^\[fz\] (?:PASS )?hcfuzz: (\d+) ops", log, re.M)] or [0])
        passed = result.status == harness.STATUS_OK and "PASS hcfuzz:" in log and "PANIC" not in log
        print("hcfuzz %s: %s after %.0f s, %d ops, %.0f ops/s" %
              (fmt, "passed" if passed else "FAILED (QEMU status %s)" % result.status,
               result.seconds, ops, ops / result.seconds if result.seconds else 0), flush=True)
        failed += not passed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
