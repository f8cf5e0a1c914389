#!/usr/bin/env python3
"""coroner's benchmark: its full analysis against a bare simdjson pass and the tools a user would
pick instead.

usage: run_bench.py CORONER SIMDJSON_PASS [--tasks N] [--runs R] [--log FILE] [--no-peers]

Generates (once; kept next to --log) a deterministic seed-format log of N tasks (default
2,000,000: 6M records, 457 MB; generate.py), then reports side by side, best of R rounds (default 3; a round runs each one once):
  - coroner analyze (the whole analysis, -q) with -j 1 and -j 2, from the file and from a pipe;
  - the bare simdjson ondemand iterate_many pass over the same file (simdjson_pass.cpp), with
    and without glibc's malloc asking for huge pages (the faster is the limit), and coroner -j 1
    and -j 2 without them (GLIBC_TUNABLES=glibc.malloc.hugetlb=0);
  - the peers a user would pick instead, each asked the simplest question coroner answers (how
    many tasks did not end at save_to_db), run once, their answers checked to agree: the Python
    script a user would write (last_stage.py), jq (a reduce over its inputs) and lnav (SQL over
    the log read through the format in lnav/formats/); jq and lnav when on PATH, none with
    --no-peers;
  - coroner -j 1 and -j 2 on the log's free-text twin (generate.py --free-text: the same tasks
    logging sentences, reduced to templates), against the constant-name log;
  - coroner on all cores (when the machine has more than two);
  - two coroner -j 1 runs at once, and two bare passes at once: what the machine gives two
    copies of the same work sharing nothing (its memory and caches shared), so the ceiling of
    any split of that work over two threads;
  - coroner -j 1 and -j 2 on the log cut into 4 files named as logrotate names them and given as
    a shell glob lists them (newest first): several files merged by time;
  - coroner partial and merge, one thread each: their times, and the state's bytes a task and a
    record;
with MB/s, records/s, peak RSS, the ratios, and whether each goal of README's "Speed" section is
met; then whether the report (json) is the same byte for byte for -j 1, 2 and all cores, and from
merge of the log's partial state.
Exit status 0 (it is a measurement: goals missed are printed, not failed).
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The peers' programs: the last stage of each task, and how many tasks it was not save_to_db.
JQ_LAST_STAGES = ('reduce inputs as $r ({}; .[$r.task_id | tostring] = $r.stage)'
                  ' | [length, ([.[] | select(. != "save_to_db")] | length)]')
LNAV_LAST_STAGES = (";SELECT count(*) AS tasks, sum(stage != 'save_to_db') AS unfinished FROM"
                    " (SELECT task_id, stage, row_number() OVER (PARTITION BY task_id"
                    " ORDER BY log_line DESC) AS last FROM seed_log) WHERE last = 1")
HUGETLB = "glibc.malloc.hugetlb"
PAIR = object()  # in place of a config's stdin: run two copies at once
GOALS = ("one thread >= 0.5x simdjson; all cores >= 1.1x simdjson; -j 2 >= 1.8x -j 1; "
         "peak RSS <= 300 MiB; the same report for every -j")


def timed(argv, stdin_path=None):
    """(seconds, peak RSS in KiB, exit status) of one run, stdout discarded."""
    start = time.perf_counter()
    if stdin_path:
        cat = subprocess.Popen(["cat", stdin_path], stdout=subprocess.PIPE)
        proc = subprocess.Popen(argv, stdin=cat.stdout, stdout=subprocess.DEVNULL)
        cat.stdout.close()
    else:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if stdin_path:
        cat.wait()
    return seconds, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def peers(log):
    """The tools a user would pick instead, as (name, argv, env) for those this machine has."""
    found = [("python json.loads + dict (last_stage.py)",
              [sys.executable, os.path.join(HERE, "last_stage.py"), log], None)]
    if shutil.which("jq"):
        found.append(("jq reduce over inputs", ["jq", "-n", "-c", JQ_LAST_STAGES, log], None))
    if shutil.which("lnav"):
        # lnav keeps its state under HOME: a scratch one leaves the user's alone.
        env = dict(os.environ, HOME=tempfile.mkdtemp())
        found.append(("lnav SQL over a JSON format", ["lnav", "-n", "-I", os.path.join(HERE, "lnav"),
                                                      "-c", LNAV_LAST_STAGES, log], env))
    return found


def run_peer(argv, env):
    """(seconds, peak RSS in KiB, exit status) of one run, and its answer: the two numbers it
    printed last (tasks, tasks not ended at save_to_db)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
    out = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    numbers = re.findall(r"\d+", out)
    return (seconds, usage.ru_maxrss, os.waitstatus_to_exitcode(status)), tuple(numbers[-2:])


def timed_pair(argv):
    """(mean seconds, peak RSS in KiB, first exit status) of two copies of argv run at once."""
    start = time.perf_counter()
    procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL) for _ in range(2)]
    seconds, rss, statuses = [], 0, []
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        seconds.append(time.perf_counter() - start)
        rss = max(rss, usage.ru_maxrss)
        statuses.append(os.waitstatus_to_exitcode(status))
    return sum(seconds) / 2, rss, statuses[0]


