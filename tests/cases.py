"""The boot tests: each case is a set of modules and what must be seen.

Every case runs in both paging formats. Besides its own expectations each
case checks what must hold in every run: the hypervisor powers off (no
time-out, no panic), no guest prints a FAIL line, and the free-frame count
after all guests have ended equals the count before they were loaded.
"""

import re

from harness import src

HELLO = "guests/hello.elf"
T = "tests/guests/"


def other(fmt):
    return "pae" if fmt == "nopae" else "nopae"


class Case:
    def __init__(self, name, modules, ok=True, expect=(), reject=(), check=None, **boot):
        self.name = name
        self.modules = modules      # function of fmt, or a list
        self.ok = ok                # the run as a whole should succeed (None: either way)
        self.expect = expect        # regexes the log must contain
        self.reject = reject        # regexes it must not contain
        self.check = check          # function(log) yielding (check, problem or None)
        self.boot = boot            # more Boot fields

    def module_list(self, fmt):
        return self.modules(fmt) if callable(self.modules) else self.modules


CASES = [
    Case("two_hello", [(HELLO, "name=a mem=16M code=0"), (HELLO, "name=b mem=8M code=0")],
         expect=[r'guest "a" shut down with exit code 0', r'guest "b" shut down with exit code 0',
                 r"\[a\] PASS memory", r"\[b\] PASS memory", r"^  a +\d+ +\d+  exit 0$",
                 r"boot to first guest: \d+ instructions"]),
    Case("iso_grub", [], iso=True, timeout=120,
         expect=[r'guest "hello1" shut down with exit code 0',
                 r'guest "hello2" shut down with exit code 0', r"powering off: success"]),
    Case("nonzero_exit", [(HELLO, "name=ok code=0"), (HELLO, "name=three code=3")], ok=False,
         expect=[r'guest "three" shut down with exit code 3', r"^  three +\d+ +\d+  exit 3$",
                 r'guest "ok" shut down with exit code 0', r"powering off: failure"]),
    Case("not_elf", [(src("tests/data/not-elf.txt"), "name=junk"), (HELLO, "name=good")], ok=False,
         expect=[r"module 0 \(.*not-elf.txt, name=junk\) refused: not an ELF file",
                 r'guest "good" shut down with exit code 0']),
    Case("too_large", [(HELLO, "name=huge mem=1G"), (HELLO, "name=good")], ok=False,
         expect=[r"module 0 .*name=huge mem=1G\) refused: not enough memory: 1048576 KiB asked",
                 r'guest "good" shut down with exit code 0']),
    Case("bad_mem_arg", [(HELLO, "name=odd mem=12345"), (HELLO, "name=good")], ok=False,
         expect=[r"refused: mem=12345: expected a whole number of pages",
                 r'guest "good" shut down with exit code 0']),
    Case("wrong_paging", lambda fmt: [("../%s/%s" % (other(fmt), HELLO), "name=alien"),
                                      (HELLO, "name=good")], ok=False,
         expect=[r"name=alien\) refused: built for (PAE|2-level) paging; this hypervisor uses",
                 r'guest "good" shut down with exit code 0']),
    Case("unknown_hypercall", [(T + "hcall_unknown.elf", "name=rogue"), (HELLO, "name=good")],
         ok=False,
         expect=[r'guest "rogue" killed: unknown hypercall 999', r"^  rogue +\d+ +\d+  killed: unknown",
                 r'guest "good" shut down with exit code 0'],
         reject=[r"still running"]),
    Case("console_beyond", [(T + "console_bad.elf", "name=beyond where=beyond"), (HELLO, "name=good")],
         ok=False, expect=[r'guest "beyond" killed: console_write: buffer 0x1001000\+16 is not mapped',
                           r'guest "good" shut down with exit code 0']),
    Case("console_cross", [(T + "console_bad.elf", "name=cross where=cross"), (HELLO, "name=good")],
         ok=False, expect=[r'guest "cross" killed: console_write: buffer 0xfffff8\+16 is not mapped at 0x1000000',
                           r'guest "good" shut down with exit code 0']),
    Case("console_null", [(T + "console_bad.elf", "name=nul where=null"), (HELLO, "name=good")],
         ok=False, expect=[r'guest "nul" killed: console_write: buffer 0x10\+16 is not mapped at 0x10']),
    Case("console_huge", [(T + "console_bad.elf", "name=huge where=huge"), (HELLO, "name=good")],
         ok=False, expect=[r'guest "huge" killed: console_write: length 2147483647 exceeds 4096']),
    Case("null_deref", [(T + "null_deref.elf", "name=nullptr"), (HELLO, "name=good")], ok=False,
         expect=[r'guest "nullptr" killed: unhandled page fault \(vector 14\) at eip 0x[0-9a-f]+, address 0x8, error code 0x0',
                 r'guest "good" shut down with exit code 0']),
    Case("no_modules", [], ok=False, expect=[r"no guest modules were given; nothing to run"]),
    Case("bad_options", [(HELLO, "name=good")], cmdline="exit=qemu loglevel=7 frobnicate=1",
         expect=[r"command line: loglevel=7: expected 0, 1 or 2",
                 r"command line: unknown option 'frobnicate' ignored"]),
    Case("bad_name", [(HELLO, "name=has/slash"), (HELLO, "name=good")], ok=False,
         expect=[r"refused: name=has/slash: use 1-31 letters"]),
    # The virtual timer: sleeps wake on time through an interrupt gate, and a
    # timer that expires with interrupts off waits for the guest's sti.
    Case("sleep", [(T + "sleeper.elf", "name=sleeper")],
         expect=[r"\[sleeper\] sleep %d: late by \d+ us$" % ns
                 for ns in (100000, 1000000, 3000000, 10000000, 20000000)] +
                [r"\[sleeper\] PASS %s$" % check for check in (
                    "sleeps: never early, monotonic, at most one tick late", "frame eip",
                    "frame cs", "frame eflags.IF", "irq_enabled clear in handler",
                    "masked timer not delivered", "masked timer pending",
                    "masked timer delivered by sti", "cancelled timer silent")] +
                [r'guest "sleeper" shut down with exit code 0']),
    # FPU state is per guest: two guests with their own x87/SSE patterns,
    # preempted every 1 ms slice; the second starts after the first has
    # dirtied the registers and must still see a clean FPU.
    Case("fpu_isolation", [(T + "fpu.elf", "name=fpu1 seed=1"), (T + "fpu.elf", "name=fpu2 seed=2")],
         cmdline="exit=qemu slice=1",
         expect=[r"\[%s\] PASS %s$" % (g, check) for g in ("fpu1", "fpu2")
                 for check in ("clean fpu", "fpu kept", "fpu preempted")] +
                [r'guest "fpu1" shut down with exit code 0',
                 r'guest "fpu2" shut down with exit code 0']),
    # A guest that never yields: preemption lets the others run to the end
    # while it spins (their exits come before its end), and timeout= ends it.
    Case("spinner_timeout", [(T + "spinner.elf", "name=spin timeout=300"),
                             (HELLO, "name=h1 mem=4M"), (HELLO, "name=h2 mem=4M")], ok=False,
         expect=[r"\[spin\] spin: spinning forever",
                 r'guest "h1" shut down with exit code 0(?:.*\n)*.*guest "spin" killed',
                 r'guest "h2" shut down with exit code 0(?:.*\n)*.*guest "spin" killed',
                 r'guest "spin" killed: timed out', r"^  spin +\d+ +\d+  killed: timed out",
                 r"powering off: failure"]),
    # Hostile descriptors and requests, one per case beside a hello canary:
    # each ends the bad guest with this reason. Where the reason names an
    # address only the guest knows, the guest prints it first (the first
    # regex) and the reason must repeat it (\1, \2).
    *[Case("bad_desc_" + what, [(T + "bad_desc.elf", "name=%s what=%s" % (what, what)),
                                (HELLO, "name=good")], ok=False,
           expect=[(said + r"\n(?:.*\n)*?" if said else "^") +
                   r'umbra: guest "%s" killed: %s$' % (what, reason),
                   r'guest "good" shut down with exit code 0'],
           reject=[r"still running"])
      for what, said, reason in [
          ("gate_type", None, r"set_trap: vector 6: type 0x5 is not a 32-bit interrupt or trap gate"),
          ("gate_selector", None, r"set_trap: vector 6: selector 0x8 is not the guest kernel's code"),
          ("gate_dpl0", None, r"set_trap: vector 6: DPL 0 \(must be 1 or 3\)"),
          ("gate_vector", None, r"set_trap: vector 300 out of range"),
          ("stack_segment", None, r"set_stack: segment 0x10 is not the ring-1 data segment 0x21"),
          ("stack_pages", None, r"set_stack: 3 pages \(must be 1 or 2\)"),
          ("tls_dpl0", r"set_tls\(0, (0x[0-9a-f]+)\)",
           r"set_tls: slot 0: descriptor \1: DPL must be 1 or 3"),
          ("tls_system", r"set_tls\(0, (0x[0-9a-f]+)\)",
           r"set_tls: slot 0: descriptor \1: system descriptors and gates are not allowed"),
          ("tls_conforming", r"set_tls\(0, (0x[0-9a-f]+)\)",
           r"set_tls: slot 0: descriptor \1: conforming code segments are not allowed"),
          ("tls_expand_down", r"set_tls\(0, (0x[0-9a-f]+)\)",
           r"set_tls: slot 0: descriptor \1: expand-down segments are not allowed"),
          ("tls_switcher", r"set_tls\(1, (0x[0-9a-f]+)\)",
           r"set_tls: slot 1: descriptor \1: segment reaches into the Switcher region"),
          ("tls_slot", None, r"set_tls: slot 5 out of range \(0-2\)"),
          ("no_handler", r"ud2 at (0x[0-9a-f]+)",
           r"unhandled invalid opcode \(vector 6\) at eip \1"),
          ("pf_no_handler", r"reading (0x[0-9a-f]+) at eip (0x[0-9a-f]+)",
           r"unhandled page fault \(vector 14\) at eip \2, address \1, error code 0x0"),
          ("shared_unaligned", r"set_shared\((0x[0-9a-f]+)\)",
           r"set_shared: \1 is not a page-aligned address of guest memory"),
          ("halt_forever", None, r"halt: no timer is set, nothing would ever wake the guest"),
      ]],
    # Vectors that are never the guest's are refused without ending it.
    Case("bad_desc_gate_reserved", [(T + "bad_desc.elf", "name=reserved what=gate_reserved"),
                                    (HELLO, "name=good")],
         expect=[r"\[reserved\] PASS gate_reserved: vectors 2, 8, 18, 0x82 refused",
                 r"\[reserved\] PASS gate_reserved: ordinary gate accepted",
                 r'guest "reserved" shut down with exit code 0',
                 r'guest "good" shut down with exit code 0']),
    # Sixteen guests at once, all of them run to the end and give every frame back.
    Case("sixteen_guests", [(HELLO, "name=g%02d mem=4M" % i) for i in range(16)],
         expect=[r'guest "g%02d" shut down with exit code 0' % i for i in range(16)] +
                [r"\[g%02d\] PASS memory" % i for i in range(16)] +
                [r"powering off: success"]),
]



