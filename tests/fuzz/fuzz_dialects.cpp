// libFuzzer target: the dialects (dialect.hpp). The input's format is told from its head, then
// it is read in every dialect (json, loguru, eliot, opentelemetry), one value a line and as values
// over several lines, through the chunker with a tiny buffer and fuzzer-chosen read sizes. Checks
// that the chunks put back together are the input, that a multi-line chunk never ends inside a
// value that closes later, that records and bad lines come in line order within the input, and
// that the key census counts no key in more records than it looked at.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "../common/string_source.hpp"
#include "coroner/dialect.hpp"
#include "coroner/roles.hpp"
#include "fuzz_common.hpp"
#include "json_values.hpp"
#include "reader.hpp"
#include "record_parser.hpp"

namespace {

struct OrderSink : coroner::RecordSink {
  uint64_t last_line = 0, max_line = 0, records = 0;
  void on_record(const coroner::RawRecord& r) override {
    ++records;
    CHECK(r.line >= 1 && r.line <= max_line);
    CHECK(r.line >= last_line);
    last_line = r.line;
    // A record names its task only when it has one.
    CHECK(r.has_task || r.task.empty());
  }
  bool on_bad_line(const coroner::BadLine& b) override {
    CHECK(!b.reason.empty());
    CHECK(b.line >= 1 && b.line <= max_line);
    CHECK(b.line >= last_line);
    last_line = b.line;
    return true;
  }
};

void read_as(std::string_view input, coroner::Dialect dialect, bool multiline, size_t step,
             size_t buffer) {
  static const coroner::RoleConfig roles = coroner::default_roles();
  coroner_test::StringSource source(std::string(input), step);
  coroner::LineChunker chunker(source, buffer);
  coroner::InputFormat format = coroner::detect_format(chunker.head(4096), dialect);
  CHECK(format.dialect == dialect);
  format.multiline = multiline;
  chunker.set_multiline_values(multiline);
  coroner::RecordParser parser(roles);
  OrderSink sink;
  sink.max_line = uint64_t(std::count(input.begin(), input.end(), '\n')) + 1;
  coroner::Chunk chunk;
  std::string joined;
  while (chunker.next(chunk)) {
    CHECK(chunk.size > 0);
    std::string_view text(chunk.data, chunk.size);
    joined.append(text);
    bool last = joined.size() == input.size() - (input.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0);
    // A multi-line chunk but the last ends just past a newline between values.
    if (multiline && !last)
      CHECK(coroner::last_newline_between_values(chunk.data, chunk.size) == chunk.size);
    parser.parse_chunk(chunk, 0, sink, format);
  }
  std::string_view expected = input;
  if (expected.substr(0, 3) == "\xEF\xBB\xBF") expected.remove_prefix(3);
  CHECK(joined == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t knobs = data[0];
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  coroner::InputFormat told = coroner::detect_format(input);
  CHECK(told.dialect != coroner::Dialect::automatic);
  CHECK(!told.why.empty());
  for (const coroner::KeySeen& key : told.keys) {
    // (A key may be empty: {"": 1} is JSON. Its path is then empty too.)
    CHECK(key.records >= 1 && key.records <= told.records_looked);
    CHECK(key.samples.size() <= 3);
  }
  for (size_t i = 1; i < told.keys.size(); ++i)
    CHECK(told.keys[i - 1].records >= told.keys[i].records);

  // json_value_end: never past the bytes, and a value it ends starts and ends with brackets.
  for (size_t pos = input.find('{'); pos != std::string_view::npos;
       pos = input.find('{', pos + 1)) {
    size_t end = coroner::json_value_end(input.data() + pos, input.size() - pos);
    if (end == coroner::kNoValueEnd) break;
    CHECK(end >= 2 && end <= input.size() - pos);
    char close = input[pos + end - 1];
    CHECK(close == '}' || close == ']');
    pos += end - 1;
  }

  size_t step = 1 + (knobs & 0x0f) * 37;
  size_t buffer = 1 + ((knobs >> 4) & 0x0f) * 13;
  for (coroner::Dialect dialect : {coroner::Dialect::json, coroner::Dialect::loguru,
                                   coroner::Dialect::eliot, coroner::Dialect::opentelemetry}) {
    read_as(input, dialect, false, step, buffer);
    read_as(input, dialect, true, step, buffer);
  }
  return 0;
}
