"""A boot's verdict as JUnit XML, the format GitLab, Jenkins and GitHub's reporters read.

One <testsuite> per boot, holding one <testcase> for the hypervisor (the
run as a whole: panic, leak, time-out, QEMU error), one per guest (its end:
exit code, kill reason or refusal) and one per PASS or FAIL line the guest
printed. A check's test case is named by the text before the first ": " of
its line, so that its name stays the same from run to run while figures in
the rest of the line change; repeated names get " (2)", " (3)". The
classname is umbra.<format>.<guest>, which Jenkins shows as package and
class. Text is stripped of characters XML 1.0 cannot hold.
"""

import re
import socket
import time
import xml.etree.ElementTree as ET

from . import outcome as oc

NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
KIND = {oc.GUEST_FAILED: "exit", oc.KILLED: "killed", oc.REFUSED: "refused",
        oc.TIMED_OUT: "timeout", oc.HYPERVISOR_FAILED: "hypervisor"}


def clean(s):
    return NOT_XML.sub("?", s)


def fmt_name(paging):
    return {"2-level": "nopae", "PAE": "pae"}.get(paging or "", "unknown")


def testcase(suite, classname, name, seconds, failure=None, output=None):
    case = ET.SubElement(suite, "testcase", classname=clean(classname), name=clean(name),
                         time="%.3f" % seconds)
    if failure is not None:
        kind, message, text = failure
        f = ET.SubElement(case, "failure", message=clean(message), type=kind)
        f.text = clean(text)
    if output:
        ET.SubElement(case, "system-out").text = clean(output)
    return case


def report(outcome, suite_name, log=""):
    """The XML tree for one outcome (outcome.Outcome); log is the serial log."""
    fmt = fmt_name(outcome.paging)
    root = ET.Element("testsuites", name=clean(suite_name))
    suite = ET.SubElement(root, "testsuite", name=clean(suite_name),
                          timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"),
                          hostname=socket.gethostname(), time="%.3f" % outcome.seconds)
    hv = outcome.hypervisor
    testcase(suite, "umbra." + fmt, "hypervisor", outcome.seconds,
             ("hypervisor", hv, hv + "\n") if hv else None, log)
    for g in outcome.guests:
        cls = "umbra.%s.%s" % (fmt, g.name)
        failure = None
        if g.status != 0:
            failure = (KIND[g.status], g.result, g.result + "\n")
        seconds = g.run_ms / 1000.0 if g.run_ms is not None else 0.0
        output = "".join("[%s] %s\n" % (g.name, line) for line in g.output)
        testcase(suite, cls, g.name, seconds, failure, output)
        seen = {}
        for ch in g.checks:
            seen[ch.name] = seen.get(ch.name, 0) + 1
            name = ch.name if seen[ch.name] == 1 else "%s (%d)" % (ch.name, seen[ch.name])
            failure = None if ch.passed else ("FAIL", ch.detail or ch.name, ch.line + "\n")
            testcase(suite, cls, "%s: %s" % (g.name, name), 0.0, failure, ch.line + "\n")
    cases = suite.findall("testcase")
    failures = sum(1 for c in cases if c.find("failure") is not None)
    for e in (root, suite):
        e.set("tests", str(len(cases)))
        e.set("failures", str(failures))
        e.set("errors", "0")
    suite.set("skipped", "0")
    root.set("time", suite.get("time"))
    return root


def write(outcome, path, suite_name, log=""):
    root = report(outcome, suite_name, log)
    ET.indent(root)
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        f.write(ET.tostring(root, encoding="unicode"))
        f.write("\n")