def best_of_rounds(configs, runs):
    """Each config's (best seconds, peak RSS, first exit status) over `runs` rounds. A round runs
    every config once, so a slow spell of a shared machine hits all of them alike, not one."""
    results = [[] for _ in configs]
    for _ in range(runs):
        for i, (argv, stdin_path) in enumerate(configs):
            results[i].append(timed_pair(argv) if stdin_path == PAIR else timed(argv, stdin_path))
    return [(min(r[0] for r in rs), max(r[1] for r in rs), rs[0][2]) for rs in results]


def same_reports(coroner, log, state, threads):
    """Whether the json report is the same byte for byte for each -j, and from merge."""
    digests = set()
    for argv in [[coroner, "-f", "json", "-j", str(j), log] for j in threads] + \
            [[coroner, "merge", "-f", "json", state]]:
        out = subprocess.run(argv, stdout=subprocess.PIPE).stdout
        digests.add(hashlib.sha256(out).hexdigest())
    return len(digests) == 1


def cut_in_pieces(log, count, stem):
    """The log cut into `count` files of consecutive whole lines, named as logrotate names them
    (stem.N the oldest, stem the newest), listed as a shell glob lists them."""
    size = os.path.getsize(log)
    names = [stem] + ["%s.%d" % (stem, n) for n in range(1, count)]  # newest first
    with open(log, "rb") as f:
        for k, name in enumerate(reversed(names)):  # oldest piece first
            with open(name, "wb") as out:
                left = size // count if k < count - 1 else size
                while left > 0:
                    block = f.read(min(left, 1 << 24))
                    if not block:
                        break
                    out.write(block)
                    left -= len(block)
                out.write(f.readline())  # up to the line's end
    return sorted(names)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("coroner")
    ap.add_argument("simdjson_pass")
    ap.add_argument("--tasks", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--log", default=None, help="where the generated log lives")
    ap.add_argument("--no-peers", action="store_true",
                    help="skip the Python script, jq and lnav (they take minutes)")
    a = ap.parse_args()
    log = a.log or os.path.join(os.getcwd(), "bench_%d.jsonl" % a.tasks)
    twin = log[:-len(".jsonl")] + "_free_text.jsonl" if log.endswith(".jsonl") else log + ".free"
    for path, extra in ((log, []), (twin, ["--free-text"])):
        if not os.path.exists(path):
            print("generating %s (%d tasks)..." % (path, a.tasks), flush=True)
            subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), str(a.tasks), path]
                           + extra, check=True)
    size = os.path.getsize(log)
    with open(log, "rb") as f:
        records = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))
    mb = size / 1e6
    print("log: %s, %.0f MB, %d records, %d tasks" % (log, mb, records, a.tasks))

    cores = os.cpu_count() or 1
    # The bare pass loads the whole log into one buffer: in 4 KiB pages that is 112,000 page
    # faults, in huge pages (as coroner runs where the kernel gives them on request) 1,300. The
    # faster of the two is the limit, so coroner's huge pages win it nothing.
    huge, small = ("env", "GLIBC_TUNABLES=%s=1" % HUGETLB), ("env", "GLIBC_TUNABLES=%s=0" % HUGETLB)
    names = ["simdjson iterate_many pass", "coroner -j 1, file", "coroner -j 2, file",
             "coroner -j 1, pipe", "coroner -j 2, pipe", "coroner -j 1, free-text twin",
             "coroner -j 2, free-text twin", "simdjson pass, huge pages asked for",
             "coroner -j 1, file, no huge pages", "coroner -j 2, file, no huge pages",
             "two coroner -j 1 at once (each)", "two simdjson passes at once (each)"]
    configs = [([a.simdjson_pass, log], None),
               ([a.coroner, "-q", "-j", "1", log], None),
               ([a.coroner, "-q", "-j", "2", log], None),
               ([a.coroner, "-q", "-j", "1", "-"], log),
               ([a.coroner, "-q", "-j", "2", "-"], log),
               ([a.coroner, "-q", "-j", "1", twin], None),
               ([a.coroner, "-q", "-j", "2", twin], None),
               ([*huge, a.simdjson_pass, log], None),
               ([*small, a.coroner, "-q", "-j", "1", log], None),
               ([*small, a.coroner, "-q", "-j", "2", log], None),
               ([a.coroner, "-q", "-j", "1", log], PAIR),
               ([*huge, a.simdjson_pass, log], PAIR)]
    if cores > 2:
        names.append("coroner -j %d (all cores), file" % cores)
        configs.append(([a.coroner, "-q", "-j", str(cores), log], None))
    results = best_of_rounds(configs, a.runs)
    sj, c1, c2, p1, p2, t1, t2, sj_huge, s1, s2, c1_pair, sj_pair = results[:12]
    sj = min(sj, sj_huge)
    call = results[12] if cores > 2 else c2
    rows = list(zip(names, results))
    peer_rows, answers = [], set()
    for name, argv, env in ([] if a.no_peers else peers(log)):
        result, answer = run_peer(argv, env)
        peer_rows.append((name, result))
        answers.add(answer)
    scratch = tempfile.mkdtemp()
    # The log as rotated in 4 (app.log.3 the oldest), given as a glob lists them: newest first.
    rotated = cut_in_pieces(log, 4, os.path.join(scratch, "app.log"))
    r1, r2 = best_of_rounds([([a.coroner, "-q", "-j", "1", *rotated], None),
                             ([a.coroner, "-q", "-j", "2", *rotated], None)], a.runs)
    rows.append(("coroner -j 1, cut in 4 files (merged)", r1))
    rows.append(("coroner -j 2, cut in 4 files (merged)", r2))
    for piece in rotated:
        os.remove(piece)
    state = os.path.join(scratch, "bench.state")
    part, merge = best_of_rounds([([a.coroner, "partial", "-q", "-j", "1", log, "-o", state], None),
                                  ([a.coroner, "merge", "-q", "-j", "1", state], None)], a.runs)
    rows.append(("coroner partial -j 1 (writes the state)", part))
    rows.append(("coroner merge -j 1 (the state's report)", merge))

    print("\n%-42s %8s %9s %12s %10s" % ("", "seconds", "MB/s", "records/s", "peak RSS"))
    for name, (sec, rss, _) in rows:
        print("%-42s %8.2f %9.0f %12.0f %7.0f MiB" % (name, sec, mb / sec, records / sec, rss / 1024))
    for name, (sec, rss, _) in peer_rows:
        print("%-42s %8.2f %9.0f %12.0f %7.0f MiB" % (name, sec, mb / sec, records / sec, rss / 1024))
    one_vs_sj = sj[0] / c1[0]
    two_vs_one = c1[0] / c2[0]
    peak = max(r[1] for r in (c1, c2, p1, p2)) / 1024
    print("\nratios: -j 1 / simdjson = %.2fx, -j 2 / -j 1 = %.2fx, peak RSS %.0f MiB"
          % (one_vs_sj, two_vs_one, peak))
    for name, (sec, _, status) in peer_rows:
        print("%s: %.1fx the time of coroner -j 1, %.1fx of -j %d%s"
              % (name.split(" (")[0], sec / c1[0], sec / call[0], max(2, cores),
                 "" if status == 0 else " (exit status %d)" % status))
    if len(answers) > 1:
        print("the peers disagree on (tasks, tasks not ended at save_to_db): %s"
              % sorted(answers), file=sys.stderr)
    print("huge pages: -j 1 %.2fx, -j 2 %.2fx faster than without (GLIBC_TUNABLES=%s=0), "
          "-j 2 / -j 1 without %.2fx" % (s1[0] / c1[0], s2[0] / c2[0], HUGETLB, s1[0] / s2[0]))
    print("free-text twin / constant names: -j 1 %.2fx, -j 2 %.2fx the time (goal <= 1.5x)"
          % (t1[0] / c1[0], t2[0] / c2[0]))
    state_bytes = os.path.getsize(state)
    print("partial state: %d bytes, %.1f a task, %.1f a record (%.0f%% of the log); merge: %.2f s "
          "a million tasks" % (state_bytes, state_bytes / a.tasks, state_bytes / records,
                               100 * state_bytes / size, merge[0] / a.tasks * 1e6))
    # Two copies of a run at once do twice its work in the time of one of them: no division of
    # that work over two threads, however free of hand-offs, does better on this machine.
    ceiling = 2 * c1[0] / c1_pair[0]
    print("this machine's ceiling for two threads: two -j 1 runs at once do %.2fx the work of one "
          "in its time (two bare passes %.2fx); the best -j 2 could be is %.2fx simdjson"
          % (ceiling, 2 * sj_huge[0] / sj_pair[0], one_vs_sj * ceiling))
    same = same_reports(a.coroner, log, state, sorted({1, 2, cores}))
    print("goals (%s):" % GOALS)
    for ok, what in ((one_vs_sj >= 0.5, "one thread >= 0.5x simdjson"),
                     (sj[0] / call[0] >= 1.1, "all cores (-j %d) >= 1.1x simdjson: %.2fx"
                      % (cores, sj[0] / call[0])),
                     (two_vs_one >= 1.8, "-j 2 >= 1.8x -j 1: %.2fx (ceiling %.2fx)"
                      % (two_vs_one, ceiling)),
                     (peak <= 300, "peak RSS <= 300 MiB: %.0f MiB" % peak),
                     (same, "the same report for -j %s and from merge"
                      % ", ".join(str(j) for j in sorted({1, 2, cores})))):
        print("  %s  %s" % ("met   " if ok else "MISSED", what))
    os.remove(state)
    for name, (_, _, status) in rows[1:7] + rows[10:11] + rows[-4:]:
        if status not in (0, 1):
            print("coroner exited %d in '%s'" % (status, name), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
