// The terminal report: summary, then findings grouped by kind, each with its timeline.
#include <fmt/format.h>

#include <algorithm>

#include "common.hpp"

namespace coroner {

namespace {

// " (fetch in job)" after an eliot action's or a span's opaque id, "" for a named task.
std::string titled(const TaskStore& store, uint32_t task) {
  std::string title = store.task_title(task);
  return title.empty() ? title : " (" + title + ")";
}

using report::TimelineRow;

class Painter {
 public:
  explicit Painter(bool on) : on_(on) {}
  std::string operator()(std::string_view code, std::string_view text) const {
    if (!on_) return std::string(text);
    return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
  }
  std::string severity(Severity s, std::string_view text) const {
    switch (s) {
      case Severity::error:
        return (*this)("1;31", text);
      case Severity::warning:
        return (*this)("1;33", text);
      case Severity::info:
        return (*this)("1;36", text);
    }
    return std::string(text);
  }

 private:
  bool on_;
};

std::string_view kind_headline(FindingKind kind) {
  switch (kind) {
    case FindingKind::deadlock:
      return "tasks waiting on each other in a cycle";
    case FindingKind::hung:
      return "started, never ended, silent far longer than their stage takes";
    case FindingKind::blocked:
      return "waiting on a task that hung or failed";
    case FindingKind::timeout:
      return "timed out or ran past a deadline";
    case FindingKind::lost_exception:
      return "an exception that never reached the outcome";
    case FindingKind::orphan:
      return "still running after the parent ended";
    case FindingKind::destroyed_pending:
      return "destroyed by asyncio while pending";
    case FindingKind::anomaly:
      return "records out of the usual order";
    case FindingKind::retried:
      return "an error or timeout that a retry handled (information)";
    case FindingKind::in_flight:
      return "still working when the log ends (information)";
  }
  return "";
}

// Appends `item` to a separated list. (Also dodges GCC 12's false -Wrestrict on "lit" + string.)
void join(std::string& list, std::string_view separator, std::string_view item) {
  if (!list.empty()) list += separator;
  list += item;
}

std::string plural(size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// The most frequent template, to show what templating did.
std::string_view example_template(const TaskStore& store) {
  std::string_view best;
  uint64_t most = 0;
  for (uint32_t id = 0; id < store.stage_stats().size(); ++id) {
    if (!store.is_template(id) || store.stage_stats()[id].records <= most) continue;
    most = store.stage_stats()[id].records;
    best = store.words().view(id);
  }
  return best;
}

void summary(const ReportInput& in, const Painter& paint, std::string& out) {
  const auto& store = in.store;
  const auto& a = in.analysis;
  const auto& counts = store.counts();
  std::string files = store.files().size() == 1 ? std::string(display_name(store.files()[0]))
                                                : plural(store.files().size(), "file", "files");
  uint64_t tasks = 0;
  for (uint64_t c : a.outcome_counts) tasks += c;
  out += fmt::format("{} {}: {}, {}, {} of log\n", paint("1", "coroner"), files,
                     plural(counts.records, "record", "records"), plural(tasks, "task", "tasks"),
                     format_duration(elapsed(a.log_start, a.log_end)));
  if (counts.bad_lines > 0) {
    std::string where;
    for (const BadLine& b : store.bad_lines()) {
      if (!where.empty()) where += ", ";
      where += fmt::format("{}:{}", display_name(store.files()[b.file]), b.line);
    }
    out +=
        fmt::format("skipped: {} that {} not a JSON object (at {}{})\n",
                    plural(counts.bad_lines, "line", "lines"), counts.bad_lines == 1 ? "is" : "are",
                    where, counts.bad_lines > store.bad_lines().size() ? ", ..." : "");
  }
  for (const std::string& d : in.store.damage()) out += fmt::format("damaged input: {}\n", d);
  if (counts.records > 0 && counts.task_records == 0)
    out +=
        "no record has a task field: `coroner schema FILE` shows the fields seen, and "
        "--field task=NAME names yours\n";
  if (counts.bad_times > 0)
    out += fmt::format("unreadable time: {} (they took the previous record's time)\n",
                       plural(counts.bad_times, "record", "records"));
  if (counts.folded_stages > 0)
    out += fmt::format(
        "stages: more distinct names than --max-stages; the rarest, in {}, folded into "
        "'(other)'\n",
        plural(counts.folded_stages, "record", "records"));
  if (counts.templated_stages > 0)
    out += fmt::format(
        "learned: {} of free text became {} (variable parts masked, as in '{}'; --templates "
        "off keeps them as written)\n",
        plural(counts.templated_stages, "stage value", "stage values"),
        plural(store.stage_templates(), "template", "templates"), example_template(store));
  for (uint32_t f = 0; f < store.formats().size(); ++f) {
    const InputFormat& format = store.formats()[f];
    if (format.dialect == Dialect::json && !format.multiline) continue;  // the common case
    out += fmt::format("learned: {} is {}{} ({})\n", display_name(store.files()[f]),
                       to_string(format.dialect),
                       format.multiline ? ", values over several lines" : "", format.why);
  }
  if (a.learned_end) {
    out += fmt::format(
        "learned: the log has no word for a finished task; a task ends ok at stage '{}' (the "
        "last stage of {} of the {} tasks that did not end by a word; --end-stage overrides)\n",
        store.words().view(a.learned_end->stage), a.learned_end->tasks_ending_there,
        a.learned_end->tasks);
  }
  const auto& oc = a.outcome_counts;
  out += fmt::format("outcomes: {} ok, {} failed, {} timed out, {} cancelled, {} open\n",
                     oc[size_t(Outcome::ok)], oc[size_t(Outcome::failed)],
                     oc[size_t(Outcome::timed_out)], oc[size_t(Outcome::cancelled)],
                     oc[size_t(Outcome::open)]);
  auto by_kind = report::count_by_kind(in.findings);
  std::string list;
  for (size_t k = 0; k < kFindingKindCount; ++k) {
    if (by_kind[k] == 0) continue;
    if (!list.empty()) list += ", ";
    list += paint.severity(default_severity(FindingKind(k)),
                           fmt::format("{} {}", by_kind[k], to_string(FindingKind(k))));
  }
  out += fmt::format("findings: {}\n", list.empty() ? "none" : list);
  // Hung tasks in a log without edges may be blocked ones: say that the log cannot tell.
  if (by_kind[size_t(FindingKind::hung)] > 0)
    if (std::string note = report::no_edges_note(in); !note.empty())
      out += fmt::format("note: {}\n", note);
}

void stop_line(const ReportInput& in, const Painter& paint, uint32_t task, std::string& out);

void timeline(const ReportInput& in, const Painter& paint, uint32_t task, const Finding* finding,
              std::string& out) {
  auto rows = report::timeline_rows(in.store, task);
  size_t limit = in.options.timeline_events;
  size_t skip = limit > 0 && rows.size() > limit ? rows.size() - limit : 0;
  if (skip > 0) out += fmt::format("        ... {} earlier records\n", skip);
  auto label = [](const TimelineRow& row) {
    if (!row.waiting_for.empty()) return "(waits on " + row.waiting_for + ")";
    return row.stage.empty() ? std::string("-") : row.stage;
  };
  size_t width = 0;
  for (size_t i = skip; i < rows.size(); ++i) width = std::max(width, label(rows[i]).size());
  width = std::min<size_t>(width, 32);
  // An open task's timeline ends where it was judged; records after that (the cancellations
  // asyncio.run makes on its way out) come after that line.
  bool show_stop = finding && !rows.empty() &&
                   (finding->kind == FindingKind::hung || finding->kind == FindingKind::blocked ||
                    finding->kind == FindingKind::deadlock) &&
                   in.analysis.outcomes[task].outcome == Outcome::open;
  int64_t stop = judged_at(in.store, task, in.analysis.outcomes[task].end, in.analysis.log_end);
  for (size_t i = skip; i < rows.size(); ++i) {
    const TimelineRow& row = rows[i];
    if (show_stop && row.event->time > stop) {
      stop_line(in, paint, task, out);
      show_stop = false;
    }
    std::string line =
        fmt::format("        {}  {:<{}}  {:>8}", report::clock(row.event->time), label(row), width,
                    i == 0 ? std::string() : fmt::format("+{}", format_duration(row.gap)));
    if (!row.status.empty()) line += "  status=" + row.status;
    if (!row.error.empty()) line += "  " + paint("31", row.error);
    // The first row has no gap and most rows nothing after it: the padded columns would leave
    // blanks at the end of the line, which diffs and copied examples trip over.
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  if (show_stop) stop_line(in, paint, task, out);
}

// Where an open task's timeline ends: the log's end, or its process's stop with where the task
// was suspended then.
void stop_line(const ReportInput& in, const Painter& paint, uint32_t task, std::string& out) {
  int64_t last = in.analysis.outcomes[task].end;
  int64_t stop = judged_at(in.store, task, last, in.analysis.log_end);
  std::string what = stop == in.analysis.log_end && !in.store.pending_at_exit(task)
                         ? "log ends"
                         : "its process stops";
  std::string text = fmt::format("({}, silent {}", what, format_duration(elapsed(last, stop)));
  if (const PendingAtExit* pending = in.store.pending_at_exit(task)) {
    if (!pending->suspended_at.empty()) text += "; suspended at " + pending->suspended_at;
    if (!pending->waiting_for.empty()) text += "; waiting for " + pending->waiting_for;
  }
  out += fmt::format("        {}  {}\n", report::clock(stop), paint("2", text + ")"));
}

// An orphan's or an unobserved child's chain is (child, parent): a spawn, no wait.
bool chain_is_a_spawn(const Finding& f) {
  return f.kind == FindingKind::orphan ||
         (f.kind == FindingKind::lost_exception && f.subkind == "unobserved-child");
}

void chain(const ReportInput& in, const Finding& f, std::string& out) {
  if (f.chain.size() == 2 && chain_is_a_spawn(f)) {
    out += fmt::format("      spawned by: {}\n", in.store.task_label(f.chain[1]));
  } else if (f.chain.size() > 1) {
    std::string text;
    for (uint32_t t : f.chain) join(text, " -> ", in.store.task_label(t));
    out += fmt::format("      waits on: {}\n", text);
  }
  if (!f.members.empty()) {
    std::string text;
    for (uint32_t t : f.members) join(text, " -> ", in.store.task_label(t));
    out += fmt::format("      cycle: {} -> {}\n", text, in.store.task_label(f.members.front()));
  }
}

void findings(const ReportInput& in, const Painter& paint, std::string& out) {
  auto by_kind = report::count_by_kind(in.findings);
  size_t shown_in_kind = 0;
  for (size_t i = 0; i < in.findings.size(); ++i) {
    const Finding& f = *in.findings[i];
    bool first_of_kind = i == 0 || in.findings[i - 1]->kind != f.kind;
    if (first_of_kind) {
      shown_in_kind = 0;
      out += fmt::format("\n{}  {}\n",
                         paint.severity(f.severity, fmt::format("{} ({})", to_string(f.kind),
                                                                by_kind[size_t(f.kind)])),
                         kind_headline(f.kind));
    }
    ++shown_in_kind;
    size_t top = in.options.top;
    if (top > 0 && shown_in_kind > top) {
      bool last_of_kind = i + 1 == in.findings.size() || in.findings[i + 1]->kind != f.kind;
      if (last_of_kind)
        out +=
            fmt::format("  ... and {} more (--top 0 shows all)\n", by_kind[size_t(f.kind)] - top);
      continue;
    }
    std::string sub = f.subkind.empty() ? "" : fmt::format(" [{}]", f.subkind);
    out += fmt::format("  {}{}{}  {}\n", paint("1", in.store.task_label(f.task)),
                       titled(in.store, f.task), sub, f.reason);
    chain(in, f, out);
    // In-flight tasks are not news: one line each is enough.
    if (!is_information(f.kind)) timeline(in, paint, f.task, &f, out);
  }
}

}  // namespace

std::string render_text(const ReportInput& in) {
  Painter paint(in.options.color);
  std::string out;
  summary(in, paint, out);
  findings(in, paint, out);
  return out;
}

std::string render_timeline_text(const ReportInput& in, const std::vector<uint32_t>& tasks) {
  Painter paint(in.options.color);
  std::string out;
  ReportInput all = in;
  all.options.timeline_events = 0;
  const TaskGraph& graph = in.analysis.graph;
  for (uint32_t task : tasks) {
    const TaskOutcome& o = in.analysis.outcomes[task];
    const Task& t = in.store.tasks()[task];
    out += fmt::format("{}{}  outcome: {}, ran {} ({} .. {})\n",
                       paint("1", in.store.task_label(task)), titled(in.store, task),
                       to_string(o.outcome), format_duration(elapsed(t.first_time, o.end)),
                       format_time(t.first_time), format_time(o.end));
    if (t.parent != kNone) out += fmt::format("  spawned by: {}\n", in.store.task_label(t.parent));
    std::string children;
    for (uint32_t i = 0; i < in.store.tasks().size(); ++i)
      if (in.store.tasks()[i].parent == task) join(children, ", ", in.store.task_value(i));
    if (!children.empty()) out += fmt::format("  spawned: {}\n", children);
    if (!t.awaits.empty()) {
      std::string list;
      for (uint32_t w : t.awaits) {
        join(list, ", ",
             fmt::format("{} ({})", in.store.task_value(w),
                         to_string(in.analysis.outcomes[w].outcome)));
      }
      out += fmt::format("  awaited: {}\n", list);
      // What decided when it finished: a task that never did has no such path.
      if (o.outcome != Outcome::open) {
        std::string path;
        for (uint32_t step : graph.critical_path(task, in.analysis.outcomes))
          join(path, " -> ", in.store.task_value(step));
        out += fmt::format("  critical path: {}\n", path);
      }
    }
    const Finding* first = nullptr;
    for (const Finding& f : in.analysis.findings) {
      if (f.task != task) continue;
      if (!first) first = &f;
      std::string sub = f.subkind.empty() ? "" : fmt::format(" [{}]", f.subkind);
      out +=
          fmt::format("  {}{}: {}\n", paint.severity(f.severity, to_string(f.kind)), sub, f.reason);
      chain(in, f, out);
    }
    timeline(all, paint, task, first, out);
    out += "\n";
  }
  return out;
}

std::string render_stats_text(const ReportInput& in) {
  std::string out;
  const auto& stages = in.analysis.stages;
  std::vector<uint32_t> order;
  for (uint32_t s = 0; s < stages.size(); ++s)
    if (stages[s].occurrences > 0) order.push_back(s);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return stages[a].occurrences > stages[b].occurrences;
  });
  size_t width = 5;
  for (uint32_t s : order)
    width = std::max(width, std::min<size_t>(in.store.words().view(s).size(), 40));
  out += fmt::format("{:<{}}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>7}\n", "stage", width, "count",
                     "p50", "p95", "p99", "max", "errors");
  for (uint32_t s : order) {
    const StageStats& st = stages[s];
    const DurationHistogram& h = st.durations;
    auto dur = [&](double p) { return h.count() ? format_duration(h.percentile(p)) : "-"; };
    out += fmt::format("{:<{}}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>6.1f}%\n",
                       in.store.words().view(s).substr(0, 40), width, st.occurrences, dur(0.5),
                       dur(0.95), dur(0.99), h.count() ? format_duration(h.max()) : "-",
                       100.0 * double(st.errors) / double(st.occurrences));
  }
  out += "\nduration of each stage, from entering it to entering the next (log scale):\n";
  static constexpr std::string_view kBars[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  for (uint32_t s : order) {
    const DurationHistogram& h = stages[s].durations;
    if (h.count() == 0) continue;
    auto bins = h.bins(24);
    uint64_t top = 0;
    for (const auto& b : bins) top = std::max(top, b.count);
    std::string bars;
    for (const auto& b : bins) bars += kBars[b.count == 0 ? 0 : 1 + (b.count * 7) / top];
    out += fmt::format("{:<{}}  {:>8} |{}| {}\n", in.store.words().view(s).substr(0, 40), width,
                       format_duration(h.min()), bars, format_duration(h.max()));
  }
  out += fmt::format("\npercentiles are within {:.1f}% (log-bucketed histogram)\n",
                     100.0 * DurationHistogram::kRelativeError);
  return out;
}

}  // namespace coroner
