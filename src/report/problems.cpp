#include "problems.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>

#include "common.hpp"

namespace coroner::report {

namespace {

bool is_unfinished(const ReportInput& in, uint32_t task) {
  return in.analysis.outcomes[task].outcome == Outcome::open;
}

// How long an unfinished task had been silent when it was judged. A task that never logged (one
// asyncio destroyed, named only by its message) has no last record to be silent since.
int64_t silence_of(const ReportInput& in, uint32_t task) {
  if (!is_unfinished(in, task) || !in.store.tasks()[task].logged) return 0;
  int64_t last = in.analysis.outcomes[task].end;
  return elapsed(last, judged_at(in.store, task, last, in.analysis.log_end));
}

// "ValueError" from "ValueError: bad record", "" when the text does not start with a name.
std::string leading_name(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  std::string_view name = text.substr(0, colon);
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return {};
  return std::string(name);
}

// What makes two findings one problem.
using ProblemKey = std::tuple<FindingKind, std::string, uint32_t, std::string, uint32_t>;

ProblemKey key_of(const ReportInput& in, const Finding& f) {
  // A cycle is one problem however many members it has, whatever stage each is in: named by
  // its least member. Waiters are one problem by the root cause they wait on.
  if (!f.members.empty())
    return {f.kind, "", kNone, "", *std::min_element(f.members.begin(), f.members.end())};
  if (f.kind == FindingKind::blocked && !f.chain.empty())
    return {f.kind, "", kNone, "", f.chain.back()};
  return {f.kind, f.subkind, f.stage, error_type_of(in.store, f), kNone};
}

void widen(Problem& p, const ReportInput& in, const Finding& f) {
  if (p.findings.empty() || f.time < p.first) p.first = f.time;
  if (p.findings.empty() || f.time > p.last) p.last = f.time;
  p.longest_silence = std::max(p.longest_silence, silence_of(in, f.task));
}

}  // namespace

const Event* evidence_of(const TaskStore& store, const Finding& f) {
  const auto& events = store.tasks()[f.task].events;
  // A fold marker is no line of the log (it stands for the records folded, and has no place):
  // a task's record at the same time (its end logged twice, by two handlers) is the evidence.
  const Event* found = nullptr;
  for (const Event& e : events) {
    if (e.time != f.time || e.fold_marker) continue;
    if (e.error != kNone || e.error_level) return &e;
    if (!found) found = &e;
  }
  if (found || events.empty()) return found;
  // Evidence at no record's time (a deadline passed): the last record before it. (A task has
  // one marker at most, added with the record that followed its fold: never its only event.)
  for (size_t i = events.size(); i-- > 0;)
    if (events[i].time <= f.time && !events[i].fold_marker) return &events[i];
  return &events[events.front().fold_marker && events.size() > 1 ? 1 : 0];
}

std::string where(const TaskStore& store, const Event& e) {
  return where(store, Place{e.file, e.line});
}

std::optional<Place> place_of(const TaskStore& store, const Finding& f) {
  if (const Event* e = evidence_of(store, f)) return Place{e->file, e->line};
  if (f.said_by < store.asyncio_notes().size()) {
    const AsyncioNote& note = store.asyncio_notes()[f.said_by];
    return Place{note.file, note.line};
  }
  return std::nullopt;
}

std::string where(const TaskStore& store, const Place& place) {
  return fmt::format("{}:{}", display_name(store.files()[place.file]), place.line);
}

std::string error_type_of(const TaskStore& store, const Finding& f) {
  if (f.kind != FindingKind::timeout && f.kind != FindingKind::lost_exception &&
      f.kind != FindingKind::retried)
    return {};
  const Event* e = evidence_of(store, f);
  if (!e || e->error == kNone) return {};
  const ErrorNote& note = store.errors()[e->error];
  return note.type.empty() ? leading_name(note.text) : note.type;
}

RootCause root_cause(const ReportInput& in, uint32_t task) {
  const TaskStore& store = in.store;
  const Task& t = store.tasks()[task];
  RootCause root;
  root.task = task;
  root.outcome = in.analysis.outcomes[task].outcome;
  root.stage = t.stage;
  root.last_time = in.analysis.outcomes[task].end;
  root.silent = silence_of(in, task);
  if (t.events.empty()) return root;
  root.evidence = &t.events.back();
  for (size_t i = t.events.size(); i-- > 0;) {
    const Event& e = t.events[i];
    if (e.error == kNone) continue;
    const ErrorNote& note = store.errors()[e.error];
    root.error = note.text.empty() ? note.type : note.text;
    root.evidence = &e;
    break;
  }
  return root;
}

std::vector<Problem> group_problems(const ReportInput& in) {
  std::vector<Problem> problems;
  std::map<ProblemKey, size_t> by_key;
  std::unordered_map<uint32_t, size_t> problem_of_task;  // a task with a finding of its own
  std::vector<const Finding*> blocked;
  for (const Finding* f : in.findings) {
    if (f->kind == FindingKind::blocked && !f->chain.empty()) {
      blocked.push_back(f);
      continue;
    }
    auto [it, fresh] = by_key.try_emplace(key_of(in, *f), problems.size());
    if (fresh) {
      Problem p;
      p.kind = f->kind;
      p.subkind = f->subkind;
      p.stage = f->stage;
      p.error_type = error_type_of(in.store, *f);
      problems.push_back(std::move(p));
    }
    Problem& p = problems[it->second];
    widen(p, in, *f);
    p.findings.push_back(f);
    if (!is_information(f->kind)) problem_of_task.try_emplace(f->task, it->second);
  }
  // A blocked task goes under its root cause's problem, or, when the root cause has no finding
  // of its own (it failed, it was cancelled), into a problem of that root's waiters.
  for (const Finding* f : blocked) {
    uint32_t root = f->chain.back();
    if (auto found = problem_of_task.find(root); found != problem_of_task.end()) {
      problems[found->second].blocked.push_back(f);
      continue;
    }
    auto [it, fresh] = by_key.try_emplace(key_of(in, *f), problems.size());
    if (fresh) {
      Problem p;
      p.kind = FindingKind::blocked;
      p.root = root;
      problems.push_back(std::move(p));
    }
    Problem& p = problems[it->second];
    widen(p, in, *f);
    p.findings.push_back(f);
  }
  // Worst first: by kind, as the findings are; blocked problems after the hung ones.
  std::stable_sort(problems.begin(), problems.end(),
                   [](const Problem& a, const Problem& b) { return a.kind < b.kind; });
  return problems;
}

std::string problem_title(const ReportInput& in, const Problem& p) {
  const TaskStore& store = in.store;
  if (p.kind == FindingKind::deadlock && !p.findings.empty()) {
    std::string cycle;
    for (uint32_t t : p.findings.front()->members) cycle += store.task_label(t) + " -> ";
    return cycle + store.task_label(p.findings.front()->members.front());
  }
  if (p.root != kNone && !p.findings.empty()) {
    // The waiters' verdict says what the root cause did: "waits on x, which failed (3 tasks
    // deep)" titles the problem "on x, which failed".
    std::string_view reason = p.findings.front()->reason;
    if (reason.starts_with("waits ")) reason.remove_prefix(6);
    reason = reason.substr(0, reason.find(" ("));
    return std::string(reason);
  }
  std::string title;
  if (!p.error_type.empty()) title = p.error_type + " ";
  if (p.stage != kNone) title += "in stage " + quoted_stage(store, p.stage);
  if (title.empty()) title = "in no stage";
  if (title.back() == ' ') title.pop_back();
  return title;
}

uint32_t problem_focus(const Problem& p) {
  if (p.root != kNone) return p.root;
  return p.findings.empty() ? kNone : p.findings.front()->task;
}

std::vector<std::string> next_commands(const ReportInput& in, const Problem& p) {
  uint32_t task = problem_focus(p);
  if (task == kNone) return {};
  std::string name = shell_quoted(in.store.task_label(task));
  std::vector<std::string> out;
  out.push_back(fmt::format("coroner timeline {}{}", name, in.options.rerun));
  bool wait =
      p.kind == FindingKind::deadlock || p.kind == FindingKind::blocked || !p.blocked.empty();
  if (wait)
    out.push_back(fmt::format("coroner graph --around {}{} | dot -Tsvg -o around.svg", name,
                              in.options.rerun_graph));
  return out;
}

}  // namespace coroner::report
