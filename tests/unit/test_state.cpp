// The partial state's writer and reader: what goes in comes out, in order, with nothing a
// damaged state can make the reader believe.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "../common/describing_sink.hpp"
#include "coroner/state.hpp"

using namespace coroner;

namespace {

// Every call a state's contents make, as text; files numbered from 100 to see them renumbered.
class RecordingSink : public StateSink {
 public:
  uint32_t add_file(std::string name) override {
    calls.push_back("file " + name);
    return 100 + files++;
  }
  void add_damage(std::string note) override { calls.push_back("damage " + note); }
  void on_input_format(uint32_t file, const InputFormat& f) override {
    std::string keys;
    for (const auto& k : f.keys) {
      keys += k.path + "=" + std::to_string(k.records);
      for (const auto& s : k.samples) keys += "|" + s;
      keys += ";";
    }
    calls.push_back("format " + std::to_string(file) + " " + std::string(to_string(f.dialect)) +
                    (f.multiline ? " multiline " : " ") + f.why + " " + keys +
                    std::to_string(f.records_looked));
  }
  void on_record(const RawRecord& r) override { calls.push_back(coroner_test::describe(r)); }
  bool on_bad_line(const BadLine& bad) override {
    calls.push_back("bad " + std::to_string(bad.file) + ":" + std::to_string(bad.line) + " " +
                    bad.reason);
    return true;
  }
  std::vector<std::string> calls;
  uint32_t files = 0;
};

// The bytes a writer writes, through a FILE* on memory.
class MemoryFile {
 public:
  MemoryFile() : file_(open_memstream(&data_, &size_)) {}
  ~MemoryFile() {
    if (file_) std::fclose(file_);
    std::free(data_);
  }
  std::FILE* get() { return file_; }
  std::string bytes() {
    std::fflush(file_);
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

std::string random_text(std::mt19937_64& rng, size_t longest) {
  std::string text(rng() % (longest + 1), '\0');
  for (char& c : text) c = char(rng() % 4 == 0 ? rng() % 256 : 'a' + rng() % 6);
  return text;
}

// Records with every member set now and then, to its extremes too; the texts they view live in
// `texts` (a deque keeps them in place).
std::vector<RawRecord> random_records(std::mt19937_64& rng, size_t count,
                                      std::deque<std::string>& texts) {
  std::vector<RawRecord> out;
  auto text = [&](size_t longest) -> std::string_view {
    // Often one seen before: the ring refers to it; sometimes long past the ring's reach.
    if (!texts.empty() && rng() % 3 == 0) return texts[rng() % texts.size()];
    return texts.emplace_back(random_text(rng, longest));
  };
  for (size_t i = 0; i < count; ++i) {
    RawRecord r;
    auto maybe = [&] { return rng() % 2 == 0; };
    r.has_time = maybe();
    if (maybe()) r.time_ns = int64_t(rng());
    r.time_form = TimeForm(rng() % 7);
    if (maybe()) r.utc_offset = int32_t(rng() % 100000) - 50000;
    r.has_task = maybe();
    if (maybe()) r.task = text(20);
    if (maybe()) r.alias = text(20);
    if (maybe()) r.stage = text(rng() % 10 == 0 ? 600 : 30);
    r.stage_from_message = maybe();
    if (maybe()) r.status = text(10);
    if (maybe()) r.parent = text(10);
    if (rng() % 8 == 0) {
      size_t most = rng() % 20 == 0 ? 3000 : 4;
      for (size_t n = rng() % most; n > 0; --n) r.awaits.push_back(text(8));
    }
    r.has_error = maybe();
    if (maybe()) r.error_text = text(400);
    if (maybe()) r.error_type = text(12);
    if (maybe()) r.level = text(6);
    r.retry = maybe();
    if (maybe()) r.attempt = uint32_t(rng());
    r.has_timeout = maybe();
    if (maybe()) r.timeout_ns = int64_t(rng());
    if (maybe()) r.marker = text(6);
    if (maybe()) r.waiting_for = text(40);
    if (maybe()) r.suspended_at = text(40);
    if (maybe()) r.scope = std::string(text(30));
    for (auto& rank : r.filled_by)
      if (rng() % 4 == 0) rank = uint8_t(rng());
    r.bad_time = maybe();
    r.file = uint32_t(rng() % 3);
    r.line = maybe() ? rng() : rng() % 1000;
    out.push_back(r);
  }
  return out;
}

struct Written {
  std::string bytes;
  std::vector<std::string> calls;  // what a reader must replay, renumbered as RecordingSink does
};

Written write_random_state(uint64_t seed, size_t records) {
  std::mt19937_64 rng(seed);
  std::deque<std::string> texts;
  MemoryFile file;
  StateHeader header;
  header.reading_arguments = {"--field", "task=job", "--strict"};
  StateWriter writer(file.get(), header, false);
  RecordingSink expected;  // fed the same calls, then renumbered below
  for (const char* name : {"a.jsonl", "b.jsonl.gz", "-"}) {
    writer.add_file(name);
    expected.add_file(name);
  }
  InputFormat format;
  format.dialect = Dialect::eliot;
  format.multiline = true;
  format.why = "task_uuid in 3 of 3";
  format.keys = {{"task_uuid", 3, {"x", "y"}}, {"ts", 2, {}}};
  format.records_looked = 3;
  writer.on_input_format(1, format);
  expected.on_input_format(101, format);
  for (RawRecord& r : random_records(rng, records, texts)) {
    if (rng() % 50 == 0) {
      BadLine bad{uint32_t(rng() % 3), rng() % 100, "not a JSON object"};
      writer.on_bad_line(bad);
      expected.on_bad_line(BadLine{bad.file + 100, bad.line, bad.reason});
    }
    writer.on_record(r);
    r.file += 100;
    r.filled_by = kFreshRecord.filled_by;  // only `coroner schema` reads it: not in a state
    expected.on_record(r);
  }
  writer.add_damage("b.jsonl.gz: gzip stream is truncated");
  expected.add_damage("b.jsonl.gz: gzip stream is truncated");
  REQUIRE(writer.finish());
  return {file.bytes(), expected.calls};
}

}  // namespace

TEST_CASE("coroner::StateWriter and StateReader: every call comes back, in order") {
  for (uint64_t seed : {1, 2, 3}) {
    Written w = write_random_state(seed, 3000);
    RecordingSink replayed;
    StateHeader header;
    auto error = replay_state_bytes(w.bytes, replayed, &header);
    REQUIRE_MESSAGE(!error, error->describe());
    CHECK(header.reading_arguments == std::vector<std::string>{"--field", "task=job", "--strict"});
    CHECK(header.format_version == kStateFormatVersion);
    CHECK(header.coroner_version == kVersion);
    REQUIRE(replayed.calls.size() == w.calls.size());
    for (size_t i = 0; i < w.calls.size(); ++i) CHECK(replayed.calls[i] == w.calls[i]);
  }
}

TEST_CASE("coroner::StateWriter: texts past the ring's reach and records of many texts") {
  // More distinct texts than the ring holds, and records naming thousands of tasks: every slot
  // is reused while records still refer to older ones.
  Written w = write_random_state(7, 60000);
  RecordingSink replayed;
  auto error = replay_state_bytes(w.bytes, replayed);
  REQUIRE_MESSAGE(!error, error->describe());
  CHECK(replayed.calls == w.calls);
}

TEST_CASE("coroner::StateWriter: the same contents make the same bytes") {
  CHECK(write_random_state(5, 500).bytes == write_random_state(5, 500).bytes);
  CHECK(write_random_state(5, 500).bytes != write_random_state(6, 500).bytes);
}

TEST_CASE("coroner::StateReader: a damaged state is an error, never contents") {
  std::string bytes = write_random_state(11, 40).bytes;
  // Cut anywhere: an error.
  for (size_t size = 0; size < bytes.size(); ++size) {
    RecordingSink sink;
    auto error = replay_state_bytes(std::string_view(bytes).substr(0, size), sink);
    REQUIRE_MESSAGE(error.has_value(), "a state cut at byte " << size << " was read whole");
  }
  // Any bit flipped: an error (the magic line, a block's size or checksum, or its payload).
  for (size_t at = 0; at < bytes.size(); ++at) {
    std::string flipped = bytes;
    flipped[at] = char(flipped[at] ^ (1 << (at % 8)));
    RecordingSink sink;
    REQUIRE_MESSAGE(replay_state_bytes(flipped, sink).has_value(),
                    "a bit flipped at byte " << at << " went unnoticed");
  }
}

namespace {

// Where each block's size word is, after the magic line: the header's first.
std::vector<size_t> block_offsets(const std::string& bytes) {
  std::vector<size_t> out;
  for (size_t at = bytes.find('\n') + 1; at + 8 <= bytes.size();) {
    out.push_back(at);
    uint32_t word = 0;
    for (int i = 0; i < 4; ++i) word |= uint32_t(uint8_t(bytes[at + i])) << (8 * i);
    at += 8 + (word & 0x7fffffffu);
  }
  return out;
}

// The state's blocks after its header: its parts, as `merge --emit-state` copies them.
std::string parts_of(const std::string& bytes) {
  return bytes.substr(block_offsets(bytes)[1]);
}

// A state of several parts, as `merge --emit-state` writes it.
std::string merged(const std::vector<std::string>& states, size_t parts) {
  MemoryFile file;
  StateHeader header;
  header.parts = parts;
  write_state_header(file.get(), header);
  std::string out = file.bytes();
  for (const std::string& s : states) out += parts_of(s);
  return out;
}

// A state of records at these times (a negative time: none), one file, a bad line before each
// record whose time is 50.
std::string timed_state(const std::string& file, const std::vector<int64_t>& times) {
  MemoryFile out;
  StateWriter writer(out.get(), StateHeader{}, false);
  writer.add_file(file);
  for (size_t i = 0; i < times.size(); ++i) {
    if (times[i] == 50) writer.on_bad_line(BadLine{0, i + 1, "bad"});
    RawRecord r;
    r.has_time = times[i] >= 0;
    r.time_ns = times[i] >= 0 ? times[i] : 0;
    r.line = i + 1;
    writer.on_record(r);
  }
  REQUIRE(writer.finish());
  return out.bytes();
}

// What a merge handed over, as "file:line" for records and "bad file:line" for bad lines.
class OrderSink : public StateSink {
 public:
  uint32_t add_file(std::string name) override {
    names.push_back(name);
    return uint32_t(names.size() - 1);
  }
  void add_damage(std::string) override {}
  void on_record(const RawRecord& r) override {
    calls.push_back(names[r.file] + ":" + std::to_string(r.line));
  }
  bool on_bad_line(const BadLine& bad) override {
    calls.push_back("bad " + names[bad.file] + ":" + std::to_string(bad.line));
    return true;
  }
  std::vector<std::string> names, calls;
};

}  // namespace

TEST_CASE("coroner::StateWriter: only the last block of a part is marked as its end") {
  std::string bytes = write_random_state(7, 60000).bytes;
  std::vector<size_t> blocks = block_offsets(bytes);
  REQUIRE(blocks.size() > 3);  // the header and several blocks of entries
  for (size_t i = 0; i < blocks.size(); ++i)
    CHECK((uint8_t(bytes[blocks[i] + 3]) >> 7) == (i + 1 == blocks.size() ? 1 : 0));

  // The mark missing from the last block, or set on one without the part's end: damage.
  std::string missing = bytes;
  missing[blocks.back() + 3] = char(uint8_t(missing[blocks.back() + 3]) & 0x7f);
  RecordingSink sink;
  CHECK(replay_state_bytes(missing, sink).has_value());
  for (size_t i : {size_t(0), size_t(1), blocks.size() - 2}) {
    std::string extra = bytes;
    extra[blocks[i] + 3] = char(uint8_t(extra[blocks[i] + 3]) | 0x80);
    RecordingSink other;
    CHECK_MESSAGE(replay_state_bytes(extra, other).has_value(), "block " << i << " marked");
  }
}

TEST_CASE("coroner::StateMerge: parts merged by time, ties in part order, each part in order") {
  // Part a: times 10, none, 30, 50 (a bad line before it); part b: none, 10, 20, 30, 60.
  std::string a = timed_state("a", {10, -1, 30, 50});
  // Part n: no time at all.
  std::string b = timed_state("b", {-1, 10, 20, 30, 60});
  std::string n = timed_state("n", {-1, -1});
  OrderSink sink;
  auto error = replay_state_bytes(merged({a, b, n}, 3), sink);
  REQUIRE_MESSAGE(!error, error->describe());
  CHECK(sink.names == std::vector<std::string>{"a", "b", "n"});
  // A record without a time follows the one before it in its part, or goes just before the
  // first time after it (its part's, else the next parts': a part of none after the others
  // goes last); equal times go in part order; a bad line goes just before the record after it.
  CHECK(sink.calls == std::vector<std::string>{"a:1", "a:2", "b:1", "b:2", "b:3", "a:3", "b:4",
                                               "bad a:4", "a:4", "b:5", "n:1", "n:2"});
  OrderSink between;
  REQUIRE(!replay_state_bytes(merged({a, n, b}, 3), between));
  CHECK(between.calls == std::vector<std::string>{"a:1", "a:2", "n:1", "n:2", "b:1", "b:2", "b:3",
                                                  "a:3", "b:4", "bad a:4", "a:4", "b:5"});

  // Parts that follow each other in time come out one after the other, whatever their count.
  std::string c = timed_state("c", {70, 80});
  OrderSink flat, tree;
  REQUIRE(!replay_state_bytes(merged({a, c}, 2), flat));
  REQUIRE(!replay_state_bytes(merged({merged({a}, 1), c}, 2), tree));
  CHECK(flat.calls ==
        std::vector<std::string>{"a:1", "a:2", "a:3", "bad a:4", "a:4", "c:1", "c:2"});
  CHECK(tree.calls == flat.calls);
}

TEST_CASE("coroner::StateMerge: a merged state cut where a part ends, or with one too many") {
  std::string a = timed_state("a", {1, 2}), b = timed_state("b", {3});
  OrderSink sink;
  CHECK(!replay_state_bytes(merged({a, b}, 2), sink));
  OrderSink short_one, long_one;
  CHECK(replay_state_bytes(merged({a}, 2), short_one).has_value());
  CHECK(replay_state_bytes(merged({a, b}, 1), long_one).has_value());
  CHECK(long_one.calls.empty());  // found before any record: the parts are counted first
}
