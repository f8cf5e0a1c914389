// Tasks to findings: each task's lifecycle, per-stage statistics, and the rules of SPEC §2.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "coroner/findings.hpp"
#include "coroner/stage_stats.hpp"
#include "coroner/task_store.hpp"

namespace coroner {

struct AnalysisOptions {
  std::optional<int64_t> stall_ns;     // --stall: silence that makes an open task hung
  std::optional<int64_t> deadline_ns;  // --deadline: longest a task may run
  std::vector<std::pair<std::string, int64_t>> stage_deadlines;  // --stage-deadline STAGE=DUR
  bool user_end_words = false;  // --end-stage given: do not learn the end stage
  // An open task is hung when silent longer than margin x the p99 of its stage's durations.
  double stall_margin = 4.0;
  // Tasks are judged on up to this many threads (a large log only); the result is the same.
  unsigned threads = 1;
};

// How a task's story ended.
enum class Outcome : uint8_t { open, ok, failed, timed_out, cancelled };
std::string_view to_string(Outcome outcome);

// 16 bytes a task: its start, last stage and when it entered it are in its Task already
// (first_time, stage, stage_since).
struct TaskOutcome {
  int64_t end = 0;  // its end record, or its last record when open
  Outcome outcome = Outcome::open;
  bool flagged = false;  // has a finding other than in-flight
};

// The stage that ends a healthy task, learned when the log has no word for it.
struct LearnedEnd {
  uint32_t stage = UINT32_MAX;
  uint64_t tasks_ending_there = 0;
  uint64_t tasks = 0;  // the candidates: tasks with a stage that did not end by a word
};

struct Analysis {
  std::vector<Finding> findings;      // in report order: by kind, then time
  std::vector<TaskOutcome> outcomes;  // by task index
  std::vector<StageStats> stages;     // by word id; only stage words have entries that count
  std::optional<LearnedEnd> learned_end;
  int64_t log_start = 0;
  int64_t log_end = 0;
  std::array<uint64_t, 5> outcome_counts{};  // by Outcome
  // The silence that made an open task in `stage` hung, and where it came from.
  int64_t stall_threshold(uint32_t stage, std::string* why = nullptr) const;

  const AnalysisOptions* options = nullptr;
  DurationHistogram all_stages;
};

// How the findings' reasons name things: a stage as 'validate' (or "(no stage)"), a time as its
// offset from the start of the log, "+1.25s".
std::string quoted_stage(const TaskStore& store, uint32_t stage);
std::string since_log_start(const Analysis& analysis, int64_t time);

// Sorts each task's events by time (stable) and judges every task.
Analysis analyze(TaskStore& store, const AnalysisOptions& options);

}  // namespace coroner
