// Bytes to lines: files, standard input, gzip and zstd (told by magic bytes), read in fixed-size
// reused buffers and handed out as chunks of whole lines with simdjson's padding behind them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace coroner {

enum class Compression : uint8_t { none, gzip, zstd };
std::string_view to_string(Compression c);

// A stream of (decompressed) bytes.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `size` bytes; 0 at the end. On failure returns 0 and sets error().
  virtual size_t read(char* dest, size_t size) = 0;
  const std::string& error() const { return error_; }
  // A damaged tail (a truncated gzip or zstd stream): the bytes before it were good.
  const std::string& damage() const { return damage_; }

 protected:
  std::string error_;
  std::string damage_;
};

struct OpenedInput {
  std::unique_ptr<ByteSource> source;
  Compression compression = Compression::none;
  std::string error;  // why it could not be opened: "No such file or directory", ...
};

// "-" is standard input. Directories and unreadable files are errors.
OpenedInput open_input(const std::string& path);

// What the magic bytes `head` starts with say: gzip (1f 8b), zstd (28 b5 2f fd), or none.
Compression compression_of(std::string_view head);

// The newlines in [data, data + size): every byte of the input is counted once, so this is
// written to vectorise (byte-wide counters) where std::count widens each byte to 64 bits.
uint64_t count_newlines(const char* data, size_t size);

// A run of whole lines. `data[size]` onwards holds at least kPadding readable bytes.
struct Chunk {
  const char* data = nullptr;
  size_t size = 0;
  size_t capacity = 0;      // readable bytes from data: size + padding at least
  uint64_t first_line = 1;  // 1-based line number of the chunk's first line
};

class LineChunker {
 public:
  static constexpr size_t kPadding = 64;
  // Small enough to stay in a core's L2 cache: read() copies into it, and the newline count and
  // the parser read it back from there (4 MiB buffers made each of them a trip to L3).
  static constexpr size_t kDefaultBufferSize = 512 << 10;

  // A line longer than `max_line` keeps its first kKeptOfLongLine bytes (see next()).
  explicit LineChunker(ByteSource& source, size_t buffer_size = kDefaultBufferSize,
                       size_t max_line = kMaxLine);
  // The input's first bytes, up to `size` (fewer at its end), read but not consumed: what the
  // dialect is told from.
  std::string_view head(size_t size);
  // Chunks end between JSON values, not merely at a newline: for values written over several
  // lines (json_values.hpp). A damaged value that never closes is cut at a newline once it
  // passes kMaxOpenValue bytes.
  void set_multiline_values(bool on) { multiline_values_ = on; }
  static constexpr size_t kMaxOpenValue = 64 << 20;
  // Past kMaxOpenValue, so that cut comes first; far past any record a program logs (a 100 MB
  // one is read), near enough that a stream with no newline (/dev/zero) stays within memory.
  static constexpr size_t kMaxLine = 256 << 20;
  static constexpr size_t kKeptOfLongLine = 4 << 10;
  // Fills `chunk` with the next lines; false at the end of input or on a read error (see
  // source().error()). A line longer than the buffer grows the buffer, up to the chunker's
  // max_line; of a longer one only its first kKeptOfLongLine bytes are kept, a bad line in its
  // place, and the rest is dropped as it is read.
  bool next(Chunk& chunk);
  // Like next(), but the storage holding the chunk moves into `storage`, whose old storage
  // (grown if need be) becomes the chunker's buffer: a reader handing chunks to other threads
  // gives them away instead of copying them. The chunk's padding moves with it.
  bool next_into(std::vector<char>& storage, Chunk& chunk);
  uint64_t lines_read() const { return next_line_ - 1; }

 private:
  bool fill();
  // Of `size` bytes just read at buffer_[at], drops those before the newline that ends the line
  // being dropped; returns how many are kept (moved to `at`), 0 while the line goes on.
  size_t drop_to_newline(size_t at, size_t size);
  const char* before_partial_lines(const char* begin, const char* last_newline);

  ByteSource& source_;
  std::vector<char> buffer_;
  size_t buffer_size_;   // the size asked for, without the padding (a long line grows buffer_)
  size_t filled_ = 0;    // bytes of buffer_ holding input
  size_t consumed_ = 0;  // bytes of buffer_ already handed out
  uint64_t next_line_ = 1;
  bool eof_ = false;
  bool at_file_start_ = true;
  bool multiline_values_ = false;
  size_t max_line_;
  bool dropping_line_ = false;  // reading past max_line_ of one line: dropped up to its newline
};

}  // namespace coroner
