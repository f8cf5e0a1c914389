#!/usr/bin/env python3
"""Runs coroner over a log set on a Dask cluster: one report, as one `coroner merge` would give.

The logs, in the order given, are grouped into shards of adjacent files. Each shard is read by
`coroner partial` on a Dask worker (a subprocess of the worker); the partial states are merged
in a tree of adjacent pairs on the workers (`coroner merge --emit-state`, which keeps each
shard's state apart), until at most --fan-in states are left (default 2: the whole tree); the last merge
reads them here, with the report options. A level of the tree copies the states' blocks, each
checked against its checksum, without decoding a record (0.05 CPU seconds per million tasks,
measured): what it costs is moving the bytes. The report, and the exit status, are those of
one `coroner merge` of the shards' states (their records read in time order), which are those
of one `coroner analyze` over the same files (which reads several files in time order too);
0 clean, 1 findings of a --fail-on kind, 2 usage or input error: a worker's coroner
error is printed as its one line.

On this machine (a LocalCluster of worker processes, started and stopped by the script):

    contrib/dask/coroner_dask.py --workers 2 --shards 8 logs/*.jsonl
    contrib/dask/coroner_dask.py --files-from list.txt -f json -o report.json --stall 30s

On a real cluster: start a scheduler on one host and a worker on each of the others,

    dask scheduler                          # listens on tcp://HOST:8786
    dask worker tcp://HOST:8786 --nthreads 1   # on every worker host

with coroner installed on every worker and here (`pip install --no-build-isolation .` in the
coroner source tree, or the same build at the same path, given with --coroner), and the logs
at the same path everywhere (a shared file system, or object storage mounted with s3fs,
gcsfuse or rclone mount); relative paths are taken from this directory when the workers have
it too. Then

    contrib/dask/coroner_dask.py --scheduler tcp://HOST:8786 --shards 64 /shared/logs/*.jsonl.zst

Inputs that all end in .state are states already written by `coroner partial` (say by each
host, next to its logs): they are merged as they are, in the order given.

States travel as task results through the scheduler's network; with --shared-dir DIR (a
directory every worker and this host see at the same path) they are written there instead and
only their paths travel. Reading options (--field, --key, --since, --until, --max-stages,
--dialect, --templates, --strict, -j) go to every `coroner partial`; judging and output
options (--stall, --deadline, --log-end, --stage-deadline, --start-stage, --end-stage,
--fail-stage, -f, -o, --fail-on, --kind, --task, --top, --utc, --color, -q) to the final
`coroner merge`. Progress ("3 of 8 shards read, 1 of 6 merges") goes to stderr on a terminal,
or always with --progress always; never with -q. Needs Python 3 with dask and distributed
(Debian: python3-dask python3-distributed; pip: 'dask[distributed]').
"""
import argparse
import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile

PROG = "coroner-dask"

# coroner's options by where they act: (names, takes a value). See `coroner partial --help`
# and `coroner merge --help`.
READING = [(["--field"], True), (["--key"], True), (["--since"], True), (["--until"], True),
           (["--max-stages"], True), (["--dialect"], True), (["--templates"], True),
           (["--strict"], False), (["-j", "--threads"], True)]
JUDGING = [(["--stall"], True), (["--deadline"], True), (["--log-end"], True),
           (["--stage-deadline"], True), (["--start-stage"], True), (["--end-stage"], True),
           (["--fail-stage"], True)]
REPORT = [(["-f", "--format"], True), (["-o", "--output"], True), (["--fail-on"], True),
          (["--kind"], True), (["--task"], True), (["--top"], True), (["--utc"], False),
          (["--color"], True), (["-q", "--quiet"], False)]


class PassThrough(argparse.Action):
    """Keeps a coroner option as written, (name, value or None), in order, in its group's list."""

    def __call__(self, parser, namespace, values, option_string=None):
        getattr(namespace, self.dest).append((option_string, values))


def flat(options):
    """The options of a group as arguments of coroner."""
    words = []
    for name, value in options:
        words += [name] if value is None else [name, value]
    return words


