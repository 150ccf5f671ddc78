"""Boot umbra in QEMU and read what it says on the serial console.

A boot is one QEMU run: the hypervisor loaded with -kernel and the guests
with -initrd (QEMU's own Multiboot loader), or the ISO through GRUB. The
serial log is captured to a file, QEMU is stopped at a time-out, and the
result carries the log and QEMU's exit status (33 = the hypervisor reported
success through isa-debug-exit, 35 = failure; QEMU's own errors give 1).
"""

import os
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATUS_OK, STATUS_FAIL = 33, 35


def src(path):
    """A file of the source tree, for modules that are not built."""
    return os.path.join(ROOT, path)


def build_dir(fmt):
    return os.path.join(ROOT, "build", fmt)


def accel_flags():
    """TCG unless UMBRA_ACCEL=kvm: this machine's KVM cannot run 32-bit paging."""
    if os.environ.get("UMBRA_ACCEL") == "kvm":
        return ["-accel", "kvm", "-cpu", "host"]
    return ["-accel", "tcg", "-icount", "shift=0,sleep=off"]


@dataclass
class Boot:
    fmt: str                    # "nopae" or "pae"
    modules: list = field(default_factory=list)  # [(path, args)], path relative to build/<fmt>
    cmdline: str = "exit=qemu"
    iso: bool = False
    memory: str = "256M"
    timeout: int = 60
    extra: list = field(default_factory=list)    # more QEMU arguments
    keys: str = ""              # typed on the serial console once `after` is seen
    after: str = ""


@dataclass
class Result:
    status: int                 # QEMU's exit status, or None on time-out
    log: str
    seconds: float = 0.0        # wall-clock time of the boot

    def lines(self, pattern):
        return re.findall(pattern, self.log, re.M)


def module_arg(fmt, path, args):
    full = path if os.path.isabs(path) else os.path.join(build_dir(fmt), path)
    # QEMU splits -initrd at commas; a comma inside a module line is doubled.
    return (full + (" " + args if args else "")).replace(",", ",,")


def qemu_command(boot, serial_path):
    cmd = ["qemu-system-i386", "-m", boot.memory, "-display", "none", "-no-reboot",
           "-monitor", "none", "-serial", "file:" + serial_path,
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"] + accel_flags()
    if boot.iso:
        cmd += ["-cdrom", os.path.join(build_dir(boot.fmt), "umbra.iso")]
    else:
        cmd += ["-kernel", os.path.join(build_dir(boot.fmt), "umbra.elf"),
                "-append", boot.cmdline]
        if boot.modules:
            cmd += ["-initrd", ",".join(module_arg(boot.fmt, p, a) for p, a in boot.modules)]
    return cmd + boot.extra


def run_typing(boot):
    """Serial on stdio, so that keys can be typed once the log shows `after`."""
    cmd = qemu_command(boot, "/dev/null")
    cmd[cmd.index("file:/dev/null")] = "stdio"
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    timer = threading.Timer(boot.timeout, proc.kill)
    timer.start()
    out, typed = b"", False
    for line in iter(proc.stdout.readline, b""):
        out += line
        if not typed and re.search(boot.after, line.decode(errors="replace")):
            for key in boot.keys:       # one at a time: the UART has a small FIFO
                proc.stdin.write(key.encode())
                proc.stdin.flush()
                time.sleep(0.2)
            typed = True
    status = proc.wait()
    timed_out = not timer.is_alive()
    timer.cancel()
    log = out.decode(errors="replace").replace("\r\n", "\n")
    return Result(None if timed_out else status, log)


def run(boot):
    start = time.monotonic()
    result = run_typing(boot) if boot.keys else run_serial_file(boot)
    result.seconds = time.monotonic() - start
    return result


def run_serial_file(boot):
    with tempfile.TemporaryDirectory(prefix="umbra-") as tmp:
        serial = os.path.join(tmp, "serial.log")
        cmd = qemu_command(boot, serial)
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=boot.timeout)
            status, qemu_out = proc.returncode, proc.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            status, qemu_out = None, (e.stdout or b"").decode(errors="replace")
        with open(serial, "rb") as f:
            log = f.read().decode(errors="replace").replace("\r\n", "\n")
    if qemu_out.strip():
        log += "\n[qemu] " + qemu_out.strip() + "\n"
    return Result(status, log)
