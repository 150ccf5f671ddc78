"""Boot umbra under Bochs and read what it says on the serial console.

QEMU's TCG does not check segment limits, and a segment limit is all that
keeps a guest kernel (ring 1, a supervisor ring for paging) out of the
Switcher's pages. Bochs checks them. A boot here is one Bochs run: a GRUB
ISO made for the boot (the hypervisor with exit=halt, the given modules),
COM1 written to a file, Bochs killed once the log shows the end of the run
or at a time-out. The result has the shape of harness.Result, its status
taken from the log: 33 for "powering off: success", 35 for a failure or a
PANIC, None for a time-out.

Debian's Bochs 2.7 has no "nogui" display library; "term" (bochs-term)
stands in, on a pseudo-terminal of ours that is drained and thrown away.
Debian builds Bochs with its debugger, which would stop at the first
instruction: an rc file tells it to continue.

Usage as a script: tests/bochs.py [--fmt nopae|pae] [--cpu MODEL]
[ELF [ARGS]]..., default two hello guests; prints the log and the time.
"""

import argparse
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from umbraboot import console, outcome, qemu  # noqa: E402

# Has PAE, PSE, TSC, FXSR, CMOV, APIC and SSE (`bochs -help cpu` lists others).
DEFAULT_CPU = "corei7_sandy_bridge_2600k"
BIOS = "/usr/share/bochs/BIOS-bochs-latest"
VGABIOS = "/usr/share/vgabios/vgabios.bin"
# Emulated instructions per emulated second. With clock sync=none emulated
# time follows the instruction count, so a run is the same every time; a
# high figure means fewer timer ticks (hence world switches) per instruction.
IPS = 50000000
END = re.compile(r"^umbra: (halted|powering off: (success|failure)|PANIC)", re.M)


def available():
    """Why Bochs cannot run here, or None."""
    for path in (BIOS, VGABIOS):
        if not os.path.exists(path):
            return "%s is missing (apt-get install bochsbios vgabios)" % path
    if not shutil.which("bochs"):
        return "bochs is not installed (apt-get install bochs bochs-term)"
    return None


