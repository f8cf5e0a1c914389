// Roles (SPEC §1): which JSON field of a record plays which part, by name or dotted path.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coroner {

enum class Role : uint8_t {
  time,
  task,
  stage,
  status,
  parent,
  awaits,
  error,
  error_type,
  level,
  timeout,
  scope,
  attempt,  // a retry counter: a record of attempt >= 2 (or retries >= 1) is a retry
};
constexpr size_t kRoleCount = 12;

std::string_view to_string(Role role);
std::optional<Role> role_from_string(std::string_view name);

// For each role, the field paths to look for, in order of preference ("extra.task_id" is a path
// into a nested object). For every role but scope the first field present wins; every scope field
// present is part of the identity.
struct RoleConfig {
  std::array<std::vector<std::string>, kRoleCount> paths;

  const std::vector<std::string>& operator[](Role r) const { return paths[size_t(r)]; }
  std::vector<std::string>& operator[](Role r) { return paths[size_t(r)]; }
};

RoleConfig default_roles();

// "task=extra.task_id": the role then reads only that field. Returns an error message on a
// malformed spec or unknown role.
std::optional<std::string> apply_field_override(RoleConfig& config, std::string_view spec);

// "--key host,pid": the scope is exactly those fields ("" for none).
void set_scope_fields(RoleConfig& config, std::string_view comma_list);

}  // namespace coroner
