// The dialects whose tasks are not a field of the record (dialect.hpp): eliot's actions, named by
// the record's place in its task's tree, and OpenTelemetry's spans, each a task whose start, events
// and end come in one JSON value. Both read simdjson's DOM: such logs are small next to the plain
// ones the record parser reads at full speed.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/record.hpp"

namespace coroner {

// A JSON value inside a chunk: `capacity` bytes are readable from `data` (the chunk's padding).
struct JsonText {
  const char* data = nullptr;
  size_t size = 0;
  size_t capacity = 0;
};

// eliot (https://eliot.readthedocs.io): an action is a task. Its name is its task_uuid, then the
// task_level of its start message without the last number ("UUID" for a root action, "UUID/3"
// for the action started at [3, 1]); its parent is the action around it, which waits on it from
// its start; action_status (started, succeeded, failed) is that action's alone; a message is a
// record of the action it is in, eliot:traceback an error of it, eliot:stdlib a stdlib logging
// record (asyncio's own messages among them). A message outside every action belongs to no task.
class EliotReader {
 public:
  // `record` holds what the roles read from the value; this makes it its action's record and
  // hands it to `sink`, after the parent's wait record when it starts a nested action. False when
  // the value is no eliot record (no task_uuid or task_level): `record` is then left as it was.
  bool read(const JsonText& text, RawRecord& record, RecordSink& sink);

 private:
  simdjson::dom::parser parser_;
  std::string task_, parent_, error_type_, waiting_for_;
  RawRecord wait_;
};

// OpenTelemetry spans: the Python SDK's ConsoleSpanExporter (one span a value: name, context,
// parent_id, start_time, end_time, status, events) and OTLP/JSON (resourceSpans, scopeSpans,
// spans with spanId, parentSpanId, *UnixNano times, status.code). A span is a task named by its
// span id in lowercase hex without 0x; its records are its start, its events (an `exception`
// event is an error of it) and its end (status ERROR: failed, else done); its parent waits on it
// from its start, so a parent that was never exported (it never ended) is still a task, opened
// no later than its first child.
class SpanReader {
 public:
  // Hands the records of every span in the value to `sink`. False, with `error` set, when the
  // value is not JSON or holds no span. `stop` is set when the sink asks to stop.
  bool read(const JsonText& text, uint32_t file, uint64_t line, RecordSink& sink,
            std::string& error);

 private:
  struct Event {
    std::string_view name;
    int64_t time = 0;
    bool has_time = false;
    std::string_view error_type, error_text;
  };
  struct Span {
    std::string_view name;
    std::string id, parent;
    int64_t start = 0, end = 0;
    bool has_start = false, has_end = false;
    bool failed = false;
    std::string_view description;
    std::vector<Event> events;
    uint8_t form = 0;  // 0: the console exporter's fields, 1: OTLP/JSON's (the roles' ranks)
  };

  // The keys a form names a span's fields by, and its rank in the roles' lists.
  struct SpanKeys {
    std::string_view parent, start, end, event_time;
    uint8_t form;
  };
  void begin_span(simdjson::dom::object object, std::string_view id, const SpanKeys& keys);
  bool read_console_span(simdjson::dom::object object);
  bool read_otlp_span(simdjson::dom::object object);
  void read_events(simdjson::dom::object span, std::string_view time_key);
  void emit(uint32_t file, uint64_t line, RecordSink& sink);

  simdjson::dom::parser parser_;
  Span span_;
  RawRecord record_;
  std::string waiting_for_;
};

}  // namespace coroner
