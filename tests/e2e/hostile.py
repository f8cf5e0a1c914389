#!/usr/bin/env python3
"""Hostile and enormous input: coroner must never crash, hang, or lose a good record.

    python3 tests/e2e/hostile.py path/to/coroner

Every input is generated into a temporary directory at test time. Each case checks:
- no crash (no signal, no sanitizer report) and no hang (a timeout per case);
- the exit status the man page gives: 0 or 1 when the log was read, 2 for a usage or input error;
- stderr: nothing when the log was read; exactly one line "coroner: FILE...: why" on exit 2;
- every good record counted (the JSON report's input.records), bad lines counted, nothing more.
The replayed fuzzer findings in tests/fuzz/regressions/ get the same checks.
Prints one line a case; exits 1 when any failed.
"""

import gzip
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib

HERE = pathlib.Path(__file__).resolve().parent
REGRESSIONS = HERE.parent / "fuzz" / "regressions"
CASE_TIMEOUT = 120  # seconds; generous for sanitizer builds, far below "hung"

failures = []
notes = []


class Result:
    def __init__(self, code, out, err, seconds, maxrss_kb):
        self.code, self.out, self.err, self.seconds, self.maxrss_kb = code, out, err, seconds, maxrss_kb

    def report(self):
        try:
            return json.loads(self.out)
        except ValueError:
            return None


def run(args, stdin=None, shell=False, restore_signals=True, timeout=CASE_TIMEOUT):
    """Runs coroner (or a shell line); returns its status, output, time and peak memory."""
    start = time.monotonic()
    stdin_arg = subprocess.DEVNULL if stdin is None else stdin
    p = subprocess.Popen(args, stdin=stdin_arg, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         shell=shell, executable="/bin/bash" if shell else None,
                         restore_signals=restore_signals, start_new_session=True)
    chunks = {"out": [], "err": []}

    def drain(stream, key):
        for block in iter(lambda: stream.read(1 << 20), b""):
            chunks[key].append(block)

    readers = [threading.Thread(target=drain, args=(p.stdout, "out")),
               threading.Thread(target=drain, args=(p.stderr, "err"))]
    for t in readers:
        t.start()
    timer = threading.Timer(timeout, lambda: os.killpg(p.pid, signal.SIGKILL))
    timer.start()
    _, status, usage = os.wait4(p.pid, 0)
    timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join()
    seconds = time.monotonic() - start
    if seconds >= timeout:
        p.returncode = "timeout"
    return Result(p.returncode, b"".join(chunks["out"]), b"".join(chunks["err"]).decode("utf-8", "replace"),
                  seconds, usage.ru_maxrss)


