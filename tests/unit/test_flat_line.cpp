// The flat line reader: what it reads, what it leaves to simdjson, and (the property that
// matters) that a log reads the same with it and without it.
#include <doctest/doctest.h>

#include <cstring>
#include <list>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../common/describing_sink.hpp"
#include "../common/string_source.hpp"
#include "coroner/roles.hpp"
#include "flat_line.hpp"
#include "reader.hpp"
#include "record_parser.hpp"

namespace {

using coroner::FlatLineReader;
using Kind = coroner::JsonScalar::Kind;

// A FlatLineReader with the lines it read kept alive: its fields are views into them.
struct Reader {
  FlatLineReader flat;
  std::list<std::string> lines;

  // Reads `text` as one line, padded as a chunk is. False when the reader refused it.
  bool read(const std::string& text) {
    std::string& padded = lines.emplace_back(text);
    padded.append(coroner::kFlatLinePadding, '\0');
    const char* end = padded.data() + text.size();
    const char* next = flat.read(padded.data(), end);
    if (next) CHECK(next == end);
    return next != nullptr;
  }
  const coroner::FlatField& field(size_t i) const { return flat.field(i); }
};

bool accepted(const std::string& text) {
  return Reader().read(text);
}

using coroner_test::StringSource;

std::vector<std::string> parse(const std::string& text, const coroner::RoleConfig& roles,
                               bool flat_lines, size_t buffer) {
  coroner_test::DescribingSink sink;
  StringSource source(text);
  coroner::LineChunker chunker(source, buffer);
  coroner::RecordParser parser(roles, flat_lines);
  coroner::Chunk chunk;
  while (chunker.next(chunk)) parser.parse_chunk(chunk, 0, sink);
  return sink.lines;
}

// Random log lines, mostly flat and well formed, with every kind of trouble mixed in: escapes,
// non-ASCII text, nested values, bad numbers and literals, missing or extra punctuation, keys
// that come twice.
class LineMaker {
 public:
  // `clean_share` of every 16 lines are plain seed-format lines, as most of a real log is.
  LineMaker(unsigned seed, unsigned clean_share) : random_(seed), clean_share_(clean_share) {}

  std::string line() {
    if (random_() % 16 < clean_share_) {
      std::string out = "{\"timestamp\": 1795578788.";
      out.append(std::to_string(random_() % 100000)).append(", \"task_id\": ");
      out.append(std::to_string(random_() % 64)).append(", \"stage\": \"");
      out.append(pick({"validate", "fetch", "store", "done"})).append("\"");
      // The same key again, with a value that is a task id or not: the last wins.
      if (chance(4)) out.append(pick({", \"task_id\": ", ", \"stage\": "})).append(value());
      return out.append("}");
    }
    if (chance(3))
      return pick({"", "   ", "\t\r", "not json", "{", "}", "{}", " { } ", "[1]", "\"x\"",
                   "stdout F {\"task\": \"p\"}", "{\"task\": \"a\"} x",
                   "{\"task\": \"a\"}{\"task\": \"b\"}"});
    std::string out = chance(10) ? " {" : "{";
    int fields = int(random_() % 6);
    std::string last_key;
    for (int i = 0; i < fields; ++i) {
      if (i > 0) out += chance(40) ? "" : pick({",", ", ", " , ", ",\t"});
      if (last_key.empty() || !chance(4)) last_key = key();  // else the same key again
      out += last_key;
      out += pick({":", ": ", " : ", ":\t"});
      out += value();
    }
    if (chance(40)) out += ",";
    out += pick({"}", " }", "}\r", "} ", "}\t"});
    return out;
  }

 private:
  bool chance(int one_in) { return random_() % unsigned(one_in) == 0; }
  std::string pick(std::initializer_list<const char*> choices) {
    return *(choices.begin() + random_() % choices.size());
  }