# Traps and system calls (issue 3), page tables (issue 4).
CASES += [
    Case("exceptions", [(T + "exceptions.elf", "name=exc"), (HELLO, "name=good")],
         expect=[r"\[exc\] PASS %s from ring %d" % (what, ring)
                 for what in ("divide error", "breakpoint", "overflow", "bound range",
                              "invalid opcode", "general protection", "page fault read",
                              "page fault write") for ring in (1, 3)] +
                # QEMU's TCG raises no #AC; the guest says so on a NOTE line.
                [r"\[exc\] (PASS|NOTE) alignment check from ring 3"]),
    Case("syscalls", [(T + "syscall.elf", "name=sys")],
         expect=[r"PASS direct-trap system call$", r"PASS direct trap: no world switch",
                 r"PASS reflected system call", r"FIGURE hypercall round trip: \d+",
                 r"FIGURE reflected page fault: \d+"]),
    Case("pagetables", [(T + "pagetables.elf", "name=pt"), (HELLO, "name=good")],
         expect=[r"\[pt\] PASS every batched mapping reads its page",
                 r"\[pt\] PASS kernel mapping changed in one space is seen in all",
                 r"\[pt\] PASS 12 address spaces, 8 cached shadows"]),
]

BAD_PT = {
    "frame_beyond": r"set_pte: entry 0x1010003 for 0x40000000: frame 0x1010 beyond limit 0x1000",
    "map_switcher": r"set_pte: 0xff[ce]00000 lies in the Switcher region",
    "table_at_switcher": r"(set_pgd: index 1023 out of range \(0-1022\)|"
                         r"set_pmd: 0xffe00000 lies in the Switcher region)",
    "large_page": r"set_p[gm]d: entry 0x\w+ for 0x40000000 (sets reserved or non-table bits 0x80|"
                  r"is a large page; umbra supports 4 KiB pages only)",
    "reserved_bits": r"set_pte: entry 0x\w+ for 0x40000000 sets reserved or non-table bits",
    "table_flags": r"set_p[gm]d: entry 0x\w+ for 0x40000000 sets reserved or non-table bits 0x40",
    "pgd_index": r"set_pgd: index 5000 out of range",
    "cr3_outside": r"new_pgtable: 0x1001000 is not a (2-level|PAE) top-level table inside guest memory",
    "console_cross": r"console_write: buffer 0x3ffffff8\+16 is not mapped at 0x40000000",
    "silent_bad_entry": r"page fault: entry 0x1020003 for 0x40000000: frame 0x1020 beyond limit",
}
# loglevel=0 keeps only what went wrong and how the run ended; 2 adds the
# shadow cache's decisions (pagetables switches over 12 tables, 8 cached).
CASES.append(Case("loglevel_quiet", [(HELLO, "name=good"), (T + "hcall_unknown.elf", "name=rogue")],
                  ok=False, cmdline="exit=qemu loglevel=0",
                  expect=[r'guest "rogue" killed: unknown hypercall 999',
                          r'guest "good" shut down with exit code 0', r"frames free: \d+"],
                  reject=[r"loaded:", r"TSC runs at", r"boot to first guest", r"umbra: image:"]))
