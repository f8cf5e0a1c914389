#include <doctest/doctest.h>
#include <fmt/format.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../common/describing_sink.hpp"
#include "../common/string_source.hpp"
#include "../common/temp_file.hpp"
#include "coroner/analysis.hpp"
#include "coroner/dialect.hpp"
#include "coroner/ingest.hpp"
#include "coroner/roles.hpp"
#include "coroner/schema.hpp"
#include "coroner/task_store.hpp"
#include "coroner/vocabulary.hpp"
#include "json_values.hpp"
#include "reader.hpp"
#include "record_parser.hpp"

#ifndef CORONER_TESTS_DIR
#define CORONER_TESTS_DIR "."
#endif

// The dialects (dialect.hpp): how a file's dialect and form are told from its first records, the
// key census, the multi-line value reader, eliot's actions and OpenTelemetry's spans read as
// tasks, and the field paths that quote a key with a dot in it. The fixtures are real logs of the
// libraries (tests/fixtures/libraries, otlp, opentelemetry).

namespace {

using coroner::Dialect;
using coroner::InputFormat;
using coroner::RawRecord;
using coroner::Role;
using coroner::RoleConfig;
using coroner_test::TempFile;

const std::string kFixtures = std::string(CORONER_TESTS_DIR) + "/fixtures/";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The head ingest() tells a file's format from.
std::string head_of(const std::string& path, size_t size = 64 << 10) {
  std::string text = slurp(kFixtures + path);
  return text.substr(0, std::min(size, text.size()));
}

// A record with its views copied.
struct Rec {
  bool has_task = false, has_time = false, has_error = false;
  int64_t time_ns = 0;
  std::string task, stage, status, parent, marker, waiting_for, error_type, error_text, level;
  std::vector<std::string> awaits;
  uint64_t line = 0;
};

class Collect : public coroner::RecordSink {
 public:
  void on_record(const RawRecord& r) override {
    Rec c;
    c.has_task = r.has_task;
    c.has_time = r.has_time;
    c.has_error = r.has_error;
    c.time_ns = r.time_ns;
    c.task = r.task;
    c.stage = r.stage;
    c.status = r.status;
    c.parent = r.parent;
    c.marker = r.marker;
    c.waiting_for = r.waiting_for;
    c.error_type = r.error_type;
    c.error_text = r.error_text;
    c.level = r.level;
    for (auto a : r.awaits) c.awaits.emplace_back(a);
    c.line = r.line;
    records.push_back(std::move(c));
  }
  bool on_bad_line(const coroner::BadLine& bad) override {
    bad_lines.push_back(bad);
    return true;
  }
  void on_input_format(uint32_t file, const InputFormat& format) override {
    formats.emplace_back(file, format);
  }
  std::vector<Rec> records;
  std::vector<coroner::BadLine> bad_lines;
  std::vector<std::pair<uint32_t, InputFormat>> formats;

  std::vector<const Rec*> of_task(std::string_view task) const {
    std::vector<const Rec*> out;
    for (const Rec& r : records)
      if (r.has_task && r.task == task) out.push_back(&r);
    return out;
  }
};

// Everything the parser said, and the formats it was told, through ingest() as the CLI reads.
class Describe : public coroner_test::DescribingSink {
 public:
  void on_input_format(uint32_t file, const InputFormat& f) override {
    lines.push_back("format " + std::to_string(file) + " " + std::string(to_string(f.dialect)) +
                    (f.multiline ? " multiline " : " lines ") + f.why);
  }
};

Collect ingest_files(const std::vector<std::string>& paths, Dialect dialect = Dialect::automatic,
                     const RoleConfig& roles = coroner::default_roles(), unsigned threads = 1) {
  Collect sink;
  coroner::IngestResult result = coroner::ingest(paths, roles, sink, 0, nullptr, threads, dialect);
  REQUIRE_FALSE(result.error.has_value());
  return sink;
}

Collect ingest_text(const std::string& text, Dialect dialect = Dialect::automatic,
                    const RoleConfig& roles = coroner::default_roles()) {
  TempFile file(text);
  return ingest_files({file.path()}, dialect, roles);
}

std::vector<std::string> describe_file(const std::string& path, unsigned threads) {
  Describe sink;
  coroner::IngestResult result = coroner::ingest({path}, coroner::default_roles(), sink, 0, nullptr,
                                                 threads, Dialect::automatic);
  REQUIRE_FALSE(result.error.has_value());
  return sink.lines;
}

const coroner::KeySeen* key(const InputFormat& f, std::string_view path) {
  for (const auto& k : f.keys)
    if (k.path == path) return &k;
  return nullptr;
}

// Where each top-level JSON value of a well-formed stream ends (just past its closing bracket),
// counted here without json_values.hpp: what the chunker's cuts are checked against.
std::vector<size_t> value_ends(std::string_view text) {
  std::vector<size_t> ends;
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') ++depth;
    if ((c == '}' || c == ']') && --depth == 0) ends.push_back(i + 1);
  }
  return ends;
}

}  // namespace

TEST_CASE("detect_format tells each library's dialect and form from the file's head") {
  struct Case {
    const char* file;
    Dialect dialect;
    bool multiline;
  };
  for (const Case& c : {
           Case{"libraries/structlog_service.jsonl", Dialect::json, false},
           Case{"libraries/jsonlogger_service.jsonl", Dialect::json, false},
           Case{"libraries/stdlib_debug_service.jsonl", Dialect::json, false},
           Case{"libraries/loguru_service.jsonl", Dialect::loguru, false},
           Case{"libraries/loguru_service_batch.jsonl", Dialect::loguru, false},
           Case{"libraries/eliot_service.jsonl", Dialect::eliot, false},
           Case{"libraries/eliot_service_batch.jsonl", Dialect::eliot, false},
           Case{"otlp/trace.otlp.json", Dialect::opentelemetry, false},
           Case{"opentelemetry/spans_pretty.json", Dialect::opentelemetry, true},
           Case{"opentelemetry/spans_oneline.jsonl", Dialect::opentelemetry, false},
           Case{"nested_fields.jsonl", Dialect::json, false},
           Case{"seed_print.jsonl", Dialect::json, false},
       }) {
    INFO(c.file);
    InputFormat f = coroner::detect_format(head_of(c.file));
    CHECK(f.dialect == c.dialect);
    CHECK(f.multiline == c.multiline);
    CHECK(f.records_looked > 0);
    CHECK_FALSE(f.keys.empty());
    // The reason names the telltale and how many records voted, never "--dialect".
    CHECK(f.why.find(" of the first ") != std::string::npos);
    CHECK(f.why.find("--dialect") == std::string::npos);
  }
  // A head cut in the middle of a value: the values before the cut decide.
  std::string pretty = head_of("opentelemetry/spans_pretty.json", 1500);
  InputFormat cut = coroner::detect_format(pretty);
  CHECK(cut.dialect == Dialect::opentelemetry);
  CHECK(cut.multiline);
  CHECK(cut.records_looked == 1);
}

