// Findings grouped into the problems a person acts on: 2,460 tasks hung in one stage are one
// problem, a deadlock is one cycle, and a blocked task belongs under the root cause it waits on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "coroner/report.hpp"

namespace coroner::report {

// What ends a blame chain: the task every waiter waits on, and its own evidence.
struct RootCause {
  uint32_t task = kNone;
  Outcome outcome = Outcome::open;
  uint32_t stage = kNone;           // its last stage
  std::string error;                // its last error ("FileNotFoundError: ..."), "" when none
  int64_t last_time = 0;            // its last record
  int64_t silent = 0;               // an open task: from its last record to when it was judged
  const Event* evidence = nullptr;  // the record that shows it (its error, else its last)
};
RootCause root_cause(const ReportInput& in, uint32_t task);

struct Problem {
  FindingKind kind = FindingKind::anomaly;
  std::string subkind;
  uint32_t stage = kNone;
  std::string error_type;                // "TimeoutError", "" when none
  std::vector<const Finding*> findings;  // one a task, in report order (a cycle: its members)
  // Blocked findings whose chains end at one of this problem's tasks: shown as a tree under it.
  std::vector<const Finding*> blocked;
  // Blocked findings whose root cause has no finding of its own (it failed, say): that task.
  uint32_t root = kNone;
  int64_t first = 0, last = 0;  // the earliest and latest evidence
  int64_t longest_silence = 0;  // unfinished tasks: the longest silence when judged
};

// The shown findings as problems, worst first, each finding in exactly one.
std::vector<Problem> group_problems(const ReportInput& in);
// "in stage 'transform'", "TimeoutError in stage 'fetch'", "a -> b -> a", "on x, which failed".
std::string problem_title(const ReportInput& in, const Problem& p);
// The task a problem's next command opens: its root cause, else its first task.
uint32_t problem_focus(const Problem& p);
// The record that shows a finding (the task's record at the finding's time), or null.
const Event* evidence_of(const TaskStore& store, const Finding& f);
// "app.jsonl:41"
std::string where(const TaskStore& store, const Event& e);
// A finding's place in the input: its evidence record's, else (a task that never logged) that
// of the asyncio message that told of it.
struct Place {
  uint32_t file = 0;
  uint64_t line = 0;
};
std::optional<Place> place_of(const TaskStore& store, const Finding& f);
std::string where(const TaskStore& store, const Place& place);
// The type of the error a finding is about ("ValueError"), "" when it is about none.
std::string error_type_of(const TaskStore& store, const Finding& f);
// The commands to run next on a problem, ready to paste: its task's timeline, and for a wait
// (deadlock, blocked) the graph around it, with ReportOptions::rerun and rerun_graph.
std::vector<std::string> next_commands(const ReportInput& in, const Problem& p);

}  // namespace coroner::report
