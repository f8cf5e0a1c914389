// Text lines of Python's reports of exceptions. A program whose JSON handler sits on its own
// logger still writes an uncaught exception, asyncio's "Task exception was never retrieved" or a
// warning to stderr as text, and `2>&1` or a container's log puts those lines between the JSON
// ones. They are skipped like any other text, but counted apart: a log whose text is tracebacks
// is still a JSON log, where a log of mostly other text is not (see `mostly_text` in the CLI).
#pragma once

#include <cstdint>
#include <string_view>

#include "coroner/record.hpp"  // kTracebackText, the reason such a line is skipped for

namespace coroner {

// The line without the prefix a container runtime writes ("2026-11-27T10:00:00.1Z stderr F ",
// `kubectl logs --timestamps`'s time alone); the line itself when it has none.
std::string_view without_runtime_prefix(std::string_view line);

// Tells such lines one at a time, in the order of a chunk's lines. A frame, its code, and the
// exception's own line ("JobAborted: card declined") are told only inside a report begun by a
// line that can only open one (the "Traceback (most recent call last):" header, asyncio's
// sentences, "Exception in thread ..."), on the lines that follow it; an indented print or an
// "Error: disk full" alone is other text. reset() at each chunk's start: a chunk is read alike
// whatever thread reads it.
class TracebackLines {
 public:
  // Whether `line` (without its newline, a container runtime's prefix allowed), the bad line at
  // `line_number`, is part of such a report.
  bool next(std::string_view line, uint64_t line_number);
  void reset() { in_report_ = false; }

 private:
  bool in_report_ = false;
  uint64_t last_line_ = 0;
};

}  // namespace coroner
