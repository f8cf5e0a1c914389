#!/usr/bin/env python3
"""Every long option that `coroner --help` lists appears in the man page, and the page's
version is the binary's.

Usage: check_manpage.py CORONER MANPAGE

Runs `CORONER --help`, reads the subcommands it lists, runs `CORONER SUB --help` for each, and
collects every `--long-option`. Each must appear in the man page source, written `\\-\\-name`
(as roff wants) or `--name`. MANPAGE is the page meson generates from man/coroner.1, so its .TH
line must name the version `CORONER --version` prints, with no @VERSION@ left unsubstituted.
Exit 0 when all holds, 1 listing what does not (a missing option with the subcommands whose
help lists it), 2 when the binary or the page cannot be read.
"""

import re
import shlex
import subprocess
import sys

LONG_OPTION = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")


def help_text(coroner, args):
    try:
        done = subprocess.run([coroner, *args, "--help"], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"check_manpage: cannot run {coroner}: {e}", file=sys.stderr)
        sys.exit(2)
    if done.returncode != 0:
        print(f"check_manpage: {' '.join([coroner, *args, '--help'])} exited "
              f"{done.returncode}: {done.stderr.strip()}", file=sys.stderr)
        sys.exit(2)
    return done.stdout


def subcommands(top_help):
    """The names listed under the 'Subcommands:' heading, up to the next blank line."""
    names, inside = [], False
    for line in top_help.splitlines():
        if line.strip().lower().startswith("subcommands"):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            m = re.match(r"\s+([a-z][a-z0-9-]*)\b", line)
            if m:
                names.append(m.group(1))
    return names


def options_of(text):
    """Long options from the option lines only (not the footer's prose)."""
    found = set()
    for line in text.splitlines():
        stripped = line.lstrip()
        # An option line starts with the option itself: "--strict ..." or "-f,--format ...".
        if not stripped.startswith("-"):
            continue
        head = stripped.split("  ")[0]  # the names and type, before the description
        found.update(LONG_OPTION.findall(head))
    return found


def version_problems(coroner, page):
    """What is wrong with the page's version, compared with `coroner --version`; [] when right."""
    try:
        done = subprocess.run([coroner, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"check_manpage: cannot run {coroner}: {e}", file=sys.stderr)
        sys.exit(2)
    binary = done.stdout.strip()
    problems = []
    th = [line for line in page.splitlines() if line.startswith(".TH ")]
    # .TH TITLE SECTION DATE SOURCE MANUAL: the source is "coroner VERSION".
    fields = shlex.split(th[0])[1:] if th else []
    if len(fields) < 4:
        problems.append("no .TH line with a source field")
    elif fields[3] != binary:
        problems.append(f".TH names {fields[3]!r}, `coroner --version` prints {binary!r}")
    if "@VERSION@" in page:
        problems.append("@VERSION@ is left unsubstituted")
    return problems


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    coroner, manpage = sys.argv[1], sys.argv[2]
    try:
        with open(manpage, encoding="utf-8") as f:
            page = f.read()
    except OSError as e:
        print(f"check_manpage: cannot read {manpage}: {e}", file=sys.stderr)
        return 2

    top = help_text(coroner, [])
    subs = subcommands(top)
    if not subs:
        print("check_manpage: `coroner --help` lists no subcommands", file=sys.stderr)
        return 2
    where = {}  # option -> the commands whose help lists it
    for name in options_of(top):
        where.setdefault(name, []).append("coroner")
    for sub in subs:
        for name in options_of(help_text(coroner, [sub])):
            where.setdefault(name, []).append(sub)

    missing = []
    for name in sorted(where):
        # The whole name: --stage must not be found inside --stage-deadline.
        roff = re.escape("\\-\\-" + name.replace("-", "\\-")) + r"(?![A-Za-z0-9_]|\\-)"
        plain = re.escape("--" + name) + r"(?![\w-])"
        if not re.search(roff, page) and not re.search(plain, page):
            missing.append(name)
    problems = version_problems(coroner, page)
    if missing or problems:
        for problem in problems:
            print(f"check_manpage: {manpage}: {problem}")
        if missing:
            print(f"check_manpage: {len(missing)} option(s) of --help missing from {manpage}:")
            for name in missing:
                print(f"  --{name}  ({', '.join(where[name])})")
        return 1
    print(f"check_manpage: all {len(where)} long options of {len(subs) + 1} help texts "
          f"({', '.join(subs)}) are in {manpage}, and its version is the binary's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
