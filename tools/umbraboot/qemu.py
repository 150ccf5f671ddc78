"""One QEMU run of umbra: its command line, and the serial console captured as it comes.

The hypervisor is loaded with -kernel and its guests with -initrd (QEMU's
own Multiboot loader), or an ISO is booted through GRUB. The serial port is
QEMU's standard output, read here as it arrives so that a caller can show
it live and keep it, and so that keys can be typed once a given line has
appeared (and NMIs injected, through QMP, before them). Through isa-debug-exit the hypervisor ends QEMU with status 33
(success) or 35 (failure), or 37 when the CPU lacks what umbra needs; a
run still going at its time-out is killed.
"""

import json
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

STATUS_SUCCESS, STATUS_FAILURE, STATUS_CPU_REFUSED = 33, 35, 37
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
    nmis: int = 0               # NMIs injected through QMP, all before the first key ...
    nmi_after: str = ""         # ... once the console shows this (default: `after`)
    nmi_interval: float = 0.02  # seconds between two NMIs
    cpu: str = ""               # QEMU's -cpu model ("486", "pentium2"); "" for its default
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
    nmis: int = 0               # NMIs QEMU said it injected


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


class Qmp:
    """QEMU's machine protocol on a Unix socket, for the NMIs: one command at a time."""

    def __init__(self, path):
        self.path, self.sock, self.buf = path, None, b""

    def connect(self, deadline):
        while self.sock is None:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(5.0)
                s.connect(self.path)
                self.sock = s
            except OSError:
                s.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)
        self.reply()                    # the greeting
        self.execute("qmp_capabilities")

    def reply(self):
        """The next message that is not an event."""
        while True:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise OSError("QMP connection closed")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def execute(self, cmd):
        self.sock.sendall(json.dumps({"execute": cmd}).encode() + b"\n")
        msg = self.reply()
        if "return" not in msg:
            raise OSError("QMP %s: %s" % (cmd, msg.get("error", msg)))

    def close(self):
        if self.sock:
            self.sock.close()


def command(m, qmp_path=""):
    cmd = [m.qemu, "-m", m.memory, "-display", "none", "-no-reboot", "-monitor", "none",
           "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    cmd += accel_args(m.accel)
    if m.cpu:
        cmd += ["-cpu", m.cpu]
    if m.iso:
        cmd += ["-cdrom", m.iso]
    else:
        cmd += ["-kernel", m.kernel, "-append", m.cmdline]
        if m.modules:
            cmd += ["-initrd", ",".join(module_arg(p, line) for p, line in m.modules)]
    if qmp_path:
        cmd += ["-qmp", "unix:%s,server=on,wait=off" % qmp_path]
    return cmd + list(m.extra)


def run(m, echo: Optional[Callable[[bytes], None]] = None):
    """Boot m; echo(chunk) sees the serial output as it arrives."""
    qmp_dir = tempfile.mkdtemp(prefix="umbra-qmp-") if m.nmis else ""
    try:
        return run_machine(m, echo, os.path.join(qmp_dir, "qmp.sock") if qmp_dir else "")
    finally:
        if qmp_dir:
            shutil.rmtree(qmp_dir, ignore_errors=True)


def run_machine(m, echo, qmp_path):
    cmd = command(m, qmp_path)
    start = time.monotonic()
    pace = Pace(m.serial_rate) if m.serial_rate else None
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if m.keys else subprocess.DEVNULL,
                                stdout=pace.qemu_end if pace else subprocess.PIPE,
                                stderr=subprocess.PIPE)
    except OSError as e:
        return Run(127, "", "cannot run %s: %s" % (cmd[0], e.strerror), 0.0, False)
    out = pace.our_end() if pace else proc.stdout
    qmp, nmis_left, nmis_done, qmp_error = Qmp(qmp_path) if qmp_path else None, m.nmis, 0, ""
    serial, errors = bytearray(), bytearray()
    streams = {out.fileno(): serial, proc.stderr.fileno(): errors}
    deadline = start + m.timeout
    keys, next_key, typing = list(m.keys), 0.0, False
    next_nmi, injecting = 0.0, False
    timed_out = False
    while streams:
        now = time.monotonic()
        if now >= deadline:
            timed_out = True
            break
        if injecting and nmis_left and now >= next_nmi:
            try:
                if not qmp.sock:
                    qmp.connect(deadline)
                qmp.execute("inject-nmi")
                nmis_done += 1
                nmis_left -= 1
            except (OSError, ValueError) as e:
                qmp_error, nmis_left = "NMI %d: %s" % (nmis_done + 1, e), 0
            next_nmi = time.monotonic() + m.nmi_interval
        elif typing and keys and not nmis_left and now >= next_key:
            key = keys.pop(0)
            try:
                if key != "\0":
                    proc.stdin.write(key.encode())
                    proc.stdin.flush()
            except OSError:
                keys = []
            next_key = now + (1.0 if key == "\0" else m.key_interval)
        wait = deadline - now
        if injecting and nmis_left:
            wait = min(wait, max(0.0, next_nmi - now))
        elif typing and keys:
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
                if nmis_left and not injecting and \
                        re.search(m.nmi_after or m.after, text(serial), re.M):
                    injecting, next_nmi = True, time.monotonic()
                if keys and not typing and re.search(m.after, text(serial), re.M):
                    typing, next_key = True, time.monotonic()
    if timed_out:
        proc.kill()
    status = proc.wait()
    if qmp:
        qmp.close()
        if qmp_error:
            errors += ("umbra-boot: %s\n" % qmp_error).encode()
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
               time.monotonic() - start, timed_out, nmis_done)


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
