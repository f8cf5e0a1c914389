// Text lines of a Python traceback. A program whose JSON handler sits on its own logger still
// writes an uncaught exception, or asyncio's "Task exception was never retrieved", to stderr as
// text, and `2>&1` or a container's log puts those lines between the JSON ones. They are skipped
// like any other text, but counted apart: a log whose text is tracebacks is still a JSON log,
// where a log of mostly other text is not (see `unusable` in the CLI).
#pragma once

#include <string_view>

#include "coroner/record.hpp"  // kTracebackText, the reason such a line is skipped for

namespace coroner {

// Whether `line` (without its newline) is a line Python's traceback printing writes: the header,
// an indented frame or code line, the chaining sentences, the exception's own line
// ("ValueError: boom", "asyncio.exceptions.CancelledError"), or asyncio's lines about a task
// ("Task exception was never retrieved", "future: <Task finished ...>").
bool is_traceback_text(std::string_view line);

}  // namespace coroner