TEST_CASE("detect_format with a forced dialect keeps telling the form") {
  std::string pretty = head_of("opentelemetry/spans_pretty.json");
  InputFormat f = coroner::detect_format(pretty, Dialect::eliot);
  CHECK(f.dialect == Dialect::eliot);
  CHECK(f.multiline);  // the form is still the file's
  CHECK(f.why == "--dialect");
  CHECK_FALSE(f.keys.empty());
  InputFormat g = coroner::detect_format(head_of("libraries/eliot_service.jsonl"), Dialect::json);
  CHECK(g.dialect == Dialect::json);
  CHECK_FALSE(g.multiline);
  CHECK(g.why == "--dialect");
  // A forced json on an indented stream is still read as values over several lines.
  CHECK(coroner::detect_format(pretty, Dialect::json).multiline);
}

TEST_CASE("detect_format: a banner before a library's records does not outvote them") {
  const std::string eliot =
      R"({"action_status":"started","timestamp":1.0,"task_uuid":"u","action_type":"job","task_level":[1]})"
      "\n";
  const std::string banner = R"({"msg":"service starting","ts":0.5})"
                             "\n";
  SUBCASE("one json banner, then eliot") {
    InputFormat f = coroner::detect_format(banner + eliot + eliot + eliot);
    CHECK(f.dialect == Dialect::eliot);
    CHECK(f.why.find("3 of the first 4") != std::string::npos);
  }
  SUBCASE("a tie goes to the library's dialect") {
    CHECK(coroner::detect_format(banner + eliot).dialect == Dialect::eliot);
  }
  SUBCASE("a majority of plain json stays json") {
    CHECK(coroner::detect_format(banner + banner + eliot).dialect == Dialect::json);
  }
  SUBCASE("only the first 32 records vote") {
    std::string text;
    for (int i = 0; i < 32; ++i) text += banner;
    for (int i = 0; i < 40; ++i) text += eliot;
    InputFormat f = coroner::detect_format(text);
    CHECK(f.dialect == Dialect::json);
    // The census goes on past them: every record's keys are counted.
    REQUIRE(key(f, "task_uuid") != nullptr);
    CHECK(key(f, "task_uuid")->records == 40);
    CHECK(f.records_looked == 72);
  }
}

TEST_CASE("detect_format: a damaged line in the head costs only itself") {
  // A first line cut short (a log that starts mid-record, or a run that crashed mid-line before
  // the next appended to the file): its object never closes, yet the records after it still tell
  // the dialect. It used to end the look, so the file was read as json: a loguru log then had
  // "no record names a task" (exit 2), an eliot log one task and garbage.
  for (const char* name : {"libraries/loguru_service.jsonl", "libraries/eliot_service.jsonl"}) {
    INFO(name);
    std::string head = head_of(name);
    InputFormat intact = coroner::detect_format(head);
    std::string cut = head.substr(0, 100) + "\n" + head.substr(head.find('\n') + 1);
    InputFormat f = coroner::detect_format(cut);
    CHECK(f.dialect == intact.dialect);
    CHECK_FALSE(f.multiline);
    CHECK(f.records_looked == intact.records_looked - 1);
    // In the middle of the head too: the records after it are counted.
    size_t third = head.find('\n', head.find('\n') + 1) + 1;
    std::string middle =
        head.substr(0, third) + R"({"broken": "no close)" + "\n" + head.substr(third);
    InputFormat m = coroner::detect_format(middle);
    CHECK(m.dialect == intact.dialect);
    CHECK(m.records_looked == intact.records_looked);
  }
}

TEST_CASE("detect_format: a one-line banner before indented values is still values over lines") {
  // A program that prints one JSON line, then the console exporter's indented spans: reading it
  // one line a value made every line of every span a bad line, and the file unreadable.
  std::string pretty = head_of("opentelemetry/spans_pretty.json");
  std::string banner = R"({"event": "service starting", "ts": 1795712343.0})"
                       "\n";
  InputFormat f = coroner::detect_format(banner + pretty);
  CHECK(f.dialect == Dialect::opentelemetry);
  CHECK(f.multiline);
  // Through ingest: every span read, the banner a bad line of its own (it is no span).
  Collect sink = ingest_text(banner + slurp(kFixtures + "opentelemetry/spans_pretty.json"));
  Collect alone = ingest_files({kFixtures + "opentelemetry/spans_pretty.json"});
  REQUIRE(sink.bad_lines.size() == 1);
  CHECK(sink.bad_lines[0].line == 1);
  CHECK(sink.records.size() == alone.records.size());
  // A one-a-line log stays one a line.
  CHECK_FALSE(coroner::detect_format(banner + banner).multiline);
}

TEST_CASE("detect_format on an empty or garbage head is json, one a line") {
  for (std::string head : {std::string(), std::string("\n\n"), std::string("not json at all\n"),
                           std::string("\x00\xff{{{{", 6), std::string("[1,2,3]\n"),
                           std::string("{\"a\": broken}\n")}) {
    INFO(head);
    InputFormat f = coroner::detect_format(head);
    CHECK(f.dialect == Dialect::json);
    CHECK_FALSE(f.multiline);
    CHECK(f.records_looked == 0);
    CHECK(f.keys.empty());
  }
  CHECK(coroner::detect_format("").why == "no record in the first bytes to tell from");
}

