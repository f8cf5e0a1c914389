// Records parsed on one thread and handed, in order, to the sink on another. A batch keeps each
// record compactly in one byte stream: the stream crosses from one core's cache to the other's,
// and its size is what that costs (a typical record takes about 50 bytes, not a 120-byte struct).
// Strings that lie in the chunk are kept as spans of it; the others (unescaped by simdjson,
// built by the parser) are copied into the batch's arena.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/record.hpp"
#include "record_parser.hpp"

namespace coroner {

// A growing run of bytes. Its appends of a fixed size compile to plain stores: std::string's
// append calls memcpy for each, and a record makes several (a sixth of `-j 2`'s extra time).
class ByteStream {
 public:
  template <typename T>
  void put(const T& value) {
    std::memcpy(extend(sizeof value), &value, sizeof value);
  }
  void append(const char* bytes, size_t size) {
    if (size > 0) std::memcpy(extend(size), bytes, size);  // (memcpy of nothing to null is UB)
  }
  char* data() { return bytes_.get(); }
  const char* data() const { return bytes_.get(); }
  size_t size() const { return size_; }
  void clear() { size_ = 0; }

 private:
  // Room for `size` more bytes, returned; the stream grows by them.
  char* extend(size_t size) {
    if (capacity_ - size_ < size) grow(size);
    char* at = bytes_.get() + size_;
    size_ += size;
    return at;
  }
  void grow(size_t at_least);

  std::unique_ptr<char[]> bytes_;
  size_t size_ = 0, capacity_ = 0;
};

class RecordBatch : public RecordSink {
 public:
  // The chunk the records will be parsed from, alive until the batch is replayed.
  void set_input(const char* data, size_t size) {
    input_ = data;
    input_size_ = size;
  }
  void on_record(const RawRecord& record) override;
  bool on_bad_line(const BadLine& bad) override;
  // Hands every record and bad line to `sink` in the order they were parsed. Returns false when
  // the sink asked to stop.
  bool replay(RecordSink& sink) const;
  void clear();

  // The latest time among the records, or INT64_MIN when none has a time.
  int64_t latest_time() const { return latest_time_; }

  // The entries one at a time, for a reader that interleaves several batches (files merged by
  // time): a position in the batch, and what is there.
  struct Cursor {
    size_t offset = 0;  // into the stream
    size_t next_bad_line = 0;
  };
  struct Entry {
    const RawRecord* record = nullptr;  // valid until the next call
    const BadLine* bad_line = nullptr;
  };
  // The entry at `at`, which then moves past it; false at the batch's end.
  bool next(Cursor& at, Entry& entry) const;

 private:
  struct Span {
    uint32_t offset = 0, size = 0;  // the offset counts first through the input, then the arena
  };

  Span keep(std::string_view text);
  std::string_view view(Span span) const {
    if (span.offset < input_size_) return {input_ + span.offset, span.size};
    return {arena_.data() + (span.offset - input_size_), span.size};
  }
  template <typename T>
  void put(const T& value);
  void put_text(std::string_view text) { put(keep(text)); }
  // A member of a record that differs from a fresh record's, into the stream and back.
  template <typename T>
  void put_member(const T& member, const T& fresh);
  template <typename T>
  void take_member(const char*& p, T& member, const T& fresh) const;

  const char* input_ = nullptr;
  size_t input_size_ = 0;
  std::string arena_;
  ByteStream stream_;  // records and bad-line markers, in order
  std::vector<BadLine> bad_lines_;
  int64_t latest_time_ = INT64_MIN;
  mutable RawRecord replayed_;
  mutable uint32_t replayed_present_ = 0;  // the fields of replayed_ that are not fresh
};

}  // namespace coroner
