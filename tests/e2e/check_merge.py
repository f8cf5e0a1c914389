#!/usr/bin/env python3
"""coroner partial and merge, end to end.

    python3 tests/e2e/check_merge.py build/coroner [--rounds N] [--seed S]

The property: for random logs and random splits of their records into shards (by line ranges,
by time, by task, a task's records cut across shards), `coroner merge` of the shards' states
finds what `coroner analyze` finds in the whole, unsplit log (each finding's task, kind, subkind
and reason, each task's outcome, the exit status): merge reads the shards' records by time. For
every split, merge of a state for each of the shards' files gives byte for byte the report
(text and json) that analyze gives over those files (several files are one log, merged by time
as well; a state read from several files holds them as one stream, so the examples of its bad
lines may come in another order); and merging in a
tree (`merge --emit-state`) gives byte for byte what merging all the states at once gives. Then
the errors a user meets: a log given as a state, a damaged or truncated state, another version,
states read with different options; each is one line and exit status 2, never a report.
"""

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import zlib

BINARY = None
FAILURES = []


def run(*args, input_bytes=None, max_files=None):
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    env.pop("NO_COLOR", None)
    limit = None
    if max_files:
        import resource
        limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (max_files, max_files))
    proc = subprocess.run([BINARY, *args], input=input_bytes, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=120, preexec_fn=limit,
                          stdin=None if input_bytes is not None else subprocess.DEVNULL)
    err = proc.stderr.decode("utf-8", "replace")
    for sign in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
        assert sign not in err, "sanitizer report: %s\n%s" % (args, err)
    assert proc.returncode >= 0, "killed by a signal: %s" % (args,)
    return proc.returncode, proc.stdout, err


def check(condition, what):
    if not condition:
        FAILURES.append(what)
        print("FAIL:", what[:3000], file=sys.stderr)


# ---- random logs --------------------------------------------------------------------------

STAGES = ["fetch", "parse", "transform", "save", "retry upload", "waiting for lock"]


def random_log(rng):
    """Lines of a log: tasks that end ok, fail, hang, time out, retry, await each other, log
    errors they swallow, with equal times, scopes, offsets and a few bad lines."""
    t0 = 1795610793.0 + rng.randrange(10 ** 6)
    tasks = ["t%d" % i for i in range(rng.randrange(3, 40))]
    events = []  # (time, line)
    offset = rng.choice(["Z", "+05:30", "-08:00", None])
    pids = rng.choice([[None], [11, 12]])

    def stamp(t):
        if offset is None:
            return t
        from datetime import datetime, timedelta, timezone
        if offset == "Z":
            tz = timezone.utc
        else:
            sign = 1 if offset[0] == "+" else -1
            h, m = offset[1:].split(":")
            tz = timezone(sign * timedelta(hours=int(h), minutes=int(m)))
        text = datetime.fromtimestamp(t, tz).isoformat(timespec="microseconds")
        return text.replace("+00:00", "Z")

    def record(t, task, pid, **fields):
        obj = {"ts": stamp(round(t, 6)), "task": task}
        if pid is not None:
            obj["pid"] = pid
        obj.update(fields)
        events.append((t, json.dumps(obj)))

    for task in tasks:
        pid = rng.choice(pids)
        t = t0 + rng.random() * 2
        if rng.random() < 0.2:
            t = round(t, 1)  # equal times across tasks
        record(t, task, pid, status="started")
        fate = rng.random()
        for step, stage in enumerate(rng.sample(STAGES[:4], rng.randrange(1, 4))):
            t += rng.choice([0.0, 0.001, 0.01, 0.05])
            fields = {"stage": stage}
            if rng.random() < 0.1:
                fields["error"] = "ValueError: bad row %d" % step
                fields["level"] = "error"
            if rng.random() < 0.15:
                fields["awaits"] = rng.choice(tasks)
            if rng.random() < 0.1:
                fields["attempt"] = step + 1
            record(t, task, pid, **fields)
        t += rng.choice([0.001, 0.02, 0.3])
        if fate < 0.55:
            record(t, task, pid, status="done")
        elif fate < 0.65:
            record(t, task, pid, status="failed", error="KeyError: 'id'", level="error")
        elif fate < 0.72:
            record(t, task, pid, stage="fetch timed out", level="error")
        elif fate < 0.78:
            record(t, task, pid, status="cancelled")
        # else: it hangs, its last record is its last word
    events.sort(key=lambda e: e[0])
    lines = [line for _, line in events]
    for _ in range(rng.randrange(0, 3)):
        lines.insert(rng.randrange(len(lines) + 1), "not json at all {")
    return lines


