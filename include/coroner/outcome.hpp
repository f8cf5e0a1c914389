// How a task's story ended, as the analysis judged it.
#pragma once

#include <cstdint>
#include <string_view>

namespace coroner {

enum class Outcome : uint8_t { open, ok, failed, timed_out, cancelled };
std::string_view to_string(Outcome outcome);

// 16 bytes a task: its start, last stage and when it entered it are in its Task already
// (first_time, stage, stage_since).
struct TaskOutcome {
  int64_t end = 0;  // its end record, or its last record when open
  Outcome outcome = Outcome::open;
  bool flagged = false;  // has a finding other than in-flight
  // It started again after an end (a retry, a worker's next round): its last run is judged.
  bool rerun = false;
};

}  // namespace coroner
