"""The verdict on one boot: a result per guest, what went wrong, and an exit status.

It weighs what the console said (console.py) against QEMU's exit status
and the modules that were passed, and trusts neither alone: a power-off
with success must agree with every guest's end, the summary table with the
lines printed as each guest ended, and QEMU's status with the power-off
line. When several things went wrong the status is the highest of their
statuses, so a hypervisor failure outweighs a time-out, a time-out a
refused module, and so on down to a guest's non-zero exit.
"""

from dataclasses import dataclass, field
from typing import List, Optional

from . import console as console_mod
from .qemu import STATUS_CPU_REFUSED, STATUS_FAILURE, STATUS_SUCCESS

OK = 0
GUEST_FAILED = 1        # a guest exited non-zero, or printed a FAIL line
BAD_ARGUMENTS = 2       # given by tools/umbra-boot before anything boots
KILLED = 3
REFUSED = 4
TIMED_OUT = 5
HYPERVISOR_FAILED = 6   # panic, exception, leak, no summary, QEMU error

MEANING = {
    OK: "every guest exited 0",
    GUEST_FAILED: "a guest exited with a non-zero code or printed a FAIL line",
    BAD_ARGUMENTS: "bad arguments",
    KILLED: "a guest was killed",
    REFUSED: "a module was refused",
    TIMED_OUT: "time-out",
    HYPERVISOR_FAILED: "the hypervisor failed",
}


@dataclass
class GuestResult:
    name: str                   # from the module line; "guestN" if it has none
    index: Optional[int]        # its module's position, if known
    status: int                 # OK, GUEST_FAILED, KILLED, REFUSED or TIMED_OUT
    result: str                 # "exit 0", "exit 3", "killed: ...", "refused: ...", ...
    run_ms: Optional[int] = None
    guest: Optional[console_mod.Guest] = None   # what the console said of it

    @property
    def checks(self):
        return self.guest.checks if self.guest else []

    @property
    def output(self):
        return self.guest.output if self.guest else []


@dataclass
class Outcome:
    status: int
    problems: List[str]         # one line per thing that went wrong, beyond the guests
    guests: List[GuestResult]
    hypervisor: Optional[str]   # why the hypervisor or the run failed (statuses 5, 6)
    console: console_mod.Console
    seconds: float = 0.0
    paging: Optional[str] = None
    reasons: List[str] = field(default_factory=list)    # every failure, for a report

    @property
    def meaning(self):
        return MEANING[self.status]


def module_name(index, line):
    """The name the loader gives module `index` with this module line."""
    for word in line.split():
        if word.startswith("name="):
            return word[5:]
    return "guest%d" % index


def judge(run, log_console=None, modules=None):
    """run: a qemu.Run; modules: the module lines passed, or None if unknown (an ISO)."""
    c = log_console or console_mod.parse(run.log)
    refused = {r.index: r for r in c.refused}
    if modules is None:
        expected = [(None, name) for name in c.guests]
        expected += [(r.index, module_name(r.index, r.line)) for r in c.refused]
    else:
        expected = [(i, module_name(i, line)) for i, line in enumerate(modules)]
    guests = [guest_result(c, refused, i, name, run.timed_out) for i, name in expected]
    problems = hypervisor_problems(run, c, guests, modules)
    hypervisor = "; ".join(problems) if problems else None
    if problems:
        status = HYPERVISOR_FAILED
    elif run.timed_out:
        status = TIMED_OUT
        hypervisor = "time-out: still running after %.0f s" % run.seconds
    else:
        status = OK
    status = max([status] + [g.status for g in guests])
    reasons = ['guest "%s": %s' % (g.name, g.result) for g in guests if g.status != OK]
    if hypervisor:
        reasons.append(hypervisor)
    return Outcome(status, problems, guests, hypervisor, c, run.seconds,
                   paging=c.paging, reasons=reasons)


