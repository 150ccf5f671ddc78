"""Tests of tools/umbra-boot itself, run as a user's CI would run it.

Each test runs the command in one paging format and checks its exit
status, what it says on standard error, and its JUnit report: the example
guest of examples/ci-guest, built out of the tree from a copy in a
temporary directory, passing and then failing one of its checks; a guest
that is killed, one that exits non-zero, a refused module, a time-out, a
hypervisor QEMU cannot boot, a CPU the hypervisor refuses (--cpu 486); and arguments it must refuse before booting
(a missing file, bad module lines, an unknown format). The example's files
must also be the ones README.md lists. A test is a list of (check name,
problem or None), like a boot case's checks.
"""

import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

from harness import ROOT, build_dir, src

TOOL = os.path.join(ROOT, "tools", "umbra-boot")
EXAMPLE = os.path.join(ROOT, "examples", "ci-guest")


class Call:
    """One run of umbra-boot, its status and its output."""

    def __init__(self, args, timeout=120):
        p = subprocess.run([TOOL] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        self.args, self.status = args, p.returncode
        self.out = p.stdout.decode(errors="replace")
        self.err = p.stderr.decode(errors="replace")

    def log(self):
        return "$ umbra-boot %s\n%s%s" % (" ".join(self.args), self.out, self.err)


def status(call, want):
    return ("exit status %d" % want,
            None if call.status == want else "got %d; stderr: %s" % (call.status, call.err[-500:]))


def says(call, pattern):
    return ("says /%s/" % pattern,
            None if re.search(pattern, call.err, re.M) else "not on standard error")


def junit(path, cases):
    """Checks of a JUnit file: cases maps a testcase name to None (passes) or a failure regex."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        return [("JUnit report parses", str(e))]
    checks = [("JUnit root is testsuites", None if root.tag == "testsuites" else root.tag)]
    suites = root.findall("testsuite")
    found = {}
    for s in suites:
        tcs = s.findall("testcase")
        bad = [a for a in ("name", "tests", "failures", "time") if a not in s.attrib]
        checks.append(("testsuite has name, tests, failures, time", ", ".join(bad) or None))
        fails = sum(1 for t in tcs if t.find("failure") is not None)
        checks.append(("testsuite counts agree",
                       None if (s.get("tests"), s.get("failures")) == (str(len(tcs)), str(fails))
                       else "tests=%s failures=%s, found %d and %d"
                       % (s.get("tests"), s.get("failures"), len(tcs), fails)))
        for t in tcs:
            bad = [a for a in ("name", "classname", "time") if a not in t.attrib]
            if bad:
                checks.append(("testcase %s has name, classname, time" % t.get("name"),
                               ", ".join(bad)))
            found[t.get("name")] = t.find("failure")
    checks.append(("one testsuite", None if len(suites) == 1 else "%d" % len(suites)))
    for name, failure in cases.items():
        if name not in found:
            checks.append(("JUnit has %s" % name, "missing; it has %s" % ", ".join(found)))
        elif failure is None:
            checks.append(("JUnit %s passes" % name,
                           None if found[name] is None else found[name].get("message")))
        else:
            f = found[name]
            checks.append(("JUnit %s fails with /%s/" % (name, failure),
                           "it passes" if f is None else
                           None if re.search(failure, f.get("message", "")) else
                           "message: %s" % f.get("message")))
    return checks


def fmt_args(fmt):
    return ["--format", fmt, "--quiet"]


def listed_in_readme(path, start):
    """README shows the example's files from `start` on; they must not drift apart."""
    with open(os.path.join(EXAMPLE, path)) as f:
        text = f.read()
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    body = text[text.index(start):] if start in text else text
    return ("README lists %s as it is" % path, None if body in readme else "README differs")


def test_example(fmt, tmp):
    """The README's example: build the guest out of the tree, boot it, read its report."""
    listings = [listed_in_readme("Makefile", "UMBRA\t?="),
                listed_in_readme("main.c", "#include")]
    work = os.path.join(tmp, "ci-guest")
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("out"))
    pae = "1" if fmt == "pae" else "0"
    mk = subprocess.run(["make", "-s", "-C", work, "UMBRA=" + ROOT, "PAE=" + pae],
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    checks = listings + [("builds out of the tree", None if mk.returncode == 0 else
               "make: %s" % mk.stdout.decode(errors="replace")[-1500:])]
    if mk.returncode:
        return checks, mk.stdout.decode(errors="replace")
    elf = os.path.join(work, "out", fmt, "ci-guest.elf")
    report, log = os.path.join(tmp, "ok.xml"), os.path.join(tmp, "ok.log")
    ok = Call(fmt_args(fmt) + ["--junit", report, "--log", log, elf, "name=ci", "mem=8M",
                               "mem_kib=8192"])
    checks += [status(ok, 0), says(ok, r'^umbra-boot: guest "ci": exit 0$'),
               says(ok, r"^umbra-boot: serial log: " + re.escape(log) + "$")]
    with open(log) as f:
        checks.append(("serial log kept", None if "powering off: success" in f.read()
                       else "no power-off line in " + log))
    checks += junit(report, {"hypervisor": None, "ci": None, "ci: memory size": None,
                             "ci: 64-bit division": None, "ci: boot information": None})
    report = os.path.join(tmp, "fail.xml")
    bad = Call(fmt_args(fmt) + ["--junit", report, "--guest", elf + " name=ci mem=8M mem_kib=4096"])
    checks += [status(bad, 1), says(bad, r'guest "ci": exit 1, FAIL: memory size')]
    checks += junit(report, {"ci": r"^exit 1", "ci: memory size": r"8192 KiB, expected 4096 KiB",
                             "ci: 64-bit division": None})
    return checks, ok.log() + bad.log()


def test_killed(fmt, tmp):
    report = os.path.join(tmp, "killed.xml")
    c = Call(fmt_args(fmt) + ["--junit", report, os.path.join(build_dir(fmt), "tests/guests/hcall_unknown.elf"),
                              "name=rogue", os.path.join(build_dir(fmt), "guests/hello.elf"), "name=good"])
    return [status(c, 3), says(c, r'guest "rogue": killed: unknown hypercall 999')] + \
        junit(report, {"rogue": r"^killed: unknown hypercall 999$", "good": None,
                       "good: memory": None, "hypervisor": None}), c.log()


def test_nonzero_exit(fmt, tmp):
    report = os.path.join(tmp, "three.xml")
    c = Call(fmt_args(fmt) + ["--junit", report, os.path.join(build_dir(fmt), "guests/hello.elf"),
                              "name=three code=3"])
    return [status(c, 1), says(c, r'guest "three": exit 3$')] + \
        junit(report, {"three": r"^exit 3$"}), c.log()


def test_refused(fmt, tmp):
    report = os.path.join(tmp, "refused.xml")
    c = Call(fmt_args(fmt) + ["--junit", report, src("tests/data/not-elf.txt"), "name=junk",
                              os.path.join(build_dir(fmt), "guests/hello.elf"), "name=good"])
    return [status(c, 4), says(c, r'guest "junk": refused: not an ELF file')] + \
        junit(report, {"junk": r"^refused: not an ELF file", "good": None}), c.log()


def test_timeout(fmt, tmp):
    report = os.path.join(tmp, "timeout.xml")
    c = Call(fmt_args(fmt) + ["--timeout", "4", "--junit", report,
                              os.path.join(build_dir(fmt), "tests/guests/spinner.elf"), "name=spin"])
    return [status(c, 5), says(c, r'guest "spin": still running at the time-out'),
            says(c, r"time-out")] + \
        junit(report, {"spin": r"time-out", "hypervisor": r"^time-out"}), c.log()


def test_bad_hypervisor(fmt, tmp):
    c = Call(fmt_args(fmt) + ["--hypervisor", src("tests/data/not-elf.txt"),
                              os.path.join(build_dir(fmt), "guests/hello.elf")])
    return [status(c, 6), says(c, r"QEMU exited with status")], c.log()


def test_cpu_refused(fmt, tmp):
    report = os.path.join(tmp, "cpu.xml")
    c = Call(fmt_args(fmt) + ["--cpu", "486", "--junit", report,
                              os.path.join(build_dir(fmt), "guests/hello.elf"), "name=h"])
    return [status(c, 6), says(c, r"^umbra-boot: this CPU \(GenuineIntel family 4 model 8\) "
                                  r"cannot run umbra: no CMOV, no TSC, no FXSR"),
            says(c, r'guest "h": never started: the CPU was refused')] + \
        junit(report, {"h": r"the CPU was refused", "hypervisor": r"cannot run umbra"}), c.log()


def test_bad_arguments(fmt, tmp):
    hello = os.path.join(build_dir(fmt), "guests/hello.elf")
    calls = [
        (["/nonexistent/guest.elf", "name=a"], r"guest file '/nonexistent/guest.elf' not found"),
        ([hello, "name=has/slash"], r"name=has/slash: use 1-31 letters"),
        (["--guest", hello + " junk"], r"'junk' is not OPTION=VALUE"),
        ([hello, "name=a", hello, "name=a"], r"both called 'a'"),
        (["name=a", hello], r"'name=a' comes before any guest file"),
        ([hello, "mem=8M", "mem=16M"], r"mem= is given twice"),
        ([], r"no guest given"),
        (["--timeout", "0", hello], r"--timeout must be a positive"),
        (["--cmdline", "exit=halt", hello], r"needs exit=qemu"),
    ]
    checks, log = [], ""
    for args, pattern in calls:
        c = Call(fmt_args(fmt) + args)
        checks += [status(c, 2), says(c, pattern)]
        log += c.log()
    c = Call(["--format", "3level", hello])
    checks += [status(c, 2), says(c, r"argument --format: invalid choice: '3level'")]
    return checks, log + c.log()


TESTS = [test_example, test_killed, test_nonzero_exit, test_refused, test_timeout,
         test_bad_hypervisor, test_cpu_refused, test_bad_arguments]


def run(test, fmt):
    """(checks, log) of one test in one format, in a temporary directory of its own."""
    with tempfile.TemporaryDirectory(prefix="umbra-tool-") as tmp:
        try:
            return test(fmt, tmp)
        except Exception as e:      # a test that breaks is a failing test, not a dead run
            return [("runs", "%s: %s" % (type(e).__name__, e))], ""
