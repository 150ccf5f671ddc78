"""Boot a Multiboot kernel on QEMU directly, without the hypervisor.

penumbra's native build (build/<fmt>/guests/penumbra-native.elf) runs on
the bare machine: QEMU's own Multiboot loader starts it, the serial port
is its console and isa-debug-exit its power switch (status 33 = success).
"""

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass

from harness import accel, build_dir
from umbraboot.qemu import accel_args


@dataclass
class Result:
    status: int                 # QEMU's exit status, or None on time-out
    log: str
    seconds: float


def run_native(fmt, kernel, append="", memory="256M", timeout=60):
    with tempfile.TemporaryDirectory(prefix="umbra-native-") as tmp:
        serial = os.path.join(tmp, "serial.log")
        cmd = ["qemu-system-i386", "-kernel", os.path.join(build_dir(fmt), kernel),
               "-append", append, "-m", memory, "-display", "none", "-no-reboot",
               "-monitor", "none", "-serial", "file:" + serial,
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"] + accel_args(accel())
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=timeout)
            status, out = proc.returncode, proc.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            status, out = None, (e.stdout or b"").decode(errors="replace")
        with open(serial, "rb") as f:
            log = f.read().decode(errors="replace").replace("\r\n", "\n")
    if out.strip():
        log += "\n[qemu] " + out.strip() + "\n"
    return Result(status, log, time.monotonic() - start)
