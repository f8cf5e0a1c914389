// The timelines as Chrome trace-event JSON, for Perfetto and chrome://tracing: one process per
// scope, one thread (track) per task, a complete event ("X") for the task and one for each of
// its stages, one named "silent until the log ends" for an unfinished task's time after its last
// record, instants for errors and findings, and flow arrows for awaits (from the moment the
// waiter began to wait) and spawns.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "common.hpp"
#include "json_writer.hpp"

namespace coroner {

namespace {

// A log this small goes in whole; a larger one keeps only its flagged tasks.
constexpr size_t kAllTasksUpTo = 5000;
constexpr std::string_view kSilence = "silent until the log ends";

struct Span {
  int64_t start = 0, end = 0;
};

class ChromeTrace {
 public:
  ChromeTrace(const ReportInput& in, std::string& out) : in_(in), w_(out) {}

  void write(const std::vector<uint32_t>& tasks, bool all) {
    const TaskStore& store = in_.store;
    base_ = in_.analysis.log_start;
    for (uint32_t t : tasks) {
      const TaskOutcome& o = in_.analysis.outcomes[t];
      int64_t end = o.outcome == Outcome::open ? std::max(o.end, in_.analysis.log_end) : o.end;
      spans_[t] = Span{store.tasks()[t].first_time, end};
    }
    for (const Finding* f : in_.findings) kinds_[f->task].push_back(f);

    w_.begin_object();
    w_.key("displayTimeUnit").value("ms");
    w_.key("otherData").begin_object();
    w_.key("schema").value("coroner.chrome/1");
    w_.key("version").value(kVersion);
    w_.key("files").begin_array();
    for (const auto& f : store.files()) w_.value(display_name(f));
    w_.end_array();
    w_.key("log_start").value(format_time(in_.analysis.log_start));
    w_.key("log_end").value(format_time(in_.analysis.log_end));
    w_.key("time_origin").value("ts 0 is log_start; ts and dur are in microseconds");
    w_.key("tasks_included").value(all ? "all" : "flagged");
    w_.key("tasks_in_trace").value(uint64_t(tasks.size()));
    w_.key("tasks_in_log").value(logged_tasks());
    w_.key("note").value(
        all ? fmt::format("every task of the log (it has at most {} tasks)", kAllTasksUpTo)
            : fmt::format("only the tasks with a finding: the log has more than {} tasks",
                          kAllTasksUpTo));
    w_.end_object();
    w_.key("traceEvents").begin_array();
    write_metadata(tasks);
    for (uint32_t t : tasks) write_task(t);
    write_flows(tasks);
    w_.end_array();
    w_.end_object();
  }

 private:
  uint64_t logged_tasks() const {
    uint64_t n = 0;
    for (uint64_t c : in_.analysis.outcome_counts) n += c;
    return n;
  }
  double us(int64_t ns) const { return double(elapsed(base_, ns)) / 1000.0; }
  int pid(uint32_t t) const { return int(in_.store.tasks()[t].scope) + 1; }
  int64_t tid(uint32_t t) const { return int64_t(t) + 1; }

  void begin_event(std::string_view ph, std::string_view name, std::string_view cat, uint32_t t) {
    w_.begin_object();
    w_.key("ph").value(ph).key("name").value(name).key("cat").value(cat);
    w_.key("pid").value(pid(t)).key("tid").value(tid(t));
  }

