#!/usr/bin/env python3
"""The console examples of README.md and of man/coroner.1's EXAMPLES section, run as tests.

Usage: check_examples.py [--update] CORONER [ROOT]

ROOT is the source tree (default: two directories above this script). Every example runs in
bash, with CORONER as `coroner` first on PATH, NO_COLOR=1 and TZ=UTC, in a scratch directory
that links every top-level entry of ROOT: relative paths are the ones the README shows
(`sample_traces/seed_pipeline.jsonl`), and what an example writes (`-o report.html`,
`> deadlock.svg`) lands in the scratch directory, not in the source tree.

Where the examples are:
  - README.md: fenced blocks tagged console, sh, shell or bash (other blocks are not read);
  - man/coroner.1: the .EX/.EE blocks between `.SH EXAMPLES` and the next `.SH`, roff escapes
    (\\- \\(aq \\(dq \\e \\&) read as the characters they print.

Conventions:
  - Transcript: a block whose first line starts with `$ `. Each `$ ` line is a command; the
    lines up to the next `$ ` line or the end of the block are its output (standard output and
    standard error, as a terminal shows them), compared line for line with what the command
    prints. Empty lines at the end of the output are not shown and not compared.
  - Script: any other block. Each line that is not empty nor a `#` comment is a command whose
    output is not shown; its exit status is checked, and it must print nothing on standard
    error (in a pipeline the status is the last command's, so a failing coroner before a jq
    shows only there).
  - A command runs when its first word is `coroner`; other commands (`kubectl ...`,
    `apt-get ...`, `meson ...`) are left alone and listed as not run. A line ending in `\\`
    continues on the next one.
  - Exit status: a command may end with a comment `# exit N`: the status the shell reports for
    the whole line (for a pipeline, its last command's) must be N. Without it, 0.
  - Elision: an output line that is exactly `...` stands for any number of lines, none
    included; the shown lines before and after it must match where they stand. A shown
    prefix is lines then `...`. (coroner's own `  ... and 3 more` lines are indented, so they
    are compared as text.)
  - No output line of a transcript may end in a blank (space or tab).

--update rewrites, from the binary, the output of every transcript that no longer matches and
every `# exit N` that is wrong, in README.md and man/coroner.1; an example with an elision that
no longer matches is written out in full (elide it again by hand). Review with `git diff`.

Exit status: 0 when every example passes (or, with --update, when all were written), 1 when
one fails, 2 on a usage error or an unreadable file, 77 (skipped) when a tool the examples pipe
into (jq, dot) is missing.
"""

import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
README_FENCES = {"console", "sh", "shell", "bash"}
EXIT_COMMENT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
ELISION = "..."
# Words that start a pipeline segment but need no program: the shell runs them itself.
SHELL_BUILTINS = {"exit", "echo", "cd", "test", "true", "false", "set", "export"}

# roff escapes an example may use, and what they print. Any other escape is an error: an
# example read wrongly would be compared wrongly.
ROFF_ESCAPES = [("\\-", "-"), ("\\(aq", "'"), ("\\(dq", '"'), ("\\(ga", "`"), ("\\(ti", "~"),
                ("\\(ha", "^"), ("\\&", ""), ("\\e", "\\")]


class Example:
    """One command of a block, where it stands in its file, and what it must print."""

    def __init__(self, path, lineno, command, status_line):
        self.path = path            # the file it is written in
        self.lineno = lineno        # 1-based line of its first command line
        self.command = command      # the shell text, without the `$ ` and the exit comment
        self.status_line = status_line  # 0-based index of the line carrying `# exit N`
        self.expected_status = 0
        self.expected = None        # the shown output lines, or None (a script's command)
        self.output_span = None     # 0-based [start, end) of the output lines in the file

    def where(self):
        return f"{os.path.basename(self.path)}:{self.lineno}"

    def runs(self):
        words = self.command.split()
        return bool(words) and words[0] == "coroner"


def roff_to_text(line, path, lineno):
    out, i = [], 0
    while i < len(line):
        if line[i] != "\\":
            out.append(line[i])
            i += 1
            continue
        for escape, text in ROFF_ESCAPES:
            if line.startswith(escape, i):
                out.append(text)
                i += len(escape)
                break
        else:
            raise ValueError(f"{path}:{lineno}: roff escape {line[i:i + 4]!r} not understood "
                             "in an example (check_examples.py knows " +
                             " ".join(e for e, _ in ROFF_ESCAPES) + ")")
    return "".join(out)


def text_to_roff(line):
    line = line.replace("\\", "\\e").replace("-", "\\-").replace("'", "\\(aq")
    # A line starting with a dot or a quote would be read as a request.
    return "\\&" + line if line.startswith((".", "'")) else line