TEST_CASE("detect_format: a task field that names the kind of work gives way to the job id") {
  // structlog binding job_id and task=<the function's name> on every record of a job.
  auto jobs = [](int count, auto kind_of, std::string extra = "") {
    std::string head;
    for (const char* event : {"job started", "job finished"})  // the jobs at once
      for (int n = 0; n < count; ++n)
        head += fmt::format(R"({{"event":"{}","job_id":{},"task":"{}"{}}})", event, 1000 + n,
                            kind_of(n), extra) +
                "\n";
    return head;
  };
  SUBCASE("one kind on ten jobs: the task is the job") {
    InputFormat f = coroner::detect_format(jobs(10, [](int) { return "resize"; }));
    CHECK(f.task_field == "job_id");
    CHECK(f.kind_field == "task");
    CHECK(f.task_field_why == "task held one value (resize) on 20 records of 10 job_id values");
    RoleConfig roles = coroner::roles_for(f, coroner::default_roles());
    CHECK(roles[Role::task].front() == "job_id");
    CHECK(std::find(roles[Role::task].begin(), roles[Role::task].end(), "task") ==
          roles[Role::task].end());
  }
  SUBCASE("two kinds on twelve jobs") {
    InputFormat f =
        coroner::detect_format(jobs(12, [](int n) { return n % 2 ? "thumbnail" : "resize"; }));
    CHECK(f.task_field == "job_id");
  }
  SUBCASE("a task field that names each task stays the task") {
    std::vector<std::string> ids;
    for (int n = 0; n < 10; ++n) ids.push_back("t" + std::to_string(n));
    CHECK(
        coroner::detect_format(jobs(10, [&](int n) { return ids[size_t(n)]; })).task_field.empty());
  }
  SUBCASE("a task id beside them is the task") {
    CHECK(coroner::detect_format(jobs(
                                     10, [](int) { return "resize"; }, R"(,"task_id":"x")"))
              .task_field.empty());
  }
  SUBCASE("too few jobs, or a job under two kinds, says nothing") {
    CHECK(coroner::detect_format(jobs(2, [](int) { return "resize"; })).task_field.empty());
    std::string head = jobs(10, [](int) { return "resize"; }) +
                       R"({"event":"job started","job_id":1003,"task":"crop"})" + "\n";
    CHECK(coroner::detect_format(head).task_field.empty());
  }
  SUBCASE("workers taking jobs one at a time stay the tasks") {
    // taskName is the asyncio task of a worker; each job's records come before the next's.
    std::string head;
    for (int n = 0; n < 12; ++n)
      for (const char* event : {"job received", "job complete"})
        head += fmt::format(R"({{"message":"{}","request_id":"r{}","taskName":"worker-{}"}})",
                            event, n, n % 3) +
                "\n";
    CHECK(coroner::detect_format(head).task_field.empty());
    // The same jobs at once, under one value: the jobs are the tasks.
    std::string at_once;
    for (const char* event : {"job received", "job complete"})
      for (int n = 0; n < 12; ++n)
        at_once += fmt::format(R"({{"message":"{}","request_id":"r{}","taskName":"worker-{}"}})",
                               event, n, n % 3) +
                   "\n";
    CHECK(coroner::detect_format(at_once).task_field == "request_id");
  }
  SUBCASE("a user's --field task= keeps its field") {
    InputFormat f = coroner::detect_format(jobs(10, [](int) { return "resize"; }));
    RoleConfig user = coroner::default_roles();
    REQUIRE_FALSE(coroner::apply_field_override(user, "task=task").has_value());
    CHECK_FALSE(coroner::reads_task_field(f, user));
    CHECK(coroner::roles_for(f, user)[Role::task] == std::vector<std::string>{"task"});
  }
  SUBCASE("read so, serially and in parallel; --field task=task reads the kind again") {
    std::string head = jobs(10, [](int) { return "resize"; });
    for (unsigned threads : {1u, 2u}) {
      INFO("threads " << threads);
      TempFile file(head);
      Collect read =
          ingest_files({file.path()}, Dialect::automatic, coroner::default_roles(), threads);
      REQUIRE(read.formats.size() == 1);
      CHECK(read.formats[0].second.task_field == "job_id");
      REQUIRE(read.records.size() == 20);
      CHECK(read.of_task("1004").size() == 2);
      CHECK(read.of_task("resize").empty());
    }
    RoleConfig user = coroner::default_roles();
    REQUIRE_FALSE(coroner::apply_field_override(user, "task=task").has_value());
    Collect read = ingest_text(head, Dialect::automatic, user);
    CHECK(read.formats[0].second.task_field.empty());
    CHECK(read.of_task("resize").size() == 20);
  }
}

TEST_CASE("the key census: nested paths, dotted keys quoted, each key once per record") {
  std::string head =
      R"({"ts":1,"task":"a","extra":{"job":{"id":7}},"attributes":{"asyncio.task":"t1"},"ts":2})"
      "\n"
      R"({"ts":3,"extra":{"job":{"id":8},"host":"h"},"list":[1,2],"o":{}})"
      "\n"
      R"({"a":{"b":{"c":{"d":{"e":1}}}}})"
      "\n";
  InputFormat f = coroner::detect_format(head);
  REQUIRE(f.records_looked == 3);
  // A key written twice in one record counts once for it.
  REQUIRE(key(f, "ts") != nullptr);
  CHECK(key(f, "ts")->records == 2);
  CHECK(key(f, "ts")->samples == std::vector<std::string>{"1", "2", "3"});
  REQUIRE(key(f, "extra.job.id") != nullptr);
  CHECK(key(f, "extra.job.id")->records == 2);
  CHECK(key(f, "extra.host")->records == 1);
  CHECK(key(f, "task")->records == 1);
  CHECK(key(f, "task")->samples == std::vector<std::string>{"a"});
  // Objects are told by their keys, not listed themselves.
  CHECK(key(f, "extra") == nullptr);
  CHECK(key(f, "extra.job") == nullptr);
  // A key holding a dot is quoted, so the path means one key, not two.
  REQUIRE(key(f, "attributes.\"asyncio.task\"") != nullptr);
  CHECK(key(f, "attributes.asyncio.task") == nullptr);
  CHECK(key(f, "list")->samples == std::vector<std::string>{"[array]"});
  // Past four levels an object is a value of its own.
  REQUIRE(key(f, "a.b.c.d") != nullptr);
  CHECK(key(f, "a.b.c.d")->samples == std::vector<std::string>{"{object}"});
  CHECK(key(f, "a.b.c.d.e") == nullptr);
  // Commonest first.
  REQUIRE(f.keys.size() >= 2);
  CHECK(f.keys[0].records == 2);
  for (size_t i = 1; i < f.keys.size(); ++i) CHECK(f.keys[i - 1].records >= f.keys[i].records);
  // A long sample is cut, control characters are blanked.
  InputFormat g =
      coroner::detect_format(R"({"m":"line one\nline two and a good deal more text to cut"})");
  REQUIRE(key(g, "m") != nullptr);
  REQUIRE(key(g, "m")->samples.size() == 1);
  const std::string& sample = key(g, "m")->samples[0];
  CHECK(sample.find('\n') == std::string::npos);
  CHECK(sample.size() == 43);
  CHECK(sample.substr(40) == "...");
}

TEST_CASE("json_value_end and last_newline_between_values") {
  using coroner::json_value_end;
  using coroner::kNoValueEnd;
  using coroner::last_newline_between_values;
  auto end = [](std::string_view s) { return json_value_end(s.data(), s.size()); };
  auto cut = [](std::string_view s) { return last_newline_between_values(s.data(), s.size()); };
  CHECK(end(R"({"a":1} tail)") == 7);
  CHECK(end("{\n  \"a\": [1, {\"b\": 2}]\n}\n{}") == 24);
  // Brackets inside strings do not count, escaped quotes do not end them.
  CHECK(end(R"({"a":"}{]["} x)") == 12);
  CHECK(end(R"({"a":"\"}"} x)") == 11);
  CHECK(end(R"({"a":"\\"} x)") == 10);  // an escaped backslash, then the closing quote
  CHECK(end(R"([1,[2,[3]]]!)") == 11);
  // Not closed within the bytes: no end.
  CHECK(end(R"({"a":{"b":1})") == kNoValueEnd);
  CHECK(end(R"({"a":"}})") == kNoValueEnd);
  CHECK(end("") == kNoValueEnd);
  // A raw newline cannot be inside a valid string: the string ends there, and the count goes on.
  CHECK(end("{\"a\":\"broken\n}\n{\"b\":1}") == 14);

  std::string_view stream = "{\n \"a\": \"x\\n}\"\n}\n{\n \"b\": 2\n}\n";
  size_t first_end = stream.find("}\n{") + 2;
  CHECK(cut(stream) == stream.size());
  CHECK(cut(stream.substr(0, stream.size() - 1)) == first_end);
  // Newlines inside a value are not between values.
  CHECK(cut("{\n\"a\": 1,\n\"b\": 2") == kNoValueEnd);
  CHECK(cut("{\"s\": \"{\\\"\n\"}") == kNoValueEnd);  // raw newline ends the string; { open
  CHECK(cut("\n\n") == 2);
  CHECK(cut("") == kNoValueEnd);
  // A damaged string (a raw newline in it) does not swallow the values after it.
  std::string_view damaged = "{\"a\": \"no close\n}\n{\"b\": 1}\n";
  CHECK(cut(damaged) == damaged.size());
  // An unbalanced closing bracket between values does not drive the depth below zero.
  CHECK(cut("}\n]\n{\"a\":1}\n") == 12);
}