def check(name, res, codes, records=None, bad=None, folded=None, damage=None, err_names=None,
          err_lines=None, extra=None):
    """Judges one run; records the failure with its reasons."""
    problems = []
    if res.code == "timeout":
        problems.append(f"no exit within {CASE_TIMEOUT}s (hang)")
    elif isinstance(res.code, int) and res.code < 0:
        problems.append(f"killed by signal {-res.code}")
    elif res.code not in codes:
        problems.append(f"exit {res.code}, expected {' or '.join(map(str, codes))}")
    err_text = res.err.strip("\n")
    lines = err_text.splitlines() if err_text else []
    if any(s in res.err for s in ("Sanitizer", "runtime error", "terminate called", "Assertion",
                                  "Aborted", "Segmentation")):
        problems.append("crash report on stderr: " + res.err[:300])
    if err_lines is None:
        err_lines = (1, 1) if res.code == 2 else (0, 0)
    if not err_lines[0] <= len(lines) <= err_lines[1]:
        problems.append(f"{len(lines)} stderr lines, expected {err_lines[0]}..{err_lines[1]}: {res.err[:300]!r}")
    if res.code == 2 and lines:
        if not lines[0].startswith("coroner: "):
            problems.append(f"stderr line does not start with 'coroner: ': {lines[0]!r}")
        for n in err_names or []:
            if n not in lines[0]:
                problems.append(f"stderr line does not name {n!r}: {lines[0]!r}")
    # A damaged input exits 2 after its report: the report of the lines before the damage.
    reported = res.code in (0, 1) or (res.code == 2 and damage is not None and res.out.strip())
    if any(v is not None for v in (records, bad, folded, damage)) and reported:
        rep = res.report()
        if rep is None:
            problems.append("stdout is not a JSON report")
        else:
            inp = rep["input"]
            for key, want in (("records", records), ("bad_lines", bad), ("folded_stages", folded)):
                if want is None:
                    continue
                got = inp[key]
                ok = got in want if isinstance(want, range) else got == want
                if not ok:
                    problems.append(f"input.{key} = {got}, expected {want}")
            if damage is not None and not any(damage in d for d in inp["damage"]):
                problems.append(f"no damage note containing {damage!r}: {inp['damage']}")
    if extra:
        problems.extend(p for p in (extra(res),) if p)
    status = "ok" if not problems else "FAIL"
    print(f"{status:4} {name:40} exit {res.code!s:8} {res.seconds:6.2f}s"
          + ("" if not problems else "\n       " + "\n       ".join(problems)), flush=True)
    if problems:
        failures.append(name)