  void write_metadata(const std::vector<uint32_t>& tasks) {
    const TaskStore& store = in_.store;
    std::map<int, uint32_t> processes;  // pid -> a task of it, for its scope
    for (uint32_t t : tasks) processes.emplace(pid(t), t);
    for (const auto& [p, t] : processes) {
      std::string name;
      for (const auto& [field, value] : scope_fields(store, t))
        name += fmt::format("{}{}={}", name.empty() ? "" : " ", field, value);
      if (name.empty()) name = "tasks";
      w_.begin_object().key("ph").value("M").key("name").value("process_name");
      w_.key("pid").value(p).key("tid").value(0);
      w_.key("args").begin_object().key("name").value(name).end_object().end_object();
      w_.begin_object().key("ph").value("M").key("name").value("process_sort_index");
      w_.key("pid").value(p).key("tid").value(0);
      w_.key("args").begin_object().key("sort_index").value(p).end_object().end_object();
    }
    // Tracks in order of start, the flagged ones first.
    std::vector<uint32_t> order = tasks;
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      bool fa = in_.analysis.outcomes[a].flagged, fb = in_.analysis.outcomes[b].flagged;
      if (fa != fb) return fa;
      return spans_.at(a).start < spans_.at(b).start;
    });
    int64_t index = 0;
    for (uint32_t t : order) {
      std::string name(store.task_value(t));
      if (auto it = kinds_.find(t); it != kinds_.end()) {
        std::string kinds;
        for (const Finding* f : it->second) {
          std::string_view k = to_string(f->kind);
          if (kinds.find(k) != std::string::npos) continue;
          kinds += fmt::format("{}{}", kinds.empty() ? "" : ", ", k);
        }
        name += fmt::format(" [{}]", kinds);
      }
      w_.begin_object().key("ph").value("M").key("name").value("thread_name");
      w_.key("pid").value(pid(t)).key("tid").value(tid(t));
      w_.key("args").begin_object().key("name").value(name).end_object().end_object();
      w_.begin_object().key("ph").value("M").key("name").value("thread_sort_index");
      w_.key("pid").value(pid(t)).key("tid").value(tid(t));
      w_.key("args").begin_object().key("sort_index").value(index++).end_object().end_object();
    }
  }