CASES.append(Case("loglevel_debug", [(T + "pagetables.elf", "name=pt")],
                  cmdline="exit=qemu loglevel=2",
                  expect=[r'guest "pt": page table 0x[0-9a-f]+ ends the linear boot mapping',
                          r"shadow of table 0x[0-9a-f]+ evicted \(least recently used\)",
                          r'guest "pt" loaded:']))

# Debug keys typed on the serial console while a guest spins.
CASES.append(Case("debug_keys", [(T + "spinner.elf", "name=spin timeout=3000"), (HELLO, "name=good")],
                  ok=False, keys="hgmrs", after=r"spin: spinning forever",
                  expect=[r"umbra: debug keys: g guests, m memory, r registers, s shadow tables",
                          r"umbra: id +guest +state .* switches",
                          r"umbra: \d+ +spin +runnable",
                          r"umbra: memory by owner \(KiB\): free \d+",
                          # whichever guest had the CPU when the key came
                          r'umbra: guest "(spin|good)" registers at its last exit \(vector \d+\)',
                          r'umbra: guest "spin": shadow faults \d+',
                          r'guest "spin" killed: timed out']))

# Alone, so that no other guest's time slice lands inside a measurement.
CASES.append(Case("ptbench", [(T + "ptbench.elf", "name=ptbench shadows=32")],
                  expect=[r"FIGURE shadow page fault: \d+", r"FIGURE new_pgtable to a cached shadow",
                          r"FIGURE set_pte batched: \d+ instructions per update, \d+ updates",
                          r"PASS kernel mapping change costs the same with 32 shadows"]))

