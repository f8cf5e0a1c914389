#include "reader.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "json_values.hpp"
#include "runtime_prefix.hpp"

namespace coroner {

std::string_view to_string(Compression c) {
  switch (c) {
    case Compression::none:
      return "none";
    case Compression::gzip:
      return "gzip";
    case Compression::zstd:
      return "zstd";
  }
  return "none";
}

namespace {

constexpr size_t kRawBufferSize = 256 * 1024;

// A file descriptor read with read(2), with a few bytes pushed back after sniffing the magic.
class FdSource : public ByteSource {
 public:
  FdSource(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~FdSource() override {
    if (owned_) close(fd_);
  }
  size_t read(char* dest, size_t size) override {
    if (pushed_back_ < sniffed_.size()) {
      size_t n = std::min(size, sniffed_.size() - pushed_back_);
      std::memcpy(dest, sniffed_.data() + pushed_back_, n);
      pushed_back_ += n;
      return n;
    }
    while (true) {
      ssize_t n = ::read(fd_, dest, size);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      error_ = std::strerror(errno);
      return 0;
    }
  }
  // Reads the first bytes (up to 4) and keeps them to be read again.
  std::string_view sniff() {
    char magic[4];
    size_t got = 0;
    while (got < sizeof magic) {
      size_t n = read(magic + got, sizeof magic - got);
      if (n == 0) break;
      got += n;
    }
    sniffed_.assign(magic, got);
    pushed_back_ = 0;
    return sniffed_;
  }

 private:
  int fd_;
  bool owned_;
  std::string sniffed_;
  size_t pushed_back_ = 0;
};

class GzipSource : public ByteSource {
 public:
  explicit GzipSource(std::unique_ptr<FdSource> raw) : raw_(std::move(raw)), in_(kRawBufferSize) {
    std::memset(&z_, 0, sizeof z_);
    // 15 + 32: a zlib or gzip header, detected automatically.
    ok_ = inflateInit2(&z_, 15 + 32) == Z_OK;
    if (!ok_) error_ = "cannot initialise zlib";
  }
  ~GzipSource() override { inflateEnd(&z_); }

  size_t read(char* dest, size_t size) override {
    if (!ok_ || done_) return 0;
    z_.next_out = reinterpret_cast<Bytef*>(dest);
    z_.avail_out = static_cast<uInt>(std::min<size_t>(size, UINT32_MAX));
    while (z_.next_out == reinterpret_cast<Bytef*>(dest)) {
      if (z_.avail_in == 0 && !refill(/*at_member_end=*/false)) break;
      int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        // gzip files may be several members end to end (cat a.gz b.gz): go on to the next one.
        if (z_.avail_in == 0 && !refill(/*at_member_end=*/true)) {
          done_ = true;
          break;
        }
        inflateReset(&z_);
        continue;
      }
      if (rc == Z_BUF_ERROR && z_.avail_in == 0) continue;
      if (rc != Z_OK) {
        damage_ = std::string("gzip data is corrupt: ") + (z_.msg ? z_.msg : "inflate error");
        done_ = true;
        break;
      }
    }
    return static_cast<size_t>(reinterpret_cast<char*>(z_.next_out) - dest);
  }

 private:
  bool refill(bool at_member_end) {
    size_t n = raw_->read(in_.data(), in_.size());
    if (n == 0) {
      if (!raw_->error().empty())
        error_ = raw_->error();
      else if (!at_member_end)
        damage_ = "gzip stream is truncated";
      done_ = true;
      return false;
    }
    z_.next_in = reinterpret_cast<Bytef*>(in_.data());
    z_.avail_in = static_cast<uInt>(n);
    return true;
  }

  std::unique_ptr<FdSource> raw_;
  std::vector<char> in_;
  z_stream z_;
  bool ok_ = false;
  bool done_ = false;
};

class ZstdSource : public ByteSource {
 public:
  explicit ZstdSource(std::unique_ptr<FdSource> raw)
      : raw_(std::move(raw)), in_(ZSTD_DStreamInSize()), stream_(ZSTD_createDStream()) {
    ZSTD_initDStream(stream_);
  }
  ~ZstdSource() override { ZSTD_freeDStream(stream_); }

  size_t read(char* dest, size_t size) override {
    if (done_) return 0;
    // A block at most a call, as zstd -d reads: a call that meets a corrupt block gives back
    // nothing of what it decoded before it, and a 1 MiB buffer lost the first blocks too.
    ZSTD_outBuffer out{dest, std::min(size, ZSTD_DStreamOutSize()), 0};
    while (out.pos == 0) {
      if (input_.pos == input_.size) {
        size_t n = raw_->read(in_.data(), in_.size());
        if (n == 0) {
          if (!raw_->error().empty())
            error_ = raw_->error();
          else if (!frame_complete_)
            damage_ = "zstd stream is truncated";
          done_ = true;
          break;
        }
        input_ = ZSTD_inBuffer{in_.data(), n, 0};
      }
      size_t rc = ZSTD_decompressStream(stream_, &out, &input_);
      if (ZSTD_isError(rc)) {
        damage_ = std::string("zstd data is corrupt: ") + ZSTD_getErrorName(rc);
        done_ = true;
        break;
      }
      // 0 means a frame ended; more frames may follow.
      frame_complete_ = rc == 0;
    }
    return out.pos;
  }

