"""Boot umbra, then read back the VGA text screen: the console's mirror, checked.

The serial log shows what umbra printed; this shows that the same lines
reached the text memory at 0xb8000, where the display line says there is
a screen. The hypervisor boots with exit=halt, so QEMU stays up once the
run is over; its monitor, on a Unix socket, then dumps the 32 KiB of text
memory (xp), which is read back into rows of characters and attributes.
"""

import os
import re
import select
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

from harness import accel, build_dir, module_path
from umbraboot import qemu

TEXT_ADDR, TEXT_CELLS = 0xb8000, 0x4000
PROMPT = b"(qemu) "


@dataclass
class Result:
    status: int                 # 33 once the run ended with success and the screen was read
    serial: str                 # the serial log
    log: str                    # the serial log, then the screen's rows
    seconds: float
    rows: list                  # [(text, attributes)] per row of 80 cells, as text memory holds them


def monitor(path, command, timeout):
    """Send one command to QEMU's monitor; its reply, up to the next prompt."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    reply = b""
    while not reply.endswith(PROMPT):       # the greeting
        reply += s.recv(65536)
    s.sendall(command.encode() + b"\n")
    reply = b""
    while not reply.endswith(PROMPT):
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        reply += chunk
    s.close()
    return reply.decode(errors="replace")


def text_rows(dump, cols=80):
    cells = [int(w, 16) for line in dump.splitlines() if re.match(r"^[0-9a-f]+:", line)
             for w in re.findall(r"0x([0-9a-f]{4})", line.split(":", 1)[1])]
    return [(bytes(c & 0xff for c in cells[i:i + cols]).decode("latin-1"),
             [c >> 8 for c in cells[i:i + cols]])
            for i in range(0, len(cells) - cols + 1, cols)]


def run_screen(fmt, modules, extra=(), memory="256M", timeout=60):
    d = build_dir(fmt)
    with tempfile.TemporaryDirectory(prefix="umbra-screen-") as tmp:
        sock = os.path.join(tmp, "monitor")
        m = qemu.Machine(kernel=os.path.join(d, "umbra.elf"), cmdline="exit=halt", memory=memory,
                         modules=[(module_path(fmt, p), a) for p, a in modules], accel=accel(),
                         extra=["-monitor", "unix:%s,server=on,wait=off" % sock] + list(extra))
        start = time.monotonic()
        proc = subprocess.Popen(qemu.command(m), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        serial, halted = b"", False
        while time.monotonic() - start < timeout and not halted:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                serial += chunk
                halted = b"umbra: halted" in serial
        rows, status = [], None
        if halted:
            rows = text_rows(monitor(sock, "xp /%dhx 0x%x" % (TEXT_CELLS, TEXT_ADDR),
                                     max(1.0, timeout - (time.monotonic() - start))))
            if re.search(rb"^umbra: powering off: success", serial, re.M):
                status = qemu.STATUS_SUCCESS
            else:
                status = qemu.STATUS_FAILURE
        proc.kill()
        proc.wait()
    serial = qemu.text(serial)
    shown = [t.rstrip() for t, _ in rows if t.strip(" \0\xff")]
    log = serial + "\n---- VGA text memory, %d rows, blank ones left out ----\n%s\n" % (
        len(rows), "\n".join(shown))
    return Result(status, serial, log, time.monotonic() - start, rows)
