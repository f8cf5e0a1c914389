// The terminal report: summary, then findings grouped by kind, each with its timeline.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <unordered_set>

#include "common.hpp"
#include "problems.hpp"

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

// Appends `item` to a separated list. (Also dodges GCC 12's false -Wrestrict on "lit" + string.)
void join(std::string& list, std::string_view separator, std::string_view item) {
  if (!list.empty()) list += separator;
  list += item;
}

// A learned line for each way files were read, told once for files read alike (a rotated
// log's): the first file's line, and how many others. `kind_of` gives the way ("" when the file
// has no such line), `line` the first file's line.
template <typename KindOf, typename Line>
void told_once(const TaskStore& store, KindOf kind_of, Line line, std::string& out) {
  const auto& formats = store.formats();
  std::vector<std::string> kinds;
  for (const InputFormat& format : formats) kinds.push_back(kind_of(format));
  for (uint32_t f = 0; f < formats.size(); ++f) {
    if (kinds[f].empty() ||
        std::find(kinds.begin(), kinds.begin() + f, kinds[f]) != kinds.begin() + f)
      continue;
    auto others = std::count(kinds.begin() + f + 1, kinds.end(), kinds[f]);
    out += line(f, formats[f]);
    out += others == 0 ? "\n"
                       : fmt::format("; the same for {} other {}\n", others,
                                     others == 1 ? "file" : "files");
  }
}

