"""The harness of the programs that run their asyncio workload as a child stopped by SIGTERM
(module_sigterm, module_dispatcher, module_server): not a scenario of its own (run_scenarios.py
skips _*.py).

A program calls main(NAME, __file__, child_main, parent): run as `PROG.py OUTDIR`, it calls
parent(OUTDIR), which calls run_child() to run `PROG.py --child OUTDIR`; there, child_main(log)
writes OUTDIR/NAME.jsonl until its SIGTERM.
"""

import asyncio
import signal
import subprocess
import sys
from pathlib import Path


def run_child(program, out):
    """Runs the program's child; how it ended ("killed by SIGTERM", "exit status 0", ...) and,
    unless SIGTERM killed it, the problem to report."""
    proc = subprocess.run([sys.executable, program, "--child", str(out)], capture_output=True, timeout=30)
    if proc.returncode == -signal.SIGTERM:
        return "killed by SIGTERM", []
    how = ("exit status %d" % proc.returncode if proc.returncode >= 0
           else "killed by signal %d" % -proc.returncode)
    return how, ["the child must die by SIGTERM, got %s: %s"
                 % (how, proc.stderr.decode(errors="replace").strip()[-300:])]


def main(name, child_main, parent):
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        with open(Path(sys.argv[2]) / (name + ".jsonl"), "w") as f:
            asyncio.run(child_main(f))
        sys.exit(name + ": the child was not stopped by its SIGTERM")
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    parent(out)
