"""module_runner_hang: module_runner_reuse with a hang planted in the second run (Python 3.11+).

usage: python3 module_runner_hang.py OUTDIR
       -> OUTDIR/module_runner_hang.jsonl + .truth.json

fetch-4, a task of the loop's second run, awaits an Event nobody sets: *hung* (found though the
loop ran again after the run that made it, and its exit is at Runner.close()). The others clean
as in module_runner_reuse (whose docstring tells the program).
"""

import runpy
import sys
from pathlib import Path

MIN_PYTHON = (3, 11)

if __name__ == "__main__":
    sys.argv.append("--hang")
    runpy.run_path(str(Path(__file__).resolve().parent / "module_runner_reuse.py"), run_name="__main__")