std::string plural(size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// The most frequent template, to show what templating did.
std::string example_template(const TaskStore& store) {
  constexpr size_t kLongest = 120;  // a message's whole body, masked, is no example to read
  std::string_view best;
  uint64_t most = 0;
  for (uint32_t id = 0; id < store.stage_stats().size(); ++id) {
    if (!store.is_template(id) || store.stage_stats()[id].records <= most) continue;
    most = store.stage_stats()[id].records;
    best = store.words().view(id);
  }
  return shortened(best, kLongest);
}

// " (root cause: producer-feed)": the failed tasks others are blocked on, which the findings
// name only as the end of a chain.
// "learned: ..." for the end stages learned, one per group of files that share no stage (the
// logs of different programs); "" when none was.
std::string learned_ends_line(const Analysis& a, const TaskStore& store) {
  const std::vector<LearnedEnd>& ends = a.learned_ends;
  if (ends.empty()) return "";
  const LearnedEnd& first = ends.front();
  std::string where =
      ends.size() > 1 ? fmt::format(
                            "{} groups of files that share no stage have no word for "
                            "a finished task",
                            ends.size())
      // The log has an ok word, and tasks that end by none: they go on to more work after it,
      // or their files (another program's) never write it.
      : store.seen_ok_word() ? "some tasks end by no word (they go on to more work after the one "
                               "that says a task ended ok, or their files have none)"
                             : "the log has no word for a finished task";
  std::string line = fmt::format(
      "learned: {}; a task ends ok at stage '{}' (the last stage of {} of the {} tasks that did "
      "not end by a word",
      where, store.words().view(first.stage), first.tasks_ending_there, first.tasks);
  line += ends.size() > 1 ? ")" : "; --end-stage overrides)\n";
  if (ends.size() == 1) return line;
  for (size_t i = 1; i < ends.size(); ++i)
    line += fmt::format(", at '{}' in another group ({} of {})", store.words().view(ends[i].stage),
                        ends[i].tasks_ending_there, ends[i].tasks);
  return line + "; --end-stage overrides\n";
}

std::string failed_root_causes(const ReportInput& in,
                               const std::vector<report::Problem>& problems) {
  std::string names;
  for (const report::Problem& p : problems)
    if (p.root != kNone && in.analysis.outcomes[p.root].outcome == Outcome::failed)
      join(names, ", ", in.store.task_label(p.root));
  return names.empty() ? "" : " (root cause: " + names + ")";
}

// The failed tasks no finding tells of, by name and error: "1 failed" alone left a person to
// grep the log for which invoice it was.
std::string quiet_failures_line(const ReportInput& in) {
  constexpr size_t kNamed = 3;
  size_t total = 0;
  std::string names;
  for (const report::QuietFailure& f : report::quiet_failures(in, kNamed, total))
    join(names, "; ",
         fmt::format("{}{}: {}", in.store.task_label(f.task), titled(in.store, f.task),
                     shortened(f.error, 60)));
  if (total == 0) return {};
  if (total > kNamed) names += fmt::format("; and {} more", total - kNamed);
  return fmt::format("failed: {}\n", names);
}

void summary(const ReportInput& in, const std::vector<report::Problem>& problems,
             const Painter& paint, std::string& out) {
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
    std::string tracebacks;
    if (counts.traceback_lines > 0)
      tracebacks = counts.traceback_lines == counts.bad_lines
                       ? ", a Python traceback's text"
                       : fmt::format(", {} of them a Python traceback's", counts.traceback_lines);
    out +=
        fmt::format("skipped: {} that {} not a JSON object{} (at {}{})\n",
                    plural(counts.bad_lines, "line", "lines"), counts.bad_lines == 1 ? "is" : "are",
                    tracebacks, where, counts.bad_lines > store.bad_lines().size() ? ", ..." : "");
  }
  // The header counts every record read; those --since/--until left out are said so, or a
  // window would pass for the whole log.
  if (counts.outside_window > 0)
    out += fmt::format("skipped: {} outside --since/--until\n",
                       plural(counts.outside_window, "record", "records"));
  for (const std::string& d : in.store.damage()) out += fmt::format("damaged input: {}\n", d);
  if (counts.records > 0 && counts.task_records == 0)
    out +=
        "no record has a task field: `coroner schema FILE` shows the fields seen, and "
        "--field task=NAME names yours\n";
  if (const auto& e = store.first_untasked_error())
    out += fmt::format("errors in no task: {} ({}{}, at {}:{})\n", counts.untasked_errors,
                       counts.untasked_errors > 1 ? "the first: " : "", e->text,
                       display_name(store.files()[e->file]), e->line);
  if (counts.bad_times > 0)
    out += fmt::format("unreadable time: {} (they took the previous record's time)\n",
                       plural(counts.bad_times, "record", "records"));
  if (store.whole_second_times())
    out +=
        "whole seconds: every time in the log is a whole second, so a silence is known to a "
        "second at best and a short stall can read as in flight (log milliseconds: a "
        "datefmt with %f or .%(msecs)03d)\n";
  for (const report::UnreadTracebacks& unread : report::unread_traceback_fields(store))
    out += fmt::format(
        "unread errors: {}'s field {} holds Python tracebacks that no role reads, so no "
        "exception of the log is seen (--field error={} reads them)\n",
        display_name(store.files()[unread.file]), unread.field, unread.field);
  if (const auto& back = store.clock_set_back())
    out += fmt::format(
        "times: {}'s times, with no zone, step back {} at line {}: a local clock set back "
        "(daylight saving's end); read as UTC, the records after it seem older than those "
        "before (log times with their offset, or in UTC)\n",
        display_name(store.files()[back->file]), format_duration(back->step), back->line);
  if (const auto& naive = store.naive_times()) {
    std::string offset = format_utc_offset(naive->offset);
    out += fmt::format(
        "times: {} writes its times with no zone, read as UTC, and they run {} {} those of {}, "
        "which are in UTC: if they are local times at {}, --naive-offset={} reads them so\n",
        display_name(store.files()[naive->file]), format_duration(std::abs(naive->apart)),
        naive->apart < 0 ? "before" : "after", display_name(store.files()[naive->other]), offset,
        offset);
  }
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
  told_once(
      store,
      [](const InputFormat& f) {
        return f.task_field.empty() ? std::string() : f.task_field + '\x1f' + f.kind_field;
      },
      [&](uint32_t f, const InputFormat& format) {
        return fmt::format(
            "learned: {} names its tasks by {}: {}, the kind of work, not one task (--field "
            "task={} reads it as the task)",
            display_name(store.files()[f]), format.task_field, format.task_field_why,
            format.kind_field);
      },
      out);
  told_once(
      store,
      [](const InputFormat& f) {
        return f.partial_scope_why.empty()
                   ? std::string()
                   : fmt::format("{}\x1f{}", fmt::join(f.partial_scope_fields, ","),
                                 f.partial_scope_why);
      },
      [&](uint32_t f, const InputFormat& format) {
        return fmt::format(
            "learned: {} reads {} as no part of a task's identity ({}), or a job would be two "
            "tasks, one unfinished (--key {} keeps them)",
            display_name(store.files()[f]), fmt::join(format.partial_scope_fields, ", "),
            format.partial_scope_why, fmt::join(format.partial_scope_fields, ","));
      },
      out);
  told_once(
      store,
      [](const InputFormat& f) {
        bool plain = f.dialect == Dialect::json && !f.multiline;  // the common case: not told
        return plain ? std::string() : fmt::format("{}\x1f{}", to_string(f.dialect), f.multiline);
      },
      [&](uint32_t f, const InputFormat& format) {
        return fmt::format("learned: {} is {}{} ({})", display_name(store.files()[f]),
                           to_string(format.dialect),
                           format.multiline ? ", values over several lines" : "", format.why);
      },
      out);
  out += learned_ends_line(a, store);
  const auto& oc = a.outcome_counts;
  out += fmt::format("outcomes: {} ok, {} failed{}, {} timed out, {} cancelled, {} open\n",
                     oc[size_t(Outcome::ok)], oc[size_t(Outcome::failed)],
                     failed_root_causes(in, problems), oc[size_t(Outcome::timed_out)],
                     oc[size_t(Outcome::cancelled)], oc[size_t(Outcome::open)]);
  out += quiet_failures_line(in);
  auto by_kind = report::count_by_kind(in.findings);
  std::string list;
  for (size_t k = 0; k < kFindingKindCount; ++k) {
    if (by_kind[k] == 0) continue;
    if (!list.empty()) list += ", ";
    list += paint.severity(default_severity(FindingKind(k)),
                           fmt::format("{} {}", by_kind[k], to_string(FindingKind(k))));
  }
  // Information (in flight, retried, an anomaly) is no problem: "2 in-flight (2 problems)" with
  // exit 0 read as a contradiction.
  size_t real = size_t(std::count_if(problems.begin(), problems.end(), [](const auto& p) {
    return default_severity(p.kind) != Severity::info;
  }));
  out += fmt::format("findings: {}{}\n", list.empty() ? "none" : list,
                     real == 0 ? "" : fmt::format(" ({})", plural(real, "problem", "problems")));
  // Hung tasks in a log without edges may be blocked ones: say that the log cannot tell.
  if (by_kind[size_t(FindingKind::hung)] > 0)
    if (std::string note = report::no_edges_note(in); !note.empty())
      out += fmt::format("note: {}\n", note);
}

