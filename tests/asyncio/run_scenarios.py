"""Run the real asyncio fault programs of this directory and check coroner's findings on them.

usage: run_scenarios.py CORONER_BINARY [--all-pythons | --python PATH] [--dir DIR] [--keep DIR]
                        [--only NAME] [--timeout S] [--reruns N]

Every NAME.py of this directory (or of --dir DIR; not this file, not _*.py) is run as
`PYTHON NAME.py OUTDIR` and writes OUTDIR/NAME.jsonl and OUTDIR/NAME.truth.json. PYTHON is the
python running this script, or --python PATH, and, with --all-pythons, every other Python 3.9+
of the machine too (/root/.pyenv/versions/*/bin/python3, /usr/bin/python3.*, python3.N on
PATH; one per minor version, this one first). What a program declares at module level is read
from its source, never imported:
- `MIN_PYTHON = (3, 11)`: on an older python it is skipped, reported "skip", not failed;
- `REQUIRES = ("structlog",)`: modules it imports that the python may lack (a library); where
  `PYTHON -c "import structlog"` fails it is skipped the same way;
- `FORMS = ("", "--batch")`: it runs once per form, as `PYTHON NAME.py OUTDIR FORM` for a
  non-empty one, and then writes OUTDIR/NAME_batch.jsonl and OUTDIR/NAME_batch.truth.json (the
  form without its dashes, after an underscore); without FORMS it runs once, as above.
Then `CORONER_BINARY analyze --format json <args> <files>` runs in OUTDIR, and its "findings"
are scored against the truth, strictly:

- every expected entry must be found: a finding with its task (as a string), one of its kinds,
  and, for each scope field the truth gives, the same value in the finding's "scope". A kind may
  be written "kind/subkind" (`lost-exception/swallowed`): then the finding's subkind must be
  that one too.
- blame and cycles must be exactly right: an entry with "root" (a task, or a list of tasks any of
  which will do) matched by a `blocked` finding needs the finding's "chain" (this task first, the
  root cause last) to end at that root; an entry with "cycle" (a list of tasks) matched by a
  `deadlock` finding needs the finding's "members" to be exactly that set. A finding of the right
  kind with the wrong root or cycle is reported as "wrong blame", not as found.
- no clean task may get a finding of kind hung, timeout, lost-exception, deadlock, blocked or
  orphan (information kinds such as in-flight or retried are fine); a task of the truth's
  optional "quiet" list may get no finding at all (not even an anomaly).
- the truth's "problems" (what the program itself checked and found wrong: a child process that
  did not die the way it should, records missing from the log) each fail the scenario.
- the truth's optional "outcomes" ({task: outcome}, or a list of outcomes any of which will do)
  must equal each task's "outcome" (open, ok, failed, timed-out, cancelled) in coroner's JSON:
  from the report's "tasks" when the task is flagged, else from `CORONER_BINARY timeline TASK
  --format json <args> <files>`. This checks that a task with no alarm also ended the right way
  (a cancelled job is cancelled, not merely unflagged).
- the truth's optional "errors" ({task: text}) wants that text inside the "error" of one of the
  task's events in `CORONER_BINARY timeline TASK --format json <args> <files>`: what coroner
  read of the exception the task logged ("PaymentDeclined: card declined", not a bare message).
- the truth's optional "waits" ({task: text}) wants that text inside the "waiting_for" of one of
  the task's events there: what the module said the task waited on ("held by indexer").

One line per scenario and python, one per miss, wrong blame, false alarm, wrong outcome and
problem. A failing program is run again, up to --reruns times (default 2), and passes if a fresh
run passes: the programs are timed, and a machine busy with other work can stretch a run until
its log no longer shows what its truth says (coroner reads one log the same way every time, so
its own faults fail every run); every failure is printed all the same. Exit status 0 if all pass (skips included), 1 if not, 77 (meson's "skipped") if this
python (or --python) is older than 3.9 or every run was skipped, 2 on a usage error. CORONER_ASYNCIO_DIR, when set, is where the programs import
coroner_asyncio from (else the repository's python/).
"""