def split(rng, lines, how, shards):
    """The log's lines dealt into `shards` lists."""
    out = [[] for _ in range(shards)]
    if how == "lines":
        # Between records: in a file of JSON values written over several lines (pretty-printed
        # spans), only before a line that opens one; a cut inside a value would lose a record.
        starts = [i for i, line in enumerate(lines) if line.startswith("{")]
        spots = starts + [len(lines)] if 2 * len(starts) < len(lines) else range(len(lines) + 1)
        cuts = sorted(rng.choice(spots) for _ in range(shards - 1))
        bounds = [0] + cuts + [len(lines)]
        return [lines[bounds[i]:bounds[i + 1]] for i in range(shards)]
    if how == "task-cut":
        # Cut inside one task's records: its start in the first shard, its end in the last.
        tasks = [json.loads(l).get("task") for l in lines if l.startswith("{")]
        if tasks:
            victim = rng.choice(tasks)
            spots = [i for i, l in enumerate(lines) if '"task": "%s"' % victim in l]
            if len(spots) >= 2:
                cut = rng.randrange(spots[0] + 1, spots[-1] + 1)
                bounds = [0] + sorted([cut] + [rng.randrange(len(lines) + 1)
                                               for _ in range(shards - 2)]) + [len(lines)]
                return [lines[bounds[i]:bounds[i + 1]] for i in range(shards)]
        return split(rng, lines, "lines", shards)
    for line in lines:
        if how == "time" and line.startswith("{"):
            # by time: a shard each for consecutive slices of the log's second
            stamp = json.loads(line)["ts"]
            key = int(stamp * 10) if isinstance(stamp, float) else int(stamp[20:21] or 0)
            out[key % shards].append(line)
        elif how == "task" and line.startswith("{"):
            out[zlib.crc32(json.loads(line)["task"].encode()) % shards].append(line)
        else:
            out[rng.randrange(shards)].append(line)
    return out


def write(path, lines):
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))


