// The machine reports: one versioned JSON document, or one finding a line.
#include <fmt/format.h>

#include "common.hpp"
#include "json_writer.hpp"
#include "problems.hpp"

namespace coroner {

namespace {

// "title": what an eliot action or a span is ("fetch in job"), null for a task named by its id.
void write_title(JsonWriter& w, const TaskStore& store, uint32_t task) {
  std::string title = store.task_title(task);
  w.key("title").text_or_null(title);
}

std::string file_name(const TaskStore& store, uint32_t file) {
  const std::string& f = store.files()[file];
  return std::string(display_name(f));
}

void write_scope(JsonWriter& w, const TaskStore& store, uint32_t task) {
  w.begin_object();
  for (const auto& [name, value] : scope_fields(store, task)) w.key(name).value(value);
  w.end_object();
}

void write_task_list(JsonWriter& w, const TaskStore& store, const std::vector<uint32_t>& tasks) {
  w.begin_array();
  for (uint32_t t : tasks) w.value(store.task_value(t));
  w.end_array();
}

void write_where(JsonWriter& w, const TaskStore& store, const report::Place& place) {
  w.begin_object();
  w.key("file").value(file_name(store, place.file));
  w.key("line").value(place.line);
  w.end_object();
}

void write_root_cause(JsonWriter& w, const ReportInput& in, uint32_t task) {
  const TaskStore& store = in.store;
  report::RootCause root = report::root_cause(in, task);
  w.begin_object();
  w.key("task").value(store.task_label(task));
  w.key("outcome").value(to_string(root.outcome));
  w.key("stage").text_or_null(report::word(store, root.stage));
  w.key("error").text_or_null(root.error);
  w.key("last_record").value(format_time(root.last_time));
  w.key("silent_s").seconds(root.silent);
  w.key("where");
  if (root.evidence)
    write_where(w, store, report::Place{root.evidence->file, root.evidence->line});
  else
    w.null();
  w.end_object();
}

void write_finding(JsonWriter& w, const ReportInput& in, const Finding& f) {
  const TaskStore& store = in.store;
  w.begin_object();
  w.key("kind").value(to_string(f.kind));
  w.key("subkind").text_or_null(f.subkind);
  w.key("task").value(store.task_value(f.task));
  write_title(w, store, f.task);
  w.key("scope");
  write_scope(w, store, f.task);
  w.key("severity").value(to_string(f.severity));
  w.key("reason").value(f.reason);
  w.key("detail").value(f.detail);
  w.key("stage").text_or_null(report::word(store, f.stage));
  w.key("time").value(format_time(f.time));
  w.key("outcome").value(to_string(in.analysis.outcomes[f.task].outcome));
  w.key("chain");
  write_task_list(w, store, f.chain);
  w.key("members");
  write_task_list(w, store, f.members);
  w.key("where");
  if (auto place = report::place_of(store, f))
    write_where(w, store, *place);
  else
    w.null();
  // Where a blame chain ends, with that task's own evidence.
  w.key("root_cause");
  if (f.kind == FindingKind::blocked && !f.chain.empty())
    write_root_cause(w, in, f.chain.back());
  else
    w.null();
  w.end_object();
}

// The problems: findings grouped as the text report opens with them.
void write_problem(JsonWriter& w, const ReportInput& in, const report::Problem& p) {
  const TaskStore& store = in.store;
  w.begin_object();
  w.key("kind").value(to_string(p.kind));
  w.key("subkind").text_or_null(p.subkind);
  w.key("stage").text_or_null(report::word(store, p.stage));
  w.key("error_type").text_or_null(p.error_type);
  w.key("title").value(report::problem_title(in, p));
  w.key("count").value(uint64_t(p.findings.size()));
  w.key("first").value(format_time(p.first));
  w.key("last").value(format_time(p.last));
  w.key("longest_silence_s").seconds(p.longest_silence);
  w.key("tasks").begin_array();
  for (const Finding* f : p.findings) w.value(store.task_label(f->task));
  w.end_array();
  w.key("blocked").begin_array();
  for (const Finding* f : p.blocked) w.value(store.task_label(f->task));
  w.end_array();
  w.key("root_cause");
  if (p.root != kNone)
    write_root_cause(w, in, p.root);
  else
    w.null();
  w.key("next").begin_array();
  if (!is_information(p.kind))
    for (const std::string& command : report::next_commands(in, p)) w.value(command);
  w.end_array();
  w.end_object();
}

// A task that logged a million records would make a report of a million rows: the reports keep
// its last ones and say how many were left out ("events_omitted").
constexpr size_t kMaxReportedEvents = 1000;

void write_events(JsonWriter& w, const ReportInput& in, uint32_t task, size_t last_n) {
  w.begin_array();
  for (const auto& row : report::timeline_rows(in.store, task, last_n)) {
    w.begin_object();
    w.key("time").value(format_time(row.event->time));
    w.key("stage").text_or_null(row.stage);
    if (!row.status.empty()) w.key("status").value(row.status);
    w.key("since_previous_s").seconds(row.gap);
    if (!row.error.empty()) w.key("error").value(row.error);
    if (!row.waiting_for.empty()) w.key("waiting_for").value(row.waiting_for);
    w.key("file").value(file_name(in.store, row.event->file));
    w.key("line").value(uint64_t(row.event->line));
    w.end_object();
  }
  w.end_array();
}

// `max_events`: 0 for all of them (`timeline`, which asked for this one task).
void write_task(JsonWriter& w, const ReportInput& in, const TaskGraph& graph, uint32_t task,
                size_t max_events = kMaxReportedEvents) {
  const TaskStore& store = in.store;
  const TaskOutcome& o = in.analysis.outcomes[task];
  const Task& t = store.tasks()[task];
  w.begin_object();
  w.key("task").value(store.task_value(task));
  write_title(w, store, task);
  w.key("scope");
  write_scope(w, store, task);
  w.key("outcome").value(to_string(o.outcome));
  // A task that never logged (only named: by an await, a parent, asyncio's messages) has no
  // time of its own: null, not the epoch.
  if (t.logged) {
    w.key("start").value(format_time(t.first_time));
    w.key("end").value(format_time(o.end));
    w.key("duration_s").seconds(elapsed(t.first_time, o.end));
  } else {
    w.key("start").null();
    w.key("end").null();
    w.key("duration_s").null();
  }
  w.key("parent");
  if (t.parent == kNone)
    w.null();
  else
    w.value(store.task_value(t.parent));
  w.key("awaits");
  write_task_list(w, store, t.awaits);
  w.key("critical_path");
  write_task_list(w, store, graph.critical_path(task, in.analysis.outcomes));
  w.key("pending_at_exit");
  if (const PendingAtExit* pending = store.pending_at_exit(task)) {
    w.begin_object();
    w.key("time").value(format_time(pending->time));
    w.key("suspended_at").value(pending->suspended_at);
    w.key("waiting_for").value(pending->waiting_for);
    w.key("running").value(pending->held_the_loop());  // suspended_at is the line it ran
    w.end_object();
  } else {
    w.null();
  }
  size_t shown = max_events == 0 ? t.events.size() : std::min(t.events.size(), max_events);
  w.key("events_omitted").value(uint64_t(t.events.size() - shown));
  w.key("events");
  write_events(w, in, task, max_events);
  w.end_object();
}

void write_stage(JsonWriter& w, const ReportInput& in, uint32_t s) {
  const StageStats& st = in.analysis.stages[s];
  const DurationHistogram& h = st.durations;
  w.begin_object();
  w.key("stage").value(in.store.words().view(s));
  w.key("count").value(st.occurrences);
  w.key("errors").value(st.errors);
  w.key("error_rate").value(double(st.errors) / double(st.occurrences));
  w.key("ended_here").value(st.tasks_ended_here);
  w.key("timed").value(h.count());
  for (auto [name, p] : {std::pair{"p50_s", 0.5}, {"p95_s", 0.95}, {"p99_s", 0.99}}) {
    w.key(name);
    if (h.count())
      w.seconds(h.percentile(p));
    else
      w.null();
  }
  w.key("max_s");
  if (h.count())
    w.seconds(h.max());
  else
    w.null();
  // The durations in 24 bins of equal width in log(duration), from min to max: the histogram
  // `coroner stats` draws on a terminal and the html report draws as bars. Empty: no duration.
  w.key("histogram").begin_array();
  if (h.count()) {
    for (const auto& b : h.bins(24)) {
      w.begin_object().key("low_s").seconds(b.low).key("high_s").seconds(b.high);
      w.key("count").value(b.count).end_object();
    }
  }
  w.end_array();
  w.end_object();
}

void write_stages(JsonWriter& w, const ReportInput& in) {
  w.begin_array();
  for (uint32_t s = 0; s < in.analysis.stages.size(); ++s)
    if (in.analysis.stages[s].occurrences > 0) write_stage(w, in, s);
  w.end_array();
}

void write_input(JsonWriter& w, const ReportInput& in) {
  const TaskStore& store = in.store;
  const InputCounts& c = store.counts();
  w.begin_object();
  w.key("files").begin_array();
  for (uint32_t f = 0; f < store.files().size(); ++f) w.value(file_name(store, f));
  w.end_array();
  w.key("records").value(c.records);
  w.key("task_records").value(c.task_records);
  w.key("bad_lines").value(c.bad_lines);
  w.key("traceback_lines").value(c.traceback_lines);
  w.key("bad_line_examples").begin_array();
  for (const BadLine& b : store.bad_lines()) {
    w.begin_object();
    w.key("file").value(file_name(store, b.file));
    w.key("line").value(b.line);
    w.key("reason").value(b.reason);
    w.end_object();
  }
  w.end_array();
  w.key("untasked_errors").value(c.untasked_errors);
  w.key("first_untasked_error");
  if (const auto& e = store.first_untasked_error()) {
    w.begin_object();
    w.key("file").value(file_name(store, e->file));
    w.key("line").value(e->line);
    w.key("error").value(e->text);
    w.end_object();
  } else {
    w.null();
  }
  w.key("bad_times").value(c.bad_times);
  w.key("whole_second_times").value(store.whole_second_times());
  w.key("unread_traceback_fields").begin_array();
  for (const report::UnreadTracebacks& unread : report::unread_traceback_fields(store)) {
    w.begin_object();
    w.key("file").value(file_name(store, unread.file));
    w.key("field").value(unread.field);
    w.end_object();
  }
  w.end_array();
  w.key("clock_set_back");
  if (const auto& back = store.clock_set_back()) {
    w.begin_object();
    w.key("file").value(file_name(store, back->file));
    w.key("line").value(back->line);
    w.key("step_s").seconds(back->step);
    w.end_object();
  } else {
    w.null();
  }
  w.key("naive_times");
  if (const auto& naive = store.naive_times()) {
    w.begin_object();
    w.key("file").value(file_name(store, naive->file));
    w.key("utc_file").value(file_name(store, naive->other));
    w.key("apart_s").seconds(naive->apart);
    w.key("offset").value(format_utc_offset(naive->offset));
    w.end_object();
  } else {
    w.null();
  }
  w.key("outside_window").value(c.outside_window);
  w.key("folded_stages").value(c.folded_stages);
  w.key("templated_stages").value(c.templated_stages);
  w.key("stage_templates").value(uint64_t(store.stage_templates()));
  w.key("damage").begin_array();
  for (const std::string& d : in.store.damage()) w.value(d);
  w.end_array();
  w.key("start").value(format_time(in.analysis.log_start));
  w.key("end").value(format_time(in.analysis.log_end));
  w.key("program_stop");
  if (in.analysis.options.program_stop)
    w.value(format_time(*in.analysis.options.program_stop));
  else
    w.null();
  // How each file was read: its dialect, and what told it.
  w.key("formats").begin_array();
  for (uint32_t f = 0; f < store.formats().size(); ++f) {
    report::begin_format_object(w, file_name(store, f), store.formats()[f]);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void write_summary(JsonWriter& w, const ReportInput& in) {
  const auto& oc = in.analysis.outcome_counts;
  uint64_t tasks = 0;
  for (uint64_t c : oc) tasks += c;
  w.begin_object();
  w.key("tasks").value(tasks);
  w.key("outcomes").begin_object();
  for (size_t o = 0; o < oc.size(); ++o) w.key(to_string(Outcome(o))).value(oc[o]);
  w.end_object();
  w.key("findings").begin_object();
  auto by_kind = report::count_by_kind(in.findings);
  for (size_t k = 0; k < kFindingKindCount; ++k)
    w.key(to_string(FindingKind(k))).value(uint64_t(by_kind[k]));
  w.end_object();
  // What the log cannot tell, beside hung tasks: null when it can.
  std::string note =
      by_kind[size_t(FindingKind::hung)] > 0 ? report::no_edges_note(in) : std::string();
  w.key("note").text_or_null(note);
  // The failed tasks no finding tells of, with their error: a script learns which they were.
  constexpr size_t kListed = 100;
  size_t total = 0;
  w.key("failed_tasks").begin_array();
  for (const report::QuietFailure& f : report::quiet_failures(in, kListed, total)) {
    w.begin_object();
    w.key("task").value(in.store.task_value(f.task));
    w.key("scope");
    write_scope(w, in.store, f.task);
    w.key("error").value(f.error);
    w.end_object();
  }
  w.end_array();
  w.key("failed_tasks_omitted").value(uint64_t(total - std::min(total, kListed)));
  w.end_object();
}

// The first workflow's end as the object's own members (as before there could be several), then
// every workflow's in `end_stages`; null when nothing was learned.
void write_learned_ends(JsonWriter& w, const ReportInput& in) {
  const std::vector<LearnedEnd>& ends = in.analysis.learned_ends;
  if (ends.empty()) {
    w.null();
    return;
  }
  auto members = [&](const LearnedEnd& l) {
    w.key("end_stage").value(in.store.words().view(l.stage));
    w.key("tasks_ending_there").value(l.tasks_ending_there);
    w.key("tasks").value(l.tasks);
  };
  w.begin_object();
  members(ends.front());
  w.key("end_stages").begin_array();
  for (const LearnedEnd& l : ends) {
    w.begin_object();
    members(l);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

}  // namespace

std::string render_json(const ReportInput& in) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("schema").value(kReportSchema);
  w.key("version").value(kVersion);
  w.key("input");
  write_input(w, in);
  w.key("learned");
  write_learned_ends(w, in);
  w.key("summary");
  write_summary(w, in);
  w.key("problems").begin_array();
  for (const report::Problem& p : report::group_problems(in)) write_problem(w, in, p);
  w.end_array();
  w.key("findings").begin_array();
  for (const Finding* f : in.findings) write_finding(w, in, *f);
  w.end_array();
  w.key("stages");
  write_stages(w, in);
  w.key("tasks").begin_array();
  const TaskGraph& graph = in.analysis.graph;
  for (uint32_t t : report::flagged_tasks(in)) write_task(w, in, graph, t);
  w.end_array();
  w.end_object();
  out += '\n';
  return out;
}

std::string render_ndjson(const ReportInput& in) {
  std::string out;
  for (const Finding* f : in.findings) {
    JsonWriter w(out);
    write_finding(w, in, *f);
    out += '\n';
  }
  return out;
}

std::string render_timeline_json(const ReportInput& in, const std::vector<uint32_t>& tasks) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("schema").value(kReportSchema);
  w.key("tasks").begin_array();
  const TaskGraph& graph = in.analysis.graph;
  for (uint32_t t : tasks) write_task(w, in, graph, t, 0);
  w.end_array();
  w.key("findings").begin_array();
  for (const Finding& f : in.analysis.findings)
    for (uint32_t t : tasks)
      if (f.task == t) write_finding(w, in, f);
  w.end_array();
  w.end_object();
  out += '\n';
  return out;
}

std::string render_stats_json(const ReportInput& in) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("schema").value(kReportSchema);
  w.key("stages");
  write_stages(w, in);
  w.end_object();
  out += '\n';
  return out;
}

}  // namespace coroner
