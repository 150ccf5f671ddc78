#!/usr/bin/env python3
"""Run penumbra's bench PV (on umbra) and native, in both paging formats, and compare.

For each format it boots build/<fmt>/guests/penumbra.elf under umbra and
build/<fmt>/guests/penumbra-native.elf on its own, both with script=bench,
under QEMU's -icount shift=0 (the TSC counts instructions). It reads the
BENCH, BENCHPV and BENCHEV lines (guests/penumbra/user/bench.c), counts the
expensive events of each operation on each side, turns them into modelled
cycles with the costs in perf/costs.md, and prints one table per format.
It writes the figures as CSV and, if matplotlib is there, a PNG chart.

    tools/bench.py [--formats nopae,pae] [--out build/bench] [--logs DIR]

With --logs it boots nothing and reads DIR/<fmt>-{pv,native}.log instead.
The table and CSV need only the standard library.
"""

import argparse
import csv
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COSTS = os.path.join(ROOT, "perf", "costs.md")
SIDES = ("native", "pv")
COST_KEYS = ("ordinary", "ring_int", "ring_iret", "same_iret", "cr3_load", "desc_load", "invlpg",
             "zero_page", "tlb_refill", "ws_refills", "cr3_refills", "touch_refills")
# The events that are instructions (or rep iterations) the TSC counted.
EVENTS = ("ring_int", "ring_iret", "same_iret", "cr3_load", "desc_load", "invlpg", "zero_page")
PV_OPTIONS = "name=pn mem=64M shadows=24 script=bench"
STATUS_SUCCESS = 33


# --- the cost file ------------------------------------------------------------

class Cost:
    def __init__(self, central, low, high, instr, item):
        self.central, self.low, self.high, self.instr, self.item = central, low, high, instr, item

    def value(self, which):
        return getattr(self, which)


def parse_costs(text):
    """The fenced ```costs block of perf/costs.md: key -> Cost."""
    m = re.search(r"^```costs\n(.*?)^```", text, re.M | re.S)
    if not m:
        raise ValueError("no ```costs block")
    costs = {}
    for line in m.group(1).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split(None, 5)
        if len(f) < 5:
            raise ValueError("short cost line: %r" % line)
        costs[f[0]] = Cost(float(f[1]), float(f[2]), float(f[3]), float(f[4]),
                           f[5] if len(f) > 5 else "")
    missing = [k for k in COST_KEYS if k not in costs]
    if missing:
        raise ValueError("cost file lacks " + ", ".join(missing))
    return costs


def load_costs(path=COSTS):
    with open(path) as f:
        return parse_costs(f.read())


# --- the bench program's lines ------------------------------------------------

LINE = re.compile(r"\b(BENCH|BENCHPV|BENCHEV) op=(\S+)((?: \w+=[0-9.]+)*)\s*$")


def parse_log(text):
    """op -> {"iters", "instr", counter: per-op value}, ops in the order they came."""
    ops = {}
    for line in text.splitlines():
        m = LINE.search(line)
        if not m:
            continue
        rec = ops.setdefault(m.group(2), {})
        for kv in m.group(3).split():
            k, v = kv.split("=")
            if k.endswith("_per_op"):
                k = k[:-len("_per_op")]
            if k == "instr":
                rec["instr"] = float(v)
            elif k == "iters":
                rec["iters"] = int(v)
            else:
                rec[k] = float(v)
    return ops


# --- the model ------------------------------------------------------------------

def events(side, rec):
    """The expensive events of one operation, per op, as perf/costs.md says each side counts them."""
    g = lambda k: rec.get(k, 0.0)
    if side == "native":
        ev = {"ring_int": g("traps_user"), "ring_iret": g("irets_user"),
              "same_iret": g("irets_kernel"), "cr3_load": g("own_cr3_loads"),
              "desc_load": g("own_desc_loads"), "invlpg": g("own_invlpgs"),
              "zero_page": g("zeroed_frames")}
        ev["refills"] = {"cr3_refills": g("own_cr3_loads"), "touch_refills": g("user_faults")}
    elif side == "pv":
        ws = g("world_switches")
        ev = {"ring_int": ws + g("syscalls"), "ring_iret": ws + g("irets_user"),
              "same_iret": g("irets_kernel"), "cr3_load": g("cr3_loads"),
              "desc_load": g("desc_loads"), "invlpg": g("own_invlpgs"),
              "zero_page": g("zeroed_frames")}
        ev["refills"] = {"ws_refills": ws, "touch_refills": g("user_faults")}
    else:
        raise ValueError(side)
    return ev


def tlb_refills(ev, costs):
    return sum(n * costs[k].central for k, n in ev["refills"].items())


def modelled(instr, ev, costs, which="central"):
    """Modelled cycles of one operation: instr counted instructions with the events ev."""
    expensive = sum(ev[k] * costs[k].instr for k in EVENTS)
    ordinary = max(instr - expensive, 0.0)
    return (ordinary * costs["ordinary"].value(which)
            + sum(ev[k] * costs[k].value(which) for k in EVENTS)
            + tlb_refills(ev, costs) * costs["tlb_refill"].value(which))


def ratio(pv, native):
    return pv / native if native else float("nan")


def rows(native_ops, pv_ops, costs):
    """One row per op both sides ran, in the order the native run printed them."""
    out = []
    for op, n in native_ops.items():
        p = pv_ops.get(op)
        if p is None or "instr" not in n or "instr" not in p:
            continue
        en, ep = events("native", n), events("pv", p)
        r = {"op": op, "native_instr": n["instr"], "pv_instr": p["instr"],
             "instr_ratio": ratio(p["instr"], n["instr"]),
             "native_cycles": modelled(n["instr"], en, costs),
             "pv_cycles": modelled(p["instr"], ep, costs),
             "world_switches": p.get("world_switches", 0.0)}
        r["cycles_ratio"] = ratio(r["pv_cycles"], r["native_cycles"])
        for which in ("low", "high"):
            r["native_cycles_" + which] = modelled(n["instr"], en, costs, which)
            r["pv_cycles_" + which] = modelled(p["instr"], ep, costs, which)
        out.append(r)
    return out


