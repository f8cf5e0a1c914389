#include "coroner/dialect.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <map>

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

InputFormat detect_format(std::string_view head, Dialect forced) {
  constexpr size_t kRecordsLooked = 32;
  InputFormat format;
  KeyCensus census;
  std::array<size_t, kDialectNames.size()> votes{};
  std::array<std::string_view, kDialectNames.size()> telltales{};
  size_t records = 0;
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
    if (records == kRecordsLooked) continue;
    Telltale telltale = dialect_of(object);
    ++votes[size_t(telltale.dialect)];
    telltales[size_t(telltale.dialect)] = telltale.keys;
    ++records;
  }
  format.keys = census.commonest_first();
  format.records_looked = census.records();
  if (forced != Dialect::automatic) {
    format.dialect = forced;
    format.why = "--dialect";
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
  for (size_t r = 0; r < kRoleCount; ++r)
    if (user.named_by_user[r]) c.paths[r] = user.paths[r];
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
