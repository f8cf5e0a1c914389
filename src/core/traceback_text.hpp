// Text lines of Python's reports of exceptions. A program whose JSON handler sits on its own
// logger still writes an uncaught exception, asyncio's "Task exception was never retrieved" or a
// warning to stderr as text, and `2>&1` or a container's log puts those lines between the JSON
// ones. They are skipped like any other text, but counted apart: a log whose text is tracebacks
// is still a JSON log, where a log of mostly other text is not (see `mostly_text` in the CLI).
#pragma once

#include <string_view>

#include "coroner/record.hpp"  // kTracebackText, the reason such a line is skipped for

namespace coroner {

// Whether `line` (without its newline, a container runtime's prefix allowed) is a line of such a
// report: a line that only one begins with (the "Traceback (most recent call last):" header,
// asyncio's and the threading module's sentences, a warning), an indented one (a frame, its code,
// the carets under it, an exception group's boxes), or an exception's own line whose name says
// it is one ("ValueError: boom", not the "Error: disk full" a program printed). Judged line by
// line: a chunk of a log is read alike whatever its neighbours and whichever thread reads it.
bool is_traceback_text(std::string_view line);

}  // namespace coroner