  std::string key() {
    if (chance(30))
      return pick(
          {"\"ta\\u0073k\"", "\"caf\xc3\xa9\"", "\"\"", "\"a\\\"b\"", "task", "\"bad\x01key\""});
    std::string out = "\"";
    out.append(
        pick({"timestamp",  "ts",     "time",     "task_id", "task",    "stage", "event", "status",
              "state",      "error",  "exc_info", "timeout", "attempt", "retry", "level", "parent",
              "waiting_on", "awaits", "worker",   "host",    "extra",   "msg"}));
    return out.append("\"");
  }

  std::string value() {
    switch (random_() % 5) {
      case 0:
        return pick({"0", "-1", "1.5", "1795578788.0001457", "1e9", "1E-3", "1700000000123",
                     "2.5e0", "-0", "30", "1e999", "3", "12345678901234567890123"});
      case 1:
        return pick({"\"\"", "\"a\"", "\"fetch\"", "\"done\"", "\"2026-11-25T09:23:19Z\"",
                     "\"250ms\"", "\"ERROR\"", "\"true\"", "\"1795578788.5\"", "\"Task-12\""});
      case 2:
        return pick({"true", "false", "null"});
      case 3:  // refused by the flat reader, read by simdjson
        return pick({"\"a\\nb\"", "\"caf\xc3\xa9\"", "\"\\u00e9\"", "[\"a\", 2]", "[]",
                     "{\"x\": 1}", "{}", "{\"task_id\": 7}", "[[1]]", "{\"task\": \"n\"}",
                     "{\"task\": \"n\", \"task\": null}", "{\"task_id\": 7, \"task_id\": 8}",
                     "[\"a\", true, 1.5, null, 3]"});
      default:  // damage
        return pick({"01", "1.", ".5", "-", "1e", "+1", "1.2.3", "12abc", "tru", "nul", "truex",
                     "\"open", "\"bad\x01", "\"\xff\"", "NaN", "", "'a'"});
    }
  }

  std::mt19937 random_;
  unsigned clean_share_;
};

}  // namespace

TEST_CASE("coroner::FlatLineReader reads flat objects") {
  Reader reader;
  REQUIRE(reader.read(R"({"timestamp": 1795578788.5, "task_id": 1032, "stage": "fetch"})"));
  REQUIRE(reader.flat.size() == 3);
  CHECK(reader.field(0).key == "timestamp");
  CHECK(reader.field(0).value.kind == Kind::number);
  CHECK(reader.field(0).value.text == "1795578788.5");
  CHECK(reader.field(1).value.text == "1032");
  CHECK(reader.field(2).key == "stage");
  CHECK(reader.field(2).value.kind == Kind::string);
  CHECK(reader.field(2).value.text == "fetch");
  CHECK_FALSE(reader.flat.same_keys());

  REQUIRE(reader.read(R"({"ok": true, "bad": false, "none": null, "e": "", "n": -0.5e-3})"));
  REQUIRE(reader.flat.size() == 5);
  CHECK(reader.field(0).value.kind == Kind::boolean);
  CHECK(reader.field(0).value.text == "true");
  CHECK(reader.field(1).value.text == "false");
  CHECK(reader.field(2).value.kind == Kind::null);
  CHECK(reader.field(2).value.text.empty());
  CHECK(reader.field(3).value.kind == Kind::string);
  CHECK(reader.field(4).value.text == "-0.5e-3");

  CHECK(accepted("{}"));
  CHECK(accepted(" \t{ \"a\" :\t1 ,\"b\":2 } \r"));
  std::string long_value = "{\"long\": \"";
  CHECK(accepted(long_value.append(100, 'x').append("\"}")));
}

TEST_CASE("coroner::FlatLineReader tells blank lines apart") {
  Reader reader;
  for (const char* text : {"", " ", "\t\r"}) {
    REQUIRE(reader.read(text));
    CHECK(reader.flat.blank());
  }
  REQUIRE(reader.read("{}"));
  CHECK_FALSE(reader.flat.blank());
  CHECK(reader.flat.size() == 0);
}

