"""The boot tests: each case is a set of modules and what must be seen.

Every case runs in both paging formats. Besides its own expectations each
case checks what must hold in every run: the hypervisor powers off (no
time-out, no panic) with the QEMU status its verdict implies, no guest
prints a FAIL line, the free-frame count after all guests have ended equals
the count before they were loaded, and tools/umbra-boot's reading of the
console gives the verdict the case expects (OK, KILLED, REFUSED, ...: the
exit statuses of tools/umbraboot/outcome.py).
"""

import re

from harness import STATUS_CPU, src
from umbraboot.outcome import GUEST_FAILED, HYPERVISOR_FAILED, KILLED, OK, REFUSED, describe
from umbraboot.qemu import BAUD_115200

HELLO = "guests/hello.elf"
T = "tests/guests/"


def other(fmt):
    return "pae" if fmt == "nopae" else "nopae"


def per_fmt(value, fmt):
    """A Case field that may differ between the paging formats: a function of fmt, or a value."""
    return value(fmt) if callable(value) else value


class Case:
    def __init__(self, name, modules, verdict=OK, expect=(), reject=(), check=None, status=None,
                 **boot):
        self.name = name
        self.modules = modules      # function of fmt, or a list
        self.verdict = verdict      # the exit status(es) umbra-boot would give the run; or of fmt
        self.check = check          # more checks: a function of the log
        self.expect = expect        # regexes the log must contain; or a function of fmt
        self.reject = reject        # regexes it must not contain
        self.status = status        # QEMU's exit status, if not the verdict's; or a function of fmt
        self.boot = boot            # more Boot fields

    def module_list(self, fmt):
        return per_fmt(self.modules, fmt)

    def verdicts(self, fmt):
        v = per_fmt(self.verdict, fmt)
        return v if isinstance(v, tuple) else (v,)

    def statuses(self, fmt):
        """The QEMU exit statuses the run may end with."""
        from harness import STATUS_OK, STATUS_FAIL
        st = per_fmt(self.status, fmt)
        if st is not None:
            return [st]
        return sorted({STATUS_OK if v == OK else STATUS_FAIL for v in self.verdicts(fmt)})


# What umbra-scripted.iso shows when it boots: two penumbra kernels running
# scripted sessions, and a hello guest.
ISO_SCRIPTED = [r'guest "pn1" shut down with exit code 0', r'guest "pn2" shut down with exit code 0',
                r'guest "hello" shut down with exit code 0', r"\[pn1\] selftest: \d+ passed, 0 failed$",
                r"\[pn2\] BENCH op=null_syscall", r"powering off: success"]

# The display line (hypervisor/display.c): GRUB under a BIOS names EGA text;
# QEMU's -kernel names nothing, and SeaBIOS left text mode 3 in its data
# area; GRUB under UEFI names the firmware's framebuffer; a machine without
# a VGA has no text mode there (OVMF without a VGA leaves 0x200 as the CRT
# controller's port: no zero area to count on).
DISPLAY_GRUB_TEXT = r"VGA text 80x25 at 0xb8000 \(framebuffer type 2, EGA text, 80x25 at 0xb8000\)"
DISPLAY_BDA_TEXT = (r"VGA text 80x25 at 0xb8000 \(no framebuffer named; BIOS data area: video mode 0x3,"
                    r" CRT controller 0x3d4\)")
DISPLAY_EFI_FB = r"none \(framebuffer type 1, RGB, \d+x\d+ at 0x[0-9a-f]+\), serial only"
DISPLAY_BDA_NONE = (r"none \(no framebuffer named; BIOS data area: video mode 0x[0-9a-f]+, CRT controller"
                    r" 0x[0-9a-f]+\), serial only")


def display_is(what):
    """A check: the boot says once which display it uses, and it is `what` (a regex)."""
    def check(log):
        lines = re.findall(r"^umbra: display: (.*)$", log, re.M)
        if len(lines) != 1:
            yield "one display line", "%d display lines" % len(lines)
        else:
            yield "display: /%s/" % what, None if re.fullmatch(what, lines[0]) else "display: " + lines[0]
    return check