def readme_blocks(lines):
    """(first line index, the block's lines) for each fenced block of a language we run."""
    blocks, i = [], 0
    while i < len(lines):
        m = re.match(r"^```\s*(\S*)", lines[i])
        if not m:
            i += 1
            continue
        language, start = m.group(1), i + 1
        i = start
        while i < len(lines) and not lines[i].startswith("```"):
            i += 1
        if language in README_FENCES:
            blocks.append((start, lines[start:i]))
        i += 1
    return blocks


def man_blocks(lines, path):
    """(first line index, the block's lines as text) for each .EX block of EXAMPLES."""
    blocks, i, inside = [], 0, False
    while i < len(lines):
        line = lines[i]
        if line.startswith(".SH"):
            inside = line.split(None, 1)[1:] == ["EXAMPLES"]
        elif inside and line.startswith(".EX"):
            start = i + 1
            i = start
            while i < len(lines) and not lines[i].startswith(".EE"):
                i += 1
            blocks.append((start, [roff_to_text(l, path, start + k + 1)
                                   for k, l in enumerate(lines[start:i])]))
        i += 1
    return blocks


def examples_of_block(path, start, block):
    """The examples of one block; `start` is the file index of its first line."""
    examples = []
    transcript = bool(block) and block[0].startswith("$ ")
    i = 0
    while i < len(block):
        line = block[i]
        if transcript and not line.startswith("$ "):
            i += 1
            continue
        if not transcript and (not line.strip() or line.lstrip().startswith("#")):
            i += 1
            continue
        first = i
        text = line[2:] if transcript else line.strip()
        while text.endswith("\\") and i + 1 < len(block):
            i += 1
            text = text[:-1] + " " + block[i].strip()
        example = Example(path, start + first + 1, text, start + i)
        m = EXIT_COMMENT.search(example.command)
        if m:
            example.expected_status = int(m.group(1))
            example.command = example.command[:m.start()]
        i += 1
        if transcript:
            out_start = i
            while i < len(block) and not block[i].startswith("$ "):
                i += 1
            example.expected = block[out_start:i]
            example.output_span = (start + out_start, start + i)
            while example.expected and not example.expected[-1].strip():
                example.expected.pop()
        examples.append(example)
    return examples


def read_examples(path, is_man):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks = man_blocks(lines, path) if is_man else readme_blocks(lines)
    examples = []
    for start, block in blocks:
        examples += examples_of_block(path, start, block)
    return lines, examples


def matches(expected, actual):
    """Whether the shown lines match the printed ones, a `...` line matching any run of lines."""
    pieces = [[]]  # the runs of shown lines between the elisions
    for line in expected:
        if line == ELISION:
            pieces.append([])
        else:
            pieces[-1].append(line)
    if len(pieces) == 1:
        return expected == actual
    first, middle, last = pieces[0], pieces[1:-1], pieces[-1]
    if actual[:len(first)] != first or len(actual) < len(first) + len(last):
        return False
    if last and actual[len(actual) - len(last):] != last:
        return False
    # Each middle run where it first fits leaves the most room to the runs after it.
    at, end = len(first), len(actual) - len(last)
    for piece in middle:
        while at + len(piece) <= end and actual[at:at + len(piece)] != piece:
            at += 1
        if at + len(piece) > end:
            return False
        at += len(piece)
    return True


