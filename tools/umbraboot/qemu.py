"""One QEMU run of umbra: its command line, and the serial console captured as it comes.

The hypervisor is loaded with -kernel and its guests with -initrd (QEMU's
own Multiboot loader), or an ISO is booted through GRUB. The serial port is
QEMU's standard output, read here as it arrives so that a caller can show
it live and keep it, and so that keys can be typed once a given line has
appeared. Through isa-debug-exit the hypervisor ends QEMU with status 33
(success) or 35 (failure); a run still going at its time-out is killed.
"""

import os
import re
import select
import subprocess
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

STATUS_SUCCESS, STATUS_FAILURE = 33, 35
KEY_INTERVAL = 0.2      # seconds between typed keys: the UART's FIFO is small


@dataclass
class Machine:
    kernel: str = ""            # the hypervisor's ELF file, booted with -kernel
    modules: List[Tuple[str, str]] = field(default_factory=list)  # (file, module line)
    cmdline: str = "exit=qemu"  # the hypervisor's options
    iso: str = ""               # instead of kernel and modules: an ISO booted through GRUB
    memory: str = "256M"
    accel: str = "tcg"          # "tcg" (instructions counted, deterministic) or "kvm"
    timeout: float = 60.0       # seconds
    keys: str = ""              # typed on the serial console (a NUL: wait a second) ...
    after: str = ""             # ... once the console shows a line matching this regex
    key_interval: float = KEY_INTERVAL  # seconds between two keys
    extra: List[str] = field(default_factory=list)  # more QEMU arguments
    qemu: str = "qemu-system-i386"
    debug_exit: bool = True     # give the machine QEMU's isa-debug-exit device


@dataclass
class Run:
    status: Optional[int]       # QEMU's exit status; None if it was killed at the time-out
    log: str                    # the serial console, with "\n" line ends
    qemu_output: str            # what QEMU itself printed (its errors)
    seconds: float
    timed_out: bool


def module_arg(path, line):
    """One -initrd entry. QEMU splits -initrd at commas; a comma in it is doubled."""
    return (path + (" " + line if line else "")).replace(",", ",,")


def accel_args(accel):
    if accel == "kvm":
        return ["-accel", "kvm", "-cpu", "host"]
    # Under -icount shift=0 one instruction is one nanosecond and the TSC
    # counts instructions, so runs and figures are the same every time.
    return ["-accel", "tcg", "-icount", "shift=0,sleep=off"]


def command(m):
    cmd = [m.qemu, "-m", m.memory, "-display", "none", "-no-reboot", "-monitor", "none",
           "-serial", "stdio"]
    if m.debug_exit:
        cmd += ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    cmd += accel_args(m.accel)
    if m.iso:
        cmd += ["-cdrom", m.iso]
    else:
        cmd += ["-kernel", m.kernel, "-append", m.cmdline]
        if m.modules:
            cmd += ["-initrd", ",".join(module_arg(p, line) for p, line in m.modules)]
    return cmd + list(m.extra)


def run(m, echo: Optional[Callable[[bytes], None]] = None):
    """Boot m; echo(chunk) sees the serial output as it arrives."""
    cmd = command(m)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if m.keys else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        return Run(127, "", "cannot run %s: %s" % (cmd[0], e.strerror), 0.0, False)
    serial, errors = bytearray(), bytearray()
    streams = {proc.stdout.fileno(): serial, proc.stderr.fileno(): errors}
    deadline = start + m.timeout
    keys, next_key, typing = list(m.keys), 0.0, False
    timed_out = False
    while streams:
        now = time.monotonic()
        if now >= deadline:
            timed_out = True
            break
        if typing and keys and now >= next_key:
            key = keys.pop(0)
            try:
                if key != "\0":
                    proc.stdin.write(key.encode())
                    proc.stdin.flush()
            except OSError:
                keys = []
            next_key = now + (1.0 if key == "\0" else m.key_interval)
        wait = deadline - now
        if typing and keys:
            wait = min(wait, max(0.0, next_key - now))
        ready, _, _ = select.select(list(streams), [], [], wait)
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                del streams[fd]
                continue
            streams[fd] += chunk
            if fd == proc.stdout.fileno():
                if echo:
                    echo(chunk)
                if keys and not typing and re.search(m.after, text(serial), re.M):
                    typing, next_key = True, time.monotonic()
    if timed_out:
        proc.kill()
    status = proc.wait()
    # Whatever QEMU wrote before it died is still in the pipes.
    for f, buf in ((proc.stdout, serial), (proc.stderr, errors)):
        if f.fileno() in streams:
            rest = f.read()
            buf += rest
            if rest and echo and f is proc.stdout:
                echo(rest)
        f.close()
    if proc.stdin:
        try:
            proc.stdin.close()
        except OSError:
            pass
    return Run(None if timed_out else status, text(serial), text(errors),
               time.monotonic() - start, timed_out)


def text(raw):
    return bytes(raw).decode(errors="replace").replace("\r\n", "\n").replace("\r", "")
