#include "coroner/roles.hpp"

namespace coroner {

namespace {
constexpr std::array<std::string_view, kRoleCount> kRoleNames = {
    "time",  "task",    "stage", "status",  "parent", "awaits",      "error",       "error-type",
    "level", "timeout", "scope", "attempt", "marker", "waiting-for", "suspended-at"};

std::vector<std::string> split_commas(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view part = list.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}
}  // namespace

std::string_view to_string(Role role) {
  return kRoleNames[size_t(role)];
}

std::optional<Role> role_from_string(std::string_view name) {
  for (size_t i = 0; i < kRoleCount; ++i) {
    if (kRoleNames[i] == name) return Role(i);
  }
  // The field's own spelling works too.
  if (name == "error_type") return Role::error_type;
  if (name == "waiting_for") return Role::waiting_for;
  if (name == "suspended_at") return Role::suspended_at;
  return std::nullopt;
}

RoleConfig default_roles() {
  RoleConfig c;
  c[Role::time] = {"timestamp", "ts", "time", "@timestamp", "asctime", "created"};
  c[Role::task] = {"task_id", "taskId", "task", "task_name", "taskName"};
  c[Role::stage] = {"stage", "event", "step", "phase", "message", "msg"};
  c[Role::status] = {"status", "outcome"};
  c[Role::parent] = {"parent_id", "parent_task_id", "parent_task", "parent", "spawned_by"};
  c[Role::awaits] = {"awaits", "awaiting", "waiting_on", "waits_on", "depends_on"};
  c[Role::error] = {"exception", "exc_info",  "exc_text",   "error",
                    "err",       "traceback", "stack_trace"};
  c[Role::error_type] = {"exc_type", "error_type", "exception_type"};
  c[Role::level] = {"level", "levelname", "severity"};
  c[Role::timeout] = {"timeout", "timeout_s", "deadline_s"};
  c[Role::scope] = {"hostname", "host", "pid", "process", "worker"};
  // The first two count tries (1 is the first try), the others count retries: the name tells
  // which (attempt_counts_retries), not the place in this list, which --field replaces.
  c[Role::attempt] = {"attempt", "attempt_number", "retry", "retries", "retry_count"};
  c[Role::marker] = {"coroner"};
  c[Role::waiting_for] = {"waiting_for"};
  c[Role::suspended_at] = {"suspended_at"};
  return c;
}

std::optional<std::string> apply_field_override(RoleConfig& config, std::string_view spec) {
  size_t eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size())
    return "expected ROLE=FIELD, got '" + std::string(spec) + "'";
  std::string_view role_name = spec.substr(0, eq);
  auto role = role_from_string(role_name);
  if (!role) {
    std::string known;
    for (auto name : kRoleNames) known += (known.empty() ? "" : ", ") + std::string(name);
    return "unknown role '" + std::string(role_name) + "' (roles: " + known + ")";
  }
  std::string_view path = spec.substr(eq + 1);
  if (path.front() == '.' || path.back() == '.' || path.find("..") != std::string_view::npos)
    return "malformed field path '" + std::string(path) + "'";
  if (*role == Role::scope)
    config[*role] = split_commas(path);
  else
    config[*role] = {std::string(path)};
  return std::nullopt;
}

void set_scope_fields(RoleConfig& config, std::string_view comma_list) {
  config[Role::scope] = split_commas(comma_list);
}

namespace {

// `extra.retries` is `retries`: the last part of a dotted path names the field.
std::string_view field_name(std::string_view field_path) {
  size_t dot = field_path.rfind('.');
  return dot == std::string_view::npos ? field_path : field_path.substr(dot + 1);
}

}  // namespace

bool is_message_field(std::string_view field_path) {
  std::string_view name = field_name(field_path);
  return name == "message" || name == "msg";
}

bool templates_stage(StageTemplates mode, bool from_message_field, std::string_view stage) {
  if (mode != StageTemplates::automatic) return mode == StageTemplates::always;
  return from_message_field || stage.find(' ') != std::string_view::npos;
}

bool attempt_counts_retries(std::string_view field_path) {
  std::string_view name = field_name(field_path);
  for (std::string_view retry_name : kRetryCountNames)
    if (name == retry_name) return true;
  return false;
}

int64_t first_retry_attempt(std::string_view field_path) {
  return attempt_counts_retries(field_path) ? 1 : 2;
}

}  // namespace coroner