def tools_needed(examples):
    """The programs, other than coroner and the shell's own, that the commands call."""
    tools = set()
    for e in examples:
        lexer = shlex.shlex(e.command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        at_start = True  # the next word starts a command of the line
        for word in lexer:
            if at_start and word not in SHELL_BUILTINS and word != "coroner":
                tools.add(word)
            at_start = word in ("|", "||", "&&", ";")
    return tools


def scratch_directory(root, coroner):
    """A directory that looks like ROOT to the examples and keeps what they write."""
    scratch = tempfile.mkdtemp(prefix="coroner-examples-")
    for name in os.listdir(root):
        if not name.startswith("."):
            os.symlink(os.path.join(root, name), os.path.join(scratch, name))
    tools = os.path.join(scratch, ".bin")
    os.mkdir(tools)
    os.symlink(os.path.abspath(coroner), os.path.join(tools, "coroner"))
    return scratch, tools


def text_lines(data):
    lines = data.decode("utf-8", errors="replace").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def run(example, scratch, tools):
    """(exit status, output lines, standard error lines) of one example.

    A transcript shows what a terminal shows, standard error among the output; a script's
    command shows nothing, so its standard error is kept apart to be checked empty."""
    env = dict(os.environ)
    env.pop("COLUMNS", None)  # the examples show unwrapped text, as into a pipe
    env.update(PATH=tools + os.pathsep + env.get("PATH", ""), NO_COLOR="1", TZ="UTC")
    shown = example.expected is not None
    try:
        done = subprocess.run(["bash", "-c", example.command], cwd=scratch, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT if shown else subprocess.PIPE,
                              timeout=120)
    except subprocess.TimeoutExpired:
        return None, [], ["(timed out after 120 s)"]
    return done.returncode, text_lines(done.stdout), [] if shown else text_lines(done.stderr)


def diff(expected, actual):
    return "\n".join(difflib.unified_diff(expected, actual, "shown", "printed", lineterm=""))


def check(example, status, actual, errors):
    """What is wrong with one example's run, as a list of messages."""
    problems = []
    if status != example.expected_status:
        problems.append(f"exit status {status}, the example says {example.expected_status}")
    if example.expected is not None:
        for k, line in enumerate(actual):
            if line != line.rstrip(" \t"):
                problems.append(f"output line {k + 1} ends in a blank: {line!r}")
        if not matches(example.expected, actual):
            problems.append("output differs:\n" + diff(example.expected, actual))
    elif errors:
        # In a pipeline only the last command's status counts: coroner failing before a jq
        # would pass unseen but for what it says on standard error.
        problems.append("standard error is not empty:\n  " + "\n  ".join(errors[:20]))
    return problems


def updated_lines(lines, edits, is_man):
    """`lines` with each example's output and exit comment replaced, last edit first."""
    for example, status, actual in sorted(edits, key=lambda e: -e[0].status_line):
        if example.output_span and not matches(example.expected, actual):
            start, end = example.output_span
            trailing = end
            while trailing > start and not lines[trailing - 1].strip():
                trailing -= 1  # keep the empty lines that end a block's last output
            shown = [text_to_roff(l) for l in actual] if is_man else actual
            lines[start:trailing] = shown
        if status != example.expected_status:
            line = EXIT_COMMENT.sub("", lines[example.status_line])
            if status != 0:
                line += f"  # exit {status}"
            lines[example.status_line] = line
    return lines


def main(argv):
    update = "--update" in argv
    args = [a for a in argv if a != "--update"]
    if len(args) not in (1, 2):
        print("usage: check_examples.py [--update] CORONER [ROOT]", file=sys.stderr)
        return 2
    coroner = args[0]
    root = os.path.abspath(args[1] if len(args) == 2 else os.path.join(HERE, "..", ".."))
    sources = [(os.path.join(root, "README.md"), False),
               (os.path.join(root, "man", "coroner.1"), True)]
    if not os.access(coroner, os.X_OK):
        print(f"check_examples: {coroner} is not an executable", file=sys.stderr)
        return 2
    if shutil.which("bash") is None:
        print("check_examples: the examples run in bash, and there is none", file=sys.stderr)
        return 2

    files = []
    try:
        for path, is_man in sources:
            files.append((path, is_man) + read_examples(path, is_man))
    except (OSError, ValueError) as e:
        print(f"check_examples: {e}", file=sys.stderr)
        return 2

    runnable = [e for _, _, _, examples in files for e in examples if e.runs()]
    missing = sorted(t for t in tools_needed(runnable) if shutil.which(t) is None)
    if missing:
        print(f"check_examples: skipped, the examples need {', '.join(missing)}")
        return 77

    scratch, tools = scratch_directory(root, coroner)
    failures = 0
    try:
        for path, is_man, lines, examples in files:
            edits, counts = [], {"golden": 0, "status": 0, "not run": 0}
            for example in examples:
                if not example.runs():
                    counts["not run"] += 1
                    print(f"not run  {example.where()}  {example.command}")
                    continue
                counts["golden" if example.expected is not None else "status"] += 1
                status, actual, errors = run(example, scratch, tools)
                problems = check(example, status, actual, errors)
                blanks = any("ends in a blank" in p for p in problems)
                if not problems:
                    print(f"ok       {example.where()}  {example.command}")
                elif update and status is not None and not blanks and not errors:
                    edits.append((example, status, actual))
                    print(f"updated  {example.where()}  {example.command}")
                    if example.expected and ELISION in example.expected and \
                            not matches(example.expected, actual):
                        print("  its elided output is now written in full: elide it again")
                else:
                    failures += 1
                    print(f"FAIL     {example.where()}  {example.command}")
                    for p in problems:
                        print("  " + p.replace("\n", "\n  "))
            if edits:
                with open(path, "w", encoding="utf-8") as f:
                    f.write("\n".join(updated_lines(lines, edits, is_man)))
            print(f"{os.path.relpath(path, root)}: {counts['golden']} with their output, "
                  f"{counts['status']} with their exit status, {counts['not run']} not run")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if failures:
        print(f"check_examples: {failures} example(s) failed" +
              ("" if update else "; after review, --update rewrites the shown outputs"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
