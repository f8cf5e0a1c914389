// A state's parts read one record at a time (docs/STATE_FORMAT.md): where a state's bytes are,
// the parts found from its block sizes, and a decoder that hands out a part's records one by one.
// `coroner merge` keeps one decoder per part and merges their records by time (state_merge.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/state.hpp"
#include "state_format.hpp"

namespace coroner {
class ByteSource;
}

namespace coroner::state {

// The magic line and the header of a state read front to back; "" or why not. `bytes_read`
// tells where the blocks after the header start.
std::string read_header(ByteSource& source, StateHeader& header, uint64_t& bytes_read);
// The rest of `source` written to `fd`; "" or why not (a damaged compressed stream too).
std::string copy_rest(ByteSource& source, int fd);

// A state's bytes, read at any offset: a file opened again for each block (so thousands of
// states never hold more than one file open each read), a temporary file held open (for states
// that cannot seek), or bytes in memory.
class StateBytes {
 public:
  static StateBytes file(std::string path) { return StateBytes(std::move(path), -1, {}); }
  static StateBytes descriptor(int fd) { return StateBytes({}, fd, {}); }  // borrowed
  static StateBytes memory(std::string_view bytes) { return StateBytes({}, -1, bytes); }

  // One block at `offset`: its size word and its checked payload; "" or why not.
  std::string read_block(uint64_t offset, uint32_t& word, std::string& payload) const;
  // The offset of each part's first block, from the block sizes of [begin, end): "" when they
  // make `parts` parts and nothing follows them, else why not.
  std::string find_parts(uint64_t begin, uint64_t end, uint64_t parts,
                         std::vector<uint64_t>& starts) const;
  // The bytes there are: the file's size, or the memory's.
  std::string size(uint64_t& size) const;

 private:
  StateBytes(std::string path, int fd, std::string_view memory)
      : path_(std::move(path)), fd_(fd), memory_(memory) {}
  // Reads [offset, offset + size) into dest: false at the end of the bytes or on an error.
  bool read_at(int fd, uint64_t offset, char* dest, size_t size, std::string& error) const;
  int open(std::string& error) const;
  void close(int fd) const;

  std::string path_;
  int fd_;
  std::string_view memory_;
};

// One part of a state, read entry by entry: files, formats, bad lines and damage go to the sink
// as they are met, records are handed out one at a time by next().
class PartDecoder {
 public:
  PartDecoder(const StateBytes* bytes, uint64_t offset);
  PartDecoder(const PartDecoder&) = delete;  // its record views its own block and ring

  enum class Step { record, end, error };
  // Reads up to the next record (then record() is it, until the next call), the part's end,
  // or damage (then error() says what).
  Step next(StateSink& sink);
  const RawRecord& record() const { return record_; }
  const std::string& error() const { return error_; }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  Step fail(std::string why);
  std::string damaged(std::string_view what) const;
  bool entry(Tag tag, StateSink& sink);
  Step end_part();
  bool file(StateSink& sink);
  bool known_file(uint64_t local, uint32_t& file) const;
  bool format(StateSink& sink);
  bool bad_line(StateSink& sink);
  bool read_record();
  template <typename Field, typename T>
  bool take_member(const Field& field, T& member);
  std::string_view ring_text();
  void keep_new_texts();

  const StateBytes* bytes_;
  uint64_t offset_;  // of the next block
  std::string block_;
  bool block_ends_part_ = false;
  Cursor in_{std::string_view()};
  uint64_t block_number_ = 0, bytes_read_ = 0;
  uint64_t entries_ = 0, records_ = 0, bad_lines_ = 0;
  std::string error_;
  std::vector<uint32_t> files_;  // the sink's index of each file the part named
  RawRecord record_;
  Deltas deltas_;
  std::vector<std::string> ring_;
  uint64_t next_slot_ = 0;
  std::vector<std::string_view> new_texts_;
};

}  // namespace coroner::state