CASES = [
    Case("two_hello", [(HELLO, "name=a mem=16M code=0"), (HELLO, "name=b mem=8M code=0")],
         expect=[r'guest "a" shut down with exit code 0', r'guest "b" shut down with exit code 0',
                 r"\[a\] PASS memory", r"\[b\] PASS memory", r"^  a +\d+ +\d+  exit 0$",
                 r"boot to first guest: \d+ TSC ticks$"],
         check=display_is(DISPLAY_BDA_TEXT)),
    # The ISO make run boots without a terminal, through GRUB under a BIOS
    # (the UEFI boots are below).
    Case("iso_grub", [], iso="umbra-scripted.iso", timeout=180, expect=ISO_SCRIPTED,
         check=display_is(DISPLAY_GRUB_TEXT)),
    Case("nonzero_exit", [(HELLO, "name=ok code=0"), (HELLO, "name=three code=3")], verdict=GUEST_FAILED,
         expect=[r'guest "three" shut down with exit code 3', r"^  three +\d+ +\d+  exit 3$",
                 r'guest "ok" shut down with exit code 0', r"powering off: failure"]),
    Case("not_elf", [(src("tests/data/not-elf.txt"), "name=junk"), (HELLO, "name=good")], verdict=REFUSED,
         expect=[r"module 0 \(.*not-elf.txt, name=junk\) refused: not an ELF file",
                 r'guest "good" shut down with exit code 0']),
    # A guest as large as the whole machine never fits beside the hypervisor.
    Case("too_large", [(HELLO, "name=huge mem=128M"), (HELLO, "name=good")], verdict=REFUSED,
         memory="128M",
         expect=[r"module 0 .*name=huge mem=128M\) refused: not enough memory: 131072 KiB asked, "
                 r"\d+ KiB free",
                 r'guest "good" shut down with exit code 0']),
    Case("bad_mem_arg", [(HELLO, "name=odd mem=12345"), (HELLO, "name=good")], verdict=REFUSED,
         expect=[r"refused: mem=12345: expected a whole number of pages",
                 r'guest "good" shut down with exit code 0']),
    Case("wrong_paging", lambda fmt: [("../%s/%s" % (other(fmt), HELLO), "name=alien"),
                                      (HELLO, "name=good")], verdict=REFUSED,
         expect=[r"name=alien\) refused: built for (PAE|2-level) paging; this hypervisor uses",
                 r'guest "good" shut down with exit code 0']),
    Case("unknown_hypercall", [(T + "hcall_unknown.elf", "name=rogue"), (HELLO, "name=good")],
         verdict=KILLED,
         expect=[r'guest "rogue" killed: unknown hypercall 999', r"^  rogue +\d+ +\d+  killed: unknown",
                 r'guest "good" shut down with exit code 0'],
         reject=[r"still running"]),
    Case("console_beyond", [(T + "console_bad.elf", "name=beyond where=beyond"), (HELLO, "name=good")],
         verdict=KILLED, expect=[r'guest "beyond" killed: console_write: buffer 0x1001000\+16 is not mapped',
                           r'guest "good" shut down with exit code 0']),
    Case("console_cross", [(T + "console_bad.elf", "name=cross where=cross"), (HELLO, "name=good")],
         verdict=KILLED, expect=[r'guest "cross" killed: console_write: buffer 0xfffff8\+16 is not mapped at 0x1000000',
                           r'guest "good" shut down with exit code 0']),
    Case("console_null", [(T + "console_bad.elf", "name=nul where=null"), (HELLO, "name=good")],
         verdict=KILLED, expect=[r'guest "nul" killed: console_write: buffer 0x10\+16 is not mapped at 0x10']),
    Case("console_huge", [(T + "console_bad.elf", "name=huge where=huge"), (HELLO, "name=good")],
         verdict=KILLED, expect=[r'guest "huge" killed: console_write: length 2147483647 exceeds 4096']),
    Case("null_deref", [(T + "null_deref.elf", "name=nullptr"), (HELLO, "name=good")], verdict=KILLED,
         expect=[r'guest "nullptr" killed: unhandled page fault \(vector 14\) at eip 0x[0-9a-f]+, address 0x8, error code 0x0',
                 r'guest "good" shut down with exit code 0']),
    Case("no_modules", [], verdict=HYPERVISOR_FAILED, expect=[r"no guest modules were given; nothing to run"]),
    Case("bad_options", [(HELLO, "name=good")], cmdline="exit=qemu loglevel=7 frobnicate=1",
         expect=[r"command line: loglevel=7: expected 0, 1 or 2",
                 r"command line: unknown option 'frobnicate' ignored"]),
    Case("bad_name", [(HELLO, "name=has/slash"), (HELLO, "name=good")], verdict=REFUSED,
         expect=[r"refused: name=has/slash: use 1-31 letters"]),
    # The virtual timer: sleeps wake on time through an interrupt gate, and a
    # timer that expires with interrupts off waits for the guest's sti.
    Case("sleep", [(T + "sleeper.elf", "name=sleeper")],
         expect=[r"\[sleeper\] sleep %d: late by \d+ us$" % ns
                 for ns in (100000, 1000000, 3000000, 10000000, 20000000)] +
                [r"\[sleeper\] PASS %s$" % check for check in (
                    "sleeps: never early, monotonic, not later than max_late_us", "frame eip",
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
                 r'guest "fpu2" shut down with exit code 0'],
         reject=[r"NOTE fpu: this CPU has no SSE"]),
    # A Pentium II has FXSAVE but no SSE: umbra leaves CR4.OSXMMEXCPT and
    # MXCSR alone, and the guests check the x87 registers only, saying so.
    Case("fpu_isolation_pentium2", [(T + "fpu.elf", "name=fpu1 seed=1"), (T + "fpu.elf", "name=fpu2 seed=2")],
         cmdline="exit=qemu slice=1", cpu="pentium2",
         expect=[r"\[%s\] %s$" % (g, check) for g in ("fpu1", "fpu2")
                 for check in ("NOTE fpu: this CPU has no SSE \(CPUID.01H:EDX bit 25 clear\): only the "
                               "x87 registers are checked, not xmm0-xmm7 and MXCSR",
                               "PASS clean fpu", "PASS fpu kept", "PASS fpu preempted")] +
                [r'guest "fpu1" shut down with exit code 0',
                 r'guest "fpu2" shut down with exit code 0']),
    # A guest that never yields: preemption lets the others run to the end
    # while it spins (their exits come before its end), and timeout= ends it.
    Case("spinner_timeout", [(T + "spinner.elf", "name=spin timeout=300"),
                             (HELLO, "name=h1 mem=4M"), (HELLO, "name=h2 mem=4M")], verdict=KILLED,
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
                                (HELLO, "name=good")], verdict=KILLED,
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
          # the local APIC's page is the hypervisor's alone
          ("pf_apic", r"reading (0xfee00030) at eip (0x[0-9a-f]+)",
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


# Real PCs: a CPU without what umbra uses is refused in one line naming all
# it lacks, before any code built for the i686 runs (arch/x86/cpu_check.c),
# and QEMU ends with status 37. A 486 lacks CMOV, TSC and FXSR (and PAE);
# a CPU without PAE still runs the 2-level build.
def cpu_refusal(cpu, missing):
    return r"^umbra: this CPU \(GenuineIntel %s\) cannot run umbra: %s$" % (cpu, re.escape(missing))


NO_PAE = ", no PAE (needed by the PAE build)"


def refused_486(fmt):
    return [cpu_refusal("family 4 model 8", "no CMOV, no TSC, no FXSR" + (NO_PAE if fmt == "pae" else ""))]


CASES += [
    Case("cpu_486", [(HELLO, "name=h")], cpu="486", verdict=HYPERVISOR_FAILED, status=STATUS_CPU,
         expect=refused_486, reject=[r"umbra: booting", r"\[h\]"]),
    # QEMU's ISA-only PC, whose CPU is a 486 too.
    Case("cpu_isapc", [(HELLO, "name=h")], extra=["-M", "isapc"], verdict=HYPERVISOR_FAILED,
         status=STATUS_CPU, expect=refused_486),
    Case("cpu_no_pae", [(HELLO, "name=h")], cpu="qemu32,-pae",
         verdict=lambda fmt: HYPERVISOR_FAILED if fmt == "pae" else OK,
         status=lambda fmt: STATUS_CPU if fmt == "pae" else None,
         expect=lambda fmt: [cpu_refusal("family 6 model 6", NO_PAE[2:])] if fmt == "pae" else
                            [r'guest "h" shut down with exit code 0', r"powering off: success"]),
]

# NMIs, injected through QEMU's QMP (inject-nmi), are the hypervisor's wherever
# they land: counted, and the guest they interrupt goes on (guest-abi/README.md).
# tests/guests/busy never halts, checks its own arithmetic and ends when a
# key comes, typed once every NMI has been sent. The count cannot be exactly
# the number sent: like the CPU, QEMU keeps one NMI waiting to be taken, and
# one sent while another still waits is merged with it. That happens when
# the virtual CPU is slow to run (host load; the hypervisor zeroing guest
# memory at boot), and the lost ones never reach a handler (by the TSC). So
# each case wants 1 to 20 counted, and some where it aims them.
NMI_COUNT = re.compile(r"^umbra: NMIs: (\d+) received \((\d+) while the hypervisor ran, "
                       r"(\d+) while a guest ran\)$", re.M)
BUSY = [(T + "busy.elf", "name=busy mem=8M"), (HELLO, "name=h1 mem=4M"), (HELLO, "name=h2 mem=4M")]
BUSY_EXPECT = [r"\[busy\] PASS busy: every round computed the same twice",
               r'guest "busy" shut down with exit code 0', r'guest "h1" shut down with exit code 0',
               r'guest "h2" shut down with exit code 0', r"powering off: success"]


def nmi_check(where, least):
    """The summary's NMI line: 1 to 20 counted, at least `least` while `where` ran."""
    def check(log):
        m = NMI_COUNT.search(log)
        if not m:
            yield "NMIs counted", "no NMI line in the summary"
            return
        total, hv, guest = map(int, m.groups())
        yield "NMIs counted: 1 to 20, at least %d while the %s ran" % (least, where), \
            None if 1 <= total <= 20 and hv + guest == total and \
            (hv if where == "hypervisor" else guest) >= least else m.group(0)
    return check


# While the guests run: 20 NMIs 20 ms apart, most of them in ring 1 or 3
# (busy3 computes in ring 3). The first key ends busy; the focus moves on to
# busy3, which the second ends.
CASES.append(Case("nmi_guests", BUSY[:1] + [(T + "busy.elf", "name=busy3 mem=8M ring=3")] + BUSY[1:],
                  after=r"busy3: ready", nmis=20, keys="q\0q",
                  expect=BUSY_EXPECT + [r"\[busy3\] busy3: ready, computing in ring 3",
                                        r"\[busy3\] PASS busy: every round computed the same twice",
                                        r'guest "busy3" shut down with exit code 0'],
                  check=nmi_check("guest", 1)))
# During the boot, from its first line (the IDT is loaded before it), 20 NMIs
# 2 ms apart: over the memory setup, the PIT calibration and the loading of
# the guests. The first usually lands before the Switcher's IDT is loaded
# (host_trap() counts it), the others after (the Switcher's NMI stub).
CASES.append(Case("nmi_boot", BUSY, nmi_after=r"umbra: booting", nmi_interval=0.002, nmis=20,
                  after=r"busy: ready", keys="q", expect=BUSY_EXPECT,
                  check=nmi_check("hypervisor", 2)))

# Traps and system calls from both rings, and page tables built by the guest.
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
    "table_reserved": r"set_p[gm]d: entry 0x\w+ for 0x40000000 (sets reserved or non-table bits "
                      r"0x4000000000000000|is a large page; umbra supports 4 KiB pages only)",
    "pgd_index": r"set_pgd: index 5000 out of range",
    "cr3_outside": r"new_pgtable: 0x1001000 is not a (2-level|PAE) top-level table inside guest memory",
    "console_cross": r"console_write: buffer 0x3ffffff8\+16 is not mapped at 0x40000000",
    "silent_bad_entry": r"page fault: entry 0x1020003 for 0x40000000: frame 0x1020 beyond limit",
    "range_bad_entry": r"update_range: entry 0x1030021 for 0x40003000: frame 0x1030 beyond limit",
    "range_switcher": r"update_range: 0xff[bd]fe000 \+ 4 pages reaches into the Switcher region",
    "range_unaligned": r"update_range: 0x40000008 \+ 1 pages is not a page-aligned range of 1 to 16384",
    "range_too_long": r"update_range: 0x40000000 \+ 16385 pages is not a page-aligned range",
    "protect_bits": r"protect_range: bits 0x4 to set are not software bits \(0xe00\)",
    "mmu_misaligned": r"mmu_update: 0x\w*[26ae] is not the address of an entry inside guest memory",
    "mmu_outside": r"mmu_update: 0x1000000 is not the address of an entry inside guest memory",
    "mmu_bad_entry": r"mmu_update: entry 0x1040001 at gpa 0x\w+: frame 0x1040 beyond limit 0x1000",
    "mmu_list": r"mmu_update: list 0xfffff8\+2 is not mapped at 0x1000000",
    "switch_bad_stack": r"kernel stack page 0x4000f000 is not mapped writable by page table 0x\w+",
}
# loglevel=0 keeps only what went wrong and how the run ended; 2 adds the
# shadow cache's decisions (pagetables switches over 12 tables, 8 cached).
CASES.append(Case("loglevel_quiet", [(HELLO, "name=good"), (T + "hcall_unknown.elf", "name=rogue")],
                  verdict=KILLED, cmdline="exit=qemu loglevel=0",
                  expect=[r'guest "rogue" killed: unknown hypercall 999',
                          r'guest "good" shut down with exit code 0', r"frames free: \d+"],
                  reject=[r"loaded:", r"umbra: TSC:", r"umbra: timer:", r"boot to first guest",
                          r"umbra: image:"]))
CASES.append(Case("loglevel_debug", [(T + "pagetables.elf", "name=pt")],
                  cmdline="exit=qemu loglevel=2",
                  expect=[r'guest "pt": page table 0x[0-9a-f]+ ends the linear boot mapping',
                          r"shadow of table 0x[0-9a-f]+ evicted \(least recently used\)",
                          r'guest "pt" loaded:']))

# Debug keys typed on the serial console while a guest spins.
CASES.append(Case("debug_keys", [(T + "spinner.elf", "name=spin timeout=3000"), (HELLO, "name=good")],
                  verdict=KILLED, keys="hgmrs", after=r"spin: spinning forever", timeout=240,
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
                          r"PASS kernel mapping change costs the same with 32 shadows",
                          r"FIGURE update_range: \d+ instructions per entry remapped",
                          r"PASS update_range: one call for 1000 entries",
                          r"FIGURE process switch \(table and kernel stack\): \d+",
                          r"PASS fork-like copy: the entries are protected and copied",
                          r"PASS mmu_update: one call for 1000 entries",
                          r"PASS mmu_update: the last entry took effect",
                          r"FIGURE mmu_update batched: \d+ instructions per update",
                          r"PASS munmap-like clear: one call for 1000 entries",
                          r"FIGURE fork-like copy: \d+ instructions per entry"]))

for _what, _reason in BAD_PT.items():
    CASES.append(Case("bad_pt_" + _what,
                      [(T + "bad_pt.elf", "name=bad what=" + _what), (HELLO, "name=canary")],
                      verdict=KILLED, reject=[r"still running"],
                      expect=[r'guest "bad" killed: ' + _reason,
                              r'guest "canary" shut down with exit code 0']))

def common_checks(result, fmt, case):
    """Yield (check name, problem or None) for what every run must show."""
    log, c, o = result.log, result.console, result.outcome
    verdicts = case.verdicts(fmt)
    if result.status is None:
        yield "powers off", "timed out after %.0f s" % result.seconds
    else:
        want = case.statuses(fmt)
        yield "exit status", None if result.status in want else \
            "QEMU exit status %s, expected %s" % (result.status, " or ".join(map(str, want)))
    yield "verdict", None if o.status in verdicts else \
        "%s, expected %s: %s" % (describe(o.status), " or ".join(map(describe, verdicts)),
                                 "; ".join(o.reasons) or "nothing failed")
    yield "no panic", "PANIC in log" if "PANIC" in log else None
    fails = ["[%s] %s" % (g, ch.line) for g, ch in c.checks if not ch.passed]
    yield "no FAIL lines", "; ".join(fails) if fails else None
    if c.frames:
        yield "no frame leaked", None if c.frames[0] == c.frames[1] else \
            "frames free: %d before guests, %d after" % c.frames
    for pat in per_fmt(case.expect, fmt):
        yield "log has /%s/" % pat, None if re.search(pat, log, re.M) else "not found"
    for pat in case.reject:
        yield "log lacks /%s/" % pat, "found" if re.search(pat, log, re.M) else None
    nmis = case.boot.get("nmis")
    if nmis:
        yield "QEMU injected %d NMIs" % nmis, None if getattr(result, "nmis", 0) == nmis else \
            "it injected %d" % getattr(result, "nmis", 0)
    if case.check:
        yield from case.check(log)

# Isolation: the CPU state a guest runs with is the hypervisor's to decide.
# what=flags must be survived with one PASS line per promise; the line
# written with DF set must arrive whole and in order.
ISO = T + "isolation.elf"
CASES.append(Case("isolation_flags", [(ISO, "name=flags what=flags"), (HELLO, "name=canary")],
                  expect=[r"^\[flags\] df-console: 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          r"-the-whole-line-must-arrive-in-order-with-DF-set-by-the-guest\.$"] +
                         [r"\[flags\] PASS %s$" % check for check in (
                             "df: console write with DF set returns its length and keeps the guest's DF",
                             "df: exception taken with DF set has the frame the CPU would push",
                             "df: new_pgtable with DF set succeeds",
                             "df: shadow tables made with DF set leave guest memory as it was",
                             "eflags: after a hypercall IF is set, IOPL is 0 and NT is clear",
                             "eflags: the guest's AC survives a hypercall",
                             "ring 1: in from a port is refused", "ring 1: out to a port is refused",
                             "ring 1: cli is refused", "ring 1: hlt is refused", "ring 1 runs with IOPL 0",
                             "ldt: a call gate placed where the reset LDT would be cannot be used",
                             "ldt: a data segment placed there cannot be loaded",
                             "tls: a single set_tls nulls fs naming the emptied slot",
                             "tls: a batched set_tls nulls fs naming the emptied slot")] +
                         [r'guest "flags" shut down with exit code 0',
                          r'guest "canary" shut down with exit code 0']))

# Attempts that must end the guest, naming what was wrong, beside a canary.
for _what, _reason in {
        "tls_batched_ss": r"set_tls: slot 0 holds the code or stack segment in use \(multicall entry 0\)",
        "tls_batched_cs": r"set_tls: slot 1 holds the code or stack segment in use \(multicall entry 0\)",
        "tls_16bit": r"set_tls: slot 2: descriptor 0x[0-9a-f]+: 16-bit writable data segments are not allowed",
        "multicall_index": r"set_trap: vector 300 out of range \(multicall entry 40\)",
        "gate_switcher": r"set_trap: vector 6: handler 0xff[ce]00000 lies beyond the guest's code segment "
                         r"\(limit 0xff[bd]fffff\)",
        "gate_top": r"set_trap: vector 13: handler 0xfffffff0 lies beyond the guest's code segment "
                    r"\(limit 0xff[bd]fffff\)",
        "syscall_gate": r"set_trap: vector 128: handler 0xffffff00 lies beyond the guest's code segment "
                        r"\(limit 0xff[bd]fffff\)",
        "stack_beyond": r"set_stack: stack 0x100f000-0x1010000 is not in guest memory \(0x1000-0x1000000\) "
                        r"while the linear boot mapping is in use",
}.items():
    CASES.append(Case("isolation_" + _what, [(ISO, "name=bad what=" + _what), (HELLO, "name=canary")],
                      verdict=KILLED, reject=[r"still running"],
                      expect=[r'guest "bad" killed: ' + _reason + "$",
                              r'guest "canary" shut down with exit code 0']))

# The failsafe: the hypervisor breaks one entry on purpose (failsafe_test=),
# the Switcher faults in ring 0 on the way in, and only that guest ends.
# (QEMU's TCG does not check eip against the code segment's limit at iret,
# so failsafe_test=eip is for emulators that do: see the Bochs tests.)
for _sel, _where, _err in [("gs", "loading gs", "0x4"), ("fs", "loading fs", "0x4"),
                           ("es", "loading es", "0x4"), ("ds", "loading ds", "0x4"),
                           ("cs", "at its iret", "0x4")]:
    CASES.append(Case("failsafe_" + _sel,
                      [(ISO, "name=bad what=entry_fault failsafe_test=" + _sel), (HELLO, "name=canary")],
                      verdict=KILLED, reject=[r"still running"],
                      expect=[r'guest "bad" killed: the Switcher could not enter the guest: general '
                              r"protection \(vector 13, error code %s\) %s" % (_err, _where),
                              r'guest "canary" shut down with exit code 0']))
# The Switcher probe (tests/guests/switcher_probe): what it tries, from which
# rings, and whether it aims at the Switcher's pages (the others go past a
# segment limit into ordinary memory). Only segment limits stop ring 1, so
# under QEMU's TCG, which does not check them, those probes print NOTE
# (limits=0); ring 3 is stopped by paging as well, and so always.
SWITCHER_PROBES = [
    ("read code page", (1, 3), True), ("read register page", (1, 3), True),
    ("read read-only page", (1, 3), True), ("read near the top", (1, 3), True),
    ("write register page", (1, 3), True), ("jump into code", (1, 3), True),
    ("far call into code", (1, 3), True), ("fs read at SWITCHER_BASE", (1, 3), True),
    ("fs read wrapping past 4 GiB", (1, 3), False), ("read straddling a limit", (1, 3), False),
    ("push onto register page", (3,), True),
]


def probe_line(verdict, what, ring, vector=r"\d+"):
    return r"^\[probe\] %s %s 0x[0-9a-f]+ from ring %d( stopped \(vector %s\)|: )" % (
        verdict, what, ring, vector)


CASES.append(Case("switcher_probe", [(T + "switcher_probe.elf", "name=probe limits=0"),
                                     (HELLO, "name=canary")],
                  expect=[probe_line("PASS" if ring == 3 and switcher else "(PASS|NOTE)", what, ring)
                          for what, rings, switcher in SWITCHER_PROBES for ring in rings] +
                         [r'guest "probe" shut down with exit code 0',
                          r'guest "canary" shut down with exit code 0']))

# Boot tests under Bochs (tests/run.py runs them too), which checks segment limits:
# there every probe must be stopped by the limit, a #GP (#SS for the stack).
BOCHS_CASES = [
    Case("switcher_probe", [(T + "switcher_probe.elf", "name=probe limits=1"),
                            (HELLO, "name=canary")],
         expect=[probe_line("PASS", what, ring, "12" if what.startswith("push") else "13")
                 for what, rings, _ in SWITCHER_PROBES for ring in rings] +
                [r"\[probe\] %d stopped, 0 not stopped" % sum(len(r) for _, r, _ in SWITCHER_PROBES),
                 r'guest "probe" shut down with exit code 0',
                 r'guest "canary" shut down with exit code 0'],
         reject=[r"not stopped;"]),
    Case("two_hello", [(HELLO, "name=a mem=16M code=0"), (HELLO, "name=b mem=8M code=0")],
         expect=[r'guest "a" shut down with exit code 0', r'guest "b" shut down with exit code 0',
                 r"\[a\] PASS memory", r"\[b\] PASS memory", r"powering off: success"],
         check=display_is(DISPLAY_GRUB_TEXT)),
]

# Under Bochs too: the isolation promises, and the failsafe, including an eip
# beyond the code segment's limit at iret, which only Bochs checks.
BOCHS_CASES += [c for c in CASES if c.name in ("isolation_flags", "isolation_gate_switcher",
                                                "failsafe_cs", "failsafe_gs")]
BOCHS_CASES.append(Case("failsafe_eip",
                        [(ISO, "name=bad what=entry_fault failsafe_test=eip"), (HELLO, "name=canary")],
                        verdict=KILLED, reject=[r"still running"],
                        expect=[r'guest "bad" killed: the Switcher could not enter the guest: general '
                                r"protection \(vector 13, error code 0x0\) at its iret",
                                r'guest "canary" shut down with exit code 0']))

# Bounded work: the most expensive batches the ABI allows, beside a guest that
# measures how long it waits for the CPU (at most two 10 ms slices and a tick),
# and no hypercall, or piece of one, holding the CPU for 1 ms or more.
CASES.append(Case("latency_storm", [(T + "storm.elf", "name=storm mem=32M shadows=64 phase_ms=400"),
                                    (T + "latency.elf", "name=lat ms=2500")],
                  timeout=180,
                  expect=[r"\[storm\] storm: %s: [1-9]\d* rounds" % re.escape(p) for p in (
                              "flush_tlb all, 64 top levels", "flush_tlb user", "set_pgd",
                              "new_pgtable among 65 tables", "console_write of 4 KiB of newlines")] +
                         [r"\[storm\] PASS storm: every batched call succeeded",
                          r"\[lat\] FIGURE longest wait for the CPU: \d+ us",
                          r"\[lat\] PASS latency: never kept from the CPU longer than the bound",
                          r'guest "storm" is over its console budget',
                          r'guest "storm": \d+ bytes of console output were cut',
                          r'guest "storm": one console_write may print 2048 bytes; \d+ more were cut',
                          r"umbra: longest hypercall: \d{1,3} us",
                          r'guest "storm" shut down with exit code 0',
                          r'guest "lat" shut down with exit code 0']))

# RAM the firmware reports but umbra leaves, said at boot with its reason,
# and RAM above the one-to-one map, which the PAE build uses for guest
# memory. With 8 GiB, QEMU's pc machine puts 5 GiB above 4 GiB (3 GiB
# below, under the PCI hole) and q35 puts 6 GiB there. The 2-level build
# cannot reach it; the PAE build can where the CPU's physical addresses are
# wider than 32 bits: QEMU's default CPU (qemu32) has PAE but no PSE-36 and
# no CPUID leaf 0x80000008, so 32 bits; `+pse36` makes them 36 (QEMU's
# paging and umbra's reading agree on that). The parts must add up, and
# what umbra says it uses must be what the frame allocator holds.
WIDE_CPU = "qemu32,+pse36"


def ram_check(above_kib, wide):
    def check(log):
        head = re.search(r"^umbra: RAM: the firmware reports (\d+) KiB; umbra uses (\d+) KiB, "
                         r"and leaves (\d+) KiB unused$", log, re.M)
        usable = re.search(r"^umbra: memory: (\d+) KiB usable", log, re.M)
        if not head or not usable:
            yield "the boot says how much RAM it has and uses", "no RAM line or memory line"
            return
        total, used, unused = map(int, head.groups())
        parts = [int(n) for n in re.findall(r"^  (\d+) KiB (?:below 1 MiB|from 0x|above \d+ GiB|in partial)",
                                            log, re.M)]
        above = re.search(r"^  (\d+) KiB above 4 GiB: (.*)$", log, re.M)
        mapped = re.search(r"^umbra: RAM: (\d+) KiB of it lies above the one-to-one map, which ends "
                           r"at 0x[0-9a-f]+: guest memory only, reached through a \d+-page window$",
                           log, re.M)
        pae = re.search(r"^umbra: booting \(PAE paging\)$", log, re.M)
        yield "used and unused add up to what the firmware reports", \
            None if used + unused == total else "%d + %d != %d" % (used, unused, total)
        yield "the reasons cover what is unused", \
            None if sum(parts) == unused else "parts %s, unused %d" % (parts, unused)
        yield "used is what the frame allocator holds", \
            None if used == int(usable.group(1)) else "%d, allocator %s" % (used, usable.group(1))
        if pae and wide:
            yield "%d KiB above the one-to-one map said to be used, none left unused" % above_kib, \
                None if mapped and int(mapped.group(1)) == above_kib and not above else \
                "found %s; %s" % (mapped.group(0) if mapped else "no such line",
                                  above.group(0) if above else "nothing unused above 4 GiB")
            return
        why = "this CPU's physical addresses have 32 bits" if pae else \
            "2-level paging reaches only the first 4 GiB"
        yield "%d KiB above 4 GiB said to be unused, because %s" % (above_kib, why), \
            None if above and above.groups() == (str(above_kib), why) and not mapped else \
            "found %s" % (above.group(0) if above else "nothing")
    return check


for _name, _extra, _cpu, _above in (("ram_8g_pc", [], "", 5 << 20),
                                     ("ram_8g_q35", ["-M", "q35"], WIDE_CPU, 6 << 20)):
    CASES.append(Case(_name, [(HELLO, "name=a")], memory="8G", extra=_extra, cpu=_cpu,
                      check=ram_check(_above, bool(_cpu)),
                      reject=[r"KiB in partial pages"],     # QEMU's ranges are whole pages
                      expect=[r'guest "a" shut down with exit code 0']))

# Guests that together need more than 4 GiB, on 8 GiB (5 GiB of it above
# 4 GiB): the first get memory above the one-to-one map, reached through
# the mapping window. penumbra's selftest, hcfuzz and pagetables keep their
# page tables there (every shadow fault and update reads them through the
# window); six hello guests of 960 MiB each check one word in every page
# (the fifth ends the memory above 4 GiB, the sixth takes the rest from
# below). The 2-level build fits the first three hellos and refuses the
# others, by name.
BIG_HELLOS = "abcdef"
BIG_FIRST = 3                   # modules before the hellos


def big_guests(fmt):
    return [(PENUMBRA, "name=pn mem=64M script=selftest"),
            (HCFUZZ, "name=fz mem=16M seed=7 ops=%d" % HCFUZZ_OPS), (T + "pagetables.elf", "name=pt")] + \
        [(HELLO, "name=%s mem=960M stride=4096" % n) for n in BIG_HELLOS]


def big_expect(fmt):
    fit = BIG_HELLOS if fmt == "pae" else BIG_HELLOS[:3]
    return pn_expect(r"^\[pn\] ", "selftest") + \
        [r"\[fz\] PASS hcfuzz: %d ops, no violation" % HCFUZZ_OPS,
         r"\[pt\] PASS 12 address spaces, 8 cached shadows"] + \
        [r"\[%s\] PASS memory: \d+ KiB .* one word in 4096 bytes" % n for n in fit] + \
        [r'guest "%s" shut down with exit code 0' % n for n in ["pn"] + list(fit)] + \
        [r"module %d .*name=%s mem=960M stride=4096\) refused: not enough memory" % (i + BIG_FIRST, n)
         for i, n in enumerate(BIG_HELLOS) if n not in fit]


CASES.append(Case("ram_8g_guests", big_guests, memory="8G", cpu=WIDE_CPU, timeout=240,
                  verdict=lambda fmt: OK if fmt == "pae" else REFUSED,
                  check=ram_check(5 << 20, True), expect=big_expect))

# The console at a real UART's pace (the serial log read at 11,520 bytes/s,
# 115200 baud): three guests write 12 KiB each at once, more than the
# console's buffer holds beside the room it keeps for the hypervisor. The
# output waits in the buffer for the UART's interrupt instead of holding
# the CPU: the latency guest waits about 4 ms at most (when every
# console_write waited for its 2 KiB to go out, it waited over 50 ms of
# -icount time, and 1-3 s of the host's time with UMBRA_ACCEL=tcg-realtime).
# What is printed arrives whole and in order; what did not fit is cut,
# said, and counted to the byte; the hypervisor's own lines are all there,
# and it never waited for the UART.
TALK_LINES = 192
TALK_LINE = r"(\d{4}) the quick brown fox jumps over the lazy dog \1"
TALK_PASS = "PASS talker: every line was written"


def talker_check(log, names=("talk1", "talk2", "talk3")):
    for name in names:
        got = [int(n) for n in re.findall(r"^\[%s\] %s$" % (name, TALK_LINE), log, re.M)]
        partial = re.findall(r"^\[%s\] (?!PASS)(?!%s$).*$" % (name, TALK_LINE), log, re.M)
        yield "%s: every line printed is whole" % name, "; ".join(partial[:3]) or None
        yield "%s: in order, none twice" % name, None if got == sorted(set(got)) else \
            "lines out of order or repeated"
        cut = sum(int(n) for n in re.findall(r'^umbra: guest "%s": (\d+) bytes of console output '
                                             r"were cut$" % name, log, re.M))
        cost = len("[%s] " % name) + 53 + 1
        written = TALK_LINES * cost
        if not re.search(r"^\[%s\] %s$" % (name, re.escape(TALK_PASS)), log, re.M):
            written += len("[%s] %s\n" % (name, TALK_PASS))     # the PASS line was cut too
        yield "%s: lines printed and bytes cut add up" % name, \
            None if len(got) * cost + cut == written else \
            "%d lines of %d bytes printed and %d bytes cut, of %d bytes written" % (
                len(got), cost, cut, written)


CASES.append(Case("console_slow_uart", [(T + "latency.elf", "name=lat ms=300")] +
                  [(T + "talker.elf", "name=talk%d lines=%d" % (i, TALK_LINES)) for i in (1, 2, 3)],
                  serial_rate=BAUD_115200, timeout=60, check=talker_check,
                  reject=[r"^umbra: console: writers waited"],
                  expect=[r"\[lat\] PASS latency: never kept from the CPU longer than the bound",
                          r'umbra: guest "talk\d": the console is \d+ KiB behind the UART; its output '
                          r"is cut until the UART catches up",
                          r'umbra: guest "talk\d": \d+ bytes of console output were cut',
                          r"^\[talk1\] 0000 the quick brown fox jumps over the lazy dog 0000$",
                          r"^\[talk1\] 0191 the quick brown fox jumps over the lazy dog 0191$"] +
                         [r'^umbra: guest "talk%d" shut down with exit code 0$' % i for i in (1, 2, 3)] +
                         [r"^  talk%d +\d+ +\d+  exit 0$" % i for i in (1, 2, 3)] +
                         [r"^umbra: powering off: success$"]))
# Bochs paces its UART as the baud rate says, in its emulated time, so the
# same guests see a real 115200-baud console there: before, one talker's
# 2 KiB console_write held the CPU 173 ms and kept the latency guest
# waiting 0.87 s; now the longest call is about 3.5 ms (the VGA mirror's
# writes, which Bochs makes slow), and the wait about 20 ms: calls that
# long with interrupts off stretch the talker's 10 ms slice, hence a bound
# of 40 ms.
BOCHS_CASES.append(Case("console_real_uart", [(T + "latency.elf", "name=lat ms=300 max_wait_us=40000"),
                                              (T + "talker.elf", "name=talk1 lines=%d" % TALK_LINES)],
                        check=lambda log: talker_check(log, ("talk1",)),
                        reject=[r"^umbra: console: writers waited", r"bytes of console output were cut"],
                        expect=[r"\[lat\] PASS latency: never kept from the CPU longer than the bound",
                                r"^\[talk1\] 0191 the quick brown fox jumps over the lazy dog 0191$",
                                r"^\[talk1\] PASS talker: every line was written$",
                                r"^umbra: powering off: success$"]))

# A table that maps itself: the A and D bits umbra sets through the self-map
# land in a directory entry (2-level) or a PDPTE (PAE), and are accepted.
CASES.append(Case("selfmap", [(T + "selfmap.elf", "name=self"), (HELLO, "name=canary")],
                  expect=[r"\[self\] PASS selfmap: a touch through the self-map marked the entry it went through",
                          r"\[self\] PASS selfmap: the table is still accepted after the marks",
                          r"\[self\] PASS selfmap: the guest runs on after umbra marked",
                          r'guest "self" shut down with exit code 0',
                          r'guest "canary" shut down with exit code 0']))

# Console bytes that are not printable ASCII reach the terminal as '?'.
CASES.append(Case("console_filter", [(T + "console_bad.elf", "name=ctl where=escape"),
                                     (HELLO, "name=canary")],
                  expect=[r"^\[ctl\] A\?\[31mB\?2JC\?D\?E\?F$",
                          r'guest "ctl" shut down with exit code 0'],
                  reject=["\x1b", "\ufffd"]))

# Table lifetime: a table released and reused runs clean; unreleased, audit=1
# names it at the switch (and the canary, in audit mode too, runs clean).
CASES.append(Case("release_pgtable", [(T + "reuse.elf", "name=reuse release=1"), (HELLO, "name=canary")],
                  cmdline="exit=qemu audit=1",
                  expect=[r"\[reuse\] PASS reuse: %s" % c for c in (
                      "the first table maps the old page",
                      "release_pgtable of a table not in use succeeds",
                      "release_pgtable of the table in use is refused",
                      "a table released and reused maps its new page")] +
                         [r'guest "reuse" shut down with exit code 0']))
CASES.append(Case("audit_reuse", [(T + "reuse.elf", "name=reuse release=0"), (HELLO, "name=canary")],
                  cmdline="exit=qemu audit=1", verdict=KILLED,
                  expect=[r'guest "reuse" killed: audit at new_pgtable: the shadow of table 0x[0-9a-f]+ '
                          r"maps 0x40000000 to machine frame 0x[0-9a-f]+, the guest's tables say "
                          r"guest frame 0x501 \(machine 0x[0-9a-f]+\): freed and reused without "
                          r"release_pgtable, or changed without set_pte\?",
                          r'guest "canary" shut down with exit code 0']))

# The shared page's counters, which benchmarks divide by.
CASES.append(Case("counters", [(T + "counters.elf", "name=cnt")],
                  expect=[r"\[cnt\] PASS counters: %s" % c for c in (
                      "one world switch per hypercall", "hypercalls counts each call",
                      "hypercalls counts every batched call",
                      "CR3 and descriptor-table loads per world switch",
                      "a reflected exception is counted", "shadow faults are counted")]))

# kernel_base registered after page tables are in use; a later change is refused.
CASES.append(Case("latebase", [(T + "latebase.elf", "name=late")],
                  expect=[r"\[late\] PASS latebase: %s" % c for c in (
                      "the first kernel address is taken after page tables are in use",
                      "the kernel mapping still reads",
                      "a kernel mapping changed in one table is seen in the other")]))
CASES.append(Case("latebase_change", [(T + "latebase.elf", "name=late what=change"), (HELLO, "name=canary")],
                  verdict=KILLED,
                  expect=[r'guest "late" killed: set_shared: the kernel address cannot change once it is '
                          r"set and page tables are in use"]))

# Nothing typed is lost while a guest does not read, but what overflows its
# 256-byte buffer: dropped, counted and said so. 300 bytes arrive while the
# reader spins (6 s of guest time, far longer than the typing); then it
# reads what was kept.
CASES.append(Case("console_input_overflow", [(T + "reader.elf", "name=rd lazy_ms=6000")],
                  after=r"rd: ready", key_interval=0.002, timeout=120, keys="x" * 300,
                  expect=[r'umbra: guest "rd" is not reading its console input; what is typed now is dropped',
                          r'umbra: guest "rd": 44 typed bytes were dropped while it did not read',
                          r"\[rd\] rd: read 256 bytes$", r'guest "rd" shut down with exit code 0']))

# Console input: the first guest that reads takes the focus; Ctrl-A three
# times moves it to the next reader, then to the debug keys, then round.
CASES.append(Case("console_input", [(T + "reader.elf", "name=r1"), (T + "reader.elf", "name=r2")],
                  after=r"r2: ready",
                  keys="one\n\x01\x01\x01two\n\x01\x01\x01h\x01\x01\x01quit\nquit\n",
                  expect=[r'umbra: console input goes to guest "r1"',
                          r"\[r1\] r1 got: one$",
                          r'umbra: console input goes to guest "r2"',
                          r"\[r2\] r2 got: two$",
                          r"umbra: console input goes to the hypervisor's debug keys",
                          r"umbra: debug keys: g guests",
                          r"\[r1\] r1 got: quit$", r"\[r2\] r2 got: quit$",
                          r"\[r1\] PASS reader: woken by the console interrupt",
                          r'guest "r1" shut down with exit code 0',
                          r'guest "r2" shut down with exit code 0']))

# penumbra (guests/penumbra): a small Unix-like kernel, one core on two
# machines. The PV build runs on umbra; the native build boots on QEMU
# itself (tests/native.py). init runs the program named by script= and
# powers off with status 0 only if it exited 0; selftest prints one PASS
# or FAIL line per behaviour and a summary.
PENUMBRA = "guests/penumbra.elf"
PN_SELFTEST = ["fork isolation: parent and child each see their own write",
               "COW after fork of 1000 pages: the child's writes stay its own",
               "exec of a corrupt file fails with ENOEXEC", "64 processes at once",
               "a fork bomb is held by the process limit", "sbrk to exhaustion fails with ENOMEM",
               "mmap to exhaustion fails with ENOMEM", "after exhaustion every frame is back at exit",
               "munmap then access kills the process",
               "pipes: three writers, three readers, every byte read once",
               "pipe: write with the read end closed fails with EPIPE",
               "a busy process does not starve a sleeping one",
               "wait returns the child's exit code"]
PN_BENCH_OPS = ["null_syscall", "ctxsw_pipe_2", "ctxsw_pipe_8", "ctxsw_pipe_16", "fork_exit_wait",
                "fork_exec_wait", "demand_zero_fault", "cow_fault", "mmap_touch_munmap_1000",
                "sbrk_touch_4m"]


def pn_expect(prefix, script):
    if script == "bench":
        return [prefix + r"BENCH op=%s iters=\d+ instr_per_op=\d+" % op for op in PN_BENCH_OPS]
    return [prefix + r"selftest: \d+ passed, 0 failed$", prefix + r"init: selftest exited with status 0",
            prefix + r"penumbra: pid \d+ \(selftest\) killed: page fault \(unmapped address\) at 0x40000000"] + \
           [prefix + "PASS " + re.escape(what) + "$" for what in PN_SELFTEST]


class NativeCase(Case):
    """A kernel booted by QEMU directly, without umbra: its own checks."""

    def __init__(self, name, kernel, append, **kw):
        super().__init__(name, [], **kw)
        self.kernel, self.append = kernel, append

    def run(self, fmt):
        from native import run_native
        return run_native(fmt, self.kernel, self.append, timeout=self.boot.get("timeout", 60))

    def checks(self, result):
        if result.status is None:
            yield "powers off", "timed out"
        else:
            yield "exit status", None if result.status == 33 else \
                "QEMU exit status %s, expected 33" % result.status
        for pat in self.expect:
            yield "log has /%s/" % pat, None if re.search(pat, result.log, re.M) else "not found"
        for pat in self.reject:
            yield "log lacks /%s/" % pat, "found" if re.search(pat, result.log, re.M) else None


for _script in ("selftest", "bench"):
    CASES.append(Case("penumbra_pv_" + _script, [(PENUMBRA, "name=pn mem=64M script=" + _script)],
                      expect=pn_expect(r"^\[pn\] ", _script) +
                             [r'guest "pn" shut down with exit code 0']))
    CASES.append(NativeCase("penumbra_native_" + _script, "guests/penumbra-native.elf",
                            "script=" + _script, expect=pn_expect("^", _script),
                            reject=[r"^FAIL ", r"PANIC"]))

# selftest again with audit=1: every switch and flush compares the shadows
# with penumbra's tables, so a page directory freed and reused without
# RELEASE_PGTABLE, or any change not announced, would kill it.
CASES.append(Case("penumbra_pv_selftest_audit", [(PENUMBRA, "name=pn mem=64M script=selftest")],
                  cmdline="exit=qemu audit=1", timeout=240,
                  expect=pn_expect(r"^\[pn\] ", "selftest") + [r'guest "pn" shut down with exit code 0']))

# The shell, typed at through the console: a pipeline, a program, a file,
# a command that does not exist, cat ended by ^D and by ^C, then poweroff.
CASES.append(Case("penumbra_shell", [(PENUMBRA, "name=pn mem=64M")],
                  after=r"\[pn\] \$ ", timeout=120,
                  keys="\necho one two | cat\nls\ncat motd\nnosuch\ncat\nabc\n\x04cat\n\x03poweroff\n",
                  expect=[r'umbra: console input goes to guest "pn"',
                          r"^\[pn\] \$ echo one two \| cat$", r"^\[pn\] one two$",
                          r"^\[pn\] selftest +\d+$", r"^\[pn\] penumbra: a small Unix-like kernel",
                          r"^\[pn\] \$ nosuch$", r"^\[pn\] sh: nosuch: ",
                          # cat echoes a line, ends at ^D; the next is ended by ^C
                          r"^\[pn\] \$ cat\n\[pn\] abc\n\[pn\] abc\n\[pn\] \$ cat\n\[pn\] \^C\n\[pn\] \$ poweroff$",
                          r"^\[pn\] penumbra: power off, status 0",
                          r'guest "pn" shut down with exit code 0']))


# Real PCs: the same ISO under UEFI (OVMF, 64-bit; GRUB x86_64-efi), which
# names its framebuffer, and the usual guests on a Q35 chipset, and on a
# PC without a VGA. tests/hardware.py (make test-hardware) runs many more.
TWO_HELLO = [(HELLO, "name=a mem=16M code=0"), (HELLO, "name=b mem=8M code=0")]
TWO_HELLO_EXPECT = [r'guest "a" shut down with exit code 0', r'guest "b" shut down with exit code 0',
                    r"\[a\] PASS memory", r"\[b\] PASS memory", r"powering off: success"]
CASES.append(Case("iso_efi64", [], iso="umbra-scripted.iso", firmware="efi64", timeout=120,
                  expect=ISO_SCRIPTED, check=display_is(DISPLAY_EFI_FB)))
CASES.append(Case("q35_hello", TWO_HELLO, machine="q35", expect=TWO_HELLO_EXPECT,
                  check=display_is(DISPLAY_BDA_TEXT)))
CASES.append(Case("no_vga_hello", TWO_HELLO, extra=["-vga", "none"], expect=TWO_HELLO_EXPECT,
                  check=display_is(DISPLAY_BDA_NONE)))


class ScreenCase(Case):
    """Booted with exit=halt, then the VGA text memory read back (tests/screen.py)."""

    def __init__(self, name, modules, screen=(), **kw):
        super().__init__(name, modules, **kw)
        self.screen = screen        # regexes, each matching one row of text memory whole

    def run(self, fmt):
        from screen import run_screen
        return run_screen(fmt, self.module_list(fmt), extra=self.boot.get("extra", ()),
                          timeout=self.boot.get("timeout", 60))

    def checks(self, result):
        yield "halts, then the screen is read", None if result.status == 33 else \
            "timed out" if result.status is None else "the run failed"
        for pat in self.expect:
            yield "log has /%s/" % pat, None if re.search(pat, result.serial, re.M) else "not found"
        if self.check:
            yield from self.check(result.serial)
        for pat in self.screen:
            rows = [(t.rstrip(), a) for t, a in result.rows if re.fullmatch(pat, t.rstrip())]
            yield "screen has /%s/" % pat, None if rows else "no such row"
            if rows:
                text, attrs = rows[0]
                odd = sorted({a for a in attrs[:len(text)] if a != 0x07})
                yield "screen /%s/ in light grey on black" % pat, \
                    "attributes %s" % ", ".join("0x%02x" % a for a in odd) if odd else None


# The console's mirror on the VGA text screen: what the serial console says
# at boot and at the end is in text memory too, one row per line (a line
# longer than 80 characters goes on in the next row).
CASES.append(ScreenCase("vga_mirror", TWO_HELLO, check=display_is(DISPLAY_BDA_TEXT),
                        expect=[r"^umbra: powering off: success$", r"^umbra: halted$"],
                        screen=[r"umbra: booting \((2-level|PAE) paging\)",
                                r"umbra: display: VGA text 80x25 at 0xb8000 \(no framebuffer named; .*",
                                r"\[a\] PASS memory: .*", r"  b +\d+ +\d+  exit 0",
                                r"umbra: powering off: success", r"umbra: halted"]))


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
               verdict=(OK, KILLED, GUEST_FAILED),
               expect=[r"\[fz\] hcfuzz: seed %d, 3000 ops, mode ring1" % seed,
                                r'guest "canary" shut down with exit code 0'])
          for seed in (1, 2)]