 private:
  std::unique_ptr<FdSource> raw_;
  std::vector<char> in_;
  ZSTD_DStream* stream_;
  ZSTD_inBuffer input_{nullptr, 0, 0};
  bool done_ = false;
  bool frame_complete_ = true;
};

// A pipe holds 64 KiB: the writer and coroner would take turns every 64 KiB. At 1 MiB (the
// most Linux grants an unprivileged process by default) both run on. Best effort: a pipe that
// stays narrow works all the same.
void widen_pipe(int fd) {
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

// Its first bytes: a UTF-16 byte order mark, or two characters of ASCII in UTF-16 ("{\0\"\0").
bool is_utf16(std::string_view magic) {
  auto byte = [&](size_t i) { return uint8_t(magic[i]); };
  if (magic.size() >= 2 &&
      ((byte(0) == 0xFF && byte(1) == 0xFE) || (byte(0) == 0xFE && byte(1) == 0xFF)))
    return true;
  if (magic.size() < 4) return false;
  bool little = byte(0) != 0 && byte(1) == 0 && byte(2) != 0 && byte(3) == 0;
  bool big = byte(0) == 0 && byte(1) != 0 && byte(2) == 0 && byte(3) != 0;
  return little || big;
}

}  // namespace

OpenedInput open_input(const std::string& path) {
  OpenedInput result;
  int fd = 0;
  bool owned = false;
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      result.error = std::strerror(errno);
      return result;
    }
    owned = true;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      close(fd);
      result.error = "is a directory";
      return result;
    }
  }
  widen_pipe(fd);
  auto raw = std::make_unique<FdSource>(fd, owned);
  std::string_view magic = raw->sniff();
  if (!raw->error().empty()) {
    result.error = raw->error();
    return result;
  }
  if (is_utf16(magic)) {
    // PowerShell's `>` writes UTF-16: every other byte is zero, and no line would read.
    result.error =
        "is UTF-16 text (a Windows redirect writes it); coroner reads UTF-8: iconv -f UTF-16 -t "
        "UTF-8 converts it";
    return result;
  }
  result.compression = compression_of(magic);
  if (result.compression == Compression::gzip)
    result.source = std::make_unique<GzipSource>(std::move(raw));
  else if (result.compression == Compression::zstd)
    result.source = std::make_unique<ZstdSource>(std::move(raw));
  else
    result.source = std::move(raw);
  return result;
}

Compression compression_of(std::string_view head) {
  if (head.size() >= 2 && uint8_t(head[0]) == 0x1f && uint8_t(head[1]) == 0x8b)
    return Compression::gzip;
  if (head.size() >= 4 && std::memcmp(head.data(), "\x28\xb5\x2f\xfd", 4) == 0)
    return Compression::zstd;
  return Compression::none;
}

LineChunker::LineChunker(ByteSource& source, size_t buffer_size, size_t max_line)
    : source_(source),
      buffer_(buffer_size + kPadding),
      buffer_size_(buffer_size),
      max_line_(std::max(max_line, kKeptOfLongLine * 2)) {}

// Moves the unconsumed tail to the front and reads more behind it.
bool LineChunker::fill() {
  size_t tail = filled_ - consumed_;
  if (consumed_ > 0) std::memmove(buffer_.data(), buffer_.data() + consumed_, tail);
  filled_ = tail;
  consumed_ = 0;
  size_t room = buffer_.size() - kPadding - filled_;
  if (room == 0 && filled_ >= max_line_) {
    // A line past max_line_ (a crash's zero-filled tail, /dev/zero): its start stays, to be
    // read as the bad line it is, and the rest is dropped up to its newline, so memory stays
    // bounded however long it runs.
    filled_ = kKeptOfLongLine;
    dropping_line_ = true;
    room = buffer_.size() - kPadding - filled_;
  } else if (room == 0) {
    // One line fills the whole buffer: grow it, so a line of any length up to max_line_ fits,
    // and no further, whatever size the buffer was handed back at (next_into's are no powers
    // of two): every -j cuts a line at the same length.
    buffer_.resize(std::min((buffer_.size() - kPadding) * 2, max_line_) + kPadding);
    room = buffer_.size() - kPadding - filled_;
  }
  size_t got = 0;
  // Read until the buffer is at least half full or input ends: fewer, larger chunks.
  while (got < room) {
    size_t n = source_.read(buffer_.data() + filled_ + got, room - got);
    if (n == 0) {
      eof_ = true;
      break;
    }
    if (dropping_line_) n = drop_to_newline(filled_ + got, n);
    got += n;
    if (got >= room / 2) break;
  }
  filled_ += got;
  // The byte order mark is looked for once three bytes are in (a pipe may hand them one by one).
  if (at_file_start_ && (filled_ >= 3 || eof_)) {
    at_file_start_ = false;
    if (filled_ >= 3 && std::memcmp(buffer_.data(), "\xEF\xBB\xBF", 3) == 0)
      consumed_ = 3;  // a UTF-8 byte order mark is not part of the first record
  }
  return got > 0;
}

