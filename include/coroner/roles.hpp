// Roles (the man page's ROLES section): which JSON field of a record plays which part, by name or
// dotted path.
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
  attempt,  // a try or retry counter: see attempt_counts_retries
  // What the asyncio module says beyond the common roles (docs/ASYNCIO_RECORDS.md): a record's
  // kind (a wait, a task pending at exit, the process's exit), what a task waits on, and where a
  // task pending at exit was suspended.
  marker,
  waiting_for,
  suspended_at,
};
constexpr size_t kRoleCount = 15;

std::string_view to_string(Role role);
std::optional<Role> role_from_string(std::string_view name);

// For each role, the field paths to look for, in order of preference ("extra.task_id" is a path
// into a nested object). For every role but scope the first field present wins; every scope field
// present is part of the identity.
struct RoleConfig {
  std::array<std::vector<std::string>, kRoleCount> paths;
  // The roles whose fields the user named (--field, --key): a dialect keeps those as they are.
  std::array<bool, kRoleCount> named_by_user{};
  // --naive-offset: times written with no zone are at this many seconds east of UTC (a local
  // time); none reads them as UTC.
  std::optional<int32_t> naive_offset;

  const std::vector<std::string>& operator[](Role r) const { return paths[size_t(r)]; }
  std::vector<std::string>& operator[](Role r) { return paths[size_t(r)]; }
};

RoleConfig default_roles();

// A field path's parts: `extra.task_id` is `extra` then `task_id`. A part in double quotes may
// hold dots (`attributes."asyncio.task"`, a key with a dot in its name); empty when malformed (an
// empty part, an unclosed quote).
std::vector<std::string> split_field_path(std::string_view path);

// "task=extra.task_id": the role then reads only that field. Returns an error message on a
// malformed spec or unknown role.
std::optional<std::string> apply_field_override(RoleConfig& config, std::string_view spec);

// "--key host,pid": the scope is exactly those fields ("" for none).
void set_scope_fields(RoleConfig& config, std::string_view comma_list);

// A field whose value is free text, a log message (`message`, `msg`, `extra.message`): a stage
// read from it is reduced to a template by default.
bool is_message_field(std::string_view field_path);

// Free-text stage values reduced to templates ("fetched <url> in <num> ms"): always, never, or
// (automatic) when the stage came from a message field or has a space in it.
enum class StageTemplates : uint8_t { automatic, always, never };
bool templates_stage(StageTemplates mode, bool from_message_field, std::string_view stage);

// The attempt role counts from 0 or from 1, as its field's name says: the last part of its path
// (`extra.retries` is `retries`). These names count retries from 0; every other name (`attempt`,
// `attempt_number`) counts tries from 1.
inline constexpr std::array<std::string_view, 3> kRetryCountNames = {"retry", "retries",
                                                                     "retry_count"};
bool attempt_counts_retries(std::string_view field_path);

// The least value of the attempt field at `field_path` that makes a record a retry: 1 for a count
// of retries, 2 for a try number.
int64_t first_retry_attempt(std::string_view field_path);

}  // namespace coroner
