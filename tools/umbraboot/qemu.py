"""One QEMU run of umbra: its command line, and the serial console captured as it comes.

The hypervisor is loaded with -kernel and its guests with -initrd (QEMU's
own Multiboot loader), or an ISO is booted through GRUB: as a CD, or the
hybrid image as a hard disk or a USB stick, under SeaBIOS or under UEFI
(OVMF, 64-bit or 32-bit; FIRMWARE says where each is). The serial port is
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
class Firmware:
    qemu: str                   # the QEMU that runs it
    code: str = ""              # the firmware's code, a read-only flash; "" is QEMU's SeaBIOS
    variables: str = ""         # its variable store: a template, never written (snapshot=on)
    machine: str = ""           # options the -machine must have (q35 with SMM, for some)
    secure: bool = False        # the code flash is accessible only to SMM
    package: str = ""           # the Debian package that has them


# Debian's OVMF: x86-64 UEFI (ovmf), whose GRUB is x86_64-efi, and IA-32
# UEFI (ovmf-ia32, built only with Secure Boot, so q35 with SMM), whose GRUB
# is i386-efi. Secure Boot stays off: the variable store enrols no keys.
FIRMWARE = {
    "bios": Firmware(qemu="qemu-system-i386"),
    "efi64": Firmware(qemu="qemu-system-x86_64", code="/usr/share/OVMF/OVMF_CODE_4M.fd",
                      variables="/usr/share/OVMF/OVMF_VARS_4M.fd", package="ovmf"),
    "efi32": Firmware(qemu="qemu-system-i386", code="/usr/share/OVMF/OVMF32_CODE_4M.secboot.fd",
                      variables="/usr/share/OVMF/OVMF32_VARS_4M.fd", machine="q35,smm=on",
                      secure=True, package="ovmf-ia32"),
}
MEDIA = ("cdrom", "disk", "usb")


@dataclass
class Machine:
    kernel: str = ""            # the hypervisor's ELF file, booted with -kernel
    modules: List[Tuple[str, str]] = field(default_factory=list)  # (file, module line)
    cmdline: str = "exit=qemu"  # the hypervisor's options
    iso: str = ""               # instead of kernel and modules: an ISO booted through GRUB
    media: str = "cdrom"        # the ISO as a CD, or the hybrid image as a "disk" or "usb" stick
    firmware: str = "bios"      # a key of FIRMWARE
    machine: str = ""           # QEMU's -machine: "" (its pc), "pc", "q35"
    cpu: str = ""               # QEMU's -cpu, "" for its default
    memory: str = "256M"
    accel: str = "tcg"          # "tcg" (instructions counted, deterministic) or "kvm"
    timeout: float = 60.0       # seconds
    keys: str = ""              # typed on the serial console (a NUL: wait a second) ...
    after: str = ""             # ... once the console shows a line matching this regex
    key_interval: float = KEY_INTERVAL  # seconds between two keys
    extra: List[str] = field(default_factory=list)  # more QEMU arguments
    qemu: str = ""              # "" for the firmware's


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


def accel_args(accel, firmware="bios", cpu=""):
    if accel == "kvm":
        return ["-accel", "kvm", "-cpu", cpu or "host"]
    cmd = ["-accel", "tcg"] + (["-cpu", cpu] if cpu else [])
    # UEFI firmware waits in loops on its timers, instruction by instruction
    # under -icount: a minute to boot. It runs on the host's clock instead.
    if firmware != "bios":
        return cmd
    # Under -icount shift=0 one instruction is one nanosecond and the TSC
    # counts instructions, so runs and figures are the same every time.
    return cmd + ["-icount", "shift=0,sleep=off"]


def firmware_args(m):
    fw = FIRMWARE[m.firmware]
    machine = m.machine
    if fw.machine:
        base = fw.machine.split(",")[0]
        if machine not in ("", base):
            raise ValueError("firmware %s needs -machine %s, not %s" % (m.firmware, base, machine))
        machine = fw.machine
    cmd = ["-machine", machine] if machine else []
    if fw.code:
        if fw.secure:
            cmd += ["-global", "driver=cfi.pflash01,property=secure,value=on"]
        cmd += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + fw.code,
                "-drive", "if=pflash,format=raw,unit=1,snapshot=on,file=" + fw.variables]
    return cmd


def media_args(iso, media):
    if media == "cdrom":
        return ["-cdrom", iso]
    drive = "format=raw,snapshot=on,file=" + iso.replace(",", ",,")
    if media == "disk":
        return ["-drive", drive]
    if media == "usb":
        return ["-drive", "if=none,id=stick," + drive,
                "-device", "qemu-xhci", "-device", "usb-storage,drive=stick"]
    raise ValueError("unknown media %r (one of %s)" % (media, ", ".join(MEDIA)))


def command(m):
    cmd = [m.qemu or FIRMWARE[m.firmware].qemu, "-m", m.memory, "-display", "none",
           "-no-reboot", "-monitor", "none",
           "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    cmd += firmware_args(m) + accel_args(m.accel, m.firmware, m.cpu)
    if m.iso:
        cmd += media_args(m.iso, m.media)
    else:
        cmd += ["-kernel", m.kernel, "-append", m.cmdline]
        if m.modules:
            cmd += ["-initrd", ",".join(module_arg(p, line) for p, line in m.modules)]
    return cmd + list(m.extra)


def run(m, echo: Optional[Callable[[bytes], None]] = None):
    """Boot m; echo(chunk) sees the serial output as it arrives."""
    fw = FIRMWARE[m.firmware]
    for path in (fw.code, fw.variables):
        if path and not os.path.exists(path):
            return Run(127, "", "no firmware file %s (Debian's package %s)" % (path, fw.package),
                       0.0, False)
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
