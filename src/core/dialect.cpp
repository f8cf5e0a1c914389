#include "coroner/dialect.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "json_values.hpp"

namespace coroner {

namespace {

constexpr std::array<std::string_view, 5> kDialectNames = {"auto", "json", "loguru", "eliot",
                                                           "opentelemetry"};

// Which dialect one record is written in, told by keys no other writes, and those keys.
struct Telltale {
  Dialect dialect = Dialect::json;
  std::string_view keys = "the roles' own field names";
};

Telltale dialect_of(simdjson::dom::object record) {
  auto has = [](simdjson::dom::object o, std::string_view key) {
    return o.at_key(key).error() == simdjson::SUCCESS;
  };
  if (has(record, "resourceSpans")) return {Dialect::opentelemetry, "OTLP/JSON's resourceSpans"};
  simdjson::dom::object context;
  if (record["context"].get(context) == simdjson::SUCCESS && has(context, "span_id") &&
      has(record, "start_time"))
    return {Dialect::opentelemetry, "spans (context.span_id, start_time)"};
  if (has(record, "task_uuid") && has(record, "task_level"))
    return {Dialect::eliot, "task_uuid and task_level"};
  simdjson::dom::object inner;
  if (has(record, "text") && record["record"].get(inner) == simdjson::SUCCESS &&
      has(inner, "time") && has(inner, "message") && has(inner, "level"))
    return {Dialect::loguru, "text and record.time, record.message, record.level"};
  return {};
}

// Counts the keys of records, nested ones by path, each once per record.
class KeyCensus {
 public:
  static constexpr size_t kSamples = 3;
  static constexpr size_t kSampleLength = 40;
  static constexpr int kMaxDepth = 4;

  void add(simdjson::dom::object record) {
    ++records_;
    walk(record, "", 0);
  }

  std::vector<KeySeen> commonest_first() const {
    std::vector<KeySeen> keys;
    for (const auto& [path, seen] : seen_) keys.push_back(seen);
    std::stable_sort(keys.begin(), keys.end(),
                     [](const KeySeen& a, const KeySeen& b) { return a.records > b.records; });
    return keys;
  }
  uint64_t records() const { return records_; }

 private:
  void walk(simdjson::dom::object object, const std::string& prefix, int depth) {
    for (auto [key, value] : object) {
      bool quote = key.find('.') != std::string_view::npos;
      std::string path = prefix.empty() ? "" : prefix + ".";
      path += quote ? "\"" + std::string(key) + "\"" : std::string(key);
      // An object is told by the keys under it, down to kMaxDepth.
      simdjson::dom::object inner;
      bool object = value.get(inner) == simdjson::SUCCESS;
      if (object && depth + 1 < kMaxDepth) {
        walk(inner, path, depth + 1);
        continue;
      }
      KeySeen& seen = seen_[path];
      seen.path = path;
      if (last_record_[path] != records_) {
        last_record_[path] = records_;
        ++seen.records;
      }
      sample(seen, value);
    }
  }

  void sample(KeySeen& seen, simdjson::dom::element value) {
    if (seen.samples.size() >= kSamples) return;
    std::string text;
    std::string_view s;
    if (value.get(s) == simdjson::SUCCESS) {
      text = std::string(s.substr(0, kSampleLength));
      for (char& c : text)
        if (uint8_t(c) < 0x20) c = ' ';
      if (s.size() > kSampleLength) text += "...";
    } else if (value.is_array()) {
      text = "[array]";
    } else if (value.is_object()) {
      text = "{object}";
    } else {
      text = simdjson::minify(value);
    }
    if (std::find(seen.samples.begin(), seen.samples.end(), text) == seen.samples.end())
      seen.samples.push_back(std::move(text));
  }