def guest_result(c, refused, index, name, timed_out):
    if index in refused:
        return GuestResult(name, index, REFUSED, "refused: " + refused[index].reason)
    g = c.guests.get(name)
    run_ms = g.row.run_ms if g and g.row else None
    if g is None and c.cpu_refused is not None:
        return GuestResult(name, index, HYPERVISOR_FAILED, "never started: the CPU was refused")
    if g is None or not g.ended:
        why = "still running at the time-out" if timed_out else "never ended"
        return GuestResult(name, index, TIMED_OUT if timed_out else HYPERVISOR_FAILED,
                           why, run_ms, g)
    if g.killed is not None:
        return GuestResult(name, index, KILLED, "killed: " + g.killed, run_ms, g)
    fails = [ch for ch in g.checks if not ch.passed]
    result = "exit %d" % g.exit_code
    if fails:
        result += ", FAIL: " + "; ".join(ch.name for ch in fails)
    status = GUEST_FAILED if g.exit_code or fails else OK
    return GuestResult(name, index, status, result, run_ms, g)


def hypervisor_problems(run, c, guests, modules):
    """What says the hypervisor itself, or QEMU, went wrong."""
    p = []
    if c.panic is not None:
        p.append("panic: " + c.panic)
    if c.exception is not None:
        p.append("hypervisor exception: " + c.exception)
    if c.cpu_refused is not None:
        p.append("this CPU (%s) cannot run umbra: %s" % c.cpu_refused)
    if run.timed_out:
        return p
    if run.status == STATUS_CPU_REFUSED or c.cpu_refused is not None:
        if c.cpu_refused is None:
            p.append("QEMU's status %d says the CPU was refused, but the console does not say why"
                     % run.status)
        elif run.status != STATUS_CPU_REFUSED:
            p.append("the CPU was refused, but QEMU's status is %s, not %d"
                     % (run.status, STATUS_CPU_REFUSED))
        return p
    if run.status == 0:
        # -no-reboot turns a reset (a triple fault, say) into QEMU's exit 0.
        p.append("the machine reset without the hypervisor powering off")
        return p
    if run.status not in (STATUS_SUCCESS, STATUS_FAILURE):
        said = run.qemu_output.strip().splitlines()
        p.append("QEMU exited with status %s%s" % (run.status, ": " + said[-1] if said else ""))
        return p
    if c.no_modules:
        p.append("the hypervisor found no guest modules")
        return p
    if c.none_loaded:
        if not c.refused:
            p.append("no guest could be loaded, and no module was refused")
        return p
    if c.power_off is None:
        if not p:
            p.append("QEMU ended (status %d) without the hypervisor's power-off line"
                     % run.status)
        return p
    want = STATUS_SUCCESS if c.power_off == "success" else STATUS_FAILURE
    if run.status != want:
        p.append("the hypervisor said %s, QEMU's status is %d" % (c.power_off, run.status))
    if not c.ended or not c.summary:
        p.append("no summary table after the guests ended")
    if c.leak is not None:
        p.append("frames leaked: " + c.leak)
    elif c.frames and c.frames[0] != c.frames[1]:
        p.append("frames free: %d before guests, %d after" % c.frames)
    for g in c.guests.values():
        row = g.row
        if g.ended and c.summary and row is None:
            p.append('guest "%s" ended but is not in the summary' % g.name)
        elif row and (row.exit_code, row.killed) != (g.exit_code, g.killed):
            p.append('guest "%s": the summary says %s, its end said %s'
                     % (g.name, row_result(row), end_result(g)))
    # The hypervisor's own rule (hypervisor/main.c): success when no guest
    # was killed or exited non-zero, no module was refused and no frame leaked.
    failed = bool(c.refused) or c.leak is not None or \
        any(g.killed is not None or g.exit_code for g in c.guests.values())
    if c.power_off == "success" and failed:
        p.append("the hypervisor reported success although a guest failed")
    if c.power_off == "failure" and not failed and not p:
        p.append("the hypervisor reported failure, and no guest failed")
    if modules is not None:
        named = {g.name for g in guests}
        p += ['a guest "%s" ran that no module line names' % name
              for name in c.guests if name not in named]
    p += c.problems
    return p


def row_result(row):
    return "killed: " + row.killed if row.killed is not None else "exit %d" % row.exit_code


def end_result(g):
    return "killed: " + g.killed if g.killed is not None else "exit %s" % g.exit_code


def describe(status):
    return "%s (status %d)" % (MEANING[status], status)