TEST_CASE("coroner::FlatLineReader leaves every other line to simdjson") {
  // Read by simdjson instead: escapes, non-ASCII text, nested values.
  CHECK_FALSE(accepted(R"({"a": "x\ny"})"));
  CHECK_FALSE(accepted(R"({"t\u0061sk": 1})"));
  CHECK_FALSE(accepted("{\"a\": \"caf\xc3\xa9\"}"));
  CHECK_FALSE(accepted(R"({"a": [1]})"));
  CHECK_FALSE(accepted(R"({"a": {"b": 1}})"));
  // Not JSON at all, or not one object: simdjson's per-line path says why.
  for (const char* text : {"{",
                           "}",
                           "[]",
                           "\"a\"",
                           "x",
                           R"({"a": 01})",
                           R"({"a": 1.})",
                           R"({"a": .5})",
                           R"({"a": -})",
                           R"({"a": 1e})",
                           R"({"a": +1})",
                           R"({"a": 1.2.3})",
                           R"({"a": 12abc})",
                           R"({"a": tru})",
                           R"({"a": nul})",
                           R"({"a": truex})",
                           R"({"a": "open})",
                           "{\"a\": \"x\x01y\"}",
                           R"({"a": 1,})",
                           R"({"a" 1})",
                           R"({"a": 1 "b": 2})",
                           R"({a: 1})",
                           R"({"a": 1} x)",
                           R"({"a": 1}{"b": 2})",
                           R"({"a": 'x'})",
                           "{\"a\": 1}\x0c"})
    CHECK_MESSAGE(!accepted(text), text);
}

TEST_CASE("coroner::FlatLineReader knows a line with the last line's keys") {
  Reader reader;
  REQUIRE(reader.read(R"({"ts": 1, "task": "a", "stage": "x"})"));
  CHECK_FALSE(reader.flat.same_keys());
  REQUIRE(reader.read(R"({"ts": 22.5, "task": "bb", "stage": "yyyy"})"));
  CHECK(reader.flat.same_keys());
  CHECK(reader.field(1).key == "task");
  CHECK(reader.field(1).value.text == "bb");
  CHECK(reader.field(2).value.text == "yyyy");
  // A value of another kind in the same place keeps the keys.
  REQUIRE(reader.read(R"({"ts": "2026-11-25T09:00:00Z", "task": 7, "stage": null})"));
  CHECK(reader.flat.same_keys());
  CHECK(reader.field(0).value.kind == Kind::string);
  // Other spacing, another key, one field more or less: read in full.
  for (const char* text :
       {R"({"ts":1, "task": "a", "stage": "x"})", R"({"ts": 1, "task": "a", "stagf": "x"})",
        R"({"ts": 1, "task": "a", "stage": "x", "more": 1})", R"({"ts": 1, "task": "a"})"}) {
    REQUIRE(reader.read(text));
    CHECK_FALSE(reader.flat.same_keys());
  }
  // A line that starts like the last one but goes wrong is still refused.
  REQUIRE(reader.read(R"({"ts": 1, "task": "a"})"));
  CHECK_FALSE(reader.read(R"({"ts": 1, "task": "a\n"})"));
  CHECK_FALSE(reader.read(R"({"ts": 1, "task": "a"} tail)"));
  CHECK_FALSE(reader.read(R"({"ts": 1, "task": "a",})"));
  // A blank line between keeps the shape.
  REQUIRE(reader.read(""));
  REQUIRE(reader.read(R"({"ts": 3, "task": "c"})"));
  CHECK(reader.flat.same_keys());
}

