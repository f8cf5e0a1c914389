#include "coroner/findings.hpp"

#include <array>

namespace coroner {

std::string_view to_string(FindingKind kind) {
  return kFindingKindNames[size_t(kind)];
}

std::optional<FindingKind> kind_from_string(std::string_view name) {
  for (size_t i = 0; i < kFindingKindNames.size(); ++i)
    if (kFindingKindNames[i] == name) return FindingKind(i);
  return std::nullopt;
}

std::optional<std::string> parse_kind_list(std::string_view list, std::vector<FindingKind>& out) {
  out.clear();
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (!name.empty()) {
      auto kind = kind_from_string(name);
      if (!kind) return std::string(name);
      out.push_back(*kind);
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::info:
      return "info";
    case Severity::warning:
      return "warning";
    case Severity::error:
      return "error";
  }
  return "info";
}

Severity default_severity(FindingKind kind) {
  switch (kind) {
    case FindingKind::deadlock:
    case FindingKind::hung:
    case FindingKind::timeout:
    case FindingKind::lost_exception:
      return Severity::error;
    case FindingKind::blocked:
    case FindingKind::orphan:
    case FindingKind::destroyed_pending:
      return Severity::warning;
    case FindingKind::anomaly:
    case FindingKind::retried:
    case FindingKind::in_flight:
      return Severity::info;
  }
  return Severity::info;
}

Finding make_finding(FindingKind kind, uint32_t task, std::string reason, int64_t time,
                     uint32_t stage, std::string subkind) {
  Finding f;
  f.kind = kind;
  f.subkind = std::move(subkind);
  f.task = task;
  f.severity = default_severity(kind);
  f.reason = std::move(reason);
  f.time = time;
  f.stage = stage;
  return f;
}

void change_kind(Finding& finding, FindingKind kind) {
  finding.kind = kind;
  finding.severity = default_severity(kind);
}

}  // namespace coroner