CASES += [Case("hcfuzz_fatal_seed%d" % seed,
               [(HCFUZZ, "name=fz mem=16M seed=%d ops=300 mode=fatal" % seed), (HELLO, "name=canary")],
               verdict=KILLED, check=hcfuzz_kill_check,
               expect=[r'guest "canary" shut down with exit code 0'])
          for seed in (1, 2, 3, 4, 5, 6)]
# An LDT the guest writes itself must not exist, let alone take it to ring 0.
CASES.append(Case("hcfuzz_ldt", [(HCFUZZ, "name=fz mem=16M seed=1 ops=0 mode=ldt"), (HELLO, "name=canary")],
                  expect=[r"\[fz\] hcfuzz: the LDT call gate did not work",
                          r'guest "canary" shut down with exit code 0']))

# Time on machines that do not have every clock. Under -icount shift=0 the
# TSC counts instructions, one per nanosecond: a calibration that is right
# says 1000 MHz. With pit=off the PIT is gone and the ACPI PM timer must
# do, the HPET checking it; with hpet=off as well, the PM timer alone;
# with -apic the local APIC is gone and the PIT's tick is the timer.
def tsc_check(source):
    def check(log):
        m = re.search(r"^umbra: TSC: (\d+) MHz \((%s), (\d) samples, spread (\d+)\.(\d) %%" % source, log, re.M)
        if not m:
            yield "calibration line from the %s" % source, "not found"
            return
        mhz, samples, spread = int(m.group(1)), int(m.group(3)), int(m.group(4)) * 10 + int(m.group(5))
        yield "TSC calibrated to 1000 MHz within 1 %", None if 990 <= mhz <= 1010 else "%d MHz" % mhz
        yield "at least 3 samples, spread below 1 %", None if samples >= 3 and spread < 10 else \
            "%d samples, spread %d permille" % (samples, spread)
    return check


