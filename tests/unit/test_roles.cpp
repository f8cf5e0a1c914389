#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "coroner/roles.hpp"

namespace {

using coroner::apply_field_override;
using coroner::default_roles;
using coroner::Role;
using coroner::RoleConfig;
using Paths = std::vector<std::string>;

}  // namespace

TEST_CASE("coroner::Roles") {
  SUBCASE("every role has a name that reads back") {
    for (size_t i = 0; i < coroner::kRoleCount; ++i) {
      Role role = Role(i);
      INFO("role " << i << ": " << coroner::to_string(role));
      auto back = coroner::role_from_string(coroner::to_string(role));
      REQUIRE(back.has_value());
      CHECK(*back == role);
    }
    CHECK(coroner::to_string(Role::error_type) == "error-type");
    CHECK(coroner::role_from_string("error_type") == Role::error_type);
    CHECK_FALSE(coroner::role_from_string("Task").has_value());
    CHECK_FALSE(coroner::role_from_string("").has_value());
    CHECK_FALSE(coroner::role_from_string("tasks").has_value());
  }

  SUBCASE("default_roles: the documented names, in the documented order") {
    const RoleConfig c = default_roles();
    CHECK(c[Role::time] == Paths{"timestamp", "ts", "time", "@timestamp", "asctime", "created"});
    CHECK(c[Role::task] == Paths{"task_id", "taskId", "task", "task_name", "taskName"});
    CHECK(c[Role::stage] == Paths{"stage", "event", "step", "phase", "message", "msg"});
    CHECK(c[Role::status] == Paths{"status", "outcome"});
    CHECK(c[Role::parent] ==
          Paths{"parent_id", "parent_task_id", "parent_task", "parent", "spawned_by"});
    CHECK(c[Role::awaits] == Paths{"awaits", "awaiting", "waiting_on", "waits_on", "depends_on"});
    CHECK(c[Role::error] ==
          Paths{"exception", "exc_info", "exc_text", "error", "err", "traceback", "stack_trace"});
    CHECK(c[Role::error_type] == Paths{"exc_type", "error_type", "exception_type"});
    CHECK(c[Role::level] == Paths{"level", "levelname", "severity"});
    CHECK(c[Role::timeout] == Paths{"timeout", "timeout_s", "deadline_s"});
    CHECK(c[Role::scope] == Paths{"hostname", "host", "pid", "process", "worker"});
    CHECK(c[Role::attempt] ==
          Paths{"attempt", "attempt_number", "retry", "retries", "retry_count"});
  }

  SUBCASE("apply_field_override: the role then reads only that field") {
    RoleConfig c = default_roles();
    CHECK_FALSE(apply_field_override(c, "task=extra.task_id").has_value());
    CHECK(c[Role::task] == Paths{"extra.task_id"});
    CHECK_FALSE(apply_field_override(c, "stage=extra.stage").has_value());
    CHECK(c[Role::stage] == Paths{"extra.stage"});
    CHECK_FALSE(apply_field_override(c, "error-type=kind").has_value());
    CHECK(c[Role::error_type] == Paths{"kind"});
    CHECK_FALSE(apply_field_override(c, "error_type=kind2").has_value());
    CHECK(c[Role::error_type] == Paths{"kind2"});
    // The other roles keep their defaults.
    CHECK(c[Role::time] == default_roles()[Role::time]);
    CHECK(c[Role::level] == default_roles()[Role::level]);
  }

  SUBCASE("attempt_counts_retries: the last part of the field's path, not its place, decides") {
    CHECK(coroner::attempt_counts_retries("retry"));
    CHECK(coroner::attempt_counts_retries("retries"));
    CHECK(coroner::attempt_counts_retries("retry_count"));
    CHECK(coroner::attempt_counts_retries("extra.retries"));
    CHECK(coroner::attempt_counts_retries("job.meta.retry_count"));
    CHECK_FALSE(coroner::attempt_counts_retries("attempt"));
    CHECK_FALSE(coroner::attempt_counts_retries("attempt_number"));
    CHECK_FALSE(coroner::attempt_counts_retries("extra.attempt"));
    CHECK_FALSE(coroner::attempt_counts_retries("retries.attempt"));
    CHECK_FALSE(coroner::attempt_counts_retries("try"));
    CHECK_FALSE(coroner::attempt_counts_retries("Retries"));
    CHECK(coroner::first_retry_attempt("retries") == 1);
    CHECK(coroner::first_retry_attempt("extra.attempt") == 2);
    // Every default name counts as the man page says: retry* from 0, the others from 1.
    const RoleConfig defaults = default_roles();
    for (const auto& name : defaults[Role::attempt]) {
      INFO(name);
      CHECK(coroner::attempt_counts_retries(name) == name.starts_with("retr"));
    }
  }

  SUBCASE("apply_field_override: a later override of the same role replaces the earlier") {
    RoleConfig c = default_roles();
    CHECK_FALSE(apply_field_override(c, "task=a").has_value());
    CHECK_FALSE(apply_field_override(c, "task=b").has_value());
    CHECK(c[Role::task] == Paths{"b"});
  }

  SUBCASE("apply_field_override: scope takes a comma list") {
    RoleConfig c = default_roles();
    CHECK_FALSE(apply_field_override(c, "scope=host, pid").has_value());
    CHECK(c[Role::scope] == Paths{"host", "pid"});
  }

  SUBCASE("apply_field_override: an unknown role is an error naming it, config untouched") {
    RoleConfig c = default_roles();
    std::optional<std::string> err = apply_field_override(c, "tsk=extra.task_id");
    REQUIRE(err.has_value());
    CHECK(err->find("tsk") != std::string::npos);
    CHECK(err->find("unknown role") != std::string::npos);
    CHECK(c[Role::task] == default_roles()[Role::task]);
  }

  SUBCASE("apply_field_override: malformed specs are errors, config untouched") {
    for (const char* spec :
         {"task", "=extra", "task=", "", "task=.a", "task=a.", "task=a..b", "task=."}) {
      INFO("spec: '" << spec << "'");
      RoleConfig c = default_roles();
      CHECK(apply_field_override(c, spec).has_value());
      CHECK(c[Role::task] == default_roles()[Role::task]);
    }
  }

  SUBCASE("set_scope_fields: exactly those fields, spaces trimmed, empty for none") {
    RoleConfig c = default_roles();
    coroner::set_scope_fields(c, "host,pid");
    CHECK(c[Role::scope] == Paths{"host", "pid"});
    coroner::set_scope_fields(c, " region , ,zone ");
    CHECK(c[Role::scope] == Paths{"region", "zone"});
    coroner::set_scope_fields(c, "");
    CHECK(c[Role::scope].empty());
    // Only the scope changes.
    CHECK(c[Role::task] == default_roles()[Role::task]);
  }
}
