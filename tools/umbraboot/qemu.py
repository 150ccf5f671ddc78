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
import socket
import subprocess
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

STATUS_SUCCESS, STATUS_FAILURE = 33, 35
KEY_INTERVAL = 0.2      # seconds between typed keys: the UART's FIFO is small
BAUD_115200 = 11520     # bytes per second at 115200 baud, 8N1 (10 bits a byte)


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
    serial_rate: int = 0        # bytes per second the console is read at (0: as it comes)


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
    if accel == "tcg-realtime":
        # The TSC and the clocks follow the host's time: a wait for the
        # pipe shows as the time it took, not as the few instructions run.
        return ["-accel", "tcg"]
    # Under -icount shift=0 one instruction is one nanosecond and the TSC
    # counts instructions, so runs and figures are the same every time.
    return ["-accel", "tcg", "-icount", "shift=0,sleep=off"]


def command(m):
    cmd = [m.qemu, "-m", m.memory, "-display", "none", "-no-reboot", "-monitor", "none",
           "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
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
    pace = Pace(m.serial_rate) if m.serial_rate else None
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if m.keys else subprocess.DEVNULL,
                                stdout=pace.qemu_end if pace else subprocess.PIPE,
                                stderr=subprocess.PIPE)
    except OSError as e:
        return Run(127, "", "cannot run %s: %s" % (cmd[0], e.strerror), 0.0, False)
    out = pace.our_end() if pace else proc.stdout
    serial, errors = bytearray(), bytearray()
    streams = {out.fileno(): serial, proc.stderr.fileno(): errors}
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
        watched = list(streams)
        if pace and not pace.credit(now):
            watched = [fd for fd in watched if fd != out.fileno()]
            wait = min(wait, pace.next_byte(now))
        ready, _, _ = select.select(watched, [], [], wait)
        for fd in ready:
            paced = pace and fd == out.fileno()
            chunk = os.read(fd, max(1, int(pace.bytes)) if paced else 65536)
            if paced:
                pace.bytes -= len(chunk)
            if not chunk:
                del streams[fd]
                continue
            streams[fd] += chunk
            if fd == out.fileno():
                if echo:
                    echo(chunk)
                if keys and not typing and re.search(m.after, text(serial), re.M):
                    typing, next_key = True, time.monotonic()
    if timed_out:
        proc.kill()
    status = proc.wait()
    # Whatever QEMU wrote before it died is still in the pipes.
    for f, buf in ((out, serial), (proc.stderr, errors)):
        if f.fileno() in streams:
            rest = f.read()
            buf += rest
            if rest and echo and f is out:
                echo(rest)
        f.close()
    if proc.stdin:
        try:
            proc.stdin.close()
        except OSError:
            pass
    return Run(None if timed_out else status, text(serial), text(errors),
               time.monotonic() - start, timed_out)


class Pace:
    """The serial console read at `rate` bytes per second, as a UART's wire would take it.

    QEMU's standard output is a socket whose send buffer is as small as
    Linux allows: QEMU's UART writes a byte at a time, so a handful of
    bytes fill it, and the UART then waits to send the next byte as a real
    one waits for its shift register (a pipe holds a page, and would take
    output in bursts of 4 KiB). Credit that builds up while nothing comes
    is capped at BURST bytes, so the pace holds after a pause too.
    """
    BURST = 64

    def __init__(self, rate):
        self.rate, self.bytes, self.last = rate, 0.0, time.monotonic()
        self.ours, self.qemu_end = socket.socketpair()
        self.qemu_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1)

    def our_end(self):
        """Once QEMU runs: the end read here, as a file (QEMU holds the other)."""
        self.qemu_end.close()
        return os.fdopen(self.ours.detach(), "rb")

    def credit(self, now):
        self.bytes = min(self.BURST, self.bytes + (now - self.last) * self.rate)
        self.last = now
        return int(self.bytes)

    def next_byte(self, now):
        return max(0.0, (1 - self.bytes) / self.rate)


def text(raw):
    return bytes(raw).decode(errors="replace").replace("\r\n", "\n").replace("\r", "")
