// What coroner reports: a finding names a task, a kind, its evidence and a severity.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coroner {

// In report order: the worst news first.
enum class FindingKind : uint8_t {
  deadlock,
  hung,
  blocked,
  timeout,
  lost_exception,
  orphan,
  destroyed_pending,
  anomaly,
  retried,  // an error or a timeout that a retry handled: information
  in_flight,
};
constexpr size_t kFindingKindCount = 10;
// The kinds' names, in the enum's order: what --fail-on and --kind take, and reports write.
constexpr std::array<std::string_view, kFindingKindCount> kFindingKindNames = {
    "deadlock",          "hung",    "blocked", "timeout",  "lost-exception", "orphan",
    "destroyed-pending", "anomaly", "retried", "in-flight"};

std::string_view to_string(FindingKind kind);
std::optional<FindingKind> kind_from_string(std::string_view name);
// "hung,timeout": every name must be a kind; returns the unknown name on error.
std::optional<std::string> parse_kind_list(std::string_view list, std::vector<FindingKind>& out);

enum class Severity : uint8_t { info, warning, error };
std::string_view to_string(Severity severity);

struct Finding {
  FindingKind kind = FindingKind::anomaly;
  std::string subkind;  // lost-exception: swallowed, never-retrieved, callback,
                        // unobserved-child, died-silently; hung: until-cancelled
  uint32_t task = 0;
  Severity severity = Severity::info;
  std::string reason;             // the verdict: one short line (about 90 characters at most)
  std::string detail;             // its evidence in numbers: when, and against what baseline
  int64_t time = 0;               // when the evidence happened
  uint32_t stage = UINT32_MAX;    // the stage concerned (a word id), if any
  std::vector<uint32_t> chain;    // from this task to the root cause, this task first
  std::vector<uint32_t> members;  // a deadlock's cycle
  // For a task that never logged: asyncio's message that is its evidence (an index into
  // TaskStore::asyncio_notes()), there being no record of its own to point at.
  uint32_t said_by = UINT32_MAX;
};

Severity default_severity(FindingKind kind);
// Information (in-flight, retried) is no failure: it flags no task.
inline bool is_information(FindingKind kind) {
  return kind == FindingKind::retried || kind == FindingKind::in_flight;
}

// Every finding is made here, its severity following from its kind.
Finding make_finding(FindingKind kind, uint32_t task, std::string reason, int64_t time,
                     uint32_t stage, std::string subkind = {});
// A finding the graph explains better (a hung task that is deadlocked or blocked) changes kind,
// and its severity with it.
void change_kind(Finding& finding, FindingKind kind);

}  // namespace coroner