TEST_CASE("LineChunker in multi-line mode never cuts inside a value") {
  const std::string input = slurp(kFixtures + "opentelemetry/spans_pretty.json");
  std::vector<size_t> ends = value_ends(input);
  REQUIRE(ends.size() > 20);
  // The cuts a chunk may end at: past the newline that follows a value, or the input's end.
  std::set<size_t> allowed;
  for (size_t e : ends) {
    size_t nl = input.find('\n', e);
    allowed.insert(nl == std::string::npos ? input.size() : nl + 1);
  }
  allowed.insert(input.size());
  std::mt19937 random(20261126);
  for (int round = 0; round < 60; ++round) {
    size_t step = 1 + random() % 3000;
    size_t buffer = round < 10 ? 1 + size_t(round) : 16 + random() % 8000;
    INFO("read step " << step << ", buffer " << buffer);
    coroner_test::StringSource source(input, step);
    coroner::LineChunker chunker(source, buffer);
    chunker.set_multiline_values(true);
    coroner::Chunk chunk;
    std::string joined;
    uint64_t expected_line = 1;
    size_t chunks = 0;
    while (chunker.next(chunk)) {
      ++chunks;
      CHECK(chunk.first_line == expected_line);
      std::string_view text(chunk.data, chunk.size);
      expected_line += uint64_t(std::count(text.begin(), text.end(), '\n'));
      joined.append(text);
      CHECK(allowed.count(joined.size()) == 1);
    }
    CHECK(joined == input);
    if (buffer > 4000) CHECK(chunks > 1);
  }
  // Off, the same buffer cuts inside values: the test above would see it.
  coroner_test::StringSource source(input, 100);
  coroner::LineChunker lines(source, 200);
  coroner::Chunk chunk;
  size_t offset = 0;
  bool some_cut_inside = false;
  while (lines.next(chunk)) {
    offset += chunk.size;
    some_cut_inside |= allowed.count(offset) == 0;
  }
  CHECK(some_cut_inside);
}

TEST_CASE("a damaged value in an indented stream costs only itself") {
  // Three indented values; the middle one has a string broken by a raw newline and never closes.
  std::string text =
      "{\n  \"ts\": 1,\n  \"task\": \"a\",\n  \"stage\": \"start\"\n}\n"
      "{\n  \"ts\": 2,\n  \"task\": \"b\",\n  \"stage\": \"bro\nken\n"
      "{\n  \"ts\": 3,\n  \"task\": \"c\",\n  \"stage\": \"done\"\n}\n";
  for (size_t buffer : {size_t(8), size_t(64), size_t(4096)}) {
    INFO("buffer " << buffer);
    Collect sink;
    coroner_test::StringSource source(text);
    coroner::LineChunker chunker(source, buffer);
    InputFormat format = coroner::detect_format(text);
    REQUIRE(format.multiline);
    chunker.set_multiline_values(true);
    coroner::RecordParser parser(coroner::default_roles());
    coroner::Chunk chunk;
    while (chunker.next(chunk)) parser.parse_chunk(chunk, 0, sink, format);
    REQUIRE(sink.records.size() == 2);
    CHECK(sink.records[0].task == "a");
    CHECK(sink.records[0].line == 1);
    CHECK(sink.records[1].task == "c");
    CHECK(sink.records[1].line == 11);
    REQUIRE(sink.bad_lines.size() == 1);
    CHECK(sink.bad_lines[0].line == 6);  // the damaged value's first line
  }
}

TEST_CASE("eliot: actions are tasks named by task_uuid and level, nested ones awaited") {
  const std::string log =
      R"({"action_status":"started","timestamp":1.0,"task_uuid":"U","action_type":"job","task_level":[1]}
{"message_type":"app:step","timestamp":1.1,"task_uuid":"U","task_level":[2]}
{"action_status":"started","timestamp":1.2,"task_uuid":"U","action_type":"fetch","task_level":[3,1]}
{"message_type":"app:inner","timestamp":1.25,"task_uuid":"U","task_level":[3,2]}
{"action_status":"started","timestamp":1.3,"task_uuid":"U","action_type":"http","task_level":[3,3,1]}
{"exception":"asyncio.exceptions.CancelledError","reason":"","action_status":"failed","timestamp":1.4,"task_uuid":"U","action_type":"http","task_level":[3,3,2]}
{"log_level":"WARNING","message":"slow","message_type":"eliot:stdlib","timestamp":1.45,"task_uuid":"U","task_level":[3,4]}
{"exception":"builtins.ValueError","reason":"bad value","action_status":"failed","timestamp":1.5,"task_uuid":"U","action_type":"fetch","task_level":[3,5]}
{"reason":"'ttl'","exception":"builtins.KeyError","message_type":"eliot:traceback","timestamp":1.55,"task_uuid":"U","task_level":[4]}
{"action_status":"succeeded","timestamp":1.6,"task_uuid":"U","action_type":"job","task_level":[5]}
{"message_type":"app:hello","timestamp":1.7,"task_uuid":"V","task_level":[1]}
)";
  Collect sink = ingest_text(log);
  REQUIRE(sink.formats.size() == 1);
  CHECK(sink.formats[0].second.dialect == Dialect::eliot);
  CHECK(sink.bad_lines.empty());
  const auto& r = sink.records;
  REQUIRE(r.size() == 13);  // 11 records and the two nested starts' wait records
  // The root action: its type is its first stage.
  CHECK(r[0].task == "U");
  CHECK(r[0].stage == "job");
  CHECK(r[0].status == "started");
  CHECK(r[0].parent.empty());
  CHECK(r[0].marker.empty());
  CHECK(r[1].task == "U");
  CHECK(r[1].stage == "app:step");
  // A nested action's start: its parent waits on it first, at the same time and line.
  CHECK(r[2].task == "U");
  CHECK(r[2].marker == "child");
  CHECK(r[2].awaits == std::vector<std::string>{"U/3"});
  CHECK(r[2].waiting_for == "U/3 (fetch)");
  CHECK(r[2].time_ns == r[3].time_ns);
  CHECK(r[2].line == 3);
  CHECK(r[3].task == "U/3");
  CHECK(r[3].parent == "U");
  CHECK(r[3].stage == "fetch");
  CHECK(r[3].status == "started");
  CHECK(r[4].task == "U/3");
  CHECK(r[4].stage == "app:inner");
  // Deeper: UUID/3/3, awaited by UUID/3.
  CHECK(r[5].task == "U/3");
  CHECK(r[5].marker == "child");
  CHECK(r[5].awaits == std::vector<std::string>{"U/3/3"});
  CHECK(r[6].task == "U/3/3");
  CHECK(r[6].parent == "U/3");
  // A cancelled action: failed, CancelledError, its type as the text when the reason is empty.
  CHECK(r[7].task == "U/3/3");
  CHECK(r[7].status == "failed");
  CHECK(r[7].has_error);
  CHECK(r[7].error_type == "CancelledError");
  CHECK(r[7].error_text == "CancelledError");
  CHECK(r[7].stage.empty());
  // A stdlib record inside an action: its message is the stage, log_level the level.
  CHECK(r[8].task == "U/3");
  CHECK(r[8].stage == "slow");
  CHECK(r[8].level == "WARNING");
  CHECK(r[9].task == "U/3");
  CHECK(r[9].status == "failed");
  CHECK(r[9].error_type == "ValueError");
  CHECK(r[9].error_text == "bad value");
  CHECK(r[9].parent.empty());  // only the start names the parent, and emits no second wait
  // A traceback is an error of its action, no stage of it.
  CHECK(r[10].task == "U");
  CHECK(r[10].has_error);
  CHECK(r[10].error_type == "KeyError");
  CHECK(r[10].error_text == "'ttl'");
  CHECK(r[10].stage.empty());
  CHECK(r[10].status.empty());
  CHECK(r[11].task == "U");
  CHECK(r[11].status == "succeeded");
  // A message outside every action belongs to no task, not to a task named V.
  CHECK_FALSE(r[12].has_task);
  CHECK(r[12].task.empty());
  CHECK(sink.of_task("V").empty());
  // Only the starts of nested actions make wait records.
  size_t waits =
      size_t(std::count_if(r.begin(), r.end(), [](const Rec& x) { return !x.marker.empty(); }));
  CHECK(waits == 2);
}

