"""What umbra's serial console says, read into facts: guests, refusals, summary, power-off.

The hypervisor's own lines start with "umbra: " (hypervisor/main.c,
guest.c, loader.c, panic.c and arch/x86/trap.c print them); a guest's
lines are "[NAME] text", and NAME is one of the 1-31 letters, digits, '-',
'_' or '.' the loader allows. A guest cannot start a line of its own,
since the hypervisor puts its name in front of everything it prints, so a
line is the hypervisor's exactly when it starts with "umbra: ". Within a
guest's output, "PASS what" and "FAIL what: why" are its checks (the guest
runtime's umbra_pass and umbra_fail). Lines this module does not know are
kept in the guest's output or ignored; a summary row that does not parse
is noted in `problems`, since the summary is what the verdict trusts.
"""

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

NAME = r"[A-Za-z0-9._-]{1,31}"

BOOTING = re.compile(r"^umbra: booting \((.*) paging\)$")
LOADED = re.compile(r'^umbra: guest "(%s)" loaded: (.*)$' % NAME)
EXITED = re.compile(r'^umbra: guest "(%s)" shut down with exit code (\d+)$' % NAME)
KILLED = re.compile(r'^umbra: guest "(%s)" killed: (.*)$' % NAME)
REFUSED = re.compile(r"^umbra: module (\d+) \((.*)\) refused: (.*)$")
ALL_ENDED = "umbra: all guests have ended"
SUMMARY_HEADER = re.compile(r"^  guest +run ms +switches +result$")
SUMMARY_ROW = re.compile(r"^  (%s) +(\d+) +(\d+)  (exit (\d+)|killed: (.*))$" % NAME)
FRAMES = re.compile(r"^umbra: frames free: (\d+) before guests, (\d+) after$")
LEAK = re.compile(r"^umbra: LEAK: (.*)$")
POWER_OFF = re.compile(r"^umbra: powering off: (success|failure)$")
PANIC = re.compile(r"^umbra: PANIC: (.*)$")
CPU_REFUSED = re.compile(r"^umbra: this CPU \((.*)\) cannot run umbra: (.*)$")
EXCEPTION = re.compile(r"^umbra: hypervisor exception: (.*)$")
NO_MODULES = "umbra: no guest modules were given; nothing to run"
NONE_LOADED = "umbra: no guest could be loaded"
GUEST_LINE = re.compile(r"^\[(%s)\](?: (.*))?$" % NAME)
CHECK = re.compile(r"^(PASS|FAIL) (.*)$")


@dataclass
class Check:
    passed: bool
    name: str       # "what": the text before the first ": "
    detail: str     # the rest: a PASS line's figures, a FAIL line's reason
    line: str       # the whole line, without the guest's prefix


@dataclass
class Row:
    """One line of the summary table the hypervisor prints at the end."""
    name: str
    run_ms: int
    switches: int
    exit_code: Optional[int]
    killed: Optional[str]


@dataclass
class Guest:
    name: str
    loaded: bool = False            # its "loaded:" line (loglevel 1 and up) was seen
    exit_code: Optional[int] = None
    killed: Optional[str] = None    # the reason it was killed
    output: List[str] = field(default_factory=list)
    checks: List[Check] = field(default_factory=list)
    row: Optional[Row] = None       # its summary row

    @property
    def ended(self):
        return self.exit_code is not None or self.killed is not None


@dataclass
class Refusal:
    index: int      # the module's position, from 0
    path: str
    line: str       # its module line, after the path
    reason: str


@dataclass
class Console:
    paging: Optional[str] = None    # "2-level" or "PAE", from the first line
    guests: Dict[str, Guest] = field(default_factory=dict)   # in order of first mention
    refused: List[Refusal] = field(default_factory=list)
    ended: bool = False             # "all guests have ended" was printed
    summary: List[Row] = field(default_factory=list)
    frames: Optional[Tuple[int, int]] = None    # free frames before guests, after
    leak: Optional[str] = None
    power_off: Optional[str] = None  # "success" or "failure"
    panic: Optional[str] = None
    cpu_refused: Optional[Tuple[str, str]] = None   # the CPU, and what it lacks
    exception: Optional[str] = None
    no_modules: bool = False
    none_loaded: bool = False
    problems: List[str] = field(default_factory=list)

    def guest(self, name):
        if name not in self.guests:
            self.guests[name] = Guest(name)
        return self.guests[name]

    @property
    def checks(self):
        return [(g.name, c) for g in self.guests.values() for c in g.checks]


def split_check(text):
    what, sep, rest = text.partition(": ")
    return (what, rest) if sep else (text, "")


def parse(log):
    c = Console()
    in_summary = False
    for line in log.split("\n"):
        if in_summary:
            if SUMMARY_HEADER.match(line):
                continue
            m = SUMMARY_ROW.match(line)
            if m:
                row = Row(m.group(1), int(m.group(2)), int(m.group(3)),
                          int(m.group(5)) if m.group(5) is not None else None, m.group(6))
                c.summary.append(row)
                c.guest(row.name).row = row
                continue
            if line.startswith("  "):
                c.problems.append("summary row not understood: %r" % line)
                continue
            in_summary = False
        parse_line(c, line)
        if line == ALL_ENDED:
            c.ended, in_summary = True, True
    return c


def parse_line(c, line):
    m = GUEST_LINE.match(line)
    if m:
        g, text = c.guest(m.group(1)), m.group(2) or ""
        g.output.append(text)
        m = CHECK.match(text)
        if m:
            what, detail = split_check(m.group(2))
            g.checks.append(Check(m.group(1) == "PASS", what, detail, text))
        return
    if not line.startswith("umbra: "):
        return
    m = EXITED.match(line)
    if m:
        g = c.guest(m.group(1))
        if g.ended:
            c.problems.append('guest "%s" ended twice' % g.name)
        else:
            g.exit_code = int(m.group(2))
        return
    m = KILLED.match(line)
    if m:
        g = c.guest(m.group(1))
        if g.ended:
            c.problems.append('guest "%s" ended twice' % g.name)
        else:
            g.killed = m.group(2)
        return
    m = LOADED.match(line)
    if m:
        c.guest(m.group(1)).loaded = True
        return
    m = REFUSED.match(line)
    if m:
        path, sep, rest = m.group(2).partition(", ")
        if not sep:
            path, rest = "", path
        c.refused.append(Refusal(int(m.group(1)), path, rest, m.group(3)))
        return
    for pattern, attr in ((PANIC, "panic"), (EXCEPTION, "exception"), (LEAK, "leak")):
        m = pattern.match(line)
        if m:
            if getattr(c, attr) is None:
                setattr(c, attr, m.group(1))
            return
    m = FRAMES.match(line)
    if m:
        c.frames = (int(m.group(1)), int(m.group(2)))
        return
    m = POWER_OFF.match(line)
    if m:
        c.power_off = m.group(1)
        return
    m = CPU_REFUSED.match(line)
    if m:
        c.cpu_refused = (m.group(1), m.group(2))
        return
    m = BOOTING.match(line)
    if m:
        c.paging = m.group(1)
        return
    if line == NO_MODULES:
        c.no_modules = True
    elif line == NONE_LOADED:
        c.none_loaded = True