def check_one_split(tmp, rng, lines, how, round_no, whole_log):
    shards = rng.randrange(2, 5)
    pieces = split(rng, lines, how, shards)
    files, states = [], []
    for i, piece in enumerate(pieces):
        # A shard is one file or two: partial reads several files into one state.
        names = []
        if len(piece) > 3 and rng.random() < 0.3:
            half = len(piece) // 2
            parts = [piece[:half], piece[half:]]
        else:
            parts = [piece]
        for k, part in enumerate(parts):
            name = os.path.join(tmp, "r%d-%s-s%d-%d.jsonl" % (round_no, how, i, k))
            write(name, part)
            names.append(name)
        state = os.path.join(tmp, "r%d-%s-s%d.state" % (round_no, how, i))
        status, _, err = run("partial", "-j", str(rng.choice([1, 2])), *names, "-o", state)
        check(status == 0, "partial %s: exit %d: %s" % (names, status, err))
        files += names
        states.append(state)
    # A state of several files holds them merged into one stream: a bad line in it waits for
    # that stream's next record, not its own file's. So analyze of the files is compared byte
    # for byte with merge of a state for each file.
    file_states = []
    for name in files:
        file_states.append(name + ".state")
        status, _, err = run("partial", name, "-o", file_states[-1])
        check(status == 0, "partial %s: exit %d: %s" % (name, status, err))
    label = "round %d, split by %s into %d" % (round_no, how, shards)
    flat = {}
    for fmt in ("text", "json"):
        flat[fmt] = run("merge", "-f", fmt, "-j", str(rng.choice([1, 2])), *states)
        # Several files are one log merged by time, as merge merges states: the same report
        # byte for byte, however the shards were cut.
        shards_read = run("analyze", "-f", fmt, "-j", str(rng.choice([1, 2])), *files)
        per_file = run("merge", "-f", fmt, *file_states)
        check(shards_read == per_file,
              "%s, %s: merge differs from analyze of the shards\nanalyze: %r\nmerge: %r"
              % (label, fmt, shards_read, per_file))
    status, whole, _ = run("analyze", "-f", "json", whole_log)
    merged_doc = json.loads(flat["json"][1])
    whole_doc = json.loads(whole)
    check(findings(whole_doc) == findings(merged_doc),
          "%s: merge finds otherwise than analyze of the whole log\nanalyze: %s\nmerge: %s"
          % (label, findings(whole_doc), findings(merged_doc)))
    check(outcomes(whole_doc) == outcomes(merged_doc),
          "%s: merge ends tasks otherwise than analyze of the whole log\nanalyze: %s\nmerge: %s"
          % (label, outcomes(whole_doc), outcomes(merged_doc)))
    check(status == flat["json"][0], "%s: merge exits %d, analyze of the whole %d"
          % (label, flat["json"][0], status))
    # Merging in a tree: adjacent pairs, level by level (merged states of merged states), to one.
    level, depth = states, 0
    while len(level) > 1:
        merged_level = []
        for k in range(0, len(level), 2):
            if k + 1 == len(level):
                merged_level.append(level[k])
                continue
            out = os.path.join(tmp, "r%d-%s-tree%d-%d.state" % (round_no, how, depth, k))
            status, _, err = run("merge", "--emit-state", out, level[k], level[k + 1])
            check(status == 0, "%s: merge --emit-state: %s" % (label, err))
            merged_level.append(out)
        level, depth = merged_level, depth + 1
    treed = run("merge", "-f", "json", *level)
    check(treed == flat["json"], "%s: a merge in a tree differs from the flat merge" % label)


def report_of(out):
    """The json report, or None when there is none (no record to report on)."""
    return json.loads(out) if out else None


def findings(doc):
    if doc is None:
        return None
    return sorted((f["task"], f["kind"], f.get("subkind") or "", f["reason"])
                  for f in doc["findings"])


def outcomes(doc):
    if doc is None:
        return None
    return sorted((t["task"], json.dumps(t["scope"], sort_keys=True), t["outcome"])
                  for t in doc["tasks"])


def check_properties(rounds, seed):
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(rounds):
            lines = random_log(rng)
            whole_log = os.path.join(tmp, "r%d-whole.jsonl" % round_no)
            write(whole_log, lines)
            for how in ("lines", "time", "task", "task-cut"):
                check_one_split(tmp, rng, lines, how, round_no, whole_log)
    print("property: %d rounds x 4 splits" % rounds)


def fixtures(root):
    """The project's logs of every dialect and kind (libraries, the asyncio module's records,
    free text, OpenTelemetry spans over several lines, damage), to split as the random ones."""
    out = []
    for top in ("tests/fixtures", "tests/unit/logs", "tests/e2e/logs", "sample_traces"):
        for folder, _, names in os.walk(os.path.join(root, top)):
            out += [os.path.join(folder, n) for n in names if n.endswith((".jsonl", ".json"))]
    return sorted(out)