size_t LineChunker::drop_to_newline(size_t at, size_t size) {
  char* read = buffer_.data() + at;
  const char* newline = static_cast<const char*>(std::memchr(read, '\n', size));
  if (newline == nullptr) return 0;
  dropping_line_ = false;
  size_t kept = size - size_t(newline - read);
  std::memmove(read, newline, kept);
  return kept;
}

uint64_t count_newlines(const char* data, size_t size) {
  uint64_t total = 0;
  // Blocks of 255 x 16 bytes: 16 byte-wide counters cannot overflow within one.
  constexpr size_t kLanes = 16, kBlock = 255 * kLanes;
  while (size >= kLanes) {
    size_t block = std::min(size, kBlock) / kLanes * kLanes;
    uint8_t lanes[kLanes] = {};
    for (size_t i = 0; i < block; i += kLanes)
      for (size_t j = 0; j < kLanes; ++j) lanes[j] += data[i + j] == '\n';
    for (uint8_t lane : lanes) total += lane;
    data += block;
    size -= block;
  }
  for (size_t i = 0; i < size; ++i) total += data[i] == '\n';
  return total;
}

std::string_view LineChunker::head(size_t size) {
  while (filled_ - consumed_ < size && !eof_ && source_.error().empty()) {
    size_t before = filled_;
    fill();
    if (filled_ == before && !eof_) break;
  }
  size_t available = filled_ - consumed_;
  return {buffer_.data() + consumed_, available < size ? available : size};
}

// The newline to end a chunk at, `last_newline` or one before it: not after a CRI partial line,
// whose text goes on in the next lines (runtime_prefix.hpp). nullptr when the chunk would hold
// nothing but partial lines: the buffer then fills further.
const char* LineChunker::before_partial_lines(const char* begin, const char* last_newline) {
  while (last_newline != nullptr) {
    const char* start =
        static_cast<const char*>(memrchr(begin, '\n', size_t(last_newline - begin)));
    const char* line = start ? start + 1 : begin;
    if (!is_partial_line(std::string_view(line, size_t(last_newline - line)))) break;
    last_newline = start;
  }
  return last_newline;
}

bool LineChunker::next(Chunk& chunk) {
  while (true) {
    const char* begin = buffer_.data() + consumed_;
    size_t available = filled_ - consumed_;
    const char* last_newline = nullptr;
    if (available > 0 && multiline_values_) {
      size_t cut = last_newline_between_values(begin, available);
      if (cut != kNoValueEnd) {
        last_newline = begin + cut - 1;
      } else if (available > kMaxOpenValue) {
        last_newline = static_cast<const char*>(memrchr(begin, '\n', available));
      }
    } else if (available > 0) {
      // memrchr: the last newline closes the last whole line of the chunk.
      last_newline = static_cast<const char*>(memrchr(begin, '\n', available));
    }
    if (last_newline != nullptr && !eof_) last_newline = before_partial_lines(begin, last_newline);
    size_t take = 0;
    if (last_newline != nullptr) {
      take = static_cast<size_t>(last_newline - begin) + 1;
    } else if (eof_ && available > 0) {
      take = available;  // the final line has no newline
    }
    if (take > 0) {
      at_file_start_ = false;  // a line came before three bytes did: there was no BOM
      // The bytes behind the chunk (the next partial line, or the padding) are only read, never
      // parsed: simdjson is given the chunk's size.
      chunk.data = begin;
      chunk.size = take;
      chunk.capacity = buffer_.size() - consumed_;
      chunk.first_line = next_line_;
      next_line_ += count_newlines(begin, take);
      if (last_newline == nullptr) ++next_line_;
      consumed_ += take;
      return true;
    }
    if (eof_) return false;
    fill();
    if (!source_.error().empty()) return false;
  }
}

bool LineChunker::next_into(std::vector<char>& storage, Chunk& chunk) {
  if (!next(chunk)) return false;
  // The bytes after the chunk stay with the chunker: they start its next buffer. That buffer
  // is of the usual size again, even after a long line grew this one: every job's storage
  // passes through here, and each must not grow to the longest line's size.
  size_t tail = filled_ - consumed_;
  size_t needed = std::max(buffer_size_, tail) + kPadding;
  if (storage.size() < needed) {
    storage.resize(needed);
  } else if (storage.size() > 2 * needed) {
    std::vector<char>(needed).swap(storage);  // the buffer a long line grew: let it go
  }
  std::memcpy(storage.data(), buffer_.data() + consumed_, tail);
  std::swap(storage, buffer_);  // swaps the storage only: chunk.data now points into `storage`
  filled_ = tail;
  consumed_ = 0;
  return true;
}

}  // namespace coroner
