#include <doctest/doctest.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "../common/string_source.hpp"
#include "reader.hpp"

#ifndef CORONER_TESTS_DIR
#define CORONER_TESTS_DIR "."
#endif

namespace {

using coroner::Chunk;
using coroner::Compression;
using coroner::LineChunker;
namespace fs = std::filesystem;

const std::string kFixtures = std::string(CORONER_TESTS_DIR) + "/fixtures/";

using coroner_test::StringSource;

// Numbered lines as one string, "1:'text'\n2:'text'\n": doctest prints it on failure.
struct Lines {
  std::string text;
  void add(uint64_t number, std::string_view line) {
    text += std::to_string(number) + ":'" + std::string(line) + "'\n";
  }
};

// Every line of every chunk, numbered by the chunk's first_line, checking each chunk's shape:
// whole lines only, and the padding behind it readable.
std::string lines_of(coroner::ByteSource& source, size_t buffer_size,
                     uint64_t* lines_read = nullptr) {
  LineChunker chunker(source, buffer_size);
  Lines lines;
  Chunk chunk;
  uint64_t expected_first = 1;
  bool saw_unterminated = false;
  while (chunker.next(chunk)) {
    REQUIRE(chunk.size > 0);
    REQUIRE(chunk.capacity >= chunk.size + LineChunker::kPadding);
    CHECK(chunk.first_line == expected_first);
    // Only the last chunk of the input may end without a newline.
    CHECK_FALSE(saw_unterminated);
    volatile char sink = 0;
    for (size_t i = chunk.size; i < chunk.capacity; ++i) sink = sink ^ chunk.data[i];
    std::string_view text(chunk.data, chunk.size);
    uint64_t number = chunk.first_line;
    while (!text.empty()) {
      size_t nl = text.find('\n');
      if (nl == std::string_view::npos) {
        saw_unterminated = true;
        lines.add(number++, text);
        break;
      }
      lines.add(number++, text.substr(0, nl));
      text.remove_prefix(nl + 1);
    }
    expected_first = number;
  }
  if (lines_read) *lines_read = chunker.lines_read();
  return lines.text;
}

std::string expected_lines(const std::vector<std::string>& texts) {
  Lines out;
  for (size_t i = 0; i < texts.size(); ++i) out.add(i + 1, texts[i]);
  return out.text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  REQUIRE(out.good());
}

// Everything a ByteSource yields, read through small, odd-sized reads.
std::string drain(coroner::ByteSource& source) {
  std::string out;
  char buffer[1000];
  while (size_t n = source.read(buffer, sizeof buffer)) out.append(buffer, n);
  return out;
}

struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "coroner-reader-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

std::string gzip_of(std::string_view data) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, uLong(data.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = uInt(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string zstd_of(std::string_view data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// A log big enough that its compressed form has many blocks: a cut leaves a readable prefix.
std::string big_log() {
  std::string log;
  for (int i = 0; log.size() < (3u << 20); ++i)
    log += "{\"timestamp\": " + std::to_string(1795610067 + i) +
           ".25, \"task_id\": " + std::to_string(i % 977) + ", \"stage\": \"stage-" +
           std::to_string(i * 7919 % 10007) + "\"}\n";
  return log;
}

}  // namespace

TEST_CASE("coroner::count_newlines agrees with std::count at every size and offset") {
  // Sizes across its 16-byte lanes and 4080-byte blocks, where a byte counter would overflow.
  std::string text;
  for (size_t i = 0; i < 20000; ++i) text.push_back(i % 7 == 0 || i % 4096 < 300 ? '\n' : 'x');
  for (size_t size : {0, 1, 15, 16, 17, 255, 4079, 4080, 4081, 8160, 8161, 12000, 20000}) {
    for (size_t offset : {0, 1, 9}) {
      if (offset + size > text.size()) continue;
      INFO("size " << size << " offset " << offset);
      const char* data = text.data() + offset;
      CHECK(coroner::count_newlines(data, size) == uint64_t(std::count(data, data + size, '\n')));
    }
  }
  std::string all(5000, '\n');
  CHECK(coroner::count_newlines(all.data(), all.size()) == 5000);
}

TEST_CASE("coroner::LineChunker") {
  SUBCASE("lines split at newlines whatever the buffer size, lines longer than the buffer") {
    std::vector<std::string> texts = {"{\"a\":1}",
                                      "",
                                      "short",
                                      std::string(150, 'x'),
                                      "{\"task\":\"t\",\"stage\":\"s\"}",
                                      std::string(65, 'y'),
                                      "z",
                                      std::string(64, 'w'),
                                      std::string(63, 'v'),
                                      "\r"};
    std::string input;
    for (const auto& t : texts) input += t + "\n";
    for (size_t buffer = 1; buffer <= 64; ++buffer) {
      for (size_t step : {size_t(1), size_t(7), SIZE_MAX}) {
        INFO("buffer " << buffer << ", read step " << step);
        StringSource source(input, step);
        uint64_t lines_read = 0;
        CHECK(lines_of(source, buffer, &lines_read) == expected_lines(texts));
        CHECK(lines_read == texts.size());
      }
    }
  }

  SUBCASE("a final line without a newline is still a line") {
    for (size_t buffer : {size_t(1), size_t(3), size_t(16), LineChunker::kDefaultBufferSize}) {
      INFO("buffer " << buffer);
      StringSource source("{\"a\":1}\n{\"b\":2}", 5);
      uint64_t lines_read = 0;
      CHECK(lines_of(source, buffer, &lines_read) == expected_lines({"{\"a\":1}", "{\"b\":2}"}));
      CHECK(lines_read == 2);
    }
  }

  SUBCASE("a single line without newline") {
    StringSource source("only");
    CHECK(lines_of(source, 64) == expected_lines({"only"}));
  }

  SUBCASE("empty input gives no chunk") {
    StringSource source("");
    LineChunker chunker(source, 16);
    Chunk chunk;
    CHECK_FALSE(chunker.next(chunk));
    CHECK(chunker.lines_read() == 0);
  }

  SUBCASE("blank lines are lines: numbering counts them") {
    StringSource source("\n\n{\"a\":1}\n\n");
    CHECK(lines_of(source, 8) == expected_lines({"", "", "{\"a\":1}", ""}));
  }

  SUBCASE("a UTF-8 BOM at the start is dropped, line numbers unchanged") {
    for (size_t buffer :
         {size_t(3), size_t(4), size_t(10), size_t(64), LineChunker::kDefaultBufferSize}) {
      INFO("buffer " << buffer);
      StringSource source("\xEF\xBB\xBF{\"a\":1}\n{\"b\":2}\n");
      CHECK(lines_of(source, buffer) == expected_lines({"{\"a\":1}", "{\"b\":2}"}));
    }
    for (size_t buffer : {size_t(10), size_t(64), LineChunker::kDefaultBufferSize}) {
      INFO("buffer " << buffer << ", one byte a read");
      StringSource source("\xEF\xBB\xBF{\"a\":1}\n{\"b\":2}\n", 1);
      CHECK(lines_of(source, buffer) == expected_lines({"{\"a\":1}", "{\"b\":2}"}));
    }
  }

  SUBCASE("a BOM elsewhere than at the start is kept") {
    StringSource source("{\"a\":1}\n\xEF\xBB\xBF{\"b\":2}\n");
    CHECK(lines_of(source, 64) == expected_lines({"{\"a\":1}", "\xEF\xBB\xBF{\"b\":2}"}));
  }

  SUBCASE("a short input that only looks like the start of a BOM is kept") {
    StringSource source("\xEF\xBB");
    CHECK(lines_of(source, 64) == expected_lines({"\xEF\xBB"}));
  }

  SUBCASE("a read error ends the chunks and is reported by the source") {
    const std::string input = "{\"a\":1}\n{\"b\":2}\n{\"c\"";
    StringSource source(input, SIZE_MAX, 20);
    LineChunker chunker(source, 64);
    Chunk chunk;
    std::string seen;
    while (chunker.next(chunk)) seen.append(chunk.data, chunk.size);
    // Whatever was handed out is whole lines of the input; the cut line is never handed out.
    CHECK(input.compare(0, seen.size(), seen) == 0);
    CHECK((seen.empty() || seen.back() == '\n'));
    CHECK(source.error() == "Input/output error");
  }

  SUBCASE("a 100 MB line, between two short ones") {
    const size_t kBig = 100u << 20;
    std::string input = "{\"first\":1}\n{\"big\":\"";
    input.append(kBig, 'a');
    input += "\"}\n{\"last\":3}\n";
    StringSource source(std::move(input));
    LineChunker chunker(source);
    Chunk chunk;
    std::vector<std::pair<uint64_t, size_t>> lines;  // number, length
    std::string last;
    while (chunker.next(chunk)) {
      REQUIRE(chunk.capacity >= chunk.size + LineChunker::kPadding);
      std::string_view text(chunk.data, chunk.size);
      uint64_t number = chunk.first_line;
      while (!text.empty()) {
        size_t nl = text.find('\n');
        REQUIRE(nl != std::string_view::npos);
        lines.emplace_back(number++, nl);
        last = std::string(text.substr(0, std::min<size_t>(nl, 32)));
        text.remove_prefix(nl + 1);
      }
    }
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == std::pair<uint64_t, size_t>{1, 11});
    CHECK(lines[1] == std::pair<uint64_t, size_t>{2, kBig + 10});
    CHECK(lines[2] == std::pair<uint64_t, size_t>{3, 10});
    CHECK(last == "{\"last\":3}");
  }
}

// The BOM is looked for only in the first fill, which stops once half the buffer is full: with a
// buffer under 3 bytes, or a source whose first reads are short and a buffer under 6 bytes, it is
// never seen whole and stays in the first line. See the report.
TEST_CASE("coroner::LineChunker::next_into hands chunks over whole, and shrinks back") {
  // As the parallel reader uses it: three jobs' storages go round; one long line passes.
  std::string input;
  for (int i = 0; i < 200; ++i) input += "{\"n\": " + std::to_string(i) + "}\n";
  input += std::string(64 * 1024, 'x') + "\n";
  for (int i = 0; i < 20000; ++i) input += "{\"m\": " + std::to_string(i) + "}\n";
  StringSource source(input, 4096);  // reads of 4 KiB at most, as from a pipe
  LineChunker chunker(source, 4096);
  std::vector<std::vector<char>> jobs(3);
  std::vector<char> storage;
  std::string joined;
  uint64_t expected_line = 1;
  size_t big_chunks = 0, chunks = 0;
  Chunk chunk;
  while (chunker.next_into(storage, chunk)) {
    CHECK(chunk.first_line == expected_line);
    CHECK(chunk.capacity >= chunk.size + LineChunker::kPadding);
    std::string text(chunk.data, chunk.size);
    expected_line += uint64_t(std::count(text.begin(), text.end(), '\n'));
    joined += text;
    if (chunk.size > 2 * 4096) ++big_chunks;
    std::swap(jobs[chunks % jobs.size()], storage);  // a job takes the chunk, gives its old one
    ++chunks;
  }
  CHECK(joined == input);
  // The long line's chunk, and at most the one read into its grown buffer after it: then the
  // usual size again, whichever job's storage comes round.
  CHECK(big_chunks <= 2);
  CHECK(chunks > 50);
}

// A line of `zeros` zero bytes between two records, made as it is read: a crash's zero-filled
// tail, without a test holding it in memory.
class ZeroFilledLine : public coroner::ByteSource {
 public:
  ZeroFilledLine(uint64_t zeros, bool ends) : zeros_(zeros), after_(ends ? "\n{\"b\":2}\n" : "") {}
  size_t read(char* dest, size_t size) override {
    size_t n = 0;
    for (; n < size && !before_.empty(); ++n) dest[n] = before_[0], before_.remove_prefix(1);
    size_t zeros = size_t(std::min<uint64_t>(zeros_, size - n));
    std::memset(dest + n, 0, zeros);
    zeros_ -= zeros, n += zeros;
    for (; n < size && zeros_ == 0 && !after_.empty(); ++n)
      dest[n] = after_[0], after_.remove_prefix(1);
    return n;
  }

 private:
  std::string_view before_ = "{\"a\":1}\n";
  uint64_t zeros_;
  std::string_view after_;
};

TEST_CASE("coroner::LineChunker keeps the start of a line past its limit, drops the rest") {
  // Ten times the limit: memory must stay bounded, the line counted once, the record after it
  // kept with its own line number; without a newline after it (the input ends in the zeros) too.
  constexpr size_t kLimit = 1 << 20;
  for (bool ends : {true, false}) {
    INFO("a newline after the zeros: " << ends);
    ZeroFilledLine source(10 * kLimit, ends);
    LineChunker chunker(source, 64 << 10, kLimit);
    std::vector<std::pair<uint64_t, std::string>> lines;  // (number, first bytes)
    Chunk chunk;
    size_t longest = 0;
    while (chunker.next(chunk)) {
      longest = std::max(longest, chunk.size);
      std::string_view text(chunk.data, chunk.size);
      uint64_t number = chunk.first_line;
      while (!text.empty()) {
        size_t end = std::min(text.find('\n'), text.size());
        lines.emplace_back(number++, std::string(text.substr(0, std::min<size_t>(end, 8))));
        text.remove_prefix(std::min(end + 1, text.size()));
      }
    }
    CHECK(longest <= kLimit + 16);
    REQUIRE(lines.size() == (ends ? 3u : 2u));
    CHECK(lines[0] == std::pair<uint64_t, std::string>(1, "{\"a\":1}"));
    CHECK(lines[1] == std::pair<uint64_t, std::string>(2, std::string(8, '\0')));
    if (ends) CHECK(lines[2] == std::pair<uint64_t, std::string>(3, "{\"b\":2}"));
    CHECK(chunker.lines_read() == lines.size());
  }
}

TEST_CASE("coroner::LineChunker cuts a long line at its limit by next_into too") {
  // next_into hands the chunker back buffers of no power of two: a 300 KiB line, then one of
  // 1.2 MiB past the 1 MiB limit, must be cut as next() cuts it (-j 1 and -j 2 alike).
  constexpr size_t kLimit = 1 << 20;
  std::string input =
      std::string(300 << 10, 'a') + "\n" + std::string(1200 << 10, 'b') + "\n" + "{\"c\":3}\n";
  for (bool into : {false, true}) {
    INFO("next_into: " << into);
    StringSource source(input, 4096);
    LineChunker chunker(source, 64 << 10, kLimit);
    std::vector<char> storage;
    std::vector<size_t> lengths;
    Chunk chunk;
    while (into ? chunker.next_into(storage, chunk) : chunker.next(chunk)) {
      std::string_view text(chunk.data, chunk.size);
      for (size_t at = 0; at < text.size();) {
        size_t end = std::min(text.find('\n', at), text.size());
        lengths.push_back(end - at);
        at = end + 1;
      }
    }
    CHECK(lengths == std::vector<size_t>{300 << 10, LineChunker::kKeptOfLongLine, 7});
  }
}

TEST_CASE("coroner::LineChunker BOM seen across short first reads") {
  for (size_t buffer : {size_t(1), size_t(2)}) {
    INFO("buffer " << buffer);
    StringSource source("\xEF\xBB\xBF{\"a\":1}\n");
    CHECK(lines_of(source, buffer) == expected_lines({"{\"a\":1}"}));
  }
  for (size_t buffer : {size_t(3), size_t(4)}) {
    INFO("buffer " << buffer << ", one byte a read");
    StringSource source("\xEF\xBB\xBF{\"a\":1}\n", 1);
    CHECK(lines_of(source, buffer) == expected_lines({"{\"a\":1}"}));
  }
}

TEST_CASE("coroner::open_input") {
  const std::string plain = read_file(kFixtures + "seed_print.jsonl");
  REQUIRE(plain.size() > 1000);

  SUBCASE("a missing file is an error, with no source") {
    auto opened = coroner::open_input(kFixtures + "no-such-file.jsonl");
    CHECK(opened.source == nullptr);
    CHECK(opened.error == "No such file or directory");
  }

  SUBCASE("a directory is an error") {
    auto opened = coroner::open_input(kFixtures);
    CHECK(opened.source == nullptr);
    CHECK(opened.error == "is a directory");
  }

  SUBCASE("a plain file reads back as is") {
    auto opened = coroner::open_input(kFixtures + "seed_print.jsonl");
    REQUIRE(opened.source != nullptr);
    CHECK(opened.error.empty());
    CHECK(opened.compression == Compression::none);
    CHECK(drain(*opened.source) == plain);
    CHECK(opened.source->damage().empty());
    CHECK(opened.source->error().empty());
  }

  SUBCASE("gzip, zstd and the extension-less gzip give the plain file's bytes") {
    struct Case {
      const char* name;
      Compression compression;
    };
    for (Case c : {Case{"seed_print.jsonl.gz", Compression::gzip},
                   Case{"seed_print.jsonl.zst", Compression::zstd},
                   Case{"compressed_noext", Compression::gzip}}) {
      INFO(c.name);
      auto opened = coroner::open_input(kFixtures + c.name);
      REQUIRE(opened.source != nullptr);
      CHECK(opened.compression == c.compression);
      CHECK(drain(*opened.source) == plain);
      CHECK(opened.source->damage().empty());
      CHECK(opened.source->error().empty());
    }
  }

  SUBCASE("the compressed fixtures through the chunker: 35 lines") {
    for (const char* name : {"seed_print.jsonl.gz", "seed_print.jsonl.zst", "compressed_noext"}) {
      INFO(name);
      auto opened = coroner::open_input(kFixtures + name);
      REQUIRE(opened.source != nullptr);
      uint64_t lines_read = 0;
      std::string lines = lines_of(*opened.source, 256, &lines_read);
      CHECK(std::count(lines.begin(), lines.end(), '\n') == 35);
      CHECK(lines_read == 35);
    }
  }

  SUBCASE("an empty file opens and reads nothing") {
    TempDir dir;
    write_file(dir.path / "empty.jsonl", "");
    auto opened = coroner::open_input((dir.path / "empty.jsonl").string());
    REQUIRE(opened.source != nullptr);
    CHECK(opened.compression == Compression::none);
    CHECK(drain(*opened.source).empty());
  }

  SUBCASE("a file shorter than the magic reads back as is") {
    TempDir dir;
    write_file(dir.path / "tiny", "{}");
    auto opened = coroner::open_input((dir.path / "tiny").string());
    REQUIRE(opened.source != nullptr);
    CHECK(drain(*opened.source) == "{}");
  }

  SUBCASE("concatenated gzip members and zstd frames read as one stream") {
    TempDir dir;
    const std::string gz = read_file(kFixtures + "seed_print.jsonl.gz");
    const std::string zst = read_file(kFixtures + "seed_print.jsonl.zst");
    write_file(dir.path / "two.gz", gz + gz);
    write_file(dir.path / "two.zst", zst + zst);
    for (const char* name : {"two.gz", "two.zst"}) {
      INFO(name);
      auto opened = coroner::open_input((dir.path / name).string());
      REQUIRE(opened.source != nullptr);
      CHECK(drain(*opened.source) == plain + plain);
      CHECK(opened.source->damage().empty());
    }
  }

  SUBCASE("truncated fixtures: damage is set, what was read is a prefix of the plain file") {
    TempDir dir;
    const std::string gz = read_file(kFixtures + "seed_print.jsonl.gz");
    const std::string zst = read_file(kFixtures + "seed_print.jsonl.zst");
    write_file(dir.path / "cut.gz", gz.substr(0, gz.size() / 2));
    write_file(dir.path / "cut.zst", zst.substr(0, zst.size() / 2));
    write_file(dir.path / "cut-trailer.gz", gz.substr(0, gz.size() - 4));  // no length trailer
    for (const char* name : {"cut.gz", "cut.zst", "cut-trailer.gz"}) {
      INFO(name);
      auto opened = coroner::open_input((dir.path / name).string());
      REQUIRE(opened.source != nullptr);
      std::string got = drain(*opened.source);
      CHECK(got.size() <= plain.size());
      CHECK(plain.compare(0, got.size(), got) == 0);
      CHECK_FALSE(opened.source->damage().empty());
      CHECK(opened.source->error().empty());
    }
  }

  SUBCASE("a truncated big gzip and zstd: the good prefix is read, then damage") {
    TempDir dir;
    const std::string log = big_log();
    const std::string gz = gzip_of(log);
    write_file(dir.path / "big.gz", gz.substr(0, gz.size() / 2));
    const std::string zst = zstd_of(log);
    write_file(dir.path / "big.zst", zst.substr(0, zst.size() / 2));
    for (const char* name : {"big.gz", "big.zst"}) {
      INFO(name);
      auto opened = coroner::open_input((dir.path / name).string());
      REQUIRE(opened.source != nullptr);
      std::string got = drain(*opened.source);
      CHECK(got.size() > log.size() / 4);
      CHECK(got.size() < log.size());
      CHECK(log.compare(0, got.size(), got) == 0);
      CHECK(opened.source->damage().find("truncated") != std::string::npos);
    }
  }

  SUBCASE("corrupt compressed data is damage, not a crash") {
    TempDir dir;
    std::string gz = gzip_of(big_log());
    for (size_t i = gz.size() / 2; i < gz.size() / 2 + 64; ++i) gz[i] = char(~gz[i]);
    write_file(dir.path / "bad.gz", gz);
    auto opened = coroner::open_input((dir.path / "bad.gz").string());
    REQUIRE(opened.source != nullptr);
    drain(*opened.source);
    CHECK_FALSE(opened.source->damage().empty());
  }

  SUBCASE("a corrupt zstd block costs the blocks from it on, not those before, at any read size") {
    // The `zstd` command's frame of one segment, its middle byte flipped (gen/make_derived.py):
    // zstd -dc gives back the lines before the corrupt block. Its decoder writes straight
    // into the reader's buffer, and a call that met the bad block once kept all it had decoded:
    // with -j 2's 1 MiB reads, nothing at all.
    // (The flipped byte decodes to wrong text that only the frame's checksum tells, at its end:
    // how much of it comes out depends on the read size. The lines before it must.)
    std::string before;
    for (int i = 0; i < 5400; ++i)
      before += "{\"timestamp\": " + std::to_string(1795610067 + i) +
                ".25, \"task_id\": " + std::to_string(i / 3) + ", \"stage\": \"" +
                std::string(i % 3 == 0   ? "start"
                            : i % 3 == 1 ? "work"
                                         : "done") +
                "\"}\n";
    for (size_t read_size : {size_t(1000), size_t(512 << 10), size_t(1 << 20)}) {
      INFO("reads of " << read_size);
      auto opened = coroner::open_input(kFixtures + "corrupt_middle.jsonl.zst");
      REQUIRE(opened.source != nullptr);
      std::string got, buffer(read_size, '\0');
      while (size_t n = opened.source->read(buffer.data(), buffer.size())) got.append(buffer, 0, n);
      CHECK(got.compare(0, before.size(), before) == 0);
      CHECK(opened.source->damage().find("zstd data is corrupt") != std::string::npos);
    }
  }
}