def make_iso(fmt, modules, cmdline, workdir):
    """A GRUB ISO in workdir: umbra.elf with cmdline, then the modules in order."""
    isodir = os.path.join(workdir, "isodir")
    shutil.rmtree(isodir, ignore_errors=True)
    os.makedirs(os.path.join(isodir, "boot", "grub"))
    shutil.copy(os.path.join(harness.build_dir(fmt), "umbra.elf"), os.path.join(isodir, "boot"))
    lines = ["set timeout=0", "set default=0", 'menuentry "umbra" {',
             "\tmultiboot /boot/umbra.elf " + cmdline]
    for i, (path, args) in enumerate(modules):
        full = path if os.path.isabs(path) else os.path.join(harness.build_dir(fmt), path)
        name = "%d-%s" % (i, os.path.basename(full))    # two modules may share a base name
        shutil.copy(full, os.path.join(isodir, "boot", name))
        lines.append("\tmodule /boot/%s %s" % (name, args))
    lines += ["\tboot", "}"]
    with open(os.path.join(isodir, "boot", "grub", "grub.cfg"), "w") as f:
        f.write("\n".join(lines) + "\n")
    iso = os.path.join(workdir, "umbra.iso")
    proc = subprocess.run(["grub-mkrescue", "-o", iso, isodir], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError("grub-mkrescue failed:\n" + proc.stdout.decode(errors="replace"))
    return iso


def bochsrc(iso, serial, log, cpu=DEFAULT_CPU, megs=256):
    return "\n".join([
        "display_library: term",
        "megs: %d" % megs,
        "romimage: file=" + BIOS,
        "vgaromimage: file=" + VGABIOS,
        "ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14",
        "ata0-master: type=cdrom, path=%s, status=inserted" % iso,
        "boot: cdrom",
        "com1: enabled=1, mode=file, dev=" + serial,
        # A triple fault ends the run (a panic, fatal) instead of rebooting into GRUB.
        "cpu: model=%s, count=1, ips=%d, reset_on_triple_fault=0" % (cpu, IPS),
        # Emulated time from the instruction count: fast and the same every run.
        "clock: sync=none, time0=946684800",
        "log: " + log,
        "panic: action=fatal",
        "error: action=report",
        "info: action=ignore",
        "debug: action=ignore",
        "mouse: enabled=0",
        "speaker: enabled=0",
    ]) + "\n"


def _drain(fd):
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def run_boot(fmt, modules, cmdline="exit=halt", name="boot", cpu=DEFAULT_CPU, timeout=600, megs=256):
    """Boot the hypervisor with these modules ([(path, args)], as in harness.Boot)."""
    start = time.monotonic()
    workdir = os.path.join(harness.build_dir(fmt), "bochs", name)
    os.makedirs(workdir, exist_ok=True)
    iso = make_iso(fmt, modules, cmdline, workdir)
    serial, log = os.path.join(workdir, "serial.log"), os.path.join(workdir, "bochs.log")
    rc = os.path.join(workdir, "bochsrc")
    with open(rc, "w") as f:
        f.write(bochsrc(iso, serial, log, cpu, megs))
    with open(os.path.join(workdir, "debugger.rc"), "w") as f:
        f.write("continue\n")
    for path in (serial, log):
        if os.path.exists(path):
            os.unlink(path)
    master, slave = pty.openpty()
    proc = subprocess.Popen(["bochs", "-q", "-f", rc, "-rc", os.path.join(workdir, "debugger.rc")],
                            cwd=workdir, stdin=slave, stdout=slave, stderr=slave,
                            env=dict(os.environ, TERM="vt100"), start_new_session=True)
    os.close(slave)
    threading.Thread(target=_drain, args=(master,), daemon=True).start()
    text, status, ended = "", None, None
    try:
        while time.monotonic() - start < timeout and proc.poll() is None:
            time.sleep(0.2)
            if os.path.exists(serial):
                with open(serial, "rb") as f:
                    text = f.read().decode(errors="replace").replace("\r\n", "\n")
            m = END.search(text)
            if m and ended is None:
                ended = time.monotonic()
            # The last words: "umbra: halted", or give the rest of a PANIC a moment.
            if ended is not None and ("umbra: halted\n" in text or time.monotonic() - ended > 3):
                status = harness.STATUS_OK if re.search(r"^umbra: powering off: success$",
                                                        text, re.M) and "PANIC" not in text \
                    else harness.STATUS_FAIL
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)     # Bochs ignores SIGTERM in its debugger
        proc.wait()
        os.close(master)
    if os.path.exists(serial):
        with open(serial, "rb") as f:
            text = f.read().decode(errors="replace").replace("\r\n", "\n")
    if status is None:
        if os.path.exists(log):
            with open(log, errors="replace") as f:
                tail = f.read()[-2000:].strip()
            if tail:
                text += "\n[bochs] " + tail + "\n"
    seconds = time.monotonic() - start
    run = qemu.Run(status, text, "", seconds, status is None)
    c = console.parse(text)
    return harness.Result(status, text, seconds, c, outcome.judge(run, c, [a for _, a in modules]))


def main():
    ap = argparse.ArgumentParser(description="Boot umbra under Bochs.")
    ap.add_argument("--fmt", choices=["nopae", "pae"], default="nopae")
    ap.add_argument("--cpu", default=DEFAULT_CPU)
    ap.add_argument("--cmdline", default="exit=halt")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("module", nargs="*", help='"ELF ARGS", ELF relative to build/<fmt>')
    args = ap.parse_args()
    why = available()
    if why:
        sys.exit("bochs: " + why)
    modules = [tuple((m.split(None, 1) + [""])[:2]) for m in args.module] or \
        [("guests/hello.elf", "name=a mem=16M code=0"), ("guests/hello.elf", "name=b mem=8M code=0")]
    r = run_boot(args.fmt, modules, args.cmdline, "cli", args.cpu, args.timeout)
    sys.stdout.write(r.log)
    print("# %s: %.1f s, status %s" % (args.fmt, r.seconds, r.status))
    return 0 if r.status == harness.STATUS_OK else 1


if __name__ == "__main__":
    sys.exit(main())
