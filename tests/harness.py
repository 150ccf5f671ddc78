"""Boot umbra in QEMU for a test case, with the code tools/umbra-boot uses.

A test's Boot names its modules relative to build/<fmt>/ (or as absolute
paths) and is turned into a tools/umbraboot QEMU machine, so that the boot
tests run the same command line, capture and console reading as the
command users run in their CI. The Result carries the serial log, QEMU's
exit status (None at a time-out), the console read into facts and the
verdict with its exit status, exactly as umbra-boot would give it.
"""

import os
import re
import sys
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from umbraboot import console, junit, outcome, qemu  # noqa: E402

STATUS_OK, STATUS_FAIL, STATUS_CPU = qemu.STATUS_SUCCESS, qemu.STATUS_FAILURE, qemu.STATUS_CPU_REFUSED


def src(path):
    """A file of the source tree, for modules that are not built."""
    return os.path.join(ROOT, path)


def build_dir(fmt):
    return os.path.join(ROOT, "build", fmt)


def accel():
    """TCG unless UMBRA_ACCEL=kvm (the KVM of some virtual machines cannot run 32-bit paging)
    or UMBRA_ACCEL=tcg-realtime (TCG without -icount: figures in the host's time, not repeatable)."""
    want = os.environ.get("UMBRA_ACCEL")
    return want if want in ("kvm", "tcg-realtime") else "tcg"


@dataclass
class Boot:
    fmt: str                    # "nopae" or "pae"
    modules: list = field(default_factory=list)  # [(path, args)], path relative to build/<fmt>
    cmdline: str = "exit=qemu"
    iso: str = ""                # an ISO of the build directory to boot instead (GRUB)
    memory: str = "256M"
    timeout: int = 60
    cpu: str = ""               # QEMU's -cpu model, "" for its default
    extra: list = field(default_factory=list)    # more QEMU arguments
    keys: str = ""              # typed on the serial console once `after` is seen
    after: str = ""
    key_interval: float = qemu.KEY_INTERVAL   # seconds between two typed keys
    serial_rate: int = 0        # bytes per second the console is read at (0: as fast as it comes)
    nmis: int = 0               # NMIs injected (QMP) before the keys ...
    nmi_after: str = ""         # ... once this is seen (default: after)
    nmi_interval: float = 0.02  # seconds between two NMIs


@dataclass
class Result:
    status: int                 # QEMU's exit status, or None on time-out
    log: str
    seconds: float
    console: console.Console
    outcome: outcome.Outcome
    nmis: int = 0               # NMIs QEMU injected

    def lines(self, pattern):
        return re.findall(pattern, self.log, re.M)


def module_path(fmt, path):
    return path if os.path.isabs(path) else os.path.join(build_dir(fmt), path)


def machine(boot):
    d = build_dir(boot.fmt)
    return qemu.Machine(kernel=os.path.join(d, "umbra.elf"),
                        iso=os.path.join(d, boot.iso) if boot.iso else "",
                        modules=[(module_path(boot.fmt, p), a) for p, a in boot.modules],
                        cmdline=boot.cmdline, memory=boot.memory, accel=accel(),
                        timeout=boot.timeout, keys=boot.keys, after=boot.after,
                        key_interval=boot.key_interval, serial_rate=boot.serial_rate,
                        nmis=boot.nmis, nmi_after=boot.nmi_after, nmi_interval=boot.nmi_interval,
                        cpu=boot.cpu, extra=boot.extra)


def run(boot):
    r = qemu.run(machine(boot))
    log = r.log
    if r.qemu_output.strip():
        log += "\n[qemu] " + r.qemu_output.strip() + "\n"
    c = console.parse(r.log)
    o = outcome.judge(r, c, None if boot.iso else [a for _, a in boot.modules])
    return Result(r.status, log, r.seconds, c, o, r.nmis)


def write_junit(result, path, suite):
    junit.write(result.outcome, path, suite, result.log)