TEST_CASE("eliot: the service fixture's actions") {
  Collect sink = ingest_files({kFixtures + "libraries/eliot_service.jsonl"});
  CHECK(sink.bad_lines.empty());
  REQUIRE(sink.formats.size() == 1);
  CHECK(sink.formats[0].second.dialect == Dialect::eliot);
  const std::string pipeline = "5cb43097-cf83-401f-a741-229554a888b0";
  // job-25 (a nested action of the pipeline at [27]) was cancelled, its fetch at [27, 2] too.
  auto job = sink.of_task(pipeline + "/27");
  REQUIRE_FALSE(job.empty());
  CHECK(job.front()->status == "started");
  CHECK(job.front()->parent == pipeline);
  CHECK(job.back()->status == "failed");
  CHECK(job.back()->error_type == "CancelledError");
  auto fetch = sink.of_task(pipeline + "/27/2");
  REQUIRE_FALSE(fetch.empty());
  CHECK(fetch.front()->parent == pipeline + "/27");
  CHECK(fetch.back()->error_type == "CancelledError");
  // The pipeline waits on each of its jobs from their starts.
  size_t waits_on_jobs = 0;
  for (const Rec* r : sink.of_task(pipeline))
    if (r->marker == "child") {
      ++waits_on_jobs;
      REQUIRE(r->awaits.size() == 1);
      CHECK(r->awaits[0].rfind(pipeline + "/", 0) == 0);
      CHECK(std::count(r->awaits[0].begin(), r->awaits[0].end(), '/') == 1);
    }
  CHECK(waits_on_jobs >= 40);
  // Every task is a uuid, then the numbers of its place.
  std::regex name("[0-9a-f-]{36}(/[0-9]+)*");
  for (const Rec& r : sink.records)
    if (r.has_task) CHECK_MESSAGE(std::regex_match(r.task, name), r.task);
  // The messages at [1] with no status are no task's (the shutdown note, the stdlib error).
  CHECK(std::any_of(sink.records.begin(), sink.records.end(),
                    [](const Rec& r) { return !r.has_task && r.line == 913; }));
}

TEST_CASE("OpenTelemetry console spans: indented and one a line read the same") {
  const std::string pretty = slurp(kFixtures + "opentelemetry/spans_pretty.json");
  // Each value of the indented stream minified onto one line: the one-line formatter's form.
  std::string oneline;
  simdjson::dom::parser parser;
  for (size_t pos = pretty.find('{'); pos != std::string::npos; pos = pretty.find('{', pos)) {
    size_t size = coroner::json_value_end(pretty.data() + pos, pretty.size() - pos);
    REQUIRE(size != coroner::kNoValueEnd);
    simdjson::dom::element value;
    REQUIRE(parser.parse(pretty.data() + pos, size).get(value) == simdjson::SUCCESS);
    oneline += simdjson::minify(value) + "\n";
    pos += size;
  }
  TempFile a(pretty), b(oneline);
  auto without_lines = [](std::vector<std::string> lines) {
    std::regex line(" line=[0-9]+ ");
    std::regex why("(multiline|lines) .*");
    for (auto& l : lines) l = std::regex_replace(std::regex_replace(l, line, " "), why, "");
    return lines;
  };
  std::vector<std::string> from_pretty = describe_file(a.path(), 1);
  std::vector<std::string> from_oneline = describe_file(b.path(), 1);
  REQUIRE(from_pretty.size() > 80);  // 30 spans: starts, events, ends, waits
  CHECK(from_pretty.front().find("opentelemetry multiline") != std::string::npos);
  CHECK(from_oneline.front().find("opentelemetry lines") != std::string::npos);
  CHECK(without_lines(from_pretty) == without_lines(from_oneline));
  CHECK(from_pretty != from_oneline);  // the line numbers are the file's own

  // The exporter's own one-line run (another run of the same program) reads as spans too: the
  // same span names, each span's start and end, ids without 0x.
  Collect one = ingest_files({kFixtures + "opentelemetry/spans_oneline.jsonl"});
  Collect two = ingest_files({a.path()});
  CHECK(one.bad_lines.empty());
  CHECK(two.bad_lines.empty());
  auto shape = [](const Collect& c) {
    std::multiset<std::string> out;
    for (const Rec& r : c.records) out.insert(r.stage + "|" + r.status + "|" + r.marker);
    return out;
  };
  CHECK(shape(one) == shape(two));
  std::regex id("[0-9a-f]{16}");
  for (const Rec& r : one.records) {
    CHECK(std::regex_match(r.task, id));
    CHECK(r.has_time);
  }
}