// Text in lines of at most `width` columns (0: one line), the first after `indent` spaces, the
// others after `hang` (default: as many); words longer than a line stay whole.
std::string wrapped(std::string_view text, size_t indent, size_t width, size_t hang = 0) {
  std::string pad(indent, ' ');
  if (hang == 0) hang = indent;
  auto columns = [](std::string_view s) {  // UTF-8: count the first byte of each character
    size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
  };
  if (width == 0 || indent + columns(text) <= width) return pad + std::string(text) + "\n";
  std::string out, line;
  size_t room = width > indent + 20 ? width - indent : 20;
  auto next_line = [&] {
    out += pad + line + "\n";
    line.clear();
    pad.assign(hang, ' ');
    room = width > hang + 20 ? width - hang : 20;
  };
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view w = text.substr(start, end - start);
    if (!line.empty() && columns(line) + 1 + columns(w) > room) next_line();
    if (!line.empty()) line += ' ';
    line += w;
    start = end + 1;
  }
  if (!line.empty()) out += pad + line + "\n";
  return out;
}

// "  name  text", wrapped, the name in bold.
std::string named_line(const Painter& paint, const std::string& name, std::string_view text,
                       size_t width) {
  std::string line = wrapped(name + "  " + std::string(text), 2, width, 6);
  return "  " + paint("1", name) + line.substr(2 + name.size());
}

std::string at_clock(const ReportInput& in, uint32_t task, int64_t time) {
  return log_clock(in.analysis, task, time);
}

void stop_line(const ReportInput& in, const Painter& paint, uint32_t task, std::string& out);

// Consecutive records that say the same thing, shown as one row: "retry upload  x80, every
// ~27ms".
struct TimelineRun {
  size_t first = 0;  // index of its first row
  size_t count = 1;
};

std::vector<TimelineRun> runs_of(const std::vector<TimelineRow>& rows) {
  std::vector<TimelineRun> runs;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!runs.empty()) {
      const TimelineRow& a = rows[runs.back().first];
      const TimelineRow& b = rows[i];
      if (a.stage == b.stage && a.status == b.status && a.error == b.error &&
          a.waiting_for == b.waiting_for) {
        ++runs.back().count;
        continue;
      }
    }
    runs.push_back({i, 1});
  }
  return runs;
}