for _what, _reason in BAD_PT.items():
    CASES.append(Case("bad_pt_" + _what,
                      [(T + "bad_pt.elf", "name=bad what=" + _what), (HELLO, "name=canary")],
                      ok=False, reject=[r"still running"],
                      expect=[r'guest "bad" killed: ' + _reason,
                              r'guest "canary" shut down with exit code 0']))

def common_checks(result, fmt, case):
    """Yield (check name, problem or None) for what every run must show."""
    from harness import STATUS_OK, STATUS_FAIL
    log = result.log
    if result.status is None:
        yield "powers off", "timed out"
    elif case.ok is None:
        yield "exit status", None if result.status in (STATUS_OK, STATUS_FAIL) else \
            "QEMU exit status %s, expected %s or %s" % (result.status, STATUS_OK, STATUS_FAIL)
    else:
        want = STATUS_OK if case.ok else STATUS_FAIL
        yield "exit status", None if result.status == want else \
            "QEMU exit status %s, expected %s" % (result.status, want)
    yield "no panic", "PANIC in log" if "PANIC" in log else None
    fails = re.findall(r"^\[[^\]]+\] FAIL .*$", log, re.M)
    yield "no FAIL lines", "; ".join(fails) if fails else None
    m = re.search(r"frames free: (\d+) before guests, (\d+) after", log)
    if m:
        yield "no frame leaked", None if m.group(1) == m.group(2) else m.group(0)
    for pat in case.expect:
        yield "log has /%s/" % pat, None if re.search(pat, log, re.M) else "not found"
    for pat in case.reject:
        yield "log lacks /%s/" % pat, "found" if re.search(pat, log, re.M) else None
    if case.check:
        yield from case.check(log)


