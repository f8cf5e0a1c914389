#!/usr/bin/env python3
"""contrib/dask/coroner_dask.py on Dask clusters of two worker processes, against coroner analyze.

usage: test_dask.py CORONER SOURCE_ROOT [--python PY]

Over the sample traces and a generated log of 3000 tasks cut into four files (some task's
records in two of them), the script's report and exit status are byte for byte those of one
`coroner analyze` over the same files (which reads them in time order, as merge reads states),
text and json: once on a LocalCluster
the script starts (nothing on stderr, which is no terminal), then on a cluster started here in
another directory and given with --scheduler (coroner and the logs by relative names; states
as task results, and through a shared directory; shard counts that leave an odd state to carry
over, a last merge of three states; progress lines with --progress always; states given
instead of logs). A log that cannot be read, and a damaged
state, end the run with coroner's one line and exit 2.
Exit 0 when all hold, 1 otherwise, 77 (skipped) when PY (default /usr/bin/python3) lacks
dask or distributed.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def split_log(log, parts, directory):
    """The log cut by line ranges into files part-N.jsonl (relative names); asserts that a
    task's records fall in two adjacent files, which is what merging must mend."""
    lines = log.read_text().splitlines(keepends=True)
    cuts = [0] + [len(lines) * (i + 1) // parts + 7 * i for i in range(parts - 1)] + [len(lines)]
    names = []
    for i in range(parts):
        name = "part-%d.jsonl" % i
        (directory / name).write_text("".join(lines[cuts[i]:cuts[i + 1]]))
        names.append(name)
    tasks = [{json.loads(line)["task_id"] for line in lines[cuts[i]:cuts[i + 1]]}
             for i in range(parts)]
    check(all(tasks[i] & tasks[i + 1] for i in range(parts - 1)),
          "every cut of the generated log splits some task's records across two files")
    return names


class LocalScheduler:
    """A LocalCluster of two worker processes in a child Python, for --scheduler."""

    CODE = ("import logging, sys\n"
            "from distributed import LocalCluster\n"
            "if __name__ == '__main__':\n"
            "    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,\n"
            "                           dashboard_address=None, silence_logs=logging.CRITICAL)\n"
            "    print(cluster.scheduler_address, flush=True)\n"
            "    sys.stdin.read()\n"
            "    cluster.close()\n")

    def __init__(self, python, cwd):
        self.process = subprocess.Popen([python, "-c", self.CODE], cwd=cwd, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.address = self.process.stdout.readline().strip()

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("coroner")
    parser.add_argument("source_root")
    parser.add_argument("--python", default="/usr/bin/python3")
    args = parser.parse_args()
    if subprocess.run([args.python, "-c", "import dask, distributed"],
                      capture_output=True).returncode != 0:
        print("skipped: %s lacks dask or distributed" % args.python)
        return 77
    root = Path(args.source_root).resolve()
    coroner = str(Path(args.coroner).resolve())
    script = str(root / "contrib" / "dask" / "coroner_dask.py")

    with tempfile.TemporaryDirectory(prefix="coroner-dask-test-") as scratch:
        work = Path(scratch)
        subprocess.run([args.python, str(root / "tests" / "bench" / "generate.py"), "3000",
                        str(work / "generated.jsonl")], check=True)
        # The sample traces by absolute name, the parts by relative name (the workers must
        # read them from this directory), in one order that both runs keep.
        files = [str(p) for p in sorted((root / "sample_traces").glob("*.jsonl"))]
        files += split_log(work / "generated.jsonl", 4, work)

        def run(argv):
            done = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=240)
            return done.returncode, done.stdout, done.stderr

        # coroner by a relative path: the script must hand the workers one that holds in theirs.
        relative_coroner = os.path.relpath(coroner, work)

        def dask(*options, inputs=files):
            return run([args.python, script, "--coroner", relative_coroner, *options, *inputs])

        def analyze(*options):
            return run([coroner, "analyze", *options, *files])

        def same_as_analyze(what, got, options):
            want = analyze(*options)
            check(got[0] == want[0] and want[0] in (0, 1),
                  "%s: exit status %d, analyze's %d" % (what, got[0], want[0]))
            check(got[1] == want[1] and want[1],
                  "%s: the report is byte-identical to coroner analyze's" % what)

        # The script's own LocalCluster; stderr is no terminal: no progress, nothing at all.
        text = dask("--workers", "2", "--shards", "4")
        same_as_analyze("LocalCluster, text, 4 shards", text, [])
        check(text[2] == "", "LocalCluster: nothing on stderr (%r)" % text[2][:200])

        # Its workers run in another directory, as a real cluster's would.
        (work / "elsewhere").mkdir()
        cluster = LocalScheduler(args.python, work / "elsewhere")
        try:
            at = ["--scheduler", cluster.address]
            check(cluster.address.startswith("tcp://"), "a scheduler at %s" % cluster.address)
            options = ["-f", "json", "--stall", "2s", "--fail-on", "timeout"]
            got = dask(*at, "--shards", "5", "--fan-in", "2", "--progress", "always", "-j", "1",
                       *options)
            same_as_analyze("--scheduler, json, 5 shards, --fan-in 2, judging options", got,
                            options)
            check(got[2].splitlines()[-1:] == ["coroner-dask: 5 of 5 shards read, 3 of 3 merges"],
                  "--progress always: shards and merges counted to the end (%r)" % got[2][-200:])
            with tempfile.TemporaryDirectory(dir=work) as shared:
                got = dask(*at, "--shards", "7", "--fan-in", "3", "--shared-dir", shared,
                           "--top", "0")
                same_as_analyze("--shared-dir, text, 7 shards, --fan-in 3, --top 0", got,
                                ["--top", "0"])
                check(not any(Path(shared).iterdir()), "--shared-dir: the states are removed")

            missing = dask(*at, "--shards", "3", inputs=files[:3] + ["missing.jsonl"] + files[3:])
            check(missing[0] == 2 and missing[1] == "", "a missing log: exit 2, no report")
            check(missing[2] == "coroner: missing.jsonl: No such file or directory\n",
                  "a missing log: coroner's one line (%r)" % missing[2][:300])

            twice = dask(*at, inputs=files + [files[0]])
            want = analyze(files[0])
            check(twice[0] == 2 and twice[1] == "" and twice[2] == want[2] and
                  "given twice" in want[2], "a log given twice: analyze's one line, exit 2 (%r)"
                  % twice[2][:300])

            states = []
            for i, shard in enumerate((files[:2], files[2:5], files[5:])):
                states.append("s%d.state" % i)
                run([coroner, "partial", *shard, "-o", states[-1]])
            # --fan-in 2: the first two states merge on a worker, where the damage is found.
            got = dask(*at, "--fan-in", "2", inputs=states)
            same_as_analyze("states given, merged as they are", got, [])
            state = (work / "s0.state").read_bytes()
            (work / "s0.state").write_bytes(state[:100] + bytes([state[100] ^ 1]) + state[101:])
            damaged = dask(*at, "--fan-in", "2", inputs=states)
            check(damaged[0] == 2 and damaged[1] == "", "a damaged state: exit 2, no report")
            check(len(damaged[2].splitlines()) == 1 and damaged[2].startswith("coroner: ") and
                  "s0.state: damaged state" in damaged[2],
                "a damaged state: coroner's one line (%r)" % damaged[2][:300])
        finally:
            cluster.close()

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
