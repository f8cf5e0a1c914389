// Dialects (the man page's DIALECTS): the JSON that widely used libraries write,
// recognised per file from its first records. Most are read through the roles, with field names
// of their own (loguru nests everything under `record`); eliot's actions and OpenTelemetry's spans
// are tasks of their own making, read by a reader of their own (dialect_readers.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/roles.hpp"

namespace coroner {

enum class Dialect : uint8_t {
  automatic,      // told per file from its first records
  json,           // one object a line, the roles' own names: structlog, python-json-logger, stdlib
  loguru,         // loguru's serialize=True: {"text": ..., "record": {...}}
  eliot,          // eliot's actions and messages: task_uuid, task_level, action_status
  opentelemetry,  // spans: the SDK console exporter's objects, or OTLP/JSON's resourceSpans
};

std::string_view to_string(Dialect dialect);
std::optional<Dialect> dialect_from_string(std::string_view name);
// "json, loguru, eliot, opentelemetry" (automatic too when `with_auto`): for help and errors.
std::string dialect_names(bool with_auto);

// A key of the records, nested ones by their path (`record.extra.task_id`, a key with a dot in
// it quoted: `attributes."asyncio.task"`), with how many records had it and a few values.
struct KeySeen {
  std::string path;
  uint64_t records = 0;
  std::vector<std::string> samples;
};

// How one input is read.
struct InputFormat {
  Dialect dialect = Dialect::json;
  // Its JSON values span several lines each (indented), one after another: read as a stream of
  // values, not of lines.
  bool multiline = false;
  std::string why;  // "task_uuid and task_level in 12 of the first 12 records", "--dialect"
  // The keys of the records at the input's start, commonest first: what a log that coroner
  // cannot read does have (`schema`, and the error that says what is missing).
  std::vector<KeySeen> keys;
  uint64_t records_looked = 0;
  // When the task field coroner reads by default (`task`, `task_name`, `taskName`) names the
  // kind of work, one value on the records of many jobs each named by an id field (`job_id`):
  // that id field is the task's and the kind field is read no more (unless --field task= names
  // one). Both are paths as the dialect reads them; empty otherwise.
  std::string task_field;      // "job_id"
  std::string kind_field;      // "task"
  std::string task_field_why;  // "task held 1 value (resize) on 20 records of 10 job_id values"
  // Default scope fields on some of the first task records and not on others (a pid logged
  // only as a job starts): no part of a task's identity in this input, unless --key names
  // them. Plain JSON only.
  std::vector<std::string> partial_scope_fields;  // "pid"
  std::string partial_scope_why;                  // "pid on 8 of the first 32 task records"
  // A key of the first records whose values are Python tracebacks and that no error field the
  // roles read names (Serilog's CLEF "@x", a formatter's own name): every exception it holds
  // goes unseen. "" for none.
  std::string unread_traceback_field;
};

// The dialect and form of an input, from its first bytes (what fits in `head`: a few dozen
// records). A dialect other than automatic is the user's choice, and only the form is told.
InputFormat detect_format(std::string_view head, Dialect forced = Dialect::automatic);

// The roles as a dialect reads them: for json, the user's; for loguru, the same names under
// `record.extra` with loguru's own time, message, level and exception, where the user did not
// name a field (--field, --key); for eliot and opentelemetry, the fields their readers take each
// role from (what `coroner schema` shows).
RoleConfig roles_for(Dialect dialect, const RoleConfig& user);
// The same, for one input: its dialect's, with the task read from the input's task_field where
// the user did not name the task field.
RoleConfig roles_for(const InputFormat& format, const RoleConfig& user);
// The task_field of `format` applies to records read with `user`'s roles.
bool reads_task_field(const InputFormat& format, const RoleConfig& user);
// What `format` reads otherwise than its dialect does, for `user`'s roles (its own task field,
// the scope fields it drops), as a key for readers made once per way of reading; "" for none.
std::string own_roles_key(const InputFormat& format, const RoleConfig& user);

// Where a dialect puts the fields the program bound itself ("record.extra." for loguru; empty
// when they sit beside the library's own, as in json): the likeliest task field is there.
std::string_view program_fields_prefix(Dialect dialect);

}  // namespace coroner
