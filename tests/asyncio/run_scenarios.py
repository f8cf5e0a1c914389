"""Run the real asyncio fault programs of this directory and check coroner's findings on them.

usage: run_scenarios.py CORONER_BINARY [--keep DIR] [--only NAME] [--timeout S]

Every NAME.py here (not this file, not _*.py) is run as `python3 NAME.py OUTDIR`, with the
python running this script, and writes OUTDIR/NAME.jsonl and OUTDIR/NAME.truth.json. Then
`CORONER_BINARY analyze --format json <args> <files>` runs in OUTDIR, and its "findings" are
scored against the truth, strictly:

- every expected entry must be found: a finding with its task (as a string), one of its kinds,
  and, for each scope field the truth gives, the same value in the finding's "scope";
- no clean task may get a finding of kind hung, timeout, lost-exception, deadlock, blocked or
  orphan.

One line per scenario, one per miss and per false alarm. Exit status 0 if all pass, 1 if not,
77 (meson's "skipped") if this python is older than 3.9, 2 on a usage error.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALARM_KINDS = {"hung", "timeout", "lost-exception", "deadlock", "blocked", "orphan"}
SKIP = 77


def as_task(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def scope_matches(want, got):
    if not want:
        return True
    if not isinstance(got, dict):
        return False
    return all(k in got and got[k] is not None and str(got[k]) == str(v) for k, v in want.items())


def describe(entry):
    scope = "".join(" %s=%s" % kv for kv in sorted((entry.get("scope") or {}).items()))
    return "%s%s (%s)" % (entry["task"], scope, "|".join(entry["kinds"]))


def last_line(data):
    lines = [ln.strip() for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "(nothing on stderr)"


def run_program(prog, outdir, timeout):
    """Run one fault program: None, or why it failed."""
    try:
        proc = subprocess.run([sys.executable, str(prog), str(outdir)], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "the program timed out after %ss" % timeout
    if proc.returncode != 0:
        return "the program exited with status %d: %s" % (proc.returncode, last_line(proc.stderr))
    return None


def run_coroner(binary, truth, outdir, timeout):
    """(findings, None) or (None, why it failed)."""
    cmd = [binary, "analyze", "--format", "json", *truth.get("args", []), *truth["files"]]
    try:
        proc = subprocess.run(cmd, cwd=str(outdir), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "coroner timed out after %ss" % timeout
    except OSError as e:
        return None, "cannot run coroner: %s" % e
    if proc.returncode < 0:
        return None, "coroner killed by signal %d: %s" % (-proc.returncode, last_line(proc.stderr))
    if proc.returncode not in (0, 1):
        return None, "coroner exit status %d: %s" % (proc.returncode, last_line(proc.stderr))
    try:
        doc = json.loads(proc.stdout)
    except ValueError as e:
        return None, "coroner's output is not JSON (%s): %r" % (e, proc.stdout[:80])
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        return None, "coroner's JSON has no \"findings\" list"
    return [f for f in doc["findings"] if isinstance(f, dict)], None


def score(truth, findings):
    by_task = {}
    for f in findings:
        task = as_task(f.get("task"))
        if task is not None:
            by_task.setdefault(task, []).append((str(f.get("kind", "")).strip().lower(), f.get("scope")))
    missed = []
    for e in truth["expected"]:
        kinds = {k.lower() for k in e["kinds"]}
        if not any(k in kinds and scope_matches(e.get("scope") or {}, s) for k, s in by_task.get(e["task"], [])):
            missed.append(e)
    alarms = {}
    for task in truth["clean"]:
        kinds = sorted({k for k, _ in by_task.get(task, []) if k in ALARM_KINDS})
        if kinds:
            alarms[task] = kinds
    return missed, alarms


def programs():
    return sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))


def main():
    ap = argparse.ArgumentParser(description="Run the asyncio fault programs and score coroner on their logs.")
    ap.add_argument("binary", metavar="CORONER_BINARY")
    ap.add_argument("--keep", metavar="DIR", help="write the logs and truths to DIR and keep them")
    ap.add_argument("--only", metavar="NAME", action="append", help="run only this program (repeatable)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per program and per coroner run")
    a = ap.parse_args()

    if sys.version_info < (3, 9):
        print("run_scenarios.py: python %d.%d is older than 3.9: skipped" % sys.version_info[:2])
        return SKIP

    binary = a.binary
    if os.sep in binary:
        binary = os.path.abspath(binary)
    elif shutil.which(binary):
        binary = shutil.which(binary)
    progs = programs()
    if a.only:
        known = {p.stem: p for p in progs}
        unknown = [n for n in a.only if n not in known]
        if unknown:
            print("run_scenarios.py: unknown scenario(s) %s; known: %s"
                  % (", ".join(unknown), ", ".join(sorted(known))), file=sys.stderr)
            return 2
        progs = [known[n] for n in a.only]

    if a.keep:
        outdir = Path(a.keep).resolve()
        outdir.mkdir(parents=True, exist_ok=True)
        tmp = None
    else:
        tmp = tempfile.TemporaryDirectory(prefix="coroner-asyncio-")
        outdir = Path(tmp.name)

    failed = 0
    try:
        for prog in progs:
            name = prog.stem
            error = run_program(prog, outdir, a.timeout)
            truth = None
            if error is None:
                try:
                    truth = json.loads((outdir / (name + ".truth.json")).read_text())
                except (OSError, ValueError) as e:
                    error = "no truth file: %s" % e
            if error is None:
                findings, error = run_coroner(binary, truth, outdir, a.timeout)
            if error is not None:
                failed += 1
                print("%-18s FAIL  %s" % (name, error))
                continue
            missed, alarms = score(truth, findings)
            ok = not missed and not alarms
            failed += not ok
            n_exp = len(truth["expected"])
            print("%-18s %s  found %d/%d expected, %d false alarms on %d clean tasks (%d findings)"
                  % (name, "pass" if ok else "FAIL", n_exp - len(missed), n_exp, len(alarms),
                     len(truth["clean"]), len(findings)))
            for e in missed:
                print("    missed: %s" % describe(e))
            for task, kinds in sorted(alarms.items()):
                print("    false alarm: %s (%s)" % (task, ", ".join(kinds)))
    finally:
        if tmp is not None:
            tmp.cleanup()
    print("asyncio scenarios: %d/%d passing" % (len(progs) - failed, len(progs)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