void timeline(const ReportInput& in, const Painter& paint, uint32_t task, const Finding* finding,
              std::string& out) {
  auto rows = report::timeline_rows(in.store, task);
  auto runs = runs_of(rows);
  size_t limit = in.options.timeline_events;
  size_t skip = limit > 0 && runs.size() > limit ? runs.size() - limit : 0;
  if (skip > 0) out += fmt::format("        ... {} earlier records\n", runs[skip].first);
  auto label = [](const TimelineRow& row) {
    constexpr size_t kLongest = 120;  // a message that is a request's body: one line of it
    if (!row.waiting_for.empty()) return "(waits on " + row.waiting_for + ")";
    if (row.stage.size() <= kLongest) return row.stage.empty() ? std::string("-") : row.stage;
    return shortened(row.stage, kLongest);
  };
  size_t width = 0;
  for (size_t i = skip; i < runs.size(); ++i)
    width = std::max(width, label(rows[runs[i].first]).size());
  width = std::min<size_t>(width, 32);
  // An open task's timeline ends where it was judged; records after that (the cancellations
  // asyncio.run makes on its way out) come after that line.
  bool show_stop = finding && !rows.empty() &&
                   (finding->kind == FindingKind::hung || finding->kind == FindingKind::blocked ||
                    finding->kind == FindingKind::deadlock) &&
                   in.analysis.outcomes[task].outcome == Outcome::open;
  int64_t stop = judged_at(in.store, task, in.analysis.outcomes[task].end, in.analysis.log_end);
  for (size_t r = skip; r < runs.size(); ++r) {
    const TimelineRow& row = rows[runs[r].first];
    if (show_stop && row.event->time > stop) {
      stop_line(in, paint, task, out);
      show_stop = false;
    }
    // "+" is the time since the task's previous record, and only that.
    std::string line = fmt::format(
        "        {}  {:<{}}  {:>8}", at_clock(in, task, row.event->time), label(row), width,
        runs[r].first == 0 ? std::string() : fmt::format("+{}", format_duration(row.gap)));
    if (!row.status.empty()) line += "  status=" + row.status;
    if (!row.error.empty()) line += "  " + paint("31", row.error);
    if (size_t n = runs[r].count; n > 1) {
      const TimelineRow& last = rows[runs[r].first + n - 1];
      int64_t every = elapsed(row.event->time, last.event->time) / int64_t(n - 1);
      line += "  " + paint("2", fmt::format("x{}, every ~{}", n, format_duration(every)));
    }
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
  std::string what = stop == in.analysis.log_end && !in.store.pending_at_exit(task) ? "log ends"
                     : in.store.stop_ends_test(in.store.tasks()[task].scope, stop)
                         ? "its test ends"
                         : "its process stops";
  std::string text = fmt::format("({}, silent {}", what, format_duration(elapsed(last, stop)));
  if (const PendingAtExit* pending = in.store.pending_at_exit(task)) {
    text += pending->where_and_what();
  }
  out += fmt::format("        {}  {}\n", at_clock(in, task, stop), paint("2", text + ")"));
}

// "in stage 'x' since 09:23:19.610115": where a waiter waits.
std::string waiting_where(const ReportInput& in, uint32_t task) {
  const Task& t = in.store.tasks()[task];
  if (t.stage == kNone) return "waits since " + at_clock(in, task, in.analysis.outcomes[task].end);
  return fmt::format("waits in stage {} since {}", quoted_stage(in.store, t.stage),
                     at_clock(in, task, t.stage_since));
}

// The root cause's own evidence: what it did last, and how it ended or how long it was silent.
std::string root_evidence(const ReportInput& in, const report::RootCause& root) {
  const TaskStore& store = in.store;
  std::string stage = root.stage == kNone ? "" : " in stage " + quoted_stage(store, root.stage);
  std::string text;
  if (!store.tasks()[root.task].logged)
    text = "never logged anything: only its waiters name it";
  else if (root.outcome == Outcome::open)
    text = fmt::format("silent for {}{} since {}", format_duration(root.silent), stage,
                       at_clock(in, root.task, root.last_time));
  else
    text = fmt::format("{}{} at {}",
                       root.outcome == Outcome::failed ? "failed" : to_string(root.outcome), stage,
                       at_clock(in, root.task, root.last_time));
  if (!root.error.empty()) text += ": " + root.error;
  return text;
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
    // Every chain ends with the root cause's own evidence.
    report::RootCause root = report::root_cause(in, f.chain.back());
    std::string evidence = root_evidence(in, root);
    if (root.evidence) evidence += " (" + report::where(in.store, *root.evidence) + ")";
    out += wrapped(fmt::format("root cause: {} {}", in.store.task_label(f.chain.back()), evidence),
                   6, in.options.width, 8);
  }
  if (!f.members.empty()) {
    std::string text;
    for (uint32_t t : f.members) join(text, " -> ", in.store.task_label(t));
    out += fmt::format("      cycle: {} -> {}\n", text, in.store.task_label(f.members.front()));
  }
}