TEST_CASE("OpenTelemetry console spans: a span's records") {
  const std::string log =
      R"({"name": "pay", "context": {"trace_id": "0x01", "span_id": "0xABCDEF0123456789"},)"
      R"( "parent_id": "0x00000000000000FF", "start_time": "2026-11-26T10:59:48.000000Z",)"
      R"( "end_time": "2026-11-26T10:59:48.500000Z", "status": {"status_code": "ERROR",)"
      R"( "description": "gateway 502"}, "events": [{"name": "retrying",)"
      R"( "timestamp": "2026-11-26T10:59:48.100000Z", "attributes": {}}, {"name": "exception",)"
      R"( "timestamp": "2026-11-26T10:59:48.200000Z", "attributes": {"exception.type":)"
      R"( "RuntimeError", "exception.message": "gateway 502"}}]})"
      "\n"
      R"({"name": "ship", "context": {"span_id": "0x1111111111111111"}, "parent_id": null,)"
      R"( "start_time": "2026-11-26T10:59:49.000000Z", "end_time": "2026-11-26T10:59:49.1Z",)"
      R"( "status": {"status_code": "UNSET"}, "events": []})"
      "\n";
  Collect sink = ingest_text(log);
  CHECK(sink.bad_lines.empty());
  const auto& r = sink.records;
  REQUIRE(r.size() == 7);
  const std::string id = "abcdef0123456789";
  CHECK(r[0].task == "00000000000000ff");
  CHECK(r[0].marker == "child");
  CHECK(r[0].awaits == std::vector<std::string>{id});
  CHECK(r[0].waiting_for == id + " (pay)");
  CHECK(r[1].task == id);
  CHECK(r[1].stage == "pay");
  CHECK(r[1].status == "started");
  CHECK(r[1].parent == "00000000000000ff");
  CHECK(r[2].stage == "retrying");
  CHECK_FALSE(r[2].has_error);
  CHECK(r[2].time_ns - r[1].time_ns == 100'000'000);
  // The exception event: an error of the span, no stage.
  CHECK(r[3].has_error);
  CHECK(r[3].stage.empty());
  CHECK(r[3].error_type == "RuntimeError");
  CHECK(r[3].error_text == "gateway 502");
  CHECK(r[4].status == "failed");
  CHECK(r[4].error_text == "gateway 502");
  CHECK(r[4].time_ns - r[1].time_ns == 500'000'000);
  // A root span (parent_id null) has no wait record, and ends done.
  CHECK(r[5].task == "1111111111111111");
  CHECK(r[5].marker.empty());
  CHECK(r[5].parent.empty());
  CHECK(r[6].status == "done");
  CHECK_FALSE(r[6].has_error);
}

TEST_CASE("OTLP/JSON: ids in lowercase hex, times in nanoseconds, ERROR failed") {
  const std::string path = kFixtures + "otlp/trace.otlp.json";
  Collect sink = ingest_files({path});
  CHECK(sink.bad_lines.empty());
  REQUIRE(sink.formats.size() == 1);
  CHECK(sink.formats[0].second.dialect == Dialect::opentelemetry);
  // The first span of the file, read here with simdjson: its id and times come through exact.
  const std::string text = slurp(path);
  simdjson::dom::parser parser;
  simdjson::padded_string first_line(text.substr(0, text.find('\n')));
  simdjson::dom::element doc = parser.parse(first_line);
  simdjson::dom::object span = doc["resourceSpans"].at(0)["scopeSpans"].at(0)["spans"].at(0);
  std::string_view span_id = span["spanId"];
  std::string_view start = span["startTimeUnixNano"];
  std::string_view end_time = span["endTimeUnixNano"];
  // Its own records: its start and its end (its children's wait records come as they start).
  std::vector<const Rec*> own;
  for (const Rec* r : sink.of_task(span_id))
    if (r->marker.empty()) own.push_back(r);
  REQUIRE(own.size() >= 2);
  CHECK(own.front()->status == "started");
  CHECK(std::to_string(own.front()->time_ns) == start);
  CHECK(own.back()->status == "done");
  CHECK(std::to_string(own.back()->time_ns) == end_time);
  std::regex hex("[0-9a-f]{16}");
  for (const Rec& r : sink.records) CHECK_MESSAGE(std::regex_match(r.task, hex), r.task);
  // order 4/pay and order 4 ended with status ERROR (truth.json).
  for (const char* failed : {"da3fc5db908a49b8", "81b115c4e899ad8e"}) {
    INFO(failed);
    auto spans = sink.of_task(failed);
    REQUIRE_FALSE(spans.empty());
    CHECK(spans.back()->status == "failed");
  }
  // order 2/pay: an exception event (an error, no stage), then a clean end.
  auto pay = sink.of_task("cdf3ff3bae29c990");
  auto error = std::find_if(pay.begin(), pay.end(), [](const Rec* r) { return r->has_error; });
  REQUIRE(error != pay.end());
  CHECK((*error)->stage.empty());
  CHECK_FALSE((*error)->error_type.empty());
  CHECK(pay.back()->status == "done");
  // The never-exported spans exist only through their children's wait records.
  for (const char* parent : {"a33bbb4f05c602aa", "ceee76e45a5e49c3", "e468fb5d840951e1"}) {
    INFO(parent);
    auto of = sink.of_task(parent);
    REQUIRE_FALSE(of.empty());
    for (const Rec* r : of) CHECK(r->marker == "child");
  }
}

TEST_CASE("OTLP/JSON: upper-case ids, the status code by name, an id of a number") {
  const std::string log =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[)"
      R"({"spanId":"AB12CD34EF567890","parentSpanId":"","name":"a",)"
      R"("startTimeUnixNano":1795712343000001000,"endTimeUnixNano":"1795712343000003000",)"
      R"("status":{"code":"STATUS_CODE_ERROR","message":"no"}},)"
      R"({"spanId":"00000000000000a1","parentSpanId":"AB12CD34EF567890","name":"b",)"
      R"("startTimeUnixNano":"1795712343000002000","status":{"code":1}}]}]}]})"
      "\n";
  Collect sink = ingest_text(log);
  CHECK(sink.bad_lines.empty());
  auto a = sink.of_task("ab12cd34ef567890");
  REQUIRE(a.size() == 3);  // its start, its end, then its wait on b (b comes after it)
  CHECK(a[0]->status == "started");
  CHECK(a[0]->time_ns == 1795712343000001000);
  CHECK(a[1]->status == "failed");
  CHECK(a[1]->error_text == "no");
  CHECK(a[1]->time_ns == 1795712343000003000);
  CHECK(a[2]->marker == "child");
  CHECK(a[2]->awaits == std::vector<std::string>{"00000000000000a1"});
  auto b = sink.of_task("00000000000000a1");
  REQUIRE(b.size() == 1);  // no end time: never ended, and status OK (1) is no failure
  CHECK(b[0]->status == "started");
  CHECK(b[0]->parent == "ab12cd34ef567890");
  CHECK(b[0]->time_ns == 1795712343000002000);
  // A value with no span is a bad line, not a silent nothing.
  Collect none = ingest_text("{\"hello\": 1}\n", Dialect::opentelemetry);
  CHECK(none.records.empty());
  REQUIRE(none.bad_lines.size() == 1);
  CHECK(none.bad_lines[0].reason.find("no span") != std::string::npos);
}

