#!/usr/bin/env python3
"""The script a user would write instead of coroner: json.loads per line, a dict of last stages.

usage: last_stage.py FILE   (prints how many tasks did not reach save_to_db)
"""
import json
import sys


def main():
    last = {}
    with open(sys.argv[1]) as log:
        for line in log:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            task = record.get("task_id")
            if task is not None:
                last[task] = record.get("stage")
    unfinished = [t for t, stage in last.items() if stage != "save_to_db"]
    print(len(last), len(unfinished))


if __name__ == "__main__":
    main()