def in_time_order(lines):
    """False when a record's top-level time (ts, timestamp, time, created: numbers, or strings
    of one shape) is older than the one before it. Such a log, once cut, is read in time order
    across the cuts, not in its order of arrival (docs/DESIGN.md, "Merging states by time"), so
    its findings may differ from the whole log's; a log whose times this cannot read counts as
    in order. A log of values over several lines (an exporter's indented spans) is not one
    record a line, and cannot be told: False. Spans are written as they end, so a span log is in
    the order of their ends, not of their starts, which are their records' times."""
    latest = None
    unread = sum(1 for line in lines if line.strip() and not line.lstrip().startswith("{"))
    if 2 * unread > len(lines):
        return False  # values over several lines
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if "start_time" in record or "resourceSpans" in record:
            return False
        time = next((record[k] for k in ("ts", "timestamp", "time", "created") if k in record), None)
        if isinstance(time, bool) or not isinstance(time, (int, float, str)):
            continue
        if latest is not None and type(time) is type(latest) and time < latest:
            return False
        latest = time
    return True


def check_fixtures(root, seed):
    rng = random.Random(seed)
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for number, path in enumerate(fixtures(root)):
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                lines = f.read().split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            shards = split(rng, lines, "lines", 3)
            files, states = [], []
            for i, piece in enumerate(shards):
                name = os.path.join(tmp, "f%d-%d.jsonl" % (number, i))
                with open(name, "w", encoding="utf-8", errors="surrogateescape") as f:
                    f.write("".join(line + "\n" for line in piece))
                files.append(name)
                states.append(name + ".state")
                status, _, err = run("partial", name, "-o", states[-1])
                check(status == 0, "partial of a piece of %s: %s" % (path, err))
            # analyze over the pieces merges them by time as merge does: the same report, to the
            # byte, however the pieces overlap.
            for fmt in ("text", "json"):
                merged = run("merge", "-f", fmt, *states)
                whole = run("analyze", "-f", fmt, *files)
                check(whole == merged, "%s cut in 3, %s: merge differs from analyze\n%r\n%r"
                      % (path, fmt, whole, merged))
            # Any cut of a log in time order: what analyze finds in the whole log.
            if not in_time_order(lines):
                checked += 1
                continue
            status, whole, _ = run("analyze", "-f", "json", path)
            whole_doc, merged_doc = report_of(whole), report_of(merged[1])
            check((findings(whole_doc), outcomes(whole_doc), status) ==
                  (findings(merged_doc), outcomes(merged_doc), merged[0]),
                  "%s cut in 3: merge finds otherwise than analyze of the whole\n%s\n%s"
                  % (path, findings(whole_doc), findings(merged_doc)))
            checked += 1
    print("fixtures: %d logs cut in 3" % checked)


# ---- what a user meets ---------------------------------------------------------------------

def one_error_line(result, *needles):
    status, out, err = result
    ok = status == 2 and out == b"" and err.count("\n") == 1 and all(n in err for n in needles)
    return ok


def rewrite_header(state, version):
    """The state's bytes with its header block saying it came from coroner `version`."""
    magic_end = state.index(b"\n") + 1
    size = int.from_bytes(state[magic_end:magic_end + 4], "little")
    payload = state[magic_end + 8:magic_end + 8 + size]
    old_len = payload[0]  # a short version text: its size is one varint byte
    new = bytes([len(version)]) + version.encode() + payload[1 + old_len:]
    head = len(new).to_bytes(4, "little") + zlib.crc32(new).to_bytes(4, "little")
    return state[:magic_end] + head + new + state[magic_end + 8 + size:]


def block_offsets(data):
    """Where each block's size word is, after the magic line: the header's first."""
    out, at = [], data.index(b"\n") + 1
    while at + 8 <= len(data):
        out.append(at)
        at += 8 + (int.from_bytes(data[at:at + 4], "little") & 0x7FFFFFFF)
    return out