def record(i, stage="work", task=None, extra=""):
    return '{"ts":%d.%03d,"task_id":"t%d","stage":"%s"%s}\n' % (
        1795578788 + i // 1000, i % 1000, i % 7 if task is None else task, stage, extra)


def good_lines(n, offset=0):
    """n valid records of tasks that start, work and finish."""
    out = []
    for i in range(offset, offset + n):
        out.append(record(i, ("start", "work", "done")[i % 3], task=i // 3))
    return "".join(out)


def main():
    if len(sys.argv) != 2:
        print("usage: hostile.py CORONER", file=sys.stderr)
        return 2
    coroner = os.path.abspath(sys.argv[1])
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="coroner-hostile-"))
    started = time.monotonic()
    try:
        cases(coroner, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for n in notes:
        print("note:", n)
    total = time.monotonic() - started
    if failures:
        print(f"hostile: {len(failures)} case(s) failed: {', '.join(failures)} ({total:.0f}s)")
        return 1
    print(f"hostile: all cases passed ({total:.0f}s)")
    return 0


def cases(coroner, tmp):
    C = coroner
    J = [C, "--format", "json", "--color", "never"]

    def write(name, data, mode="w"):
        p = tmp / name
        with open(p, mode) as f:
            f.write(data)
        return str(p)

    # --- bytes that are not text -------------------------------------------------------------
    p = write("nul.jsonl", good_lines(3) + '{"ts":1,"task_id":"a\\u0000b","stage":"x"}\n'
              + '{"ts":2,"task_id":"a","stage":"x\x00y"}\n' + "\x00\x00\x00\x00\n"
              + '\x00{"ts":3,"task_id":"a","stage":"x"}\n' + good_lines(3, 3))
    check("NUL bytes", run(J + [p]), (0, 1), records=range(7, 9), bad=range(2, 4))

    p = write("utf8.jsonl", (good_lines(3) + '{"ts":1,"task_id":"a","stage":"\xff\xfe"}\n'
                             + '{"ts":1,"task_id":"\xc3\x28","stage":"x"}\n'
                             + '{"ts":1,"task_id":"a","stage":"\xed\xa0\x80"}\n'
                             + "\xff\xfe\xfd\n" + good_lines(3, 3)).encode("latin-1"), "wb")
    # Bytes outside UTF-8 in a JSON line read as Windows-1252 (a surrogate's encoding too): the
    # three records are read, the report is valid UTF-8 (report() decodes it); a line of such
    # bytes alone is no JSON, a bad line.
    check("invalid UTF-8", run(J + ["--top", "0", p]), (0, 1), records=9, bad=1)

    # --- structure ---------------------------------------------------------------------------
    deep = 100_000
    p = write("deep.jsonl", good_lines(2)
              + '{"ts":2,"task_id":"t1","stage":"x","deep":' + "[" * deep + "]" * deep + "}\n"
              + '{"ts":3,"task_id":"t1","stage":"x","deep":' + '{"a":' * deep + "1" + "}" * deep + "}\n"
              + '{"extra":' * deep + "{}" + "}" * deep + "\n"
              + "[" * deep + "\n" + '{"task_id":' * deep + "\n"
              + good_lines(2, 2))
    # The deep values no role reads are skipped like any other field; what cannot be parsed is
    # a bad line; either way the four good records around them are counted.
    check("deeply nested objects and arrays", run(J + [p]), (0, 1), records=range(4, 8),
          extra=lambda r: None if r.report() and r.report()["input"]["records"]
          + r.report()["input"]["bad_lines"] == 9 else "records + bad lines != 9 lines")
    field = ".".join(["extra"] * 12) + ".task_id"
    # No record has the path: a log that names no task is an input error, told on one line.
    check("deep --field path", run(J + ["--field", "task=" + field, p]), (2,),
          err_names=["no record names a task", "looked for " + field])

    p = write("numbers.jsonl", good_lines(3)
              + '{"ts":1e400,"task_id":"n1","stage":"start"}\n'            # time out of range
              + '{"ts":-1e400,"task_id":"n1","stage":"x"}\n'
              + '{"ts":123456789012345678901234567890,"task_id":"n1","stage":"x"}\n'
              + '{"ts":1795578788,"task_id":123456789012345678901234567890,"stage":"x"}\n'
              + '{"ts":1795578789,"task_id":"n2","stage":"x","timeout":1e999}\n'
              + '{"ts":1795578789,"task_id":"n2","stage":"x","timeout":-1e999}\n'
              + '{"ts":1795578789,"task_id":"n2","stage":"x","timeout":1e308,"attempt":1e999}\n'
              + '{"ts":1795578789,"task_id":"n2","stage":"x","pid":1e999,"level":1e999}\n'
              + '{"ts":1e-400,"task_id":"n3","stage":"x","awaits":[1e999,-1e999]}\n'
              + good_lines(3, 3))
    check("numbers out of range", run(J + [p]), (0, 1), records=15, bad=0)

    p = write("nan.jsonl", good_lines(3)
              + '{"ts":NaN,"task_id":"a","stage":"x"}\n'
              + '{"ts":Infinity,"task_id":"a","stage":"x"}\n'
              + '{"ts":-Infinity,"task_id":"a","stage":"x"}\n'
              + '{"ts":1,"task_id":"a","stage":"x","timeout":NaN}\n'
              + '{"ts":"NaN","task_id":"a","stage":"x","timeout":"Infinity"}\n'
              + '{"ts":"Infinity","task_id":"a","stage":"x","timeout":"-inf"}\n'
              + '{"ts":"-Infinity","task_id":"a","stage":"x","timeout":"nan"}\n'
              + good_lines(3, 3))
    # NaN and Infinity are not JSON: a line is bad where coroner reads the value (the time);
    # ondemand parsing does not look at a value no role reads, nor past a '-' it takes for a
    # number, so those lines count as records (with an unreadable time).
    check("NaN and Infinity", run(J + [p]), (0, 1), records=range(9, 12),
          extra=lambda r: None if r.report() and r.report()["input"]["records"]
          + r.report()["input"]["bad_lines"] == 13 else "records + bad lines != 13 lines")

    p = write("task_types.jsonl", good_lines(3)
              + '{"ts":1,"task_id":{"id":7},"stage":"start"}\n'
              + '{"ts":2,"task_id":[1,2,3],"stage":"start"}\n'
              + '{"ts":3,"task_id":1.5,"stage":"start"}\n'
              + '{"ts":4,"task_id":-0.0e0,"stage":"start"}\n'
              + '{"ts":5,"task_id":true,"stage":"start"}\n'
              + '{"ts":6,"task_id":null,"stage":"start"}\n'
              + '{"ts":7,"task_id":"","stage":"start"}\n'
              + '{"ts":8,"task_id":"x","stage":{"a":1},"status":[1],"parent_id":{"p":1},'
                '"awaits":[{"a":1},[2],null,"y"],"exception":{"type":"E"}}\n'
              + good_lines(3, 3))
    check("task ids: objects, arrays, floats", run(J + [p]), (0, 1), records=14, bad=0)
    check("task ids (text report)", run([C, "--color", "never", p]), (0, 1))

    # --- size --------------------------------------------------------------------------------
    n = 1_000_000
    p = str(tmp / "stages.jsonl")
    with open(p, "w") as f:
        step = 100_000
        for base in range(0, n, step):
            f.write("".join('{"ts":%d,"task_id":"t%d","stage":"s%d"}\n' % (i, i % 1000, i)
                            for i in range(base, base + step)))
    def says_folded(r):
        # "stages: too many distinct names; 990000 records folded into '(other)'"
        line = next((l for l in r.out.decode().splitlines() if "'(other)'" in l), "")
        digits = "".join(c for c in line.split(";")[-1] if c.isdigit())
        return None if digits == str(n - 10_000) else f"the report does not fold {n - 10_000}: {line!r}"
    check("a million stage names", run([C, "--color", "never", p]), (0, 1), extra=says_folded)

    p = str(tmp / "bigline.jsonl")
    with open(p, "wb") as f:
        f.write(good_lines(3).encode())
        f.write(b'{"ts":1795578790,"task_id":"big","stage":"start","blob":"')
        for _ in range(100):
            f.write(b"a" * (1 << 20))
        f.write(b'"}\n')
        f.write(good_lines(3, 3).encode())
        for _ in range(100):
            f.write(b"x" * (1 << 20))
        f.write(b"\n")
        f.write(good_lines(3, 6).encode().rstrip(b"\n"))  # and no final newline
    check("100 MB lines", run(J + [p]), (0, 1), records=10, bad=1)

    # A crash's zero-filled tail, longer than any record (600 MB, no newline until its end):
    # one bad line, the records around it kept, and memory bounded by the line cap (256 MiB;
    # about 430 MB at peak, 700 MB under ASan), where it once grew with the line (1.6 GB here).
    p = str(tmp / "zerotail.jsonl")
    with open(p, "wb") as f:
        f.write(good_lines(3).encode())
        for _ in range(600):
            f.write(bytes(1 << 20))
        f.write(b"\n" + good_lines(3, 3).encode())
    check("600 MB of zeros in one line", run(J + [p]), (0, 1), records=6, bad=1,
          extra=lambda r: None if r.maxrss_kb < 1_000_000 else f"peak {r.maxrss_kb} KB")
    os.remove(p)

    # --- compressed --------------------------------------------------------------------------
    log = good_lines(60_000).encode()
    gz = gzip.compress(log, mtime=0)
    cut = gz[: len(gz) // 2]
    p = write("cut.jsonl.gz", cut, "wb")
    prefix = zlib.decompressobj(wbits=31).decompress(cut)
    whole = prefix.count(b"\n")
    # The report of the lines before the damage, then exit 2 with one line saying so, as zcat
    # does: a script's `coroner -q logs/*.gz || fail` must not pass on half a log.
    told = ["truncated", "covers only the lines before it"]
    check("truncated gzip", run(J + [p]), (2,), records=whole, bad=range(0, 2),
          damage="truncated", err_names=told)
    check("truncated gzip on stdin", run(J, stdin=open(p, "rb")), (2,), records=whole,
          bad=range(0, 2), damage="truncated", err_names=told)
    check("truncated gzip, -q", run([C, "-q", p]), (2,), err_names=told,
          extra=lambda r: None if r.out == b"" else "-q wrote a report")
    p = write("garbage.jsonl.gz", gz[:100] + bytes(range(256)) * 4 + gz[1124:], "wb")
    check("corrupt gzip", run(J + [p]), (2,), err_names=["corrupt"])

    if shutil.which("zstd"):
        zst = subprocess.run(["zstd", "-q", "-c", "-3"], input=log, capture_output=True,
                             check=True).stdout
        p = write("cut.jsonl.zst", zst[: len(zst) // 2], "wb")
        check("truncated zstd", run(J + [p]), (2,), records=range(1, log.count(b"\n")),
              bad=range(0, 2), damage="truncated", err_names=told)
    else:
        notes.append("truncated zstd: the `zstd` program is not installed; used the shipped fixture")
    fixture = HERE.parent / "fixtures" / "seed_print.jsonl.zst"
    data = fixture.read_bytes()
    p = write("cut_fixture.jsonl.zst", data[: len(data) - 40], "wb")
    check("truncated zstd (fixture)", run(J + [p]), (2,), err_names=["truncated"])

    # 1000x (deflate's ceiling is 1032x): 100 MB of records, 4 MB of padding each, from ~100 KB.
    pad = b"p" * (4 << 20)
    bomb_lines = 25
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = []
    for i in range(bomb_lines):
        line = record(i, ("start", "done")[i % 2], task=i // 2, extra=',"pad":"@"').encode()
        parts.append(z.compress(line.replace(b"@", pad)))
    parts.append(z.flush())
    bomb = b"".join(parts)
    ratio = bomb_lines * len(pad) / len(bomb)
    p = write("bomb.jsonl.gz", bomb, "wb")
    check(f"gzip expanding {ratio:.0f}x", run(J + [p]), (0, 1), records=bomb_lines, bad=0,
          extra=lambda r: None if ratio >= 1000 else f"the bomb only expands {ratio:.0f}x")
    check(f"gzip expanding {ratio:.0f}x on stdin", run(J + ["-"], stdin=open(p, "rb")), (0, 1),
          records=bomb_lines, bad=0)

    # --- files that are not logs -------------------------------------------------------------
    p = write("empty.jsonl", "")
    check("empty file", run([C, p]), (2,), err_names=[p])
    check("/dev/null", run([C, "/dev/null"]), (2,), err_names=["/dev/null"])
    check("empty stdin", run([C, "-"], stdin=open(p, "rb")), (2,), err_names=["<stdin>"])
    check("a directory", run([C, str(tmp)]), (2,), err_names=[str(tmp)])
    check("a missing file", run([C, str(tmp / "nope.jsonl")]), (2,), err_names=["nope.jsonl"])
    p = write("only_bad.jsonl", "not json\n{broken\n[1,2]\n")
    check("no valid line", run([C, p]), (2,), err_names=[p])
    good = write("good.jsonl", good_lines(30))
    check("a missing file after a good one", run([C, good, str(tmp / "nope.jsonl")]), (2,),
          err_names=["nope.jsonl"])
    p = write("strict.jsonl", good_lines(3) + "oops\n" + good_lines(3, 3))
    check("--strict and a bad line", run([C, "--strict", p]), (2,), err_names=[p + ":4"])
    p = write("unreadable.jsonl", good_lines(3))
    os.chmod(p, 0)
    if os.geteuid() == 0:
        notes.append("unreadable file: skipped, running as root (chmod 000 does not stop root)")
        print("skip unreadable file                    (euid 0: root reads a chmod 000 file)")
    else:
        check("an unreadable file", run([C, p]), (2,), err_names=[p])

    # --- output ------------------------------------------------------------------------------
    check("-o into a missing directory", run([C, "-o", str(tmp / "no" / "out.txt"), good]), (2,),
          err_names=["out.txt"])
    check("-o onto a directory", run([C, "-o", str(tmp), good]), (2,), err_names=[str(tmp)])
    if os.path.exists("/dev/full"):
        check("-o /dev/full", run([C, "-o", "/dev/full", good]), (2,), err_names=["/dev/full"])
        check("stdout on /dev/full", run(f"'{C}' '{good}' >/dev/full", shell=True), (2,),
              err_names=["stdout"])
    if os.geteuid() != 0:
        ro = tmp / "ro"
        ro.mkdir()
        os.chmod(ro, 0o555)
        check("-o in a read-only directory", run([C, "-o", str(ro / "out.txt"), good]), (2,),
              err_names=["out.txt"])

    # A big report into a pipe that closes after one line: quiet, and no later than without it.
    big = str(tmp / "big.jsonl")
    with open(big, "w") as f:
        for base in range(0, 100_000, 50_000):
            f.write("".join(record(i, "start" if i % 3 else "work", task=i // 3)
                            for i in range(base, base + 50_000)))
    alone = run([C, "--format", "ndjson", big])
    def quick(r):
        printed = r.out.count(b"\n")
        if printed != 1:
            return f"head printed {printed} lines"
        return None if r.seconds < alone.seconds * 2 + 5 else f"took {r.seconds:.1f}s (alone {alone.seconds:.1f}s)"
    for fmt_ in ("ndjson", "text"):
        check(f"| head -1 ({fmt_})",
              run(f"set -o pipefail; '{C}' --format {fmt_} '{big}' | head -1; s=$?; "
                  f"[ $s -eq 141 ] || [ $s -le 1 ]", shell=True),
              (0,), extra=quick)
    # With SIGPIPE ignored (a parent that ignores it) the write fails with EPIPE: still quiet.
    check("| head -1, SIGPIPE ignored",
          run(f"'{C}' --format ndjson '{big}' | head -1", shell=True, restore_signals=False),
          (0, 1), extra=quick)

    # --- a file that changes while it is read ------------------------------------------------
    p = str(tmp / "growing.jsonl")
    first = 100_000
    with open(p, "w") as f:
        f.write(good_lines(first))
    stop = threading.Event()

    def grow():
        i = first
        with open(p, "a") as f:
            while not stop.is_set() and i < first + 100_000:
                f.write(good_lines(1000, i))
                f.flush()
                i += 1000
    writer = threading.Thread(target=grow)
    writer.start()
    res = run(J + [p])
    stop.set()
    writer.join()
    check("a file that grows while read", res, (0, 1), records=range(first, first + 100_001),
          bad=range(0, 2))

    p = str(tmp / "shrinking.jsonl")
    keep = 1000
    with open(p, "w") as f:
        f.write(good_lines(keep))
        for base in range(keep, 1_000_000, 100_000):
            f.write(good_lines(100_000, base))
    size_kept = len(good_lines(keep).encode())
    proc_args = J + [p]
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", run(proc_args)))
    t.start()
    time.sleep(0.05)
    os.truncate(p, size_kept)
    t.join()
    check("a file truncated while read", result["r"], (0, 1), records=range(keep, 1_000_001),
          bad=range(0, 2))

    # --- what the fuzzers found --------------------------------------------------------------
    if REGRESSIONS.is_dir():
        for f in sorted(REGRESSIONS.iterdir()):
            if f.name.endswith(".md") or f.is_dir():  # pending/: bugs not fixed yet
                continue
            for fmt_ in ("json", "text", "ndjson"):
                res = run([C, "--format", fmt_, "--color", "never", str(f)])
                check(f"regression {f.name} ({fmt_})", res, (0, 1, 2),
                      err_lines=(0, 1), err_names=[f.name])


if __name__ == "__main__":
    sys.exit(main())
