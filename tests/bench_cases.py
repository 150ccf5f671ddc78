"""The arithmetic of tools/bench.py, on made-up bench output and made-up costs.

Nothing here says how fast anything is: it feeds tools/bench.py's parsing
and model lines shaped as guests/penumbra/user/bench.c prints them (PV's
with umbra's "[pn] " prefix, counters split over several lines) and a cost
table of round numbers, and checks the events each side is charged, the
modelled cycles worked out by hand, the ratios, the table and the CSV. It
also checks that perf/costs.md parses and that every counter the model
reads is one bench.c prints. One host-side case of tests/run.py, a list of
(check name, problem or None).
"""

import csv
import importlib.util
import math
import os
import re
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_bench():
    spec = importlib.util.spec_from_file_location("bench", os.path.join(ROOT, "tools", "bench.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


COSTS = """
Some prose the parser skips.

```costs
# key         central low  high  instr item
ordinary      1       0.5  1     0     an ordinary instruction
ring_int      10      10   10    1     a
ring_iret     20      20   20    1     b
same_iret     5       5    5     1     c
cr3_load      30      30   60    1     d
desc_load     40      40   40    1     e
invlpg        50      50   50    1     f
zero_page     7       7    7     100   g
tlb_refill    2       2    2     0     h
ws_refills    3       3    3     0     i
cr3_refills   4       4    4     0     j
touch_refills 1       1    1     0     k
```
"""

NATIVE_LOG = """penumbra: native kernel
BENCH op=op_a iters=10 instr_per_op=1000
BENCHEV op=op_a traps_user_per_op=2.00 traps_kernel_per_op=0.00 syscalls_per_op=1.00 irets_user_per_op=2.00
BENCHEV op=op_a irets_kernel_per_op=1.00 user_faults_per_op=1.00 zeroed_frames_per_op=1.00
BENCHEV op=op_a own_cr3_loads_per_op=1.00 own_invlpgs_per_op=3.00 own_desc_loads_per_op=0.00
BENCH op=only_native iters=1 instr_per_op=5
"""

PV_LOG = """umbra: booting (2-level paging)
[pn] BENCH op=op_a iters=10 instr_per_op=3000 world_switches_per_op=4.00 hypercalls_per_op=7.00
[pn] BENCHPV op=op_a cr3_loads_per_op=4.00 desc_loads_per_op=1.00 shadow_faults_per_op=0.00 reflected_per_op=1.00
[pn] BENCHEV op=op_a traps_user_per_op=3.00 traps_kernel_per_op=0.00 syscalls_per_op=1.00 irets_user_per_op=2.00
[pn] BENCHEV op=op_a irets_kernel_per_op=1.00 user_faults_per_op=1.00 zeroed_frames_per_op=1.00
[pn] BENCHEV op=op_a own_cr3_loads_per_op=0.00 own_invlpgs_per_op=0.00 own_desc_loads_per_op=0.00
[pn] a guest line that mentions BENCH op=nothing but is not one
"""

# Worked by hand from the figures above.
# Native: events int 2, iret 2, same iret 1, cr3 1, desc 0, invlpg 3, zero 1:
#   counted 2+2+1+1+0+3 + 1x100 = 109, ordinary 891;
#   events 2x10 + 2x20 + 1x5 + 1x30 + 3x50 + 1x7 = 252; refills 1x4 + 1x1 = 5, x2 = 10.
NATIVE_CYCLES = 891 + 252 + 10
NATIVE_LOW = 891 * 0.5 + 252 + 10
# PV: int 4+1, iret 4+2, same iret 1, cr3 4, desc 1, zero 1:
#   counted 5+6+1+4+1 + 100 = 117, ordinary 2883;
#   events 5x10 + 6x20 + 1x5 + 4x30 + 1x40 + 1x7 = 342; refills 4x3 + 1x1 = 13, x2 = 26.
PV_CYCLES = 2883 + 342 + 26
PV_HIGH = 2883 + 342 - 4 * 30 + 4 * 60 + 26


def close(a, b):
    return isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def check(checks, name, ok, why):
    checks.append((name, None if ok else why))


def run():
    checks = []
    try:
        b = load_bench()
    except Exception as e:  # noqa: BLE001 - a broken tool is this test's failure
        return [("tools/bench.py loads", repr(e))]
    costs = b.parse_costs(COSTS)
    native, pv = b.parse_log(NATIVE_LOG), b.parse_log(PV_LOG)

    check(checks, "parse: ops in order, non-bench lines ignored", list(native) == ["op_a", "only_native"]
          and list(pv) == ["op_a"], "%s / %s" % (list(native), list(pv)))
    a = pv.get("op_a", {})
    check(checks, "parse: split lines joined, prefix stripped",
          a.get("iters") == 10 and a.get("instr") == 3000 and a.get("world_switches") == 4
          and a.get("cr3_loads") == 4 and a.get("irets_kernel") == 1
          and a.get("own_desc_loads") == 0, repr(a))

    en, ep = b.events("native", native["op_a"]), b.events("pv", pv["op_a"])
    want_n = {"ring_int": 2, "ring_iret": 2, "same_iret": 1, "cr3_load": 1, "desc_load": 0,
              "invlpg": 3, "zero_page": 1}
    want_p = {"ring_int": 5, "ring_iret": 6, "same_iret": 1, "cr3_load": 4, "desc_load": 1,
              "invlpg": 0, "zero_page": 1}
    check(checks, "native events", all(en.get(k) == v for k, v in want_n.items()), repr(en))
    check(checks, "PV events: world switches plus the kernel's direct traps and irets",
          all(ep.get(k) == v for k, v in want_p.items()), repr(ep))
    check(checks, "TLB refills", b.tlb_refills(en, costs) == 5 and b.tlb_refills(ep, costs) == 13,
          "%s, %s" % (b.tlb_refills(en, costs), b.tlb_refills(ep, costs)))

    mn, mp = b.modelled(1000, en, costs), b.modelled(3000, ep, costs)
    check(checks, "native modelled cycles", close(mn, NATIVE_CYCLES), "%s, want %s" % (mn, NATIVE_CYCLES))
    check(checks, "PV modelled cycles", close(mp, PV_CYCLES), "%s, want %s" % (mp, PV_CYCLES))
    low, high = b.modelled(1000, en, costs, "low"), b.modelled(3000, ep, costs, "high")
    check(checks, "low and high costs", close(low, NATIVE_LOW) and close(high, PV_HIGH),
          "%s, %s; want %s, %s" % (low, high, NATIVE_LOW, PV_HIGH))
    check(checks, "no negative ordinary instructions", close(b.modelled(50, en, costs), 252 + 10),
          repr(b.modelled(50, en, costs)))

    rows = b.rows(native, pv, costs)
    r = rows[0] if rows else {}
    check(checks, "rows: only ops both sides ran", [x["op"] for x in rows] == ["op_a"], repr(rows))
    check(checks, "rows: ratios are PV / native",
          close(r.get("instr_ratio"), 3.0) and close(r.get("cycles_ratio"), PV_CYCLES / NATIVE_CYCLES)
          and close(r.get("world_switches"), 4.0), repr(r))
    check(checks, "ratio of a zero native figure", math.isnan(b.ratio(1, 0)), repr(b.ratio(1, 0)))

    table = b.format_table("nopae", rows)
    want = ["1000", "3000", "3.00", str(NATIVE_CYCLES), str(PV_CYCLES),
            "%.2f" % (PV_CYCLES / NATIVE_CYCLES), "4.00"]
    last = table.splitlines()[-1].split("|")
    check(checks, "table row", [c.strip() for c in last] == ["op_a"] + want, repr(last))
    check(checks, "table header", "native modelled cycles" in table and "world switches per op" in table,
          table)

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bench.csv")
        b.write_csv(path, [("nopae", rows), ("pae", rows)])
        with open(path, newline="") as f:
            got = list(csv.DictReader(f))
    check(checks, "CSV: a row per format and op, figures as computed",
          len(got) == 2 and got[1]["format"] == "pae" and close(float(got[0]["pv_cycles"]), PV_CYCLES)
          and close(float(got[0]["native_cycles_low"]), NATIVE_LOW), repr(got))

    try:
        b.parse_costs(COSTS.replace("touch_refills", "touch"))
        check(checks, "a cost file without a key is refused", False, "accepted")
    except ValueError:
        check(checks, "a cost file without a key is refused", True, "")

    try:
        real = b.load_costs()
        check(checks, "perf/costs.md parses with every key", all(k in real for k in b.COST_KEYS), "")
        check(checks, "perf/costs.md: low <= central <= high",
              all(c.low <= c.central <= c.high for c in real.values()),
              repr({k: (c.low, c.central, c.high) for k, c in real.items()}))
    except (OSError, ValueError) as e:
        check(checks, "perf/costs.md parses with every key", False, str(e))

    # Every counter the model reads is one the bench program prints.
    with open(os.path.join(ROOT, "guests", "penumbra", "user", "bench.c")) as f:
        src = f.read()
    printed = set(re.findall(r"\bC\((\w+)\)", src)) | set(re.findall(r'"(world_switches|hypercalls)"', src))
    probe = {k: 1.0 for k in printed}
    read = set()

    class Spy(dict):
        def get(self, k, default=None):
            read.add(k)
            return dict.get(self, k, default)

    for side in b.SIDES:
        b.events(side, Spy(probe))
    check(checks, "the model reads only counters bench.c prints", read <= printed,
          "not printed: %s" % sorted(read - printed))
    return checks


if __name__ == "__main__":
    bad = [(c, p) for c, p in run() if p]
    for c, p in bad:
        print("FAIL %s: %s" % (c, p))
    print("%s" % ("FAIL" if bad else "PASS"))