# --- output ---------------------------------------------------------------------

COLUMNS = [("op", "op"), ("native_instr", "native instr"), ("pv_instr", "PV instr"),
           ("instr_ratio", "ratio"), ("native_cycles", "native modelled cycles"),
           ("pv_cycles", "PV modelled cycles"), ("cycles_ratio", "ratio"),
           ("world_switches", "world switches per op")]
CSV_COLUMNS = ["format", "op", "native_instr", "pv_instr", "instr_ratio", "native_cycles",
               "pv_cycles", "cycles_ratio", "world_switches", "native_cycles_low",
               "native_cycles_high", "pv_cycles_low", "pv_cycles_high"]


def cell(key, v):
    if isinstance(v, str):
        return v
    if key.endswith("ratio"):
        return "%.2f" % v
    if key == "world_switches":
        return "%.2f" % v
    return "%.0f" % v


def format_table(fmt, table):
    head = [h for _, h in COLUMNS]
    body = [[cell(k, r[k]) for k, _ in COLUMNS] for r in table]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    line = lambda cells: " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                    for i, (c, w) in enumerate(zip(cells, widths)))
    out = ["%s: ratio = PV / native; modelled cycles from perf/costs.md (an estimate)" % fmt,
           line(head), "-+-".join("-" * w for w in widths)]
    return "\n".join(out + [line(b) for b in body])


def write_csv(path, tables):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for fmt, table in tables:
            for r in table:
                w.writerow([fmt] + [r[k] if isinstance(r[k], str) else "%.4g" % r[k]
                                    for k in CSV_COLUMNS[1:]])


def write_png(path, tables):
    """PV/native ratios per op, instructions and modelled cycles; False without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(len(tables), 1, figsize=(10, 4 * len(tables)), squeeze=False)
    for ax, (fmt, table) in zip(axes[:, 0], tables):
        ops = [r["op"] for r in table]
        x = range(len(ops))
        ax.bar([i - 0.2 for i in x], [r["instr_ratio"] for r in table], 0.4, label="instructions")
        # The whiskers span the ratios at the low and the high costs.
        spread = [sorted((r["cycles_ratio"], ratio(r["pv_cycles_low"], r["native_cycles_low"]),
                          ratio(r["pv_cycles_high"], r["native_cycles_high"]))) for r in table]
        ax.bar([i + 0.2 for i in x], [r["cycles_ratio"] for r in table], 0.4,
               yerr=[[r["cycles_ratio"] - s[0] for r, s in zip(table, spread)],
                     [s[2] - r["cycles_ratio"] for r, s in zip(table, spread)]],
               label="modelled cycles (whiskers: at the low and high costs)")
        ax.axhline(1, color="gray", lw=0.8)
        ax.set_xticks(list(x))
        ax.set_xticklabels(ops, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("PV / native")
        ax.set_title("penumbra bench, %s paging" % fmt)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# --- booting --------------------------------------------------------------------

def boot(fmt, side, log_path, qemu, timeout):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    from umbraboot import qemu as q
    b = os.path.join(ROOT, "build", fmt)
    if side == "pv":
        m = q.Machine(kernel=os.path.join(b, "umbra.elf"), cmdline="exit=qemu",
                      modules=[(os.path.join(b, "guests", "penumbra.elf"), PV_OPTIONS)])
    else:
        m = q.Machine(kernel=os.path.join(b, "guests", "penumbra-native.elf"),
                      cmdline="script=bench")
    m.qemu, m.timeout = qemu, timeout
    run = q.run(m)
    with open(log_path, "w") as f:
        f.write(run.log)
    if run.status != STATUS_SUCCESS:
        raise SystemExit("bench: %s %s run failed (QEMU status %s%s), log in %s\n%s" % (
            fmt, side, run.status, ", timed out" if run.timed_out else "", log_path,
            run.qemu_output.strip()))
    return run.log


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--formats", default="nopae,pae")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--logs", help="read <fmt>-{pv,native}.log here instead of booting")
    ap.add_argument("--costs", default=COSTS)
    ap.add_argument("--qemu", default=os.environ.get("QEMU", "qemu-system-i386"))
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args(argv)
    costs = load_costs(args.costs)
    os.makedirs(args.out, exist_ok=True)
    tables = []
    for fmt in args.formats.split(","):
        logs = {}
        for side in SIDES:
            if args.logs:
                with open(os.path.join(args.logs, "%s-%s.log" % (fmt, side))) as f:
                    logs[side] = f.read()
            else:
                print("bench: %s %s ..." % (fmt, side), flush=True)
                logs[side] = boot(fmt, side, os.path.join(args.out, "%s-%s.log" % (fmt, side)),
                                  args.qemu, args.timeout)
        table = rows(parse_log(logs["native"]), parse_log(logs["pv"]), costs)
        if not table:
            raise SystemExit("bench: no BENCH lines in the %s logs" % fmt)
        tables.append((fmt, table))
        print("\n" + format_table(fmt, table) + "\n")
    csv_path, png_path = os.path.join(args.out, "bench.csv"), os.path.join(args.out, "bench.png")
    write_csv(csv_path, tables)
    print("bench: wrote %s" % csv_path)
    if write_png(png_path, tables):
        print("bench: wrote %s" % png_path)
    else:
        print("bench: no matplotlib, so no %s (make deps-bench installs it)" % png_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