def pass_through(parser, dest, options):
    """coroner's options, kept in args.<dest>; the description lists them, not the help."""
    parser.set_defaults(**{dest: []})
    for names, takes_value in options:
        parser.add_argument(*names, dest=dest, action=PassThrough,
                            nargs=None if takes_value else 0, help=argparse.SUPPRESS)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, allow_abbrev=False,
        usage="%(prog)s [options] [coroner options] [LOG...] [--files-from LIST]",
        description="Runs coroner partial over shards of the logs on Dask workers, merges the "
        "states there in a tree and prints the report of coroner merge, their records read in "
        "time order. Reading options (--field --key --since --until --max-stages --dialect "
        "--templates --strict -j) go to every partial; judging and output options (--stall "
        "--deadline --log-end --stage-deadline --start-stage --end-stage --fail-stage -f -o "
        "--fail-on --kind --task --top --utc --color -q) to the final merge.",
        epilog="Exit status: coroner's (0 clean, 1 findings of a --fail-on kind, 2 usage or "
        "input error, a worker's included).")
    parser.add_argument("logs", nargs="*", metavar="LOG", help="log files, in order")
    parser.add_argument("--files-from", metavar="LIST", action="append", default=[],
                        help="a file naming the logs, one a line ('-': standard input), "
                        "after the LOGs given")
    parser.add_argument("--shards", type=int, metavar="N",
                        help="shards of adjacent files (default: twice the worker threads, "
                        "at most one a file)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a running scheduler, e.g. tcp://host:8786 (default: start a "
                        "LocalCluster)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="worker processes of the LocalCluster (default: the cores)")
    parser.add_argument("--coroner", default="coroner", metavar="PATH",
                        help="the coroner binary, here and on the workers (default: from PATH)")
    parser.add_argument("--fan-in", type=int, default=2, metavar="N",
                        help="states the last merge reads here: the workers merge adjacent "
                        "pairs until at most N are left (default 2: the whole tree)")
    parser.add_argument("--shared-dir", metavar="DIR",
                        help="pass states through files in DIR, seen at this path by every "
                        "worker and here, instead of as task results")
    parser.add_argument("--progress", choices=["auto", "always", "never"], default="auto",
                        help="shards and merges done on stderr: auto (on a terminal), always, "
                        "never; -q wins")
    pass_through(parser, "reading", READING)
    pass_through(parser, "judging", JUDGING)
    pass_through(parser, "report", REPORT)
    args = parser.parse_intermixed_args(argv)
    args.threads = flat(option for option in args.reading if option[0] in ("-j", "--threads"))
    args.reading, args.judging = flat(args.reading), flat(args.judging)
    args.report = flat(args.report)
    args.logs += [name for listing in args.files_from for name in read_listing(listing)]
    if not args.logs:
        parser.error("no log given")
    if args.shards is not None and args.shards < 1:
        parser.error("--shards must be at least 1")
    if args.fan_in < 2:
        parser.error("--fan-in must be at least 2")
    return args


def read_listing(path):
    """The file names of a listing, one a line; blank lines and lines starting with # skipped."""
    try:
        stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
        with stream:
            names = [line.rstrip("\n") for line in stream]
    except OSError as error:
        fail("%s: %s" % (path, error.strerror))
    return [name for name in names if name.strip() and not name.startswith("#")]


def fail(message):
    print("%s: %s" % (PROG, message), file=sys.stderr)
    sys.exit(2)


def given_twice(names):
    """coroner's line for the first file given a second time (by its name or another), which
    coroner analyze refuses, or None. Only the files visible here can be compared."""
    seen = {}
    for name in names:
        try:
            info = os.stat(name)
        except OSError:
            continue  # not here: a worker reads it, or says it is missing
        if not stat.S_ISREG(info.st_mode):
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen:
            also = "" if seen[key] == name else " (also as %s)" % seen[key]
            return "coroner: %s: given twice%s: each of its records would count twice" % (
                name, also)
        seen[key] = name
    return None


def split_in_shards(files, count):
    """count runs of adjacent files, of about equal bytes where the sizes can be read here."""
    count = min(count, len(files))
    try:
        sizes = [max(os.path.getsize(name), 1) for name in files]
    except OSError:  # not all of them visible here: by count
        sizes = [1] * len(files)
    total, shards, current, done = sum(sizes), [], [], 0
    for index, (name, size) in enumerate(zip(files, sizes)):
        current.append(name)
        done += size
        files_left, shards_left = len(files) - index - 1, count - len(shards) - 1
        if shards_left and (done >= total * (len(shards) + 1) / count or
                            files_left == shards_left):
            shards.append(current)
            current = []
    shards.append(current)
    return shards


# What runs on the workers: plain functions of plain values (Dask pickles them by value, so the
# workers need no copy of this script). A state is its bytes, or its path in the shared dir.

def run_coroner(argv, cwd):
    """coroner's standard output; a failure raises RuntimeError with the one line to print."""
    try:
        done = subprocess.run(argv, cwd=cwd if cwd and os.path.isdir(cwd) else None,
                              stdin=subprocess.DEVNULL, capture_output=True)
    except OSError as error:
        raise RuntimeError("%s: cannot run %s on a worker: %s"
                           % (PROG, argv[0], error.strerror)) from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(lines[-1] if lines else "%s: %s exited with status %d"
                           % (PROG, " ".join(argv[:2]), done.returncode))
    return done.stdout


def state_paths(states, scratch):
    """Paths of the states, writing those given as bytes to the scratch directory."""
    paths = []
    for index, state in enumerate(states):
        if isinstance(state, bytes):
            path = os.path.join(scratch, "%d.state" % index)
            with open(path, "wb") as out:
                out.write(state)
            state = path
        paths.append(state)
    return paths


def read_shard(coroner, reading, files, cwd, out_path):
    """coroner partial over one shard: the state's bytes, or out_path once written."""
    output = run_coroner([coroner, "partial", *reading, "-o", out_path or "-", "--", *files], cwd)
    return out_path or output


def merge_states(coroner, threads, out_path, *states):
    """coroner merge --emit-state of adjacent states, in order: bytes, or out_path once written."""
    with tempfile.TemporaryDirectory(prefix="coroner-dask-") as scratch:
        paths = state_paths(states, scratch)
        output = run_coroner([coroner, "merge", *threads, "--emit-state", out_path or "-",
                              "--", *paths], None)
    return out_path or output


class Progress:
    """'3 of 8 shards read, 1 of 6 merges' on stderr: redrawn in place on a terminal."""

    def __init__(self, enabled, shards, merges):
        self.enabled, self.in_place = enabled, sys.stderr.isatty()
        self.shards, self.merges, self.shards_done, self.merges_done = shards, merges, 0, 0
        self.show()

    def done(self, is_merge):
        if is_merge:
            self.merges_done += 1
        else:
            self.shards_done += 1
        self.show()

    def show(self):
        if not self.enabled:
            return
        parts = []
        if self.shards:
            parts.append("%d of %d shards read" % (self.shards_done, self.shards))
        if self.merges:
            parts.append("%d of %d merges" % (self.merges_done, self.merges))
        if not parts:
            return
        line = "%s: %s" % (PROG, ", ".join(parts))
        sys.stderr.write("\r\033[K" + line if self.in_place else line + "\n")
        sys.stderr.flush()

    def erase(self):
        if self.enabled and self.in_place:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def submit_tree(client, args, shards, shared):
    """The tasks: a partial per shard, then merges of adjacent pairs until --fan-in states are
    left at most (the last merge, with the report, runs here). Returns (all tasks, merge tasks,
    the last states' tasks)."""
    out = lambda name: os.path.join(shared, name) if shared else None
    cwd = os.getcwd()
    if args.states_given:  # states made elsewhere: merged as they are
        level = [os.path.join(cwd, name) for files in shards for name in files]
    else:
        level = [client.submit(read_shard, args.coroner, args.reading, files, cwd,
                               out("shard-%05d.state" % index), key="partial-%05d" % index,
                               pure=False)
                 for index, files in enumerate(shards)]
    tasks, merges, depth = [task for task in level if not isinstance(task, str)], set(), 0
    while len(level) > args.fan_in:
        depth += 1
        pairs = [level[i:i + 2] for i in range(0, len(level), 2)]
        level = [pair[0] if len(pair) == 1 else
                 client.submit(merge_states, args.coroner, args.threads,
                               out("merge-%02d-%05d.state" % (depth, index)), *pair,
                               key="merge-%02d-%05d" % (depth, index), pure=False)
                 for index, pair in enumerate(pairs)]
        new = [task for task, pair in zip(level, pairs) if len(pair) == 2]
        tasks += new
        merges.update(task.key for task in new)
    return tasks, merges, level


def wait_for(tasks, merges, progress):
    """Waits for every task; the first failure ends the run with its one line (exit 2)."""
    from distributed import as_completed
    for task in as_completed(tasks):
        if task.status != "finished":
            progress.erase()
            error = task.exception()
            message = str(error) if isinstance(error, RuntimeError) else "%s: %s: %s" % (
                PROG, task.key, error or task.status)
            print(message.splitlines()[0] if message else PROG + ": a task failed",
                  file=sys.stderr)
            return False
        progress.done(task.key in merges)
    progress.erase()
    return True


def final_merge(args, states):
    """coroner merge of the last states with the report options, here: its exit status."""
    with tempfile.TemporaryDirectory(prefix="coroner-dask-") as scratch:
        paths = state_paths(states, scratch)
        try:
            return subprocess.run([args.coroner, "merge", *args.threads, *args.judging,
                                   *args.report, "--", *paths]).returncode
        except OSError as error:
            fail("cannot run %s: %s" % (args.coroner, error.strerror))


def connect(args):
    """A client of the scheduler given, or of a new LocalCluster of worker processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        fail("needs the Python modules dask and distributed "
             "(Debian: python3-dask python3-distributed; pip install 'dask[distributed]')")
    # Worker failures are reported here, as coroner's one line: not as Dask's log records too,
    # nor as the asyncio complaints of its connections torn down after a failure.
    for name in ("distributed", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        if args.scheduler:
            return Client(args.scheduler, timeout="30s")
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.CRITICAL)
        return Client(cluster)
    except (OSError, TimeoutError) as error:
        fail("cannot reach the scheduler %s: %s" % (args.scheduler or "of the LocalCluster",
                                                      error))


def run(args, client):
    threads = sum(client.nthreads().values()) or 1
    args.states_given = all(name.endswith(".state") for name in args.logs)
    if not args.states_given and any(name.endswith(".state") for name in args.logs):
        fail("give logs, or states (.state) to merge, not both")
    shards = [[name] for name in args.logs] if args.states_given else \
        split_in_shards(args.logs, args.shards or 2 * threads)
    shared = tempfile.mkdtemp(prefix="coroner-dask-", dir=args.shared_dir) \
        if args.shared_dir else None
    try:
        tasks, merges, last = submit_tree(client, args, shards, shared)
        quiet = any(option in ("-q", "--quiet") for option in args.report)
        enabled = not quiet and (args.progress == "always" or
                                 (args.progress == "auto" and sys.stderr.isatty()))
        read = 0 if args.states_given else len(shards)
        if not wait_for(tasks, merges, Progress(enabled, read, len(merges))):
            client.cancel(tasks)
            return 2
        # One state at a time from the workers to a scratch file: never all of them in memory.
        states = (task if isinstance(task, str) else task.result() for task in last)
        del tasks
        return final_merge(args, states)
    finally:
        if shared:
            shutil.rmtree(shared, ignore_errors=True)


def main(argv):
    args = parse_args(argv)
    if args.shared_dir and not os.path.isdir(args.shared_dir):
        fail("%s: not a directory" % args.shared_dir)
    if not shutil.which(args.coroner):
        fail("%s: not found (install coroner, or give its path with --coroner)" % args.coroner)
    if os.sep in args.coroner:  # a path: the same on the workers, whatever their directory
        args.coroner = os.path.abspath(args.coroner)
    twice = given_twice(args.logs)
    if twice:  # before a cluster is started: analyze would not read them either
        print(twice, file=sys.stderr)
        return 2
    client = connect(args)
    try:
        return run(args, client)
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