TEST_CASE("a parent span that was never exported is a task, judged hung") {
  const std::string path = kFixtures + "opentelemetry/spans_pretty.json";
  Collect spans = ingest_files({path});
  // The never-exported spans: named as parents, never exported themselves.
  std::set<std::string> exported, named;
  std::string stuck;  // the parent of order 3's label: ship, stuck for good
  std::map<std::string, std::string> name_of;
  for (const Rec& r : spans.records)
    if (r.status == "started") {
      exported.insert(r.task);
      name_of[r.task] = r.stage;
    }
  for (const Rec& r : spans.records)
    if (!r.parent.empty() && !exported.count(r.parent)) {
      named.insert(r.parent);
      if (r.stage == "label") stuck = r.parent;
    }
  REQUIRE(named.size() == 3);  // ship of order 3, order 3, batch
  REQUIRE_FALSE(stuck.empty());

  coroner::Vocabulary vocabulary;
  coroner::TaskStore store(vocabulary, 10000, false);
  store.add_file(path);
  coroner::IngestResult result = coroner::ingest({path}, coroner::default_roles(), store);
  REQUIRE_FALSE(result.error.has_value());
  store.finish();
  coroner::AnalysisOptions options;
  // The program was killed by `timeout 1.5`: it stopped 1.5 s after its first span started.
  int64_t first = INT64_MAX;
  for (const Rec& r : spans.records) first = std::min(first, r.time_ns);
  options.program_stop = first + 1'500'000'000;
  coroner::Analysis analysis = coroner::analyze(store, options);
  auto kinds_of = [&](const std::string& task) {
    std::set<std::string> out;
    for (uint32_t t = 0; t < store.tasks().size(); ++t) {
      if (store.task_value(t) != task) continue;
      for (const auto& f : analysis.findings)
        if (f.task == t) out.insert(std::string(coroner::to_string(f.kind)));
    }
    return out;
  };
  CHECK(kinds_of(stuck).count("hung") == 1);
  for (const std::string& parent : named) {
    INFO(parent);
    auto kinds = kinds_of(parent);
    CHECK((kinds.count("hung") + kinds.count("blocked")) > 0);
  }
  // No exported span is hung or blocked: they all ended.
  for (const std::string& task : exported) {
    INFO(task << " " << name_of[task]);
    auto kinds = kinds_of(task);
    CHECK(kinds.count("hung") == 0);
    CHECK(kinds.count("blocked") == 0);
  }
}

TEST_CASE("parallel ingest gives the serial records for every dialect and form") {
  // Each fixture repeated past a megabyte: the parallel reader's chunks are 1 MB, so the file is
  // cut into chunks read on different threads (for the indented one, between values).
  for (const char* name :
       {"libraries/eliot_service.jsonl", "libraries/loguru_service.jsonl",
        "libraries/structlog_service.jsonl", "otlp/trace.otlp.json",
        "opentelemetry/spans_pretty.json", "opentelemetry/spans_oneline.jsonl"}) {
    INFO(name);
    std::string one = slurp(kFixtures + name);
    if (one.back() != '\n') one += '\n';
    std::string many;
    while (many.size() < (2600u << 10)) many += one;
    TempFile file(many);
    std::vector<std::string> serial = describe_file(file.path(), 1);
    std::vector<std::string> parallel = describe_file(file.path(), 3);
    REQUIRE(serial.size() > 1000);
    CHECK(std::count_if(serial.begin(), serial.end(),
                        [](const std::string& l) { return l.rfind("bad ", 0) == 0; }) == 0);
    CHECK(serial == parallel);
  }
}

TEST_CASE("split_field_path and apply_field_override") {
  using coroner::split_field_path;
  using V = std::vector<std::string>;
  CHECK(split_field_path("task_id") == V{"task_id"});
  CHECK(split_field_path("extra.task_id") == V{"extra", "task_id"});
  CHECK(split_field_path("attributes.\"asyncio.task\"") == V{"attributes", "asyncio.task"});
  CHECK(split_field_path("\"asyncio.task\"") == V{"asyncio.task"});
  CHECK(split_field_path("\"a.b\".\"c.d\".e") == V{"a.b", "c.d", "e"});
  for (const char* bad :
       {"", ".", "a.", ".a", "a..b", "\"a", "a.\"b", "\"a\"b", "\"\"", "a.\"\"", "\"a.b\"."}) {
    INFO(bad);
    CHECK(split_field_path(bad).empty());
  }
  RoleConfig roles = coroner::default_roles();
  const RoleConfig before = roles;
  for (const char* spec :
       {"task=a..b", "task=\"a", "task=a.", "stage=\"x\"y", "scope=host,\"pid"}) {
    INFO(spec);
    auto error = coroner::apply_field_override(roles, spec);
    REQUIRE(error.has_value());
    CHECK(error->find("malformed field path") != std::string::npos);
  }
  // A rejected path changes nothing.
  CHECK(roles.paths == before.paths);
  CHECK(roles.named_by_user == before.named_by_user);
  CHECK_FALSE(coroner::apply_field_override(roles, "task=attributes.\"asyncio.task\""));
  CHECK(roles[Role::task] == V{"attributes.\"asyncio.task\""});
  CHECK(roles.named_by_user[size_t(Role::task)]);
}

TEST_CASE("--field with a quoted key reads a key that holds a dot") {
  const std::string log =
      R"({"ts": 1, "asyncio.task": "t1", "asyncio": {"task": "nested"}, "stage": "a"})"
      "\n"
      R"({"ts": 2, "attributes": {"asyncio.task": "t2"}, "stage": "b"})"
      "\n";
  for (bool flat : {true, false}) {
    INFO("flat reader " << flat);
    auto parse = [&](const char* spec) {
      RoleConfig roles = coroner::default_roles();
      REQUIRE_FALSE(coroner::apply_field_override(roles, spec));
      coroner_test::StringSource source(log);
      coroner::LineChunker chunker(source);
      coroner::RecordParser parser(roles, flat);
      Collect sink;
      coroner::Chunk chunk;
      while (chunker.next(chunk)) parser.parse_chunk(chunk, 0, sink);
      REQUIRE(sink.records.size() == 2);
      return sink;
    };
    Collect quoted = parse("task=\"asyncio.task\"");
    CHECK(quoted.records[0].task == "t1");
    CHECK_FALSE(quoted.records[1].has_task);
    // Unquoted, the dot is a step into the object "asyncio", never the dotted key.
    Collect path = parse("task=asyncio.task");
    CHECK(path.records[0].task == "nested");
    CHECK_FALSE(path.records[1].has_task);
    Collect nested = parse("task=attributes.\"asyncio.task\"");
    CHECK_FALSE(nested.records[0].has_task);
    CHECK(nested.records[1].task == "t2");
  }
}

