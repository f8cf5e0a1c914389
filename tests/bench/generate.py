#!/usr/bin/env python3
"""Writes a deterministic seed-format log for the benchmark.

usage: generate.py TASKS OUT.jsonl [--seed N] [--free-text]

Each task logs what the seed pipeline logs, one JSON object a line:
    {"timestamp": ..., "task_id": N, "stage": "validate" | "transform" | "save_to_db"}
64 tasks run interleaved. About 2% hang in transform (never log again), 2% time out
({"stage": "fetch_data timed out", "level": "error"}), 2% log a ValueError in validate and carry
on (swallowed). 2 million tasks make about 860 MB.

--free-text writes the same log as a service that logs sentences would: a "message" whose text
holds the task's variable parts instead of a constant "stage" ("validated order 1234 in 7 ms",
"fetch_data for order 1234 timed out"), the templated twin of the constant-name log.
"""
import random
import sys

STAGES = ("validate", "transform", "save_to_db")
FREE_TEXT = "--free-text" in sys.argv


def stage_field(stage, task_id):
    """'"stage": "validate"', or with --free-text the sentence a service would log instead."""
    if not FREE_TEXT:
        return '"stage": "%s"' % stage
    # Numbers from the task id, not from the generator: both twins draw the same random times.
    text = {
        "validate": "validated order %d in %d ms" % (task_id, task_id * 2654435761 % 40 + 1),
        "transform": "transformed %d rows of order %d" % (task_id * 40503 % 999 + 1, task_id),
        "save_to_db": "saved order %d to db shard %d" % (task_id, task_id % 16),
        "fetch_data timed out": "fetch_data for order %d timed out" % task_id,
    }[stage]
    return '"message": "%s"' % text


def task_lines(task_id, t, rng):
    """(time, line) pairs of one task starting at time t."""
    fate = rng.random()
    out = []
    step = lambda: rng.uniform(0.002, 0.02)
    line = lambda t, stage, rest="": '{"timestamp": %.7f, "task_id": %d, %s%s}' % (
        t, task_id, stage_field(stage, task_id), rest)
    out.append((t, line(t, "validate")))
    if fate < 0.02:  # swallowed: the error is logged, the task carries on
        t += step()
        out.append((t, line(t, "validate", ', "level": "error", "exception": "ValueError: could '
                                           'not convert string to float: \'n/a\'"')))
    t += step()
    out.append((t, line(t, "transform")))
    if 0.02 <= fate < 0.04:  # hung: nothing more
        return out
    if 0.04 <= fate < 0.06:  # timed out
        t += 0.05 + step()
        out.append((t, line(t, "fetch_data timed out", ', "level": "error"')))
        return out
    t += step()
    out.append((t, line(t, "save_to_db")))
    return out


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    tasks, path = int(sys.argv[1]), sys.argv[2]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 1
    rng = random.Random(seed)
    t0 = 1795578788.0
    with open(path, "w") as out:
        # Tasks start in waves of 64; each wave's lines are merged by time, so 64 tasks interleave.
        for wave_start in range(0, tasks, 64):
            lines = []
            for i in range(wave_start, min(wave_start + 64, tasks)):
                lines.extend(task_lines(1000 + i, t0 + rng.uniform(0, 0.01), rng))
            lines.sort(key=lambda pair: pair[0])
            out.write("\n".join(line for _, line in lines))
            out.write("\n")
            t0 += 0.03
    return 0


if __name__ == "__main__":
    sys.exit(main())