  uint64_t records_ = 0;
  std::map<std::string, KeySeen> seen_;
  std::map<std::string, uint64_t> last_record_;
};

}  // namespace

std::string_view to_string(Dialect dialect) {
  return kDialectNames[size_t(dialect)];
}

std::optional<Dialect> dialect_from_string(std::string_view name) {
  for (size_t i = 0; i < kDialectNames.size(); ++i)
    if (kDialectNames[i] == name) return Dialect(i);
  if (name == "otel") return Dialect::opentelemetry;
  return std::nullopt;
}

std::string dialect_names(bool with_auto) {
  std::string names;
  for (size_t i = with_auto ? 0 : 1; i < kDialectNames.size(); ++i)
    names += (names.empty() ? "" : ", ") + std::string(kDialectNames[i]);
  return names;
}

namespace {

// The fields the default task role reads that may name the kind of work rather than one task,
// and the fields that name one job each; a record's first present one of each counts.
constexpr std::array<std::string_view, 3> kKindFields = {"task", "task_name", "taskName"};
constexpr std::array<std::string_view, 4> kJobIdFields = {"job_id", "jobId", "request_id",
                                                          "requestId"};
// The default task fields that outrank the kind fields: a record with one names its task.
constexpr std::array<std::string_view, 2> kTaskIdFields = {"task_id", "taskId"};

std::string scalar_text(simdjson::dom::element value) {
  std::string_view s;
  if (value.get(s) == simdjson::SUCCESS) return std::string(s);
  if (value.is_number()) return simdjson::minify(value);
  return {};
}

// Tells the input's task_field from its first records: the kind field holds few values, each
// shared by several job ids, and every job id keeps one kind value (a job is one task). Only
// where nearly every record of a kind field also has the job id.
class TaskFieldCensus {
 public:
  void add(simdjson::dom::object record, std::string_view prefix) {
    simdjson::dom::object fields = record;
    if (!prefix.empty()) {
      // loguru's record.extra: what the program bound
      simdjson::dom::object inner;
      if (record["record"].get(inner) != simdjson::SUCCESS ||
          inner["extra"].get(fields) != simdjson::SUCCESS)
        return;
    }
    for (std::string_view id : kTaskIdFields)
      if (fields.at_key(id).error() == simdjson::SUCCESS) return;
    std::string_view kind_field, job_field;
    std::string kind, job;
    for (std::string_view f : kKindFields) {
      simdjson::dom::element v;
      if (fields.at_key(f).get(v) == simdjson::SUCCESS && !(kind = scalar_text(v)).empty()) {
        kind_field = f;
        break;
      }
    }
    if (kind_field.empty()) return;
    if (kind_field_.empty()) kind_field_ = kind_field;
    if (kind_field != kind_field_) return;
    ++kind_records_;
    for (std::string_view f : kJobIdFields) {
      simdjson::dom::element v;
      if (fields.at_key(f).get(v) == simdjson::SUCCESS && !(job = scalar_text(v)).empty()) {
        job_field = f;
        break;
      }
    }
    if (job_field.empty()) return;
    if (job_field_.empty()) job_field_ = job_field;
    if (job_field != job_field_) return;
    uint64_t at_record = both_++;
    kinds_.insert(kind);
    auto [at, added] = jobs_.emplace(std::move(job), Job{kind, at_record, at_record});
    if (!added && at->second.kind != kind) split_job_ = true;
    at->second.last = at_record;
  }

  void decide(InputFormat& format, std::string_view prefix) const {
    constexpr size_t kMinJobs = 3;
    size_t jobs = jobs_.size();
    bool job_on_nearly_all = both_ * 10 >= kind_records_ * 9;
    if (split_job_ || !job_on_nearly_all || jobs < kMinJobs || kinds_.size() * 3 > jobs) return;
    if (!jobs_overlap()) return;
    format.task_field = std::string(prefix) + std::string(job_field_);
    format.kind_field = std::string(prefix) + std::string(kind_field_);
    std::string values;
    size_t shown = 0;
    for (const std::string& kind : kinds_) {
      if (shown++ == 3) {
        values += ", ...";
        break;
      }
      values += (values.empty() ? "" : ", ") + kind.substr(0, 40);
    }
    format.task_field_why =
        fmt::format("{} held {} ({}) on {} records of {} {} values", format.kind_field,
                    kinds_.size() == 1 ? "one value" : fmt::format("{} values", kinds_.size()),
                    values, both_, jobs, format.task_field);
  }

 private:
  std::string_view kind_field_, job_field_;
  uint64_t kind_records_ = 0, both_ = 0;
  std::set<std::string> kinds_;
  // Two jobs under one kind value at once: no one task runs them, as a worker that takes
  // jobs from a queue one at a time does (such a worker stays the task, working in rounds).
  bool jobs_overlap() const {
    std::map<std::string_view, std::vector<std::pair<uint64_t, uint64_t>>> spans;
    for (const auto& [id, job] : jobs_) spans[job.kind].emplace_back(job.first, job.last);
    for (auto& [kind, list] : spans) {
      std::sort(list.begin(), list.end());
      uint64_t reach = 0;
      for (size_t i = 0; i < list.size(); ++i) {
        if (i > 0 && list[i].first < reach) return true;
        reach = std::max(reach, list[i].second);
      }
    }
    return false;
  }