# The in-guest fuzzer (tests/guests/hcfuzz): random hypercalls, page tables,
# segments, gates, EFLAGS, traps and ring-3 code, each checked against the
# ABI from inside the guest. A few seeds briefly, each beside a canary; the
# long runs are `make fuzz-guest`.
HCFUZZ = T + "hcfuzz.elf"
HCFUZZ_OPS = 20000


def hcfuzz_kill_check(log):
    """mode=fatal: the hypervisor's kill reason must be the one the fuzzer expected."""
    want = re.search(r"^\[fz\] hcfuzz: expect kill: (.*)$", log, re.M)
    got = re.search(r'^umbra: guest "fz" killed: (.*)$', log, re.M)
    if not want:
        yield "fuzzer names the kill it expects", "no 'expect kill' line"
        return
    if not got:
        yield "killed as expected (%s)" % want.group(1), "not killed"
        return
    # The call (the words before the first colon) must match, and every number
    # the fuzzer expects must be in the reason; the rest is the hypervisor's wording.
    call = want.group(1).split(":")[0]
    numbers = re.findall(r"0x[0-9a-f]+|\d+", want.group(1))
    missing = [n for n in numbers if not re.search(r"(?<![0-9a-fx])%s(?![0-9a-f])" % n, got.group(1))]
    ok = got.group(1).startswith(call) and not missing
    yield "killed as expected (%s)" % want.group(1), None if ok else "killed: " + got.group(1)


CASES += [Case("hcfuzz_seed%d" % seed,
               [(HCFUZZ, "name=fz mem=16M seed=%d ops=%d" % (seed, HCFUZZ_OPS)), (HELLO, "name=canary")],
               expect=[r"\[fz\] hcfuzz: seed %d, %d ops, mode mixed" % (seed, HCFUZZ_OPS),
                       r"\[fz\] PASS hcfuzz: %d ops, no violation" % HCFUZZ_OPS,
                       r'guest "fz" shut down with exit code 0',
                       r'guest "canary" shut down with exit code 0'])
          for seed in (1, 2, 3)]
# Random ring-1 code may legitimately get the fuzzer killed (its stack gone):
# only the hypervisor's health and the canary are checked.
CASES += [Case("hcfuzz_ring1_seed%d" % seed,
               [(HCFUZZ, "name=fz mem=16M seed=%d ops=3000 mode=ring1" % seed), (HELLO, "name=canary")],
               ok=None, expect=[r"\[fz\] hcfuzz: seed %d, 3000 ops, mode ring1" % seed,
                                r'guest "canary" shut down with exit code 0'])
          for seed in (1, 2)]
CASES += [Case("hcfuzz_fatal_seed%d" % seed,
               [(HCFUZZ, "name=fz mem=16M seed=%d ops=300 mode=fatal" % seed), (HELLO, "name=canary")],
               ok=False, check=hcfuzz_kill_check,
               expect=[r'guest "canary" shut down with exit code 0'])
          for seed in (1, 2, 3, 4, 5, 6)]
# An LDT the guest writes itself must not exist, let alone take it to ring 0.
CASES.append(Case("hcfuzz_ldt", [(HCFUZZ, "name=fz mem=16M seed=1 ops=0 mode=ldt"), (HELLO, "name=canary")],
                  expect=[r"\[fz\] hcfuzz: the LDT call gate did not work",
                          r'guest "canary" shut down with exit code 0']))