def check_errors(tmp, sample):
    state = os.path.join(tmp, "a.state")
    status, _, err = run("partial", sample, "-o", state)
    check(status == 0, "partial of a sample: %s" % err)
    good = open(state, "rb").read()

    # The same bytes every time, whatever the threads.
    again = os.path.join(tmp, "again.state")
    run("partial", "-j", "2", sample, "-o", again)
    check(open(again, "rb").read() == good, "a state's bytes depend on the run or the threads")

    def damaged(name, data, *needles):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        result = run("merge", path)
        check(one_error_line(result, path, *needles),
              "merge of a %s state: want one line with %s, exit 2; got %r" % (name, needles, result))

    damaged("truncated", good[:len(good) // 2], "truncated")
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x10
    damaged("flipped", bytes(flipped), "checksum")
    damaged("trailing", good + b"\0", "bytes follow")
    damaged("format1", re.sub(rb"^coroner-state \d+\n", b"coroner-state 1\n", good, count=1),
            "state format 1")
    damaged("oldversion", rewrite_header(good, "0.0.1"), "written by coroner 0.0.1")
    damaged("empty", b"", "not a coroner state")
    check(one_error_line(run("merge", sample), "not a coroner state"),
          "a log given to merge is not said to be no state")
    check(one_error_line(run("analyze", state), "a coroner state, not a log"),
          "a state given to analyze is not said to be a state")

    # A merged state holds its parts as they were: cut where a part ends, it is still refused
    # (its header counts the parts), and a damaged part is refused while merging.
    # (Two files of the same bytes: one file given twice is refused, its records counted twice.)
    two = os.path.join(tmp, "two.state")
    status, _, err = run("merge", "--emit-state", two, state, again)
    check(status == 0, "merge --emit-state: %s" % err)
    merged_bytes = open(two, "rb").read()
    header_end = good.index(b"\n") + 1
    header_end += 8 + int.from_bytes(good[header_end:header_end + 4], "little")
    part = len(good) - header_end
    check(len(merged_bytes) == len(merged_bytes[:-part]) + part and
          merged_bytes[-part:] == good[header_end:], "a merged state does not hold its parts as is")
    damaged("one-part-of-two", merged_bytes[:-part], "truncated")
    flipped_state = os.path.join(tmp, "flipped.state")
    with open(flipped_state, "wb") as f:
        f.write(bytes(flipped))
    check(one_error_line(run("merge", "--emit-state", os.path.join(tmp, "x.state"), state,
                             flipped_state), "checksum"),
          "merge --emit-state copied a damaged state")
    check(not os.path.exists(os.path.join(tmp, "x.state")), "a failed merge left a state behind")

    # The top bit of a block's size marks the last block of a part: missing, or set on a block
    # without the part's end (a part of several blocks: texts too long to be kept), refused.
    big = os.path.join(tmp, "big.jsonl")
    write(big, [json.dumps({"ts": 1 + i / 1000, "task": "t%d" % (i % 9), "stage": "s",
                            "error": "E" * 300 + str(i)}) for i in range(5000)])
    big_state = os.path.join(tmp, "big.state")
    run("partial", big, "-o", big_state)
    big_bytes = bytearray(open(big_state, "rb").read())
    blocks = block_offsets(big_bytes)
    check(len(blocks) >= 3, "a state of 1.5 MB is not several blocks")
    check([big_bytes[at + 3] >> 7 for at in blocks] == [0] * (len(blocks) - 1) + [1],
          "only the last block of a part is marked as its end")
    unmarked = bytearray(big_bytes)
    unmarked[blocks[-1] + 3] &= 0x7F
    damaged("unmarked", bytes(unmarked), "not marked")
    marked = bytearray(big_bytes)
    marked[blocks[1] + 3] |= 0x80
    damaged("marked-twice", bytes(marked), "damaged state")
    two_big = os.path.join(tmp, "two-big.state")
    run("merge", "--emit-state", two_big, big_state, state)
    two_bytes = bytearray(open(two_big, "rb").read())
    first_end = block_offsets(two_bytes)[len(blocks) - 1]
    two_bytes[first_end + 3] &= 0x7F
    damaged("first-part-unmarked", bytes(two_bytes), "damaged state")
    # The mark moved to the block before: the parts still count right, the part ends early.
    two_bytes[block_offsets(two_bytes)[len(blocks) - 2] + 3] |= 0x80
    damaged("mark-moved", bytes(two_bytes), "damaged state")

    # States read with different options do not merge.
    since = os.path.join(tmp, "since.state")
    run("partial", "--since", "2000-01-01T00:00:00Z", sample, "-o", since)
    check(one_error_line(run("merge", state, since), "--since", "same options"),
          "states read with different options merged")

    # Reading options travel in the state: merge reads the logs as partial was told to.
    status, _, _ = run("partial", "--since", "2000-01-01T00:00:00Z", sample, "-o", since)
    merged = run("merge", since)
    whole = run("analyze", "--since", "2000-01-01T00:00:00Z", sample)
    check(merged == whole, "a state read with --since reports otherwise than analyze --since")
    check(b"--since 2000-01-01T00:00:00Z " + sample.encode() in merged[1],
          "a merged report's next commands do not read the logs as the state was read")

    # A state from standard input, and a compressed one.
    check(run("merge", "-", input_bytes=good) == run("analyze", sample),
          "a state on standard input reports otherwise")
    if subprocess.run(["sh", "-c", "command -v zstd"], stdout=subprocess.DEVNULL).returncode == 0:
        subprocess.run(["zstd", "-q", "-f", state, "-o", state + ".zst"], check=True)
        check(run("merge", state + ".zst") == run("analyze", sample),
              "a zstd-compressed state reports otherwise")

    # A partial that fails leaves no state behind, and names what failed.
    missing = os.path.join(tmp, "nothing-here.state")
    check(one_error_line(run("partial", os.path.join(tmp, "no.jsonl"), "-o", missing),
                         "no.jsonl"), "partial of a missing log: not one error line")
    check(not os.path.exists(missing), "a failed partial left a state behind")
    check(one_error_line(run("partial", sample, "-o", os.path.join(tmp, "no/dir/x.state")),
                         "cannot write"), "partial to an unwritable place: not one error line")
    bad = os.path.join(tmp, "bad.jsonl")
    write(bad, ['{"ts": 1, "task": "a", "stage": "x"}', "not json"])
    check(one_error_line(run("partial", "--strict", bad, "-o", missing), "bad.jsonl:2"),
          "partial --strict does not name the bad line")
    check(not os.path.exists(missing), "a partial stopped by --strict left a state behind")
    # More states than the process may open files at once: they are read one after another.
    # (300 files: one file given twice is refused, its records counted twice.)
    tiny_logs, tiny_states = [], []
    for n in range(300):
        tiny_logs.append(os.path.join(tmp, "tiny-%d.jsonl" % n))
        write(tiny_logs[-1], ['{"ts": %d, "task": "a", "stage": "x"}' % (2 * n + 1),
                              '{"ts": %d, "task": "b", "stage": "y"}' % (2 * n + 2)])
        tiny_states.append(os.path.join(tmp, "tiny-%d.state" % n))
        run("partial", tiny_logs[-1], "-o", tiny_states[-1])
    merged = run("merge", "-f", "json", *tiny_states, max_files=64)
    check(merged[0] in (0, 1) and merged == run("analyze", "-f", "json", *tiny_logs),
          "300 states under a limit of 64 open files: %r" % ((merged[0], merged[2]),))

    leftovers = [n for n in os.listdir(tmp) if ".partial-" in n]
    check(not leftovers, "temporary files left behind: %s" % leftovers)
    print("errors: checked")


def main():
    global BINARY
    BINARY = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 25
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 19
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with tempfile.TemporaryDirectory() as tmp:
        check_errors(tmp, os.path.join(root, "sample_traces", "deadlock.jsonl"))
    check_properties(rounds, seed)
    check_fixtures(root, seed)
    if FAILURES:
        print("%d failures" % len(FAILURES), file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