PIT_OFF = ["-M", "pc,pit=off"]
NO_APIC = ["-cpu", "qemu32,-apic"]
CASES += [
    # The usual machine: the PIT measures, the PM timer agrees, the APIC keeps time,
    # and a sleep ends within microseconds of its deadline rather than at a tick.
    Case("time_calibration", [(T + "sleeper.elf", "name=sleeper max_late_us=100")],
         check=tsc_check("PIT"),
         expect=[r"umbra: TSC: \d+ MHz \(PIT, 5 samples, spread \d+\.\d %; PM timer agrees; HPET agrees\)$",
                 r"umbra: timer: local APIC one-shot at \d+ kHz",
                 r"\[sleeper\] PASS sleeps: never early, monotonic, not later than max_late_us",
                 r'guest "sleeper" shut down with exit code 0']),
    Case("time_pit_off_sleep", [(T + "sleeper.elf", "name=sleeper max_late_us=100")], extra=PIT_OFF,
         check=tsc_check("PM timer"),
         expect=[r"umbra: TSC: \d+ MHz \(PM timer, 5 samples, spread \d+\.\d %; HPET agrees\)$",
                 r"\[sleeper\] PASS sleeps: never early, monotonic, not later than max_late_us",
                 r"\[sleeper\] PASS masked timer delivered by sti",
                 r'guest "sleeper" shut down with exit code 0']),
    Case("time_pit_hpet_off", [(T + "sleeper.elf", "name=sleeper max_late_us=100")],
         extra=["-M", "pc,pit=off,hpet=off"], check=tsc_check("PM timer"),
         expect=[r"umbra: TSC: \d+ MHz \(PM timer, 5 samples, spread \d+\.\d %\)$",
                 r'guest "sleeper" shut down with exit code 0']),
    Case("time_pit_off_spinner", [(T + "spinner.elf", "name=spin timeout=300"),
                                  (HELLO, "name=h1 mem=4M"), (HELLO, "name=h2 mem=4M")],
         verdict=KILLED, extra=PIT_OFF, check=tsc_check("PM timer"),
         expect=[r'guest "h1" shut down with exit code 0(?:.*\n)*.*guest "spin" killed',
                 r'guest "h2" shut down with exit code 0(?:.*\n)*.*guest "spin" killed',
                 r'guest "spin" killed: timed out', r"^  spin +\d+ +\d+  killed: timed out"]),
    # No local APIC: the PIT's 1 kHz tick keeps time (a sleep may end a tick
    # late), slices and time-outs.
    Case("time_no_apic_sleep", [(T + "sleeper.elf", "name=sleeper")], extra=NO_APIC,
         check=tsc_check("PIT"),
         expect=[r"umbra: timer: the PIT's 1 kHz tick \(local APIC: no local APIC\)",
                 r"\[sleeper\] PASS sleeps: never early, monotonic, not later than max_late_us",
                 r'guest "sleeper" shut down with exit code 0']),
    Case("time_no_apic_spinner", [(T + "spinner.elf", "name=spin timeout=300"),
                                  (HELLO, "name=h1 mem=4M"), (HELLO, "name=h2 mem=4M")],
         verdict=KILLED, extra=NO_APIC,
         expect=[r"umbra: timer: the PIT's 1 kHz tick \(local APIC: no local APIC\)",
                 r'guest "h1" shut down with exit code 0(?:.*\n)*.*guest "spin" killed',
                 r'guest "h2" shut down with exit code 0(?:.*\n)*.*guest "spin" killed',
                 r'guest "spin" killed: timed out']),
    # Neither PIT nor ACPI (so no PM timer), and CPUID without leaf 0x15: one line, and the end.
    Case("time_no_source", [(HELLO, "name=good")], verdict=HYPERVISOR_FAILED,
         extra=["-M", "pc,pit=off,acpi=off"],
         expect=[r"^umbra: no usable time source: the PIT does not count, ACPI names no PM timer or HPET, "
                 r"and CPUID does not give the TSC's rate; umbra cannot keep time on this machine$"],
         reject=[r"loaded:"]),
]


