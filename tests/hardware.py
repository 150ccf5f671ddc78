#!/usr/bin/env python3
"""make test-hardware: umbra on many machines, one line of MACHINES each.

A machine is how umbra boots (QEMU's -kernel loader with two hello guests,
or umbra-scripted.iso through GRUB as a CD, a hard disk or a USB stick),
the firmware (SeaBIOS, or OVMF's UEFI for x86-64 or IA-32), the chipset
(QEMU's pc, an i440FX, or q35), the memory, the CPU model, or Bochs with
one of its CPU models. Each runs in both paging formats and is checked as
a boot case of tests/cases.py is (exit status, verdict, no panic, no FAIL
line, no leaked frame, what the guests must print), and for the display
line the firmware and the loader lead to (hypervisor/display.c). A run
takes a few minutes; `make test` runs a few of these machines itself.

To add a machine, add a line. A CPU the hypervisor does not support would
be a line with verdict= and expect= saying how it is refused.

Usage: tests/hardware.py [-v] [-k SUBSTRING] [--fmt nopae|pae] [--list]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bochs  # noqa: E402
import run  # noqa: E402
from cases import (DISPLAY_BDA_NONE, DISPLAY_BDA_TEXT, DISPLAY_EFI_FB,  # noqa: E402
                   DISPLAY_GRUB_TEXT, ISO_SCRIPTED, TWO_HELLO, TWO_HELLO_EXPECT, Case, display_is,
                   ram_check)
from umbraboot.outcome import OK  # noqa: E402

ISO = "umbra-scripted.iso"      # two 64 MiB penumbra kernels and a hello: 192M at least


class Machine:
    def __init__(self, name, boot="kernel", firmware="bios", chipset="", memory="256M", cpu="",
                 bochs=False, extra=(), display=None, verdict=OK, expect=None, ram=None,
                 formats=tuple(run.FORMATS)):
        self.name, self.bochs, self.formats = name, bochs, formats
        if display is None:
            display = (DISPLAY_GRUB_TEXT if bochs else DISPLAY_EFI_FB if firmware != "bios"
                       else DISPLAY_BDA_TEXT if boot == "kernel" else DISPLAY_GRUB_TEXT)
        iso = boot != "kernel" and not bochs
        boot_fields = dict(memory=memory, cpu=cpu)
        if iso:
            boot_fields.update(iso=ISO, media=boot, timeout=240)
        if not bochs:
            boot_fields.update(firmware=firmware, machine=chipset, extra=list(extra))
        if bochs:
            boot_fields["timeout"] = 600
        self.case = Case("hw_" + name, [] if iso else TWO_HELLO, verdict=verdict,
                         expect=expect if expect is not None else ISO_SCRIPTED if iso else TWO_HELLO_EXPECT,
                         check=both(display_is(display), ram and ram_check(*ram)), **boot_fields)

    def jobs(self, formats):
        job = run.bochs_job if self.bochs else run.boot_job
        return [(job, self.case, f) for f in formats if f in self.formats]


def both(check, more):
    """The display check, and the RAM check (cases.ram_check) where a machine has one."""
    if not more:
        return check
    return lambda log: list(check(log)) + list(more(log))


# ram=(KiB above 4 GiB, whether the CPU's physical addresses are wider than 32 bits)
M = Machine
MACHINES = [
    # QEMU's Multiboot loader, two hello guests: chipsets and memory sizes.
    # With 8 GiB and a CPU whose physical addresses are wider than 32 bits,
    # the PAE build puts the guests' memory above 4 GiB (QEMU's default
    # qemu32 has 32: there the RAM above 4 GiB is reported unused).
    M("pc-64M", memory="64M"),
    M("pc-256M"),
    M("pc-2G", memory="2G"),
    M("pc-8G", memory="8G", ram=(5 << 20, False)),
    M("pc-8G-pentium3", memory="8G", cpu="pentium3", ram=(5 << 20, True)),
    M("q35-8G-Haswell", chipset="q35", memory="8G", cpu="Haswell", ram=(6 << 20, True)),
    M("q35-64M", chipset="q35", memory="64M"),
    M("q35-2G", chipset="q35", memory="2G"),
    M("pc-novga", extra=("-vga", "none"), display=DISPLAY_BDA_NONE),
    M("q35-novga", chipset="q35", extra=("-vga", "none"), display=DISPLAY_BDA_NONE),
    # The ISO through GRUB: SeaBIOS, and UEFI for x86-64 and IA-32 (OVMF,
    # which needs q35 for IA-32), as a CD, a hard disk and a USB stick.
    M("bios-pc-cd", boot="cdrom"),
    M("bios-q35-cd", boot="cdrom", chipset="q35"),
    M("bios-pc-disk", boot="disk"),
    M("bios-q35-usb", boot="usb", chipset="q35"),
    M("bios-pc-cd-2G", boot="cdrom", memory="2G"),
    M("efi64-pc-cd", boot="cdrom", firmware="efi64"),
    M("efi64-q35-cd", boot="cdrom", firmware="efi64", chipset="q35"),
    M("efi64-pc-disk", boot="disk", firmware="efi64"),
    M("efi64-q35-usb", boot="usb", firmware="efi64", chipset="q35"),
    M("efi64-q35-cd-2G", boot="cdrom", firmware="efi64", chipset="q35", memory="2G"),
    M("efi64-q35-cd-8G-Haswell", boot="cdrom", firmware="efi64", chipset="q35", memory="8G",
      cpu="Haswell", ram=(6 << 20, True)),
    M("bios-pc-cd-8G-n270", boot="cdrom", memory="8G", cpu="n270", ram=(5 << 20, False)),
    M("efi64-pc-cd-novga", boot="cdrom", firmware="efi64", extra=("-vga", "none"),
      display=DISPLAY_BDA_NONE),
    M("efi32-q35-cd", boot="cdrom", firmware="efi32"),
    M("efi32-q35-disk", boot="disk", firmware="efi32"),
    M("efi32-q35-usb", boot="usb", firmware="efi32"),
    # CPU models, all with CMOV and PAE (a CPU without them is refused).
    M("cpu-qemu32", cpu="qemu32"),
    M("cpu-pentium2", cpu="pentium2"),
    M("cpu-pentium3", cpu="pentium3"),
    M("cpu-coreduo", cpu="coreduo"),
    M("cpu-n270", cpu="n270"),
    M("cpu-core2duo", cpu="core2duo"),
    M("cpu-athlon", cpu="athlon"),
    M("cpu-phenom", cpu="phenom"),
    M("cpu-Nehalem", cpu="Nehalem"),
    M("cpu-SandyBridge", cpu="SandyBridge"),
    M("cpu-Haswell", cpu="Haswell"),
    M("cpu-Skylake-Client", cpu="Skylake-Client"),
    M("cpu-EPYC", cpu="EPYC"),
    M("cpu-Haswell-q35-efi64", boot="cdrom", firmware="efi64", chipset="q35", cpu="Haswell"),
    # Bochs, its BIOS and VGA BIOS, GRUB from a CD, segment limits checked.
    M("bochs-p3_katmai", bochs=True, cpu="p3_katmai"),
    M("bochs-p4_prescott", bochs=True, cpu="p4_prescott_celeron_336"),
    M("bochs-atom_n270", bochs=True, cpu="atom_n270"),
    M("bochs-core2_penryn", bochs=True, cpu="core2_penryn_t9600"),
    M("bochs-haswell", bochs=True, cpu="corei7_haswell_4770"),
    M("bochs-ryzen-64M", bochs=True, cpu="ryzen", memory="64M"),
]


def main():
    ap = argparse.ArgumentParser(description="Boot umbra on many machine configurations.")
    ap.add_argument("-k", default="", help="only machines whose name has this")
    ap.add_argument("--fmt", choices=run.FORMATS, action="append")
    ap.add_argument("--list", action="store_true", help="list the machines and their QEMU arguments")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every check")
    args = ap.parse_args()
    chosen = [m for m in MACHINES if args.k in m.name]
    if args.list:
        for m in chosen:
            print("%-24s %s%s" % (m.name, "bochs " if m.bochs else "", " ".join(
                "%s=%s" % kv for kv in sorted(m.case.boot.items()) if kv[1] and kv[0] != "timeout")))
        return 0
    tally = run.Tally(args.verbose)
    why = bochs.available()
    if why and any(m.bochs for m in chosen):
        tally.case("bochs", [("Bochs is available", why)])
        chosen = [m for m in chosen if not m.bochs]
    jobs = [j for m in chosen for j in m.jobs(args.fmt or run.FORMATS)]
    run.run_jobs(tally, jobs)
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 1 if tally.failed or not tally.passed else 0


if __name__ == "__main__":
    sys.exit(main())
