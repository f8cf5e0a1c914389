#include "common.hpp"

#include <algorithm>
#include <unordered_set>

namespace coroner {

std::vector<std::pair<std::string, std::string>> scope_fields(const TaskStore& store,
                                                              uint32_t task) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto [name, value] : scope_parts(store.scopes().view(store.tasks()[task].scope)))
    out.emplace_back(name, value);
  return out;
}

namespace report {

std::string word(const TaskStore& store, uint32_t id) {
  return id == kNone ? std::string() : std::string(store.words().view(id));
}

std::vector<TimelineRow> timeline_rows(const TaskStore& store, uint32_t task, size_t last_n) {
  std::vector<TimelineRow> rows;
  const auto& events = store.tasks()[task].events;
  size_t first = last_n > 0 && events.size() > last_n ? events.size() - last_n : 0;
  rows.reserve(events.size() - first);
  for (size_t i = first; i < events.size(); ++i) {
    const Event& e = events[i];
    TimelineRow row;
    row.event = &e;
    row.gap = i == 0 ? 0 : elapsed(events[i - 1].time, e.time);
    if (e.wait)
      row.waiting_for = e.text != kNone ? std::string(store.stage_text(e)) : "(a wait)";
    else if (e.cancel_request)
      row.waiting_for = e.text != kNone ? std::string(store.stage_text(e)) : "";
    else
      row.stage = std::string(store.stage_text(e));
    row.status = word(store, e.status);
    if (e.fold_marker) row.status = "(its records up to here were folded, as if it ended ok here)";
    if (e.cancel_request) row.status = "(cancellation requested)";
    if (e.error != kNone) {
      const ErrorNote& note = store.errors()[e.error];
      row.error = note.text.empty() ? note.type : note.text;
    } else if (e.error_level) {
      row.error = "(error level)";
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<UnreadTracebacks> unread_traceback_fields(const TaskStore& store) {
  std::vector<UnreadTracebacks> out;
  for (uint32_t f = 0; f < store.formats().size(); ++f)
    if (const std::string& field = store.formats()[f].unread_traceback_field; !field.empty())
      out.push_back(UnreadTracebacks{f, field});
  return out;
}

std::array<size_t, kFindingKindCount> count_by_kind(const std::vector<const Finding*>& findings) {
  std::array<size_t, kFindingKindCount> counts{};
  for (const Finding* f : findings) ++counts[size_t(f->kind)];
  return counts;
}

std::vector<uint32_t> flagged_tasks(const ReportInput& in) {
  std::vector<uint32_t> out;
  std::unordered_set<uint32_t> seen;
  for (const Finding* f : in.findings) {
    if (is_information(f->kind)) continue;
    if (seen.insert(f->task).second) out.push_back(f->task);
  }
  return out;
}

std::vector<QuietFailure> quiet_failures(const ReportInput& in, size_t limit, size_t& total) {
  std::vector<QuietFailure> out;
  total = 0;
  if (in.options.findings_chosen) return out;
  // A failure others are blocked on is told with them, as their root cause.
  std::unordered_set<uint32_t> roots;
  for (const Finding* f : in.findings)
    if (!f->chain.empty()) roots.insert(f->chain.back());
  const auto& outcomes = in.analysis.outcomes;
  for (uint32_t t = 0; t < outcomes.size(); ++t) {
    if (outcomes[t].outcome != Outcome::failed || outcomes[t].flagged || roots.contains(t))
      continue;
    if (++total > limit) continue;
    // Its last exception, else the message of its last error-level record (loguru's "giving up
    // after 3 attempts"), else the record that ended it ("failed").
    std::string exception, message, ended;
    for (const TimelineRow& row : timeline_rows(in.store, t)) {
      if (row.event->time > outcomes[t].end) break;
      if (row.event->error != kNone) exception = row.error;
      if (row.event->error == kNone && !row.error.empty()) message = row.stage;
      ended = row.stage.empty() ? row.status : row.stage;
    }
    out.push_back({t, !exception.empty() ? exception : !message.empty() ? message : ended});
  }
  return out;
}

std::string no_edges_note(const ReportInput& in) {
  if (in.analysis.graph.has_edges() || in.store.tasks().empty()) return {};
  return "the log names no parent and no awaited task, so a task blocked by another cannot be "
         "told from the root cause: `coroner schema` shows its fields (--field parent=, "
         "--field awaits=), and the asyncio module (python/coroner_asyncio.py) logs them";
}

void begin_format_object(JsonWriter& w, std::string_view file, const InputFormat& format) {
  w.begin_object();
  w.key("file").value(file);
  w.key("dialect").value(to_string(format.dialect));
  w.key("multiline").value(format.multiline);
  w.key("why").value(format.why);
  if (!format.task_field.empty()) {
    // The task is read from this field, not from kind_field, which names the kind of work.
    w.key("task_field").value(format.task_field);
    w.key("kind_field").value(format.kind_field);
    w.key("task_field_why").value(format.task_field_why);
  }
  if (!format.partial_scope_fields.empty()) {
    // Default scope fields on some task records only: not read as the task's scope.
    w.key("partial_scope_fields").begin_array();
    for (const std::string& field : format.partial_scope_fields) w.value(field);
    w.end_array();
    w.key("partial_scope_why").value(format.partial_scope_why);
  }
}

}  // namespace report
}  // namespace coroner
