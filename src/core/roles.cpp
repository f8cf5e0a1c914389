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
  std::vector<std::string> paths =
      *role == Role::scope ? split_commas(path) : std::vector<std::string>{std::string(path)};
  for (const auto& one : paths)
    if (split_field_path(one).empty())
      return "malformed field path '" + one + "' (a key with a dot in it goes in double quotes)";
  config[*role] = std::move(paths);
  config.named_by_user[size_t(*role)] = true;
  return std::nullopt;
}

void set_scope_fields(RoleConfig& config, std::string_view comma_list) {
  config[Role::scope] = split_commas(comma_list);
  config.named_by_user[size_t(Role::scope)] = true;
}

std::vector<std::string> split_field_path(std::string_view path) {
  std::vector<std::string> parts;
  while (true) {
    std::string part;
    if (!path.empty() && path.front() == '"') {
      size_t close = path.find('"', 1);
      if (close == std::string_view::npos) return {};
      part = path.substr(1, close - 1);
      path.remove_prefix(close + 1);
      if (!path.empty() && path.front() != '.') return {};
    } else {
      size_t dot = path.find('.');
      part = path.substr(0, dot);
      path.remove_prefix(dot == std::string_view::npos ? path.size() : dot);
    }
    if (part.empty()) return {};
    parts.push_back(std::move(part));
    if (path.empty()) return parts;
    path.remove_prefix(1);  // the dot
    if (path.empty()) return {};
  }
}

namespace {

// `extra.retries` is `retries`: the last part of a dotted path names the field.
std::string field_name(std::string_view field_path) {
  std::vector<std::string> parts = split_field_path(field_path);
  return parts.empty() ? std::string(field_path) : parts.back();
}

}  // namespace

bool is_message_field(std::string_view field_path) {
  std::string name = field_name(field_path);
  return name == "message" || name == "msg";
}

bool templates_stage(StageTemplates mode, bool from_message_field, std::string_view stage) {
  if (mode != StageTemplates::automatic) return mode == StageTemplates::always;
  return from_message_field || stage.find(' ') != std::string_view::npos;
}

bool attempt_counts_retries(std::string_view field_path) {
  std::string name = field_name(field_path);
  for (std::string_view retry_name : kRetryCountNames)
    if (name == retry_name) return true;
  return false;
}

int64_t first_retry_attempt(std::string_view field_path) {
  return attempt_counts_retries(field_path) ? 1 : 2;
}

}  // namespace coroner
