"""The console reading and verdicts of tools/umbraboot, on consoles no real boot gives.

A boot test can only show what the hypervisor does; these feed
console.parse() and outcome.judge() logs that a broken or hostile run
could print (a panic, a leak, a summary that disagrees with the guests'
ends, a reset, a guest whose output imitates the hypervisor's), and check
the exit status and reasons umbra-boot would give. It is one host-side
test case of tests/run.py, a list of (check name, problem or None).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
from umbraboot import console, outcome as oc, qemu  # noqa: E402

GOOD = """umbra: booting (2-level paging)
umbra: guest "a" loaded: 16384 KiB, entry 0x100170
umbra: guest "b" loaded: 8192 KiB, entry 0x100170
[a] hello from a (guest 0), 16384 KiB of memory
[a] PASS memory: 15268 KiB at 0x107000-0xff0000, checksum 0xd6e0eea8
umbra: guest "a" shut down with exit code 0
[b] PASS memory: 7076 KiB
umbra: guest "b" shut down with exit code 0
umbra: all guests have ended
  guest              run ms   switches  result
  a                      94        104  exit 0
  b                      43         49  exit 0
umbra: frames free: 65009 before guests, 65009 after
umbra: powering off: success
"""
MODULES = ["name=a mem=16M", "name=b mem=8M"]


def judge(log, status=qemu.STATUS_SUCCESS, modules=MODULES, timed_out=False):
    run = qemu.Run(None if timed_out else status, log, "", 1.0, timed_out)
    return oc.judge(run, modules=modules)


def expect(name, o, status, reason=""):
    if o.status != status:
        return name, "status %d, expected %d: %s" % (o.status, status, "; ".join(o.reasons))
    if reason and not any(reason in r for r in o.reasons):
        return name, "no reason mentions %r: %s" % (reason, "; ".join(o.reasons))
    return name, None


def killed_b(log):
    return log.replace('umbra: guest "b" shut down with exit code 0',
                       'umbra: guest "b" killed: set_pte: frame 0x1010 beyond limit 0x1000') \
              .replace("  b                      43         49  exit 0",
                       "  b                      43         49  killed: set_pte: frame 0x1010 "
                       "beyond limit 0x1000") \
              .replace("powering off: success", "powering off: failure")


def checks():
    F = qemu.STATUS_FAILURE
    c = console.parse(GOOD)
    yield "good log: two guests, both exit 0", None if \
        [(g.name, g.exit_code, g.row.run_ms) for g in c.guests.values()] == \
        [("a", 0, 94), ("b", 0, 43)] else repr(c.guests)
    yield "good log: checks read", None if \
        [(g, ch.passed, ch.name) for g, ch in c.checks] == \
        [("a", True, "memory"), ("b", True, "memory")] else repr(c.checks)
    yield expect("good log", judge(GOOD), oc.OK)
    yield expect("killed guest", judge(killed_b(GOOD), F), oc.KILLED, "beyond limit 0x1000")
    yield expect("exit 3", judge(GOOD.replace("exit code 0\numbra: all", "exit code 3\numbra: all")
                                 .replace("49  exit 0", "49  exit 3")
                                 .replace("off: success", "off: failure"), F),
                 oc.GUEST_FAILED, 'guest "b": exit 3')
    yield expect("FAIL line, exit 0", judge(GOOD.replace("[b] PASS memory: 7076 KiB",
                                                         "[b] FAIL memory: word at 0x2000")),
                 oc.GUEST_FAILED, "FAIL: memory")
    refused = GOOD.replace('umbra: guest "b" loaded: 8192 KiB, entry 0x100170',
                           "umbra: module 1 (/x/b.elf, name=b mem=8M) refused: not an ELF file") \
        .replace('[b] PASS memory: 7076 KiB\numbra: guest "b" shut down with exit code 0\n', "") \
        .replace("  b                      43         49  exit 0\n", "") \
        .replace("65009 after\n", "65009 after\numbra: 1 module(s) refused\n") \
        .replace("off: success", "off: failure")
    yield expect("refused module", judge(refused, F), oc.REFUSED, 'guest "b": refused: not an ELF')
    yield expect("panic", judge(GOOD.split("umbra: all guests")[0] +
                                "umbra: PANIC: frame_put: frame 0x42 has no references\n", F),
                 oc.HYPERVISOR_FAILED, "panic: frame_put")
    yield expect("hypervisor exception", judge(
        GOOD.split("umbra: all guests")[0] +
        "umbra: hypervisor exception: page fault (vector 14), error code 0x2\n"
        "umbra: PANIC: exception 14 in the hypervisor at eip 0x1234\n", F),
        oc.HYPERVISOR_FAILED, "hypervisor exception")
    yield expect("leak", judge(GOOD.replace("65009 after", "65001 after\n"
                                            "umbra: LEAK: 8 frames not returned")
                               .replace("off: success", "off: failure"), F),
                 oc.HYPERVISOR_FAILED, "frames leaked")
    yield expect("summary disagrees", judge(GOOD.replace("49  exit 0", "49  exit 5")),
                 oc.HYPERVISOR_FAILED, "the summary says exit 5")
    yield expect("success claimed over a killed guest",
                 judge(killed_b(GOOD).replace("off: failure", "off: success")),
                 oc.HYPERVISOR_FAILED, "reported success although")
    yield expect("QEMU status against the power-off line", judge(GOOD, F),
                 oc.HYPERVISOR_FAILED, "QEMU's status is 35")
    yield expect("no summary", judge(GOOD.split("umbra: all guests")[0] +
                                     "umbra: powering off: success\n"),
                 oc.HYPERVISOR_FAILED, "no summary")
    yield expect("reset, no power-off", judge(GOOD.split("umbra: all")[0], 0),
                 oc.HYPERVISOR_FAILED, "reset")
    yield expect("QEMU error", judge("", 1), oc.HYPERVISOR_FAILED, "QEMU exited with status 1")
    yield expect("time-out", judge(GOOD.split('umbra: guest "b" shut')[0], timed_out=True),
                 oc.TIMED_OUT, 'guest "b": still running')
    yield expect("panic, then a hang", judge(GOOD.split("umbra: all")[0] + "umbra: PANIC: x\n",
                                             timed_out=True), oc.HYPERVISOR_FAILED, "panic")
    # A guest's line that imitates the hypervisor's keeps its [name] prefix.
    forged = GOOD.replace("[a] hello from a (guest 0), 16384 KiB of memory",
                          '[a] umbra: guest "b" killed: forged\n[a] umbra: powering off: success')
    yield expect("guest imitating the hypervisor", judge(forged), oc.OK)
    yield expect("a guest no module names", judge(GOOD, modules=MODULES[:1]),
                 oc.HYPERVISOR_FAILED, 'a guest "b" ran that no module line names')
    yield expect("the hypervisor found no modules",
                 judge("umbra: booting (PAE paging)\n"
                       "umbra: no guest modules were given; nothing to run\n", F, []),
                 oc.HYPERVISOR_FAILED, "no guest modules")
    cpu = ("umbra: this CPU (GenuineIntel family 4 model 8) cannot run umbra: no CMOV, no TSC, "
           "no FXSR\numbra: halted\n")
    yield expect("a CPU refused", judge(cpu, qemu.STATUS_CPU_REFUSED), oc.HYPERVISOR_FAILED,
                 "this CPU (GenuineIntel family 4 model 8) cannot run umbra: no CMOV")
    yield expect("a CPU refused: the guests never started", judge(cpu, qemu.STATUS_CPU_REFUSED),
                 oc.HYPERVISOR_FAILED, 'guest "a": never started: the CPU was refused')
    yield expect("a CPU refused, and halted", judge(cpu, timed_out=True), oc.HYPERVISOR_FAILED,
                 "cannot run umbra: no CMOV")
    yield expect("status 37 without the refusal", judge("", qemu.STATUS_CPU_REFUSED),
                 oc.HYPERVISOR_FAILED, "does not say why")
    yield expect("a refusal with the wrong status", judge(cpu, 0), oc.HYPERVISOR_FAILED,
                 "QEMU's status is 0, not 37")
    yield "serial line ends become \\n", None if \
        qemu.text(b"umbra: a\r\n[g] b\r\n\r") == "umbra: a\n[g] b\n" else "they do not"
    c = console.parse(GOOD.replace("  b                      43", "  b  forty-three"))
    yield "odd summary row noted", None if c.problems else "not noted"


def run():
    return list(checks())