  struct Job {
    std::string kind;
    uint64_t first = 0, last = 0;  // its first and last record among those with both fields
  };
  std::map<std::string, Job> jobs_;
  bool split_job_ = false;
};

// Tells the default scope fields (pid, hostname...) that are no part of a task's identity in
// this input, from the records at its start. Read as part of it, they make two tasks of one
// job, one of them never finished:
// - a field only some task records carry: a worker that logs its pid as a job starts and not
//   after, a dispatcher that logs the job's id without one;
// - any of them in eliot's records, whose task_uuid is carried from process to process: such
//   an id names one task wherever it is logged (a task id that is a UUID in a plain log is
//   judged record by record: TaskStore::add_record).
class ScopeFieldCensus {
 public:
  void add(simdjson::dom::object record) {
    bool has_task = false;
    for (const std::string& field : defaults_[Role::task])
      if (record.at_key(field).error() == simdjson::SUCCESS) has_task = true;
    for (size_t f = 0; f < defaults_[Role::scope].size(); ++f) {
      bool seen = record.at_key(defaults_[Role::scope][f]).error() == simdjson::SUCCESS;
      seen_anywhere_[f] += seen;
      seen_[f] += seen && has_task;
    }
    task_records_ += has_task;
  }

  void decide(InputFormat& format) const {
    if (task_records_ < kMinRecords) return;
    for (size_t f = 0; f < defaults_[Role::scope].size(); ++f) {
      if (seen_[f] == 0 || seen_[f] == task_records_) continue;
      const std::string& field = defaults_[Role::scope][f];
      format.partial_scope_fields.push_back(field);
      if (format.partial_scope_why.empty())
        format.partial_scope_why =
            fmt::format("{} on {} of the first {} task records", field, seen_[f], task_records_);
    }
  }

  void decide_eliot(InputFormat& format) const {
    for (size_t f = 0; f < defaults_[Role::scope].size(); ++f)
      if (seen_anywhere_[f] > 0) format.partial_scope_fields.push_back(defaults_[Role::scope][f]);
    if (!format.partial_scope_fields.empty())
      format.partial_scope_why = "eliot's task_uuid names one task in every process";
  }