// The tasks blocked on `root`, nested as each waits on the next (as pstree nests a waiter under
// what it awaits), at most kMaxTreeLines of them.
void blocked_tree(const ReportInput& in, const Painter& paint, uint32_t root,
                  const std::vector<const Finding*>& blocked, size_t indent, std::string& out) {
  constexpr size_t kMaxTreeLines = 12;
  std::vector<const Finding*> mine;
  for (const Finding* f : blocked)
    if (f->chain.back() == root) mine.push_back(f);
  if (mine.empty()) return;
  // What each waiter waits on directly; a waiter whose next task has no finding here hangs
  // from the root.
  std::unordered_set<uint32_t> present{root};
  for (const Finding* f : mine) present.insert(f->task);
  auto waits_on = [&](const Finding* f) {
    return f->chain.size() > 1 && present.count(f->chain[1]) ? f->chain[1] : root;
  };
  size_t printed = 0;
  std::function<void(uint32_t, const std::string&)> walk = [&](uint32_t node,
                                                               const std::string& prefix) {
    std::vector<const Finding*> children;
    for (const Finding* f : mine)
      if (f->task != node && waits_on(f) == node) children.push_back(f);
    for (size_t i = 0; i < children.size(); ++i) {
      if (printed == kMaxTreeLines) return;
      ++printed;
      bool last = i + 1 == children.size();
      out += fmt::format("{}{}{}{}  {}\n", std::string(indent, ' '), prefix, last ? "└─ " : "├─ ",
                         paint("1", in.store.task_label(children[i]->task)),
                         paint("2", waiting_where(in, children[i]->task)));
      walk(children[i]->task, prefix + (last ? "   " : "│  "));
    }
  };
  out += fmt::format("{}{}\n", std::string(indent, ' '),
                     paint("2", fmt::format("blocked on it ({}):", mine.size())));
  walk(root, "");
  if (printed < mine.size())
    out += fmt::format("{}... and {} more blocked\n", std::string(indent + 3, ' '),
                       mine.size() - printed);
}

std::string problem_range(const ReportInput& in, const report::Problem& p) {
  uint32_t first_task = p.findings.empty() ? 0 : p.findings.front()->task;
  std::string text;
  if (p.findings.size() == 1) {
    text = fmt::format("1 task, at {}", at_clock(in, first_task, p.first));
  } else {
    text = fmt::format("{} tasks, first at {}, last at {}", p.findings.size(),
                       at_clock(in, first_task, p.first), at_clock(in, first_task, p.last));
  }
  if (p.longest_silence > 0)
    text += fmt::format("; silent {}{}", p.findings.size() > 1 ? "up to " : "",
                        format_duration(p.longest_silence));
  return text;
}

// One example task of a problem: its verdict, the evidence's place and numbers, its timeline,
// and the tasks blocked on it.
void example(const ReportInput& in, const Painter& paint, const report::Problem& p,
             const Finding& f, std::string& out) {
  size_t width = in.options.width;
  std::string sub = f.subkind.empty() || f.subkind == p.subkind ? "" : " [" + f.subkind + "]";
  std::string verdict =
      f.kind == FindingKind::deadlock ? "in stage " + quoted_stage(in.store, f.stage) : f.reason;
  out += named_line(paint, in.store.task_label(f.task) + titled(in.store, f.task) + sub, verdict,
                    width);
  std::string detail = f.kind == FindingKind::deadlock ? "" : f.detail;
  if (auto place = report::place_of(in.store, f))
    detail = report::where(in.store, *place) + (detail.empty() ? "" : ": " + detail);
  if (!detail.empty()) out += paint("2", wrapped(detail, 6, width));
  if (f.kind != FindingKind::deadlock) chain(in, f, out);
  // In-flight tasks are not news: one line each is enough.
  if (!is_information(f.kind)) timeline(in, paint, f.task, &f, out);
  blocked_tree(in, paint, f.task, p.blocked, 6, out);
}

