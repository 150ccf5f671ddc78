"""The boot tests: each case is a set of modules and what must be seen.

Every case runs in both paging formats. Besides its own expectations each
case checks what must hold in every run: the hypervisor powers off (no
time-out, no panic), no guest prints a FAIL line, and the free-frame count
after all guests have ended equals the count before they were loaded.
"""

import re

from harness import src

HELLO = "guests/hello.elf"
T = "tests/guests/"


def other(fmt):
    return "pae" if fmt == "nopae" else "nopae"


class Case:
    def __init__(self, name, modules, ok=True, expect=(), reject=(), **boot):
        self.name = name
        self.modules = modules      # function of fmt, or a list
        self.ok = ok                # the run as a whole should succeed
        self.expect = expect        # regexes the log must contain
        self.reject = reject        # regexes it must not contain
        self.boot = boot            # more Boot fields

    def module_list(self, fmt):
        return self.modules(fmt) if callable(self.modules) else self.modules


CASES = [
    Case("two_hello", [(HELLO, "name=a mem=16M code=0"), (HELLO, "name=b mem=8M code=0")],
         expect=[r'guest "a" shut down with exit code 0', r'guest "b" shut down with exit code 0',
                 r"\[a\] PASS memory", r"\[b\] PASS memory", r"^  a +exit 0$",
                 r"boot to first guest: \d+ instructions"]),
    Case("iso_grub", [], iso=True, timeout=120,
         expect=[r'guest "hello1" shut down with exit code 0',
                 r'guest "hello2" shut down with exit code 0', r"powering off: success"]),
    Case("nonzero_exit", [(HELLO, "name=ok code=0"), (HELLO, "name=three code=3")], ok=False,
         expect=[r'guest "three" shut down with exit code 3', r"^  three +exit 3$",
                 r'guest "ok" shut down with exit code 0', r"powering off: failure"]),
    Case("not_elf", [(src("tests/data/not-elf.txt"), "name=junk"), (HELLO, "name=good")], ok=False,
         expect=[r"module 0 \(.*not-elf.txt, name=junk\) refused: not an ELF file",
                 r'guest "good" shut down with exit code 0']),
    Case("too_large", [(HELLO, "name=huge mem=1G"), (HELLO, "name=good")], ok=False,
         expect=[r"module 0 .*name=huge mem=1G\) refused: not enough memory: 1048576 KiB asked",
                 r'guest "good" shut down with exit code 0']),
    Case("bad_mem_arg", [(HELLO, "name=odd mem=12345"), (HELLO, "name=good")], ok=False,
         expect=[r"refused: mem=12345: expected a whole number of pages",
                 r'guest "good" shut down with exit code 0']),
    Case("wrong_paging", lambda fmt: [("../%s/%s" % (other(fmt), HELLO), "name=alien"),
                                      (HELLO, "name=good")], ok=False,
         expect=[r"name=alien\) refused: built for (PAE|2-level) paging; this hypervisor uses",
                 r'guest "good" shut down with exit code 0']),
    Case("unknown_hypercall", [(T + "hcall_unknown.elf", "name=rogue"), (HELLO, "name=good")],
         ok=False,
         expect=[r'guest "rogue" killed: unknown hypercall 999', r"^  rogue +killed: unknown",
                 r'guest "good" shut down with exit code 0'],
         reject=[r"still running"]),
    Case("console_beyond", [(T + "console_bad.elf", "name=beyond where=beyond"), (HELLO, "name=good")],
         ok=False, expect=[r'guest "beyond" killed: console_write: buffer 0x1001000\+16 is not mapped',
                           r'guest "good" shut down with exit code 0']),
    Case("console_cross", [(T + "console_bad.elf", "name=cross where=cross"), (HELLO, "name=good")],
         ok=False, expect=[r'guest "cross" killed: console_write: buffer 0xfffff8\+16 is not mapped at 0x1000000',
                           r'guest "good" shut down with exit code 0']),
    Case("console_null", [(T + "console_bad.elf", "name=nul where=null"), (HELLO, "name=good")],
         ok=False, expect=[r'guest "nul" killed: console_write: buffer 0x10\+16 is not mapped at 0x10']),
    Case("console_huge", [(T + "console_bad.elf", "name=huge where=huge"), (HELLO, "name=good")],
         ok=False, expect=[r'guest "huge" killed: console_write: length 2147483647 exceeds 4096']),
    Case("null_deref", [(T + "null_deref.elf", "name=nullptr"), (HELLO, "name=good")], ok=False,
         expect=[r'guest "nullptr" killed: unhandled page fault \(vector 14\) at eip 0x[0-9a-f]+, address 0x8, error code 0x0',
                 r'guest "good" shut down with exit code 0']),
    Case("no_modules", [], ok=False, expect=[r"no guest modules were given; nothing to run"]),
    Case("bad_options", [(HELLO, "name=good")], cmdline="exit=qemu loglevel=7 frobnicate=1",
         expect=[r"command line: loglevel=7: expected 0, 1 or 2",
                 r"command line: unknown option 'frobnicate' ignored"]),
    Case("bad_name", [(HELLO, "name=has/slash"), (HELLO, "name=good")], ok=False,
         expect=[r"refused: name=has/slash: use 1-31 letters"]),
]


def common_checks(result, fmt, case):
    """Yield (check name, problem or None) for what every run must show."""
    from harness import STATUS_OK, STATUS_FAIL
    log = result.log
    if result.status is None:
        yield "powers off", "timed out"
    else:
        want = STATUS_OK if case.ok else STATUS_FAIL
        yield "exit status", None if result.status == want else \
            "QEMU exit status %s, expected %s" % (result.status, want)
    yield "no panic", "PANIC in log" if "PANIC" in log else None
    fails = re.findall(r"^\[[^\]]+\] FAIL .*$", log, re.M)
    yield "no FAIL lines", "; ".join(fails) if fails else None
    m = re.search(r"frames free: (\d+) before guests, (\d+) after", log)
    if m:
        yield "no frame leaked", None if m.group(1) == m.group(2) else m.group(0)
    for pat in case.expect:
        yield "log has /%s/" % pat, None if re.search(pat, log, re.M) else "not found"
    for pat in case.reject:
        yield "log lacks /%s/" % pat, "found" if re.search(pat, log, re.M) else None