 private:
  static constexpr uint64_t kMinRecords = 4;
  RoleConfig defaults_ = default_roles();
  uint64_t task_records_ = 0;
  std::array<uint64_t, 8> seen_{}, seen_anywhere_{};
};

}  // namespace

InputFormat detect_format(std::string_view head, Dialect forced) {
  constexpr size_t kRecordsLooked = 32;
  InputFormat format;
  KeyCensus census;
  std::array<size_t, kDialectNames.size()> votes{};
  std::array<std::string_view, kDialectNames.size()> telltales{};
  size_t records = 0;
  TaskFieldCensus plain_fields, loguru_fields;
  ScopeFieldCensus scope_fields;
  simdjson::dom::parser parser;
  size_t pos = 0;
  while (pos < head.size()) {
    size_t brace = head.find('{', pos);
    if (brace == std::string_view::npos) break;
    size_t end = json_value_end(head.data() + brace, head.size() - brace);
    if (end == kNoValueEnd) {
      // Over several lines, the head cuts it: the records before it decide. One a line, it is a
      // damaged line (a log that starts mid-record): it costs only itself.
      size_t newline = head.find('\n', brace);
      if (format.multiline || newline == std::string_view::npos) break;
      pos = newline + 1;
      continue;
    }
    std::string_view value = head.substr(brace, end);
    pos = brace + end;
    simdjson::dom::object object;
    if (parser.parse(value.data(), value.size()).get(object) != simdjson::SUCCESS) continue;
    // A record written over several lines makes the input a stream of values (one-line values
    // read as well that way): an exporter's indented output, maybe after a one-line banner.
    if (value.find('\n') != std::string_view::npos) format.multiline = true;
    census.add(object);
    plain_fields.add(object, "");
    loguru_fields.add(object, "record.extra.");
    scope_fields.add(object);
    if (records == kRecordsLooked) continue;
    Telltale telltale = dialect_of(object);
    ++votes[size_t(telltale.dialect)];
    telltales[size_t(telltale.dialect)] = telltale.keys;
    ++records;
  }
  format.keys = census.commonest_first();
  format.records_looked = census.records();
  auto task_field = [&] {
    if (format.dialect == Dialect::json) plain_fields.decide(format, "");
    if (format.dialect == Dialect::json) scope_fields.decide(format);
    if (format.dialect == Dialect::eliot) scope_fields.decide_eliot(format);
    if (format.dialect == Dialect::loguru) loguru_fields.decide(format, "record.extra.");
  };
  if (forced != Dialect::automatic) {
    format.dialect = forced;
    format.why = "--dialect";
    task_field();
    return format;
  }
  // The dialect most of the first records are written in; a library's records outvote the
  // stray lines of another (a banner printed before the log).
  size_t best = size_t(Dialect::json);
  for (size_t d = size_t(Dialect::loguru); d < votes.size(); ++d)
    if (votes[d] > 0 && votes[d] >= votes[best]) best = d;
  format.dialect = Dialect(best);
  if (records == 0) {
    format.why = "no record in the first bytes to tell from";
  } else {
    format.why =
        fmt::format("{} in {} of the first {} records", telltales[best], votes[best], records);
  }
  task_field();
  return format;
}

namespace {

// loguru's serialize=True nests what the program bound (logger.bind, contextualize) under
// record.extra, and writes its own time, message, level and exception.
RoleConfig loguru_roles(const RoleConfig& user) {
  RoleConfig plain = default_roles();
  RoleConfig c;
  for (size_t r = 0; r < kRoleCount; ++r)
    for (const auto& name : plain.paths[r]) c.paths[r].push_back("record.extra." + name);
  c[Role::time] = {"record.time.timestamp"};
  c[Role::stage].push_back("record.message");
  c[Role::level] = {"record.level.name"};
  // loguru 0.6 writes {"type": "ValueError", "value": "boom", "traceback": true}.
  c[Role::error].insert(c[Role::error].begin(),
                        {"record.exception.value", "record.exception.type"});
  c[Role::error_type].insert(c[Role::error_type].begin(), "record.exception.type");
  // A field the user names is looked for under record.extra too, where the defaults are:
  // --field task=job reads what logger.bind(job=...) wrote.
  for (size_t r = 0; r < kRoleCount; ++r) {
    if (!user.named_by_user[r]) continue;
    c.paths[r].clear();
    for (const auto& path : user.paths[r]) {
      if (!path.starts_with("record.")) c.paths[r].push_back("record.extra." + path);
      c.paths[r].push_back(path);
    }
  }
  c.named_by_user = user.named_by_user;
  return c;
}

// The fields the eliot reader takes each role from, beside the roles read as for json.
RoleConfig eliot_roles(const RoleConfig& user) {
  RoleConfig c = user;
  // The task fields are still read: they name the asyncio task an action runs in (an alias).
  c[Role::task].insert(c[Role::task].begin(), "task_uuid+task_level");
  c[Role::parent] = {"task_uuid+task_level"};
  c[Role::status] = {"action_status"};
  return c;
}

RoleConfig span_roles() {
  RoleConfig c;
  c[Role::time] = {"start_time/end_time", "startTimeUnixNano/endTimeUnixNano"};
  c[Role::task] = {"context.span_id", "spanId"};
  c[Role::stage] = {"name"};
  c[Role::status] = {"status"};
  c[Role::parent] = {"parent_id", "parentSpanId"};
  c[Role::awaits] = {"(its child spans)"};
  c[Role::error] = {"events[exception]"};
  c[Role::error_type] = {"exception.type"};
  return c;
}

}  // namespace

bool reads_task_field(const InputFormat& format, const RoleConfig& user) {
  return !format.task_field.empty() && !user.named_by_user[size_t(Role::task)];
}

std::string own_roles_key(const InputFormat& format, const RoleConfig& user) {
  std::string key;
  if (reads_task_field(format, user)) key += format.task_field + '\x1f' + format.kind_field;
  if (!user.named_by_user[size_t(Role::scope)])
    for (const std::string& field : format.partial_scope_fields) key += "\x1e" + field;
  return key;
}

RoleConfig roles_for(const InputFormat& format, const RoleConfig& user) {
  RoleConfig c = roles_for(format.dialect, user);
  if (!user.named_by_user[size_t(Role::scope)])
    for (const std::string& field : format.partial_scope_fields) std::erase(c[Role::scope], field);
  if (!reads_task_field(format, user)) return c;
  std::vector<std::string>& task = c[Role::task];
  std::erase(task, format.kind_field);
  task.insert(task.begin(), format.task_field);
  return c;
}

std::string_view program_fields_prefix(Dialect dialect) {
  return dialect == Dialect::loguru ? "record.extra." : "";
}

RoleConfig roles_for(Dialect dialect, const RoleConfig& user) {
  switch (dialect) {
    case Dialect::loguru:
      return loguru_roles(user);
    case Dialect::eliot:
      return eliot_roles(user);
    case Dialect::opentelemetry:
      return span_roles();
    default:
      return user;
  }
}

}  // namespace coroner