TEST_CASE("roles_for: loguru reads under record.extra, and keeps what the user named") {
  RoleConfig user = coroner::default_roles();
  RoleConfig loguru = coroner::roles_for(Dialect::loguru, user);
  CHECK(loguru[Role::time] == std::vector<std::string>{"record.time.timestamp"});
  CHECK(loguru[Role::level] == std::vector<std::string>{"record.level.name"});
  CHECK(loguru[Role::task].front() == "record.extra.task_id");
  CHECK(std::find(loguru[Role::stage].begin(), loguru[Role::stage].end(), "record.message") !=
        loguru[Role::stage].end());
  CHECK(loguru[Role::error].front() == "record.exception.value");
  CHECK(loguru[Role::error_type].front() == "record.exception.type");
  // A role named with --field keeps the user's path, as written, after the same under
  // record.extra (where what the program bound is) unless it starts there or at record; the
  // others stay loguru's.
  REQUIRE_FALSE(coroner::apply_field_override(user, "task=record.extra.job"));
  REQUIRE_FALSE(coroner::apply_field_override(user, "level=severity"));
  RoleConfig named = coroner::roles_for(Dialect::loguru, user);
  CHECK(named[Role::task] == std::vector<std::string>{"record.extra.job"});
  CHECK(named[Role::level] == std::vector<std::string>{"record.extra.severity", "severity"});
  CHECK(named[Role::time] == std::vector<std::string>{"record.time.timestamp"});
  CHECK(named.named_by_user[size_t(Role::task)]);
  CHECK_FALSE(named.named_by_user[size_t(Role::time)]);
  // --key names the scope: it is kept too.
  coroner::set_scope_fields(user, "record.extra.host");
  CHECK(coroner::roles_for(Dialect::loguru, user)[Role::scope] ==
        std::vector<std::string>{"record.extra.host"});
  // json reads the user's roles as they are.
  CHECK(coroner::roles_for(Dialect::json, user).paths == user.paths);

  // Through the reader: a loguru log with the job in record.extra.job.
  const std::string log =
      R"({"text": "x\n", "record": {"extra": {"job": "j1", "task_id": "other"}, "level": {"name": "INFO"}, "message": "fetch", "time": {"timestamp": 1795712343.5}}})"
      "\n";
  RoleConfig job = coroner::default_roles();
  REQUIRE_FALSE(coroner::apply_field_override(job, "task=record.extra.job"));
  Collect with = ingest_text(log, Dialect::automatic, job);
  REQUIRE(with.records.size() == 1);
  CHECK(with.formats[0].second.dialect == Dialect::loguru);
  CHECK(with.records[0].task == "j1");
  CHECK(with.records[0].stage == "fetch");
  CHECK(with.records[0].level == "INFO");
  CHECK(with.records[0].time_ns == 1795712343'500000000);
  Collect without = ingest_text(log);
  CHECK(without.records[0].task == "other");
}

TEST_CASE("dialect names") {
  CHECK(coroner::dialect_from_string("otel") == Dialect::opentelemetry);
  CHECK(coroner::dialect_from_string("opentelemetry") == Dialect::opentelemetry);
  CHECK(coroner::dialect_from_string("auto") == Dialect::automatic);
  CHECK_FALSE(coroner::dialect_from_string("Eliot").has_value());
  CHECK_FALSE(coroner::dialect_from_string("").has_value());
  for (Dialect d : {Dialect::json, Dialect::loguru, Dialect::eliot, Dialect::opentelemetry})
    CHECK(coroner::dialect_from_string(coroner::to_string(d)) == d);
  CHECK(coroner::dialect_names(false) == "json, loguru, eliot, opentelemetry");
  CHECK(coroner::dialect_names(true) == "auto, json, loguru, eliot, opentelemetry");
}

TEST_CASE("schema names an exception type read from inside an error list (dict_tracebacks)") {
  // structlog's dict_tracebacks: the type is in the list, in no field of the error-type role.
  TempFile file(
      R"({"event": "send failed", "task_id": "mail-3", "timestamp": "2026-11-27T07:16:29Z", )"
      R"("exception": [{"exc_type": "TimeoutError", "exc_value": "no reply", "frames": []}]})"
      "\n"
      R"({"event": "declined", "task_id": "mail-5", "timestamp": "2026-11-27T07:16:30Z", )"
      R"("exc_type": "PaymentDeclined", "exception": [{"exc_type": "X", "exc_value": "v"}]})"
      "\n"
      R"({"event": "sent", "task_id": "mail-4", "timestamp": "2026-11-27T07:16:31Z"})"
      "\n");
  coroner::SchemaCollector schema(coroner::default_roles());
  coroner::IngestResult result =
      coroner::ingest({file.path()}, coroner::default_roles(), schema, 0, nullptr, 1);
  REQUIRE_FALSE(result.error.has_value());
  const coroner::RoleUse& use = schema.uses()[size_t(coroner::Role::error_type)];
  CHECK(use.records == 2);
  std::map<std::string, uint64_t> by_field;
  for (const coroner::FieldUse& f : use.fields)
    if (f.records > 0) by_field[f.path] = f.records;
  // A field of the role wins, as it does for the analysis: the second record is exc_type's.
  CHECK(by_field == std::map<std::string, uint64_t>{{"exc_type", 1}, {"exception[0].exc_type", 1}});
}

TEST_CASE("schema names no path into an error that eliot's reader took the type from") {
  // eliot's failed actions write "exception": "builtins.ValueError" beside "reason": its reader
  // takes the type from there; there is no exception[0].exc_type to point a user at.
  coroner::SchemaCollector schema(coroner::default_roles());
  coroner::IngestResult result = coroner::ingest({kFixtures + "libraries/eliot_service.jsonl"},
                                                 coroner::default_roles(), schema, 0, nullptr, 1);
  REQUIRE_FALSE(result.error.has_value());
  for (const coroner::FieldUse& f : schema.uses()[size_t(coroner::Role::error_type)].fields) {
    INFO(f.path);
    CHECK((f.records == 0 || f.path.find("[0].exc_type") == std::string::npos));
  }
}

TEST_CASE(
    "detect_format: a scope field on only some task records is no part of a task's identity") {
  // A Dask worker's tasks log their pid as they start and not after; a dispatcher logs the job
  // without one. Read as the scope, pid would make two tasks of each job, one never finished.
  std::string head;
  for (int n = 0; n < 6; ++n)
    head += fmt::format(R"({{"message":"chunk started","task_id":"chunk-{}","pid":7}})", n) + "\n" +
            fmt::format(R"({{"message":"extract","task_id":"chunk-{}"}})", n) + "\n";
  head += R"({"message":"worker ready","pid":7})"
          "\n";  // no task: not counted
  InputFormat f = coroner::detect_format(head);
  CHECK(f.partial_scope_fields == std::vector<std::string>{"pid"});
  CHECK(f.partial_scope_why == "pid on 6 of the first 12 task records");
  coroner::RoleConfig roles = coroner::roles_for(f, coroner::default_roles());
  CHECK(std::find(roles[Role::scope].begin(), roles[Role::scope].end(), "pid") ==
        roles[Role::scope].end());
  CHECK(std::find(roles[Role::scope].begin(), roles[Role::scope].end(), "hostname") !=
        roles[Role::scope].end());
  // --key names the scope: the user's word stands.
  coroner::RoleConfig keyed = coroner::default_roles();
  coroner::set_scope_fields(keyed, "pid");
  CHECK(coroner::roles_for(f, keyed)[Role::scope] == std::vector<std::string>{"pid"});
  CHECK(coroner::own_roles_key(f, keyed).empty());
  CHECK_FALSE(coroner::own_roles_key(f, coroner::default_roles()).empty());

  SUBCASE("on every task record, or on none, it stays a scope field") {
    std::string every;
    for (int n = 0; n < 6; ++n)
      every += fmt::format(R"({{"message":"work","task_id":"t{}","pid":{}}})", n, n % 2) + "\n";
    CHECK(coroner::detect_format(every).partial_scope_fields.empty());
    CHECK(coroner::detect_format(every).partial_scope_why.empty());
  }

  SUBCASE("eliot's task_uuid is carried from process to process") {
    std::string eliot;
    for (int n = 0; n < 6; ++n)
      eliot += fmt::format(R"({{"action_status":"started","timestamp":1.0,"task_uuid":"u{}",)"
                           R"("action_type":"job","task_level":[1],"pid":{}}})",
                           n, 7 + n % 2) +
               "\n";
    InputFormat e = coroner::detect_format(eliot);
    CHECK(e.dialect == coroner::Dialect::eliot);
    CHECK(e.partial_scope_fields == std::vector<std::string>{"pid"});
    CHECK(e.partial_scope_why == "eliot's task_uuid names one task in every process");
  }
}