import argparse
import ast
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALARM_KINDS = {"hung", "timeout", "lost-exception", "deadlock", "blocked", "orphan"}
SKIP = 77
OLDEST = (3, 9)


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
    extra = ""
    if entry.get("root") is not None:
        extra += " root=%s" % "|".join(as_list(entry["root"]))
    if entry.get("cycle") is not None:
        extra += " cycle={%s}" % ",".join(sorted(entry["cycle"]))
    return "%s%s (%s)%s" % (entry["task"], scope, "|".join(entry["kinds"]), extra)


def as_list(value):
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def last_line(data):
    lines = [ln.strip() for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "(nothing on stderr)"


def min_python(prog):
    """The program's `MIN_PYTHON = (3, N)` line, read from its source without importing (or even
    parsing) it: a program for a newer python may not parse on this one (`except*`)."""
    try:
        text = prog.read_text()
    except OSError:
        return OLDEST
    m = re.search(r"^MIN_PYTHON\s*=\s*(\([\d\s,]*\))", text, re.M)
    if not m:
        return OLDEST
    try:
        return tuple(ast.literal_eval(m.group(1)))
    except (ValueError, SyntaxError):
        return OLDEST


def declared(prog, name, default):
    """A module-level `NAME = <literal>` of the program, read from its source without importing
    it; default when absent or not a literal."""
    try:
        text = prog.read_text()
    except OSError:
        return default
    m = re.search(r"^%s\s*=\s*(\([^)\n]*\)|\[[^]\n]*\])" % re.escape(name), text, re.M)
    if not m:
        return default
    try:
        return tuple(ast.literal_eval(m.group(1)))
    except (ValueError, SyntaxError):
        return default


def missing_modules(python, modules):
    """The modules of `modules` that `python` cannot import."""
    missing = []
    for mod in modules:
        try:
            proc = subprocess.run([python, "-c", "import %s" % mod], capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            missing.append(mod)
            continue
        if proc.returncode != 0:
            missing.append(mod)
    return missing


def python_version(exe):
    try:
        out = subprocess.run([exe, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                             capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", out.stdout.decode().strip())
    return tuple(int(x) for x in m.groups()) if out.returncode == 0 and m else None


def pythons(all_pythons, first=None):
    """[(label, executable)]: this python (or first), then one per other minor version 3.9+ of
    the machine; None if first is no python."""
    if first is None:
        mine = sys.version_info[:3]
        found = [("%d.%d.%d" % mine, sys.executable)]
    else:
        mine = python_version(first)
        if mine is None:
            return None
        found = [("%d.%d.%d" % mine, first)]
    if not all_pythons:
        return found
    seen = {mine[:2]}
    candidates = sorted(glob.glob("/root/.pyenv/versions/*/bin/python3")) + sorted(glob.glob("/usr/bin/python3.*"))
    candidates += [shutil.which("python3.%d" % n) for n in range(9, 20)]
    for exe in candidates:
        if not exe or not os.access(exe, os.X_OK) or exe.endswith("-config"):
            continue
        v = python_version(exe)
        if v is None or v[:2] < OLDEST or v[:2] in seen:
            continue
        seen.add(v[:2])
        found.append(("%d.%d.%d" % v, exe))
    return [found[0]] + sorted(found[1:], key=lambda lv: tuple(int(x) for x in lv[0].split(".")))


def run_program(python, prog, outdir, timeout, form=""):
    """Run one fault program: None, or why it failed."""
    try:
        proc = subprocess.run([python, str(prog), str(outdir)] + ([form] if form else []),
                              capture_output=True, timeout=timeout)
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
    return doc, None


def timeline_of(binary, truth, outdir, timeout, task):
    """(the task's entry of `timeline TASK --format json`, None) or (None, why there is none)."""
    cmd = [binary, "timeline", task, "--format", "json", *truth.get("args", []), *truth["files"]]
    try:
        proc = subprocess.run(cmd, cwd=str(outdir), capture_output=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "(no timeline: %s)" % e
    try:
        tl = json.loads(proc.stdout)
    except ValueError:
        return None, "(no timeline: %s)" % last_line(proc.stderr)
    for t in (tl.get("tasks") or []) if isinstance(tl, dict) else []:
        if isinstance(t, dict) and as_task(t.get("task")) == task:
            return t, None
    return None, "(not in the timeline)"


def check_errors(binary, truth, outdir, timeout, key="errors", field="error"):
    """[(task, wanted text, the texts coroner read)] for every task of the truth's `key` (errors,
    or waits) whose timeline has no event whose `field` (error, or waiting_for) holds the text."""
    wrong = []
    for task, want in sorted((truth.get(key) or {}).items()):
        t, why = timeline_of(binary, truth, outdir, timeout, str(task))
        texts = [e.get(field) for e in (t or {}).get("events") or []
                 if isinstance(e, dict) and isinstance(e.get(field), str)]
        if not any(want in e for e in texts):
            wrong.append((str(task), want, texts or [why or "(no %s)" % field]))
    return wrong


def task_outcome(binary, truth, outdir, timeout, doc, task):
    """The outcome coroner gives task: from the report's tasks, else from `timeline TASK`."""
    for t in doc.get("tasks") or []:
        if isinstance(t, dict) and as_task(t.get("task")) == task:
            return t.get("outcome")
    cmd = [binary, "timeline", task, "--format", "json", *truth.get("args", []), *truth["files"]]
    try:
        proc = subprocess.run(cmd, cwd=str(outdir), capture_output=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "(no timeline: %s)" % e
    try:
        tl = json.loads(proc.stdout)
    except ValueError:
        return "(no timeline: %s)" % last_line(proc.stderr)
    for t in (tl.get("tasks") or []) if isinstance(tl, dict) else []:
        if isinstance(t, dict) and as_task(t.get("task")) == task:
            return t.get("outcome")
    return "(not in the timeline)"


def check_outcomes(binary, truth, outdir, timeout, doc):
    """[(task, wanted outcomes, coroner's outcome)] for every task of the truth's outcomes that
    coroner ended otherwise."""
    wrong = []
    for task, want in sorted((truth.get("outcomes") or {}).items()):
        want = as_list(want)
        got = task_outcome(binary, truth, outdir, timeout, doc, str(task))
        if got not in want:
            wrong.append((str(task), want, got))
    return wrong


def kind_matches(want, kind, subkind):
    """want: "kind" or "kind/subkind"."""
    k, _, sub = want.lower().partition("/")
    return k == kind and (not sub or sub == (subkind or "").lower())


def blame_problem(entry, f):
    """Why finding f (of a kind the entry accepts) has the wrong root or cycle, or None."""
    kind = f["kind"]
    if kind == "blocked" and entry.get("root") is not None:
        chain = [as_task(t) for t in (f.get("chain") or [])]
        roots = as_list(entry["root"])
        if not chain or chain[-1] not in roots:
            return "blocked with chain [%s], want it to end at %s" % (", ".join(map(str, chain)), " or ".join(roots))
    if kind == "deadlock" and entry.get("cycle") is not None:
        members = sorted({as_task(t) for t in (f.get("members") or [])} - {None})
        want = sorted(set(as_list(entry["cycle"])))
        if members != want:
            return "deadlock with members {%s}, want {%s}" % (", ".join(members), ", ".join(want))
    return None


def score(truth, findings):
    by_task = {}
    for f in findings:
        task = as_task(f.get("task"))
        if task is not None:
            by_task.setdefault(task, []).append({
                "kind": str(f.get("kind", "")).strip().lower(),
                "subkind": f.get("subkind") if isinstance(f.get("subkind"), str) else None,
                "scope": f.get("scope"), "chain": f.get("chain"), "members": f.get("members")})
    missed, wrong = [], []
    for e in truth["expected"]:
        candidates = [f for f in by_task.get(str(e["task"]), [])
                      if any(kind_matches(k, f["kind"], f["subkind"]) for k in e["kinds"])
                      and scope_matches(e.get("scope") or {}, f["scope"])]
        problems = [blame_problem(e, f) for f in candidates]
        if any(p is None for p in problems):
            continue
        if problems:
            wrong.append((e, problems[0]))
        else:
            got = ["%s%s" % (f["kind"], "/" + f["subkind"] if f["subkind"] else "") for f in by_task.get(str(e["task"]), [])]
            missed.append((e, got))
    alarms = {}
    for task in truth["clean"]:
        kinds = sorted({"%s%s" % (f["kind"], "/" + f["subkind"] if f["subkind"] else "")
                        for f in by_task.get(str(task), []) if f["kind"] in ALARM_KINDS})
        if kinds:
            alarms[str(task)] = kinds
    for task in truth.get("quiet", []):
        kinds = sorted({"%s%s" % (f["kind"], "/" + f["subkind"] if f["subkind"] else "")
                        for f in by_task.get(str(task), [])})
        if kinds:
            alarms[str(task)] = kinds + ["(a quiet task)"]
    return missed, wrong, alarms


def programs(where=HERE):
    return sorted(p for p in where.glob("*.py") if p.resolve() != Path(__file__).resolve() and not p.name.startswith("_"))


def run_one(binary, label, python, prog, outdir, timeout, form=""):
    """Run and score one program (in one of its forms) on one python; prints its lines, returns
    "pass", "fail" or "skip"."""
    name = prog.stem + ("_" + form.lstrip("-") if form else "")
    head = "%-24s %-8s" % (name, label)
    need = min_python(prog)
    have = tuple(int(x) for x in label.split(".")[:2])
    if have < need:
        print("%s skip  needs Python %s" % (head, ".".join(map(str, need))))
        return "skip"
    missing = missing_modules(python, declared(prog, "REQUIRES", ()))
    if missing:
        print("%s skip  %s cannot import %s" % (head, python, ", ".join(missing)))
        return "skip"
    outdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    error = run_program(python, prog, outdir, timeout, form)
    took = time.monotonic() - started
    truth = None
    if error is None:
        try:
            truth = json.loads((outdir / (name + ".truth.json")).read_text())
        except (OSError, ValueError) as e:
            error = "no truth file: %s" % e
    findings = doc = None
    if error is None:
        doc, error = run_coroner(binary, truth, outdir, timeout)
    if error is None:
        findings = [f for f in doc["findings"] if isinstance(f, dict)]
    problems = [str(p) for p in (truth or {}).get("problems") or []]
    if error is not None:
        print("%s FAIL  %s" % (head, error))
        for p in problems:
            print("    program check failed: %s" % p)
        return "fail"
    missed, wrong, alarms = score(truth, findings)
    outcomes = check_outcomes(binary, truth, outdir, timeout, doc)
    errors = check_errors(binary, truth, outdir, timeout)
    waits = check_errors(binary, truth, outdir, timeout, "waits", "waiting_for")
    ok = not missed and not wrong and not alarms and not problems and not outcomes and not errors and not waits
    n_exp = len(truth["expected"])
    n_out = len(truth.get("outcomes") or {})
    print("%s %s  found %d/%d expected, %d false alarms on %d clean tasks%s (%d findings, program %.1fs)"
          % (head, "pass" if ok else "FAIL", n_exp - len(missed) - len(wrong), n_exp, len(alarms),
             len(truth["clean"]), ", %d/%d outcomes right" % (n_out - len(outcomes), n_out) if n_out else "",
             len(findings), took))
    for p in problems:
        print("    program check failed: %s" % p)
    for e, got in missed:
        print("    missed: %s; its findings: %s" % (describe(e), ", ".join(got) or "none"))
    for e, why in wrong:
        print("    wrong blame: %s: %s" % (describe(e), why))
    for task, kinds in sorted(alarms.items()):
        print("    false alarm: %s (%s)" % (task, ", ".join(kinds)))
    for task, want, got in outcomes:
        print("    wrong outcome: %s is %s, want %s" % (task, got, " or ".join(want)))
    for task, want, got in errors:
        print("    wrong error: %s has %s, want one holding %r" % (task, " | ".join(map(repr, got)), want))
    for task, want, got in waits:
        print("    wrong wait: %s waited on %s, want one holding %r" % (task, " | ".join(map(repr, got)), want))
    return "pass" if ok else "fail"


def run_with_reruns(reruns, binary, label, python, prog, outdir, timeout, form=""):
    """run_one, and when it fails, the program run again (a fresh log) up to `reruns` times.

    The programs are real and timed: on a machine loaded by other work their sleeps stretch, and
    now and then a log no longer shows what the truth says happened. coroner reads a given log
    the same way every time, so a fault of coroner's fails every run; a run disturbed by the
    machine passes the next time. Each failure is printed in full, and a pass after one says so.
    """
    result = run_one(binary, label, python, prog, outdir, timeout, form)
    for attempt in range(1, reruns + 1):
        if result != "fail":
            break
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print("    run again (%d of %d; load average %.1f): a fresh log of the same program"
              % (attempt, reruns, load))
        result = run_one(binary, label, python, prog, outdir, timeout, form)
        if result == "pass":
            print("    passed on run %d: the failure above did not repeat on a fresh log"
                  % (attempt + 1))
    return result


def main():
    ap = argparse.ArgumentParser(description="Run the asyncio fault programs and score coroner on their logs.")
    ap.add_argument("binary", metavar="CORONER_BINARY")
    ap.add_argument("--all-pythons", action="store_true",
                    help="also run every program on every other Python 3.9+ of the machine")
    ap.add_argument("--python", metavar="PATH",
                    help="run the programs with this python instead of the one running this script")
    ap.add_argument("--dir", metavar="DIR", help="the directory of the programs (default: this script's, tests/asyncio)")
    ap.add_argument("--keep", metavar="DIR", help="write the logs and truths to DIR (DIR/PYTHON/ with --all-pythons) and keep them")
    ap.add_argument("--only", metavar="NAME", action="append", help="run only this program (repeatable)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per program and per coroner run")
    ap.add_argument("--reruns", type=int, default=2, metavar="N",
                    help="run a failing program again, up to N times, and pass if a run passes (default 2)")
    a = ap.parse_args()

    if a.python is None and sys.version_info < OLDEST:
        print("run_scenarios.py: python %d.%d is older than 3.9: skipped" % sys.version_info[:2])
        return SKIP

    binary = a.binary
    if os.sep in binary:
        binary = os.path.abspath(binary)
    elif shutil.which(binary):
        binary = shutil.which(binary)
    where = Path(a.dir).resolve() if a.dir else HERE
    progs = programs(where)
    if a.only:
        known = {p.stem: p for p in progs}
        unknown = [n for n in a.only if n not in known]
        if unknown:
            print("run_scenarios.py: unknown scenario(s) %s; known: %s"
                  % (", ".join(unknown), ", ".join(sorted(known))), file=sys.stderr)
            return 2
        progs = [known[n] for n in a.only]

    interpreters = pythons(a.all_pythons, a.python)
    if interpreters is None:
        print("run_scenarios.py: %s is no python that runs: skipped" % a.python)
        return SKIP
    if tuple(int(x) for x in interpreters[0][0].split(".")[:2]) < OLDEST:
        print("run_scenarios.py: %s is older than Python 3.9: skipped" % a.python)
        return SKIP
    print("pythons: %s" % ", ".join("%s (%s)" % lv for lv in interpreters))
    if os.environ.get("CORONER_ASYNCIO_DIR"):
        print("coroner_asyncio from CORONER_ASYNCIO_DIR=%s" % os.environ["CORONER_ASYNCIO_DIR"])

    if a.keep:
        root = Path(a.keep).resolve()
        root.mkdir(parents=True, exist_ok=True)
        tmp = None
    else:
        tmp = tempfile.TemporaryDirectory(prefix="coroner-asyncio-")
        root = Path(tmp.name)

    counts = {"pass": 0, "fail": 0, "skip": 0}
    try:
        for label, python in interpreters:
            outdir = root / label if len(interpreters) > 1 else root
            for prog in progs:
                for form in declared(prog, "FORMS", ("",)):
                    counts[run_with_reruns(a.reruns, binary, label, python, prog, outdir,
                                           a.timeout, form)] += 1
    finally:
        if tmp is not None:
            tmp.cleanup()
    runs = sum(counts.values())
    print("%s scenarios: %d/%d passing (%d skipped; %d programs on %d pythons)"
          % (where.name, counts["pass"] + counts["skip"], runs, counts["skip"], len(progs), len(interpreters)))
    if counts["fail"]:
        return 1
    return SKIP if runs and counts["skip"] == runs else 0


if __name__ == "__main__":
    sys.exit(main())
