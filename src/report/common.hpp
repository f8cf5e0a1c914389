// Pieces every report shares: a task's rows of timeline, stage names, finding counts.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "coroner/report.hpp"
#include "json_writer.hpp"

namespace coroner::report {

struct TimelineRow {
  const Event* event = nullptr;
  int64_t gap = 0;  // since the task's previous record
  std::string stage;
  std::string status;
  std::string error;        // "ValueError: boom" when the record carried an error
  std::string waiting_for;  // the asyncio module's wait record: what the task waits on
};

// The task's rows, or only its last `last_n` when that is not 0.
std::vector<TimelineRow> timeline_rows(const TaskStore& store, uint32_t task, size_t last_n = 0);
std::string word(const TaskStore& store, uint32_t id);  // "" for none
std::array<size_t, kFindingKindCount> count_by_kind(const std::vector<const Finding*>& findings);
// Task indices with a shown finding, each once, in finding order.
std::vector<uint32_t> flagged_tasks(const ReportInput& in);
// A failed task that no finding tells of (it failed openly: logged its error and ended failed),
// nor names as the root cause others are blocked on, with what it failed of: the error it logged
// last, else the record that ended it.
struct QuietFailure {
  uint32_t task = 0;
  std::string error;
};
// The first `limit` of them, in task order; `total` gets how many there are.
std::vector<QuietFailure> quiet_failures(const ReportInput& in, size_t limit, size_t& total);
// A field of a file's first records whose values are Python tracebacks and that no error role
// reads (InputFormat::unread_traceback_field): Serilog's CLEF writes them as "@x", a formatter
// of its own under a name of its own. Every exception in it goes unseen: `--field error=@x`
// reads them. One per file.
struct UnreadTracebacks {
  uint32_t file = 0;
  std::string field;
};
std::vector<UnreadTracebacks> unread_traceback_fields(const TaskStore& store);
// What a log without a parent or an awaited task cannot tell: which task blocks which. "" when
// the log names such edges, or has no task.
std::string no_edges_note(const ReportInput& in);
// How a file was read, as the JSON outputs write it: file, dialect, multiline, why (the object is
// left open for more).
void begin_format_object(JsonWriter& w, std::string_view file, const InputFormat& format);

}  // namespace coroner::report
