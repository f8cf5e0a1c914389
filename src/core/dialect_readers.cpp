#include "dialect_readers.hpp"

#include <fmt/format.h>

#include "coroner/timestamp.hpp"

namespace coroner {

namespace dom = simdjson::dom;

namespace {

simdjson::simdjson_result<dom::element> parse_value(dom::parser& parser, const JsonText& text) {
  bool padded = text.capacity >= text.size + simdjson::SIMDJSON_PADDING;
  return parser.parse(text.data, text.size, !padded);
}

std::string_view string_at(dom::object object, std::string_view key) {
  std::string_view value;
  if (object[key].get(value) != simdjson::SUCCESS) return {};
  return value;
}

// "builtins.ValueError" is ValueError, "asyncio.exceptions.CancelledError" CancelledError.
std::string_view last_dotted_part(std::string_view name) {
  size_t dot = name.rfind('.');
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

void set_filled(RawRecord& r, Role role, uint8_t rank = 0) {
  r.filled_by[size_t(role)] = rank;
}

}  // namespace

bool EliotReader::read(const JsonText& text, RawRecord& record, RecordSink& sink) {
  dom::object object;
  if (parse_value(parser_, text).get(object) != simdjson::SUCCESS) return false;
  std::string_view uuid = string_at(object, "task_uuid");
  dom::array level;
  if (uuid.empty() || object["task_level"].get(level) != simdjson::SUCCESS) return false;
  std::vector<int64_t> numbers;
  for (dom::element n : level) {
    int64_t number = 0;
    if (n.get(number) != simdjson::SUCCESS) return false;
    numbers.push_back(number);
  }
  if (numbers.empty()) return false;
  std::string_view status = string_at(object, "action_status");
  std::string_view message_type = string_at(object, "message_type");
  // The action's name: the uuid, then its start message's level but the last number.
  auto name_of = [&](std::string& out, size_t depth) {
    out.assign(uuid);
    for (size_t i = 0; i < depth; ++i) fmt::format_to(std::back_inserter(out), "/{}", numbers[i]);
  };
  size_t depth = numbers.size() - 1;
  // A message outside every action is alone in its task: level [1], no status. A root action's
  // messages come at [2], [3], ...
  bool in_action = !status.empty() || depth > 0 || numbers[0] > 1;
  record.has_task = in_action;
  if (in_action) {
    name_of(task_, depth);
    // The record's own task field (`task_name`, `taskName`...) names the asyncio task the
    // action runs in: asyncio's messages find the action by it.
    if (record.has_task) record.alias = record.task;
    record.task = task_;
    set_filled(record, Role::task);
  } else {
    record.task = {};
    record.filled_by[size_t(Role::task)] = RawRecord::kNoField;
  }
  record.parent = {};
  record.filled_by[size_t(Role::parent)] = RawRecord::kNoField;
  std::string_view exception = string_at(object, "exception");
  if (!status.empty()) {
    // The action's stage is its type, entered at its start; its end ends that stage (a status
    // alone, as the asyncio module writes it), so the stage's time is measured.
    record.stage = status == "started" ? string_at(object, "action_type") : std::string_view();
    record.stage_from_message = false;
    record.status = status;
    if (status == "failed") {
      error_type_.assign(last_dotted_part(exception));
      record.error_type = error_type_;
      // A TimeoutError's reason is often empty: its type says it all.
      std::string_view reason = string_at(object, "reason");
      record.error_text = reason.empty() ? record.error_type : reason;
      record.has_error = true;
    }
  } else if (message_type == "eliot:traceback") {
    // The error of the action it is in, no step of it.
    record.stage = {};
    error_type_.assign(last_dotted_part(exception));
    record.error_type = error_type_;
    record.error_text = string_at(object, "reason");
    record.has_error = true;
  } else if (message_type == "eliot:stdlib") {
    // A stdlib logging record: its message was read as the stage (a message field).
    if (std::string_view level_name = string_at(object, "log_level"); !level_name.empty())
      record.level = level_name;
  } else if (!message_type.empty()) {
    record.stage = message_type;
    record.stage_from_message = false;
  }
  bool opens_nested = status == "started" && depth > 0;
  if (opens_nested) {
    name_of(parent_, depth - 1);
    record.parent = parent_;
    set_filled(record, Role::parent);
    // The action around it waits on it from now: its blame follows a stuck nested action.
    wait_.clear();
    wait_.has_time = record.has_time;
    wait_.time_ns = record.time_ns;
    wait_.time_form = record.time_form;
    wait_.utc_offset = record.utc_offset;
    wait_.has_task = true;
    wait_.task = parent_;
    wait_.marker = "child";
    wait_.awaits.assign(1, task_);
    waiting_for_ = fmt::format("{} ({})", task_, record.stage);
    wait_.waiting_for = waiting_for_;
    wait_.scope = record.scope;
    wait_.file = record.file;
    wait_.line = record.line;
    sink.on_record(wait_);
  }
  sink.on_record(record);
  return true;
}

namespace {

// A span id as both forms name it: lowercase hex, without the console exporter's 0x.
std::string span_id(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
    text.remove_prefix(2);
  std::string id(text);
  for (char& c : id)
    if (c >= 'A' && c <= 'F') c = char(c - 'A' + 'a');
  return id;
}

// A time the console exporter writes (ISO-8601), or OTLP/JSON's nanoseconds since the epoch
// (a string of digits, or a number).
bool span_time(dom::element value, int64_t& ns) {
  std::string_view text;
  std::optional<ParsedTime> t;
  uint64_t number = 0;
  if (value.get(text) == simdjson::SUCCESS) {
    bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
    t = digits ? parse_epoch_number(text) : parse_time_string(text);
  } else if (value.get(number) == simdjson::SUCCESS) {
    t = parse_epoch_number(std::to_string(number));
  }
  if (!t) return false;
  ns = t->ns;
  return true;
}

bool span_time_at(dom::object object, std::string_view key, int64_t& ns) {
  dom::element value;
  return object[key].get(value) == simdjson::SUCCESS && span_time(value, ns);
}

// An attribute's value: the console exporter's {"key": value}, or OTLP/JSON's list of
// {"key", "value": {"stringValue": ...}}.
std::string_view attribute(dom::element attributes, std::string_view key) {
  dom::object map;
  if (attributes.get(map) == simdjson::SUCCESS) return string_at(map, key);
  dom::array list;
  if (attributes.get(list) != simdjson::SUCCESS) return {};
  for (dom::element item : list) {
    dom::object pair;
    if (item.get(pair) != simdjson::SUCCESS || string_at(pair, "key") != key) continue;
    dom::object value;
    if (pair["value"].get(value) != simdjson::SUCCESS) return {};
    return string_at(value, "stringValue");
  }
  return {};
}

}  // namespace

// A span's events, as both forms write them but for the time's key; an exception event's type
// and message are in its attributes.
void SpanReader::read_events(dom::object span, std::string_view time_key) {
  dom::array events;
  if (span["events"].get(events) != simdjson::SUCCESS) return;
  for (dom::element item : events) {
    dom::object e;
    if (item.get(e) != simdjson::SUCCESS) continue;
    Event event;
    event.name = string_at(e, "name");
    event.has_time = span_time_at(e, time_key, event.time);
    dom::element attributes;
    if (event.name == "exception" && e["attributes"].get(attributes) == simdjson::SUCCESS) {
      event.error_type = attribute(attributes, "exception.type");
      event.error_text = attribute(attributes, "exception.message");
    }
    span_.events.push_back(event);
  }
}

// What both forms write alike but for their keys' names: the span's ids, name, times and events.
void SpanReader::begin_span(dom::object object, std::string_view id, const SpanKeys& keys) {
  span_ = Span{};
  span_.form = keys.form;
  span_.id = span_id(id);
  span_.parent = span_id(string_at(object, keys.parent));
  span_.name = string_at(object, "name");
  span_.has_start = span_time_at(object, keys.start, span_.start);
  span_.has_end = span_time_at(object, keys.end, span_.end);
  read_events(object, keys.event_time);
}

bool SpanReader::read_console_span(dom::object object) {
  dom::object context;
  if (object["context"].get(context) != simdjson::SUCCESS) return false;
  std::string_view id = string_at(context, "span_id");
  if (id.empty()) return false;
  begin_span(object, id, {"parent_id", "start_time", "end_time", "timestamp", 0});
  dom::object status;
  if (object["status"].get(status) == simdjson::SUCCESS) {
    span_.failed = string_at(status, "status_code") == "ERROR";
    span_.description = string_at(status, "description");
  }
  return true;
}

bool SpanReader::read_otlp_span(dom::object object) {
  std::string_view id = string_at(object, "spanId");
  if (id.empty()) return false;
  begin_span(object, id,
             {"parentSpanId", "startTimeUnixNano", "endTimeUnixNano", "timeUnixNano", 1});
  dom::object status;
  if (object["status"].get(status) == simdjson::SUCCESS) {
    int64_t code = 0;
    std::string_view code_name;
    // The code is a number (2: ERROR) in OTLP/JSON; some writers spell the enum's name.
    if (status["code"].get(code) == simdjson::SUCCESS)
      span_.failed = code == 2;
    else if (status["code"].get(code_name) == simdjson::SUCCESS)
      span_.failed = code_name == "STATUS_CODE_ERROR" || code_name == "ERROR";
    span_.description = string_at(status, "message");
  }
  return true;
}

void SpanReader::emit(uint32_t file, uint64_t line, RecordSink& sink) {
  const Span& s = span_;
  auto fresh = [&](int64_t time, bool has_time) -> RawRecord& {
    record_.clear();
    record_.has_time = has_time;
    record_.time_ns = time;
    record_.time_form = has_time ? TimeForm::iso8601 : TimeForm::none;
    if (has_time) set_filled(record_, Role::time, s.form);
    record_.has_task = true;
    record_.task = s.id;
    set_filled(record_, Role::task, s.form);
    record_.file = file;
    record_.line = line;
    return record_;
  };
  if (!s.parent.empty()) {
    RawRecord& wait = fresh(s.start, s.has_start);
    wait.task = s.parent;
    wait.marker = "child";
    wait.awaits.assign(1, s.id);
    waiting_for_ = fmt::format("{} ({})", s.id, s.name);
    wait.waiting_for = waiting_for_;
    set_filled(wait, Role::awaits);
    sink.on_record(wait);
  }
  RawRecord& start = fresh(s.start, s.has_start);
  start.stage = s.name;
  set_filled(start, Role::stage);
  start.status = "started";
  set_filled(start, Role::status);
  if (!s.parent.empty()) {
    start.parent = s.parent;
    set_filled(start, Role::parent, s.form);
  }
  sink.on_record(start);
  for (const Event& e : s.events) {
    RawRecord& r = fresh(e.has_time ? e.time : s.start, e.has_time || s.has_start);
    if (e.name == "exception") {
      // An error of the span, no step of it ("exception" would read as a failed end).
      r.has_error = true;
      r.error_type = e.error_type;
      r.error_text = e.error_text;
      set_filled(r, Role::error);
      if (!e.error_type.empty()) set_filled(r, Role::error_type);
    } else {
      r.stage = e.name;
      set_filled(r, Role::stage);
    }
    sink.on_record(r);
  }
  if (!s.has_end) return;
  RawRecord& end = fresh(s.end, true);
  end.status = s.failed ? "failed" : "done";
  set_filled(end, Role::status);
  if (s.failed && !s.description.empty()) {
    end.has_error = true;
    end.error_text = s.description;
    set_filled(end, Role::error);
  }
  sink.on_record(end);
}

bool SpanReader::read(const JsonText& text, uint32_t file, uint64_t line, RecordSink& sink,
                      std::string& error) {
  dom::object object;
  if (auto err = parse_value(parser_, text).get(object)) {
    error = std::string("invalid JSON: ") + simdjson::error_message(err);
    return false;
  }
  size_t spans = 0;
  dom::array resources;
  if (object["resourceSpans"].get(resources) == simdjson::SUCCESS) {
    for (dom::element resource : resources) {
      dom::array scopes;
      if (resource["scopeSpans"].get(scopes) != simdjson::SUCCESS &&
          resource["instrumentationLibrarySpans"].get(scopes) != simdjson::SUCCESS)
        continue;
      for (dom::element scope : scopes) {
        dom::array spans_of_scope;
        if (scope["spans"].get(spans_of_scope) != simdjson::SUCCESS) continue;
        for (dom::element item : spans_of_scope) {
          dom::object span;
          if (item.get(span) != simdjson::SUCCESS || !read_otlp_span(span)) continue;
          emit(file, line, sink);
          ++spans;
        }
      }
    }
  } else if (read_console_span(object)) {
    emit(file, line, sink);
    ++spans;
  }
  if (spans == 0 && object["resourceSpans"].error() != simdjson::SUCCESS) {
    error = "no span in this JSON value (no context.span_id, no resourceSpans)";
    return false;
  }
  return true;
}

}  // namespace coroner
