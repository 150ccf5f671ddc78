"""Booting umbra in QEMU and reading its console, for tools/umbra-boot and tests/.

qemu.py builds the QEMU command line and runs it, capturing the serial
console; console.py reads what the hypervisor and its guests said;
outcome.py turns that and QEMU's exit status into one verdict per guest and
an exit status; junit.py writes the verdicts as a JUnit XML report. The
boot tests use the same modules as the command, so that every test run
exercises it.
"""
