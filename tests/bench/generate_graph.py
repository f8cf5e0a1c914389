#!/usr/bin/env python3
"""Writes a deterministic log of task trees for measuring the task graph at scale.

usage: generate_graph.py TREES OUT.jsonl

Each tree is a root that spawns three children and awaits them (4 tasks, 3 parent edges and
3 await edges); every 1000th tree deadlocks (two children await each other and never end) and
its root stays blocked. 250,000 trees make a million tasks and a million and a half edges.
"""
import sys


def main():
    trees, path = int(sys.argv[1]), sys.argv[2]
    t = 1795578788.0
    with open(path, "w") as out:
        for i in range(trees):
            root = "job-%d" % i
            kids = ["%s:%d" % (root, k) for k in range(3)]
            w = out.write
            w('{"ts": %.6f, "task": "%s", "phase": "started"}\n' % (t, root))
            for k in kids:
                w('{"ts": %.6f, "task": "%s", "phase": "started", "parent_id": "%s"}\n' % (t, k, root))
            w('{"ts": %.6f, "task": "%s", "phase": "waiting", "awaits": ["%s", "%s", "%s"]}\n'
              % (t + 0.001, root, *kids))
            if i % 1000 == 999:
                w('{"ts": %.6f, "task": "%s", "phase": "waiting", "awaits": "%s"}\n' % (t + 0.002, kids[0], kids[1]))
                w('{"ts": %.6f, "task": "%s", "phase": "waiting", "awaits": "%s"}\n' % (t + 0.002, kids[1], kids[0]))
                w('{"ts": %.6f, "task": "%s", "phase": "done"}\n' % (t + 0.003, kids[2]))
            else:
                for n, k in enumerate(kids):
                    w('{"ts": %.6f, "task": "%s", "phase": "done", "parent_id": "%s"}\n' % (t + 0.002 + n * 0.001, k, root))
                w('{"ts": %.6f, "task": "%s", "phase": "done"}\n' % (t + 0.006, root))
            t += 0.0005


if __name__ == "__main__":
    main()
