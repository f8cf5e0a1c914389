// Tasks to findings: each task's outcome, per-stage statistics, and the findings the rules make
// (docs/DESIGN.md, "Rules").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "coroner/findings.hpp"
#include "coroner/outcome.hpp"
#include "coroner/stage_stats.hpp"
#include "coroner/task_graph.hpp"
#include "coroner/task_store.hpp"

namespace coroner {

struct AnalysisOptions {
  std::optional<int64_t> stall_ns;     // --stall: silence that makes an open task hung
  std::optional<int64_t> deadline_ns;  // --deadline: longest a task may run
  std::vector<std::pair<std::string, int64_t>> stage_deadlines;  // --stage-deadline STAGE=DUR
  bool user_end_words = false;  // --end-stage given: do not learn the end stage
  // --log-end: when the program stopped (killed, crashed). Open tasks are judged against it, not
  // against the last record, as against an exit record of the asyncio module, in every process.
  std::optional<int64_t> program_stop;
  // An open task is hung when silent longer than margin x the p99 of its stage's durations.
  double stall_margin = 4.0;
  // Tasks are judged on up to this many threads (a large log only); the result is the same.
  unsigned threads = 1;
  // --utc: reasons name times in UTC, not in the offset the log wrote them in.
  bool utc = false;
};

// What analyze() found: read-only for the reports. It refers to the TaskStore it judged, which
// must outlive it.
struct Analysis {
  std::vector<Finding> findings;      // in report order: by kind, then time
  std::vector<TaskOutcome> outcomes;  // by task index
  std::vector<StageStats> stages;     // by word id; only stage words have entries that count
  // The stage a healthy task ends at, learned for each group of files that share no stage and
  // have no word for it (lifecycle.hpp, learn_end_stages): the one most tasks end at first;
  // empty when none.
  std::vector<LearnedEnd> learned_ends;
  int64_t log_start = 0;
  int64_t log_end = 0;
  std::array<uint64_t, 5> outcome_counts{};  // by Outcome
  // The silence that made an open task in `stage` hung, and where it came from. `end_hint`:
  // the reason may say how to declare the stage an end (not for a task the asyncio module
  // traces, whose stages are only steps: its end is its status).
  int64_t stall_threshold(uint32_t stage, std::string* why = nullptr, bool end_hint = true) const;

  AnalysisOptions options;  // a copy: the analysis outlives the caller's options
  DurationHistogram all_stages;
  TaskGraph graph;  // who spawned and awaited whom: built once, for the rules and the reports
  const TaskStore* store = nullptr;  // the store it judged
};

// How the findings' reasons name things: a stage as 'validate' (or "(no stage)"; one over 120
// characters cut, with "..."), a time of a
// task as the log wrote it, its clock at the offset of the task's file (UTC with --utc):
// "09:23:19.610115", which a grep of the log finds.
std::string quoted_stage(const TaskStore& store, uint32_t stage);
// A word as a POSIX shell reads it back: as is when it is plain, else in single quotes (the
// commands findings and reports suggest).
std::string shell_quoted(std::string_view word);
std::string log_clock(const Analysis& analysis, uint32_t task, int64_t time);
// A text cut to about `limit` characters at a word, with "..." when cut: an exception message
// in a one-line verdict.
std::string shortened(std::string_view text, size_t limit = 45);
// When a task that had not ended (its last judged record at `last_seen`) was judged: when its
// process stopped (the asyncio module's exit record), else at the log's end.
int64_t judged_at(const TaskStore& store, uint32_t task, int64_t last_seen, int64_t log_end);

// Judges every task of a finished store (TaskStore::finish()). The store is not changed.
Analysis analyze(const TaskStore& store, const AnalysisOptions& options);

}  // namespace coroner