TEST_CASE("coroner::is_json_number") {
  for (const char* text : {"0", "-0", "7", "-12", "1.5", "0.25", "1e9", "1E+9", "2.5e-3"})
    CHECK_MESSAGE(coroner::is_json_number(text), text);
  for (const char* text : {"", "-", "01", "1.", ".5", "+1", "1e", "1e+", "0x1", "1 ", "NaN"})
    CHECK_MESSAGE(!coroner::is_json_number(text), text);
}

// A task id that is a number must be an integer as JSON writes it: "1042", "-7", "0", never "007",
// "1.0", "1e3" or "12a4". Held to the plain definition, one byte after another, on every text of
// up to ten bytes from a small alphabet (the word-at-a-time check covers four to eight).
TEST_CASE("coroner::is_json_integer") {
  for (const char* text : {"0", "-0", "7", "-12", "1042", "12345678", "-87654321", "123456789"})
    CHECK_MESSAGE(coroner::is_json_integer(text), text);
  for (const char* text : {"", "-", "01", "-01", "1.0", "1e3", "12a4", "1234567a", "a2345678",
                           "1234:678", "1234/678", "--12", "+12", "1 ", " 1", "0000"})
    CHECK_MESSAGE(!coroner::is_json_integer(text), text);
  auto plain = [](std::string_view text) {
    size_t i = !text.empty() && text[0] == '-' ? 1 : 0;
    if (i == text.size() || text[i] < '0' || text[i] > '9') return false;
    if (text[i] == '0') return i + 1 == text.size();
    for (++i; i < text.size(); ++i)
      if (text[i] < '0' || text[i] > '9') return false;
    return true;
  };
  std::mt19937 random(1042);
  const std::string alphabet = "0123456789-.e/:a \x80";
  size_t integers = 0;
  for (int round = 0; round < 300000; ++round) {
    std::string text;
    size_t size = random() % 11;
    for (size_t i = 0; i < size; ++i)
      text += random() % 4 != 0 ? char('0' + random() % 10) : alphabet[random() % alphabet.size()];
    INFO("text: '" << text << "'");
    CHECK(coroner::is_json_integer(text) == plain(text));
    integers += plain(text);
  }
  CHECK(integers > 10000);  // not a comparison of refusals alone
}

// The property the flat reader rests on: any log reads the same with it and without it, to the
// last field, line number and reason for a bad line.
TEST_CASE("coroner::RecordParser reads the same with the flat reader and without it") {
  for (unsigned seed = 1; seed <= 40; ++seed) {
    // From lines of every kind to a clean log with a bad line now and then: the flat reader
    // hands simdjson a window of lines, or a line alone.
    LineMaker maker(seed, seed % 4 * 5);
    std::string text;
    // Runs of one shape, as logs have, between random lines.
    for (int i = 0; i < 400; ++i) {
      std::string line = maker.line();
      int repeats = i % 7 == 0 ? 5 : 1;
      for (int r = 0; r < repeats; ++r) text.append(line).append(i % 11 == 0 ? "\r\n" : "\n");
    }
    if (seed % 2) text.pop_back();  // no newline at the end
    // The default roles, and roles read from nested fields ("extra.task"), so that a key with
    // children in the role tree ("extra") meets scalar values too.
    coroner::RoleConfig roles = coroner::default_roles();
    if (seed % 3 == 0) {
      REQUIRE_FALSE(coroner::apply_field_override(roles, "task=extra.task,task_id"));
      REQUIRE_FALSE(coroner::apply_field_override(roles, "stage=stage,extra.task_id"));
      coroner::set_scope_fields(roles, "host,worker");
    }
    for (size_t buffer : {size_t(256), size_t(4096), coroner::LineChunker::kDefaultBufferSize}) {
      INFO("seed " << seed << ", buffer " << buffer);
      auto with = parse(text, roles, true, buffer);
      auto without = parse(text, roles, false, buffer);
      REQUIRE(with.size() == without.size());
      for (size_t i = 0; i < with.size(); ++i) CHECK(with[i] == without[i]);
    }
  }
}