  void write_task(uint32_t t) {
    const TaskStore& store = in_.store;
    const Task& task = store.tasks()[t];
    const TaskOutcome& o = in_.analysis.outcomes[t];
    const Span& span = spans_.at(t);

    begin_event("X", store.task_value(t), "task", t);
    w_.key("ts")
        .value(us(span.start))
        .key("dur")
        .value(double(elapsed(span.start, span.end)) / 1000.0);
    w_.key("args").begin_object();
    w_.key("outcome").value(to_string(o.outcome));
    if (task.parent != kNone) w_.key("parent").value(store.task_label(task.parent));
    if (!task.awaits.empty()) {
      w_.key("awaits").begin_array();
      for (uint32_t a : task.awaits) w_.value(store.task_label(a));
      w_.end_array();
    }
    if (auto it = kinds_.find(t); it != kinds_.end()) {
      w_.key("findings").begin_array();
      for (const Finding* f : it->second)
        w_.value(fmt::format("{}: {}", to_string(f->kind), f->reason));
      w_.end_array();
    }
    // A task that ended ok with no error keeps no records once the log is read (memory is
    // bounded by the tasks): its track shows it whole, without its stages.
    if (task.events.empty())
      w_.key("records").value("folded into the statistics: ended ok, no error");
    w_.end_object().end_object();

    auto rows = report::timeline_rows(store, t);
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      int64_t at = row.event->time;
      int64_t until = i + 1 < rows.size()          ? rows[i + 1].event->time
                      : o.outcome == Outcome::open ? span.end
                                                   : at;
      std::string name = !row.stage.empty()    ? row.stage
                         : !row.status.empty() ? row.status
                                               : std::string("(record)");
      // An unfinished task's last record starts its silence, not a stage that lasts till the
      // log ends: the stage slice stops at the record and the silence is a slice of its own.
      bool silent = i + 1 == rows.size() && o.outcome == Outcome::open;
      begin_event("X", name, "stage", t);
      w_.key("ts").value(us(at)).key("dur").value(double((silent ? at : until) - at) / 1000.0);
      w_.key("args").begin_object();
      if (!row.status.empty()) w_.key("status").value(row.status);
      if (!row.error.empty()) w_.key("error").value(row.error);
      const std::string& file = store.files()[row.event->file];
      w_.key("at").value(fmt::format("{}:{}", display_name(file), row.event->line));
      w_.end_object().end_object();
      if (silent) write_silence(t, name, at, until);
      if (!row.error.empty()) {
        begin_event("i", row.error, "error", t);
        w_.key("ts").value(us(at)).key("s").value("t").end_object();
      }
    }
    if (auto it = kinds_.find(t); it != kinds_.end()) {
      for (const Finding* f : it->second) {
        begin_event("i", to_string(f->kind), "finding", t);
        w_.key("ts").value(us(std::clamp(f->time, span.start, span.end))).key("s").value("t");
        w_.key("args").begin_object().key("reason").value(f->reason);
        w_.key("severity").value(to_string(f->severity)).end_object().end_object();
      }
    }
  }

  // The time after an unfinished task's last record, one name and colour for every task so
  // that Perfetto draws silence alike and apart from any stage ("grey" is a Chrome colour name).
  void write_silence(uint32_t t, std::string_view last_stage, int64_t from, int64_t until) {
    begin_event("X", kSilence, "silence", t);
    w_.key("ts").value(us(from)).key("dur").value(double(until - from) / 1000.0);
    w_.key("cname").value("grey");
    w_.key("args").begin_object().key("last_stage").value(last_stage);
    w_.key("silent_for").value(format_duration(until - from)).end_object().end_object();
  }

  // A flow from task `from` at `at` to task `to`, both moments kept inside the task's span so
  // that each end binds to one of its slices.
  void flow(std::string_view name, uint32_t from, uint32_t to, int64_t at) {
    const Span& a = spans_.at(from);
    const Span& b = spans_.at(to);
    int64_t s = std::clamp(at, a.start, a.end);
    int64_t f = std::clamp(s, b.start, b.end);
    uint64_t id = ++flow_id_;
    begin_event("s", name, name, from);
    w_.key("id").value(id).key("ts").value(us(s)).end_object();
    begin_event("f", name, name, to);
    w_.key("id").value(id).key("ts").value(us(f)).key("bp").value("e").end_object();
  }

  void write_flows(const std::vector<uint32_t>& tasks) {
    const TaskStore& store = in_.store;
    for (uint32_t t : tasks) {
      const Task& task = store.tasks()[t];
      // Spawned: from the parent, when the child started, to the child's start.
      if (task.parent != kNone && spans_.count(task.parent))
        flow("spawned", task.parent, t, spans_.at(t).start);
      // Awaits: from the waiter, at its record that named the await (when it began to wait),
      // to the awaited task (at its start, when that came later).
      for (uint32_t a : task.awaits) {
        if (a == t || !spans_.count(a)) continue;
        flow("awaits", t, a, store.await_began(t, a).value_or(spans_.at(t).start));
      }
    }
  }

  const ReportInput& in_;
  JsonWriter w_;
  int64_t base_ = 0;
  uint64_t flow_id_ = 0;
  std::unordered_map<uint32_t, Span> spans_;
  std::unordered_map<uint32_t, std::vector<const Finding*>> kinds_;
};

}  // namespace

std::string render_chrome(const ReportInput& in) {
  const TaskStore& store = in.store;
  size_t logged = 0;
  for (const Task& t : store.tasks()) logged += t.logged ? 1 : 0;
  bool all = logged <= kAllTasksUpTo;
  std::vector<uint32_t> tasks;
  if (all) {
    for (uint32_t t = 0; t < store.tasks().size(); ++t)
      if (store.tasks()[t].logged) tasks.push_back(t);
  } else {
    // The tasks of the shown findings (in-flight ones too: they are on the html page as well),
    // and the tasks their blame chains and deadlock cycles name.
    std::unordered_set<uint32_t> seen;
    auto keep = [&](uint32_t t) {
      if (store.tasks()[t].logged && seen.insert(t).second) tasks.push_back(t);
    };
    for (const Finding* f : in.findings) {
      keep(f->task);
      for (uint32_t c : f->chain) keep(c);
      for (uint32_t m : f->members) keep(m);
    }
  }
  std::string out;
  ChromeTrace(in, out).write(tasks, all);
  out += '\n';
  return out;
}

}  // namespace coroner
