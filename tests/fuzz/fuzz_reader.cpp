// libFuzzer target: bytes -> ByteSource (delivered in fuzzer-chosen read sizes) -> LineChunker
// (with a tiny buffer, so lines outgrow it) -> RecordParser. Checks that the chunks put back
// together are the input, that every chunk but the last ends with a newline, that the padding
// behind each chunk is readable, and that line numbers only move forward. The same bytes are
// also opened as a file through open_input(), which sniffs gzip and zstd and decompresses, and
// parsed with the flat reader off, which must change nothing.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "../common/describing_sink.hpp"
#include "coroner/roles.hpp"
#include "fuzz_common.hpp"
#include "reader.hpp"
#include "record_parser.hpp"

namespace {

// Hands out the input in reads whose sizes come from a small repeating pattern.
class PatternSource : public coroner::ByteSource {
 public:
  PatternSource(std::string_view data, uint8_t pattern) : data_(data), pattern_(pattern) {}
  size_t read(char* dest, size_t size) override {
    if (pos_ >= data_.size()) return 0;
    size_t step = size_t((pattern_ >> (reads_++ % 4) * 2) & 3);
    size_t want = step == 0 ? size : std::min(size, size_t(1) << (step * 3));  // 8, 64, 512 or all
    size_t n = std::min(want, data_.size() - pos_);
    std::memcpy(dest, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string_view data_;
  uint8_t pattern_;
  size_t pos_ = 0;
  unsigned reads_ = 0;
};

struct CountingSink : coroner::RecordSink {
  uint64_t records = 0, bad = 0, last_line = 0;
  void on_record(const coroner::RawRecord& r) override {
    ++records;
    CHECK(r.line >= last_line);
    last_line = r.line;
  }
  bool on_bad_line(const coroner::BadLine& b) override {
    ++bad;
    CHECK(!(b.reason.empty()));
    return true;
  }
};

void check_chunks(std::string_view input, uint8_t pattern, size_t buffer_size) {
  PatternSource source(input, pattern);
  coroner::LineChunker chunker(source, buffer_size);
  static const coroner::RoleConfig roles = coroner::default_roles();
  coroner::RecordParser parser(roles);
  CountingSink sink;
  coroner::Chunk chunk;
  std::string joined;
  uint64_t expected_line = 1;
  bool last_had_newline = true;
  while (chunker.next(chunk)) {
    CHECK(!(chunk.size == 0 || !last_had_newline));
    CHECK(!(chunk.capacity < chunk.size + coroner::LineChunker::kPadding));
    CHECK(!(chunk.first_line != expected_line));
    // Touch the padding: ASan reports it when it is not really there.
    volatile char sum = 0;
    for (size_t i = chunk.size; i < chunk.size + coroner::LineChunker::kPadding; ++i)
      sum = char(sum + chunk.data[i]);
    (void)sum;
    std::string_view text(chunk.data, chunk.size);
    size_t newlines = size_t(std::count(text.begin(), text.end(), '\n'));
    last_had_newline = text.back() == '\n';
    expected_line += newlines + (last_had_newline ? 0 : 1);
    joined.append(text);
    parser.parse_chunk(chunk, 0, sink);
  }
  std::string_view expected = input;
  if (expected.substr(0, 3) == "\xEF\xBB\xBF") expected.remove_prefix(3);
  CHECK(joined == expected);
  CHECK(!(chunker.lines_read() + 1 != expected_line));
  CHECK(!(sink.records + sink.bad > chunker.lines_read()));
}

// The flat reader must never change what a line says: simdjson alone reads the same chunks.
void compare_flat_reader(std::string_view input, uint8_t pattern, size_t buffer_size) {
  PatternSource source(input, pattern);
  coroner::LineChunker chunker(source, buffer_size);
  static const coroner::RoleConfig roles = coroner::default_roles();
  coroner::RecordParser flat(roles, true);
  coroner::RecordParser simdjson_only(roles, false);
  coroner_test::DescribingSink with, without;
  coroner::Chunk chunk;
  while (chunker.next(chunk)) {
    flat.parse_chunk(chunk, 0, with);
    simdjson_only.parse_chunk(chunk, 0, without);
  }
  if (with.lines != without.lines) {
    for (size_t i = 0; i < std::max(with.lines.size(), without.lines.size()); ++i) {
      const char* a = i < with.lines.size() ? with.lines[i].c_str() : "(none)";
      const char* b = i < without.lines.size() ? without.lines[i].c_str() : "(none)";
      if (std::strcmp(a, b) != 0) std::fprintf(stderr, "flat:     %s\nsimdjson: %s\n", a, b);
    }
    CHECK(!"the flat reader and simdjson read the log differently");
  }
}

void read_as_file(const uint8_t* data, size_t size) {
  static coroner_fuzz::MemFile file;
  const std::string& path = file.set(data, size);
  coroner::OpenedInput input = coroner::open_input(path);
  if (!input.source) return;
  coroner::LineChunker chunker(*input.source, 4096);
  coroner::Chunk chunk;
  uint64_t total = 0;
  while (chunker.next(chunk)) {
    total += chunk.size;
    if (total > (64u << 20)) break;  // a decompression bomb: enough
  }
  if (input.compression == coroner::Compression::none && input.source->error().empty() &&
      total != size - (size >= 3 && std::memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0))
    CHECK(!"a plain file must come back whole");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    check_chunks({}, 0, 16);
    return 0;
  }
  uint8_t pattern = data[0];
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  check_chunks(input, pattern, 1 + (pattern & 0x1f));
  check_chunks(input, uint8_t(~pattern), size_t(1) << 17);
  compare_flat_reader(input, pattern, 64 + (pattern & 0x3f) * 64);
  read_as_file(data + 1, size - 1);
  return 0;
}