class ExitCase(Case):
    """A run that ends some other way than QEMU's debug-exit port: QEMU's status is 0."""

    def run(self, fmt):
        import harness
        return harness.run(harness.Boot(fmt=fmt, modules=self.module_list(fmt), **self.boot))

    def checks(self, result):
        if result.status is None:
            yield "QEMU exits", "timed out after %.0f s" % result.seconds
        else:
            yield "QEMU exit status 0", None if result.status == 0 else "status %s" % result.status
        yield "no panic", "PANIC in log" if "PANIC" in result.log else None
        for pat in self.expect:
            yield "log has /%s/" % pat, None if re.search(pat, result.log, re.M) else "not found"
        for pat in self.reject:
            yield "log lacks /%s/" % pat, "found" if re.search(pat, result.log, re.M) else None


# ACPI power-off and reset, on both of QEMU's PC machines. A reset here would
# boot umbra again (reboot=reset undoes -no-reboot), so only S5 ends QEMU;
# the reset is QEMU's -no-reboot exit. By default (exit=auto) a machine
# without QEMU's debug-exit device is powered off after success.
ONCE = [r"^umbra: powering off: success$", r'guest "a" shut down with exit code 0']
TWICE = [r"umbra: booting(?:.*\n)*umbra: booting", r"did not (power off|reset)", r"^umbra: halted"]
for _m in ("pc", "q35"):
    CASES += [
        ExitCase("exit_poweroff_" + _m, [(HELLO, "name=a")], cmdline="exit=poweroff", timeout=30,
                 extra=["-M", _m, "-action", "reboot=reset"],
                 expect=ONCE + [r"^umbra: ACPI power-off \(S5\)$"], reject=TWICE),
        ExitCase("exit_reset_" + _m, [(HELLO, "name=a")], cmdline="exit=reset", timeout=30,
                 extra=["-M", _m], expect=ONCE + [r"^umbra: resetting$"], reject=TWICE),
        ExitCase("exit_auto_no_device_" + _m, [(HELLO, "name=a")], cmdline="", timeout=30,
                 debug_exit=False, extra=["-M", _m, "-action", "reboot=reset"],
                 expect=ONCE + [r"^umbra: ACPI power-off \(S5\)$"], reject=TWICE),
    ]
# With QEMU's device, exit=auto (no exit= at all) uses it: status 33 or 35.
CASES.append(Case("exit_auto_qemu", [(HELLO, "name=a"), (HELLO, "name=b code=3")], cmdline="",
                  verdict=GUEST_FAILED, expect=[r"powering off: failure"], reject=[r"ACPI power-off"]))