void problem(const ReportInput& in, const Painter& paint, const report::Problem& p,
             std::string& out) {
  std::string kind(to_string(p.kind));
  if (!p.subkind.empty()) kind += "/" + p.subkind;
  if (p.findings.size() > 1 && p.kind != FindingKind::deadlock)
    kind += fmt::format(" x{}", p.findings.size());
  Severity severity = default_severity(p.kind);
  out += fmt::format("\n{}  {}\n", paint.severity(severity, kind),
                     paint("1", report::problem_title(in, p)));
  out += paint("2", wrapped(problem_range(in, p), 2, in.options.width));
  size_t top = in.options.top == 0 ? p.findings.size() : in.options.top;
  if (p.root != kNone) {
    // Blocked on a task with no finding of its own: the root cause's evidence and timeline
    // first, then its waiters.
    report::RootCause root = report::root_cause(in, p.root);
    out += named_line(paint, in.store.task_label(p.root) + titled(in.store, p.root),
                      "root cause: " + root_evidence(in, root), in.options.width);
    if (root.evidence)
      out += paint("2", wrapped(report::where(in.store, *root.evidence), 6, in.options.width));
    if (in.store.tasks()[p.root].logged) timeline(in, paint, p.root, p.findings.front(), out);
    blocked_tree(in, paint, p.root, p.findings, 6, out);
  } else {
    for (size_t i = 0; i < p.findings.size() && i < top; ++i)
      example(in, paint, p, *p.findings[i], out);
    if (p.findings.size() > top) {
      constexpr size_t kIdsListed = 10;
      std::string ids;
      for (size_t i = top; i < p.findings.size() && i < top + kIdsListed; ++i)
        join(ids, ", ", in.store.task_label(p.findings[i]->task));
      size_t more = p.findings.size() - top;
      out += wrapped(fmt::format("... and {} more: {}{} (--top 0 shows all)", more, ids,
                                 more > kIdsListed ? ", ..." : ""),
                     2, in.options.width);
    }
  }
  if (is_information(p.kind)) return;
  for (const std::string& command : report::next_commands(in, p))
    out += fmt::format("  next: {}\n", command);
}

void findings(const ReportInput& in, const std::vector<report::Problem>& problems,
              const Painter& paint, std::string& out) {
  for (const report::Problem& p : problems) problem(in, paint, p, out);
}

}  // namespace

std::string render_text(const ReportInput& in) {
  Painter paint(in.options.color);
  std::string out;
  auto problems = report::group_problems(in);
  std::string head;
  summary(in, problems, paint, head);
  // The notes run long: wrapped to the terminal, each goes on under its own word.
  for (size_t start = 0; start < head.size();) {
    size_t end = head.find('\n', start);
    std::string_view line(head.data() + start, end - start);
    bool note = line.starts_with("learned: ") || line.starts_with("note: ") ||
                line.starts_with("skipped: ") || line.starts_with("stages: ");
    out += note ? wrapped(line, 0, in.options.width, 2) : std::string(line) + "\n";
    start = end + 1;
  }
  findings(in, problems, paint, out);
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
    int32_t offset = in.analysis.options.utc ? 0 : in.store.task_utc_offset(task);
    // Pending when its process stopped: judged there, whatever was logged after (asyncio.run's
    // cancellation), and it ran until then.
    const PendingAtExit* pending = in.store.pending_at_exit(task);
    bool pending_open = o.outcome == Outcome::open && pending && pending->time >= o.end;
    int64_t until = pending_open ? pending->time : o.end;
    if (!t.logged)
      out += fmt::format(
          "{}{}  outcome: {}, it never logged: only what others said of it is known\n",
          paint("1", in.store.task_label(task)), titled(in.store, task), to_string(o.outcome));
    else
      out += fmt::format("{}{}  outcome: {}{}, ran {} ({} .. {})\n",
                         paint("1", in.store.task_label(task)), titled(in.store, task),
                         to_string(o.outcome),
                         pending_open ? " (pending when its process stopped)" : "",
                         format_duration(elapsed(t.first_time, until)),
                         format_time(t.first_time, offset), format_time(until, offset));
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
      std::string detail = f.detail;
      if (auto place = report::place_of(in.store, f))
        detail = report::where(in.store, *place) + (detail.empty() ? "" : ": " + detail);
      if (!detail.empty()) out += paint("2", wrapped(detail, 6, in.options.width));
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
