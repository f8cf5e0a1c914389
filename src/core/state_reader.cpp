#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "coroner/state.hpp"
#include "coroner/version.hpp"
#include "reader.hpp"
#include "state_format.hpp"
#include "state_stream.hpp"

namespace coroner {

using namespace state;

namespace {

// A block's size is read before its checksum can vouch for it: a sequential reader reads the
// payload in steps, so a damaged size fails at the input's end instead of allocating it.
constexpr size_t kReadStep = 16 << 20;

constexpr std::string_view kTruncated = "damaged state: it ends inside a block (a truncated copy?)";

bool checksum_fits(std::string_view payload, uint32_t checksum) {
  return uint32_t(crc32(0, reinterpret_cast<const Bytef*>(payload.data()), uInt(payload.size()))) ==
         checksum;
}

// A state read front to back: its header, and its blocks copied into a merged state.
class Sequential {
 public:
  explicit Sequential(ByteSource& source) : source_(source) {}

  // The magic line and the header block; "" when they are sound, else why not.
  std::string read_header(StateHeader& header) {
    std::string magic(kMagic.size(), '\0');
    if (read_exact(magic.data(), magic.size()) != magic.size() || magic != kMagic)
      return fmt::format(
          "not a coroner state (it does not start with '{}'): 'coroner partial' "
          "writes one",
          kMagic.substr(0, kMagic.size() - 1));
    std::string digits;
    char c = 0;
    while (read_exact(&c, 1) == 1 && c != '\n' && digits.size() < 10) digits += c;
    if (c != '\n' || digits.empty() ||
        !std::all_of(digits.begin(), digits.end(), [](char d) { return d >= '0' && d <= '9'; }))
      return "damaged state: its first line is not 'coroner-state VERSION'";
    header.format_version = uint32_t(std::stoul(digits));
    if (header.format_version != kStateFormatVersion)
      return fmt::format(
          "state format {}; this coroner reads format {}: write the state again "
          "with this coroner's 'coroner partial'",
          header.format_version, kStateFormatVersion);
    bool end = false;
    if (std::string why = next_block(end); !why.empty()) return why;
    Cursor in(block_);
    header.coroner_version = std::string(in.text());
    header.reading_arguments.clear();
    for (uint64_t n = in.count(); n > 0 && in.ok(); --n)
      header.reading_arguments.emplace_back(in.text());
    header.parts = in.varint();
    if (end || (word_ & kPartEnd) || !in.ok() || !in.at_end() || header.parts == 0)
      return fmt::format("damaged state: its header cannot be read (before byte {})", bytes_read_);
    if (header.coroner_version != kVersion)
      return fmt::format(
          "written by coroner {}; this is coroner {}: states merge only with the "
          "version that wrote them (run 'coroner partial' again)",
          header.coroner_version, kVersion);
    return {};
  }

  // Copies the blocks that follow to `out` as they are (the part-end bit too), each checked
  // against its checksum: a state's parts go into a merged state without a record decoded.
  std::string copy_blocks(std::FILE* out, const ProgressFn& progress) {
    while (true) {
      bool end = false;
      if (std::string why = next_block(end); !why.empty() || end) return why;
      std::string head;
      put_u32(head, word_);
      put_u32(head, checksum_);
      if (std::fwrite(head.data(), 1, head.size(), out) != head.size() ||
          std::fwrite(block_.data(), 1, block_.size(), out) != block_.size())
        return "cannot write the merged state";
      if (progress) progress(bytes_read_);
    }
  }

  // Copies the rest of the source to `fd` at its end; "" or why not.
  std::string copy_rest(int fd) {
    std::string buffer(1 << 20, '\0');
    while (size_t n = read_exact(buffer.data(), buffer.size())) {
      for (size_t done = 0; done < n;) {
        ssize_t w = ::write(fd, buffer.data() + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return fmt::format("cannot copy it to a temporary file: {}", strerror(errno));
        done += size_t(w);
      }
    }
    if (!source_.error().empty()) return source_.error();
    if (!source_.damage().empty()) return "damaged state: " + source_.damage();
    return {};
  }

  uint64_t bytes_read() const { return bytes_read_; }

 private:
  size_t read_exact(char* dest, size_t size) {
    size_t done = 0;
    while (done < size) {
      size_t n = source_.read(dest + done, size - done);
      if (n == 0) break;
      done += n;
    }
    bytes_read_ += done;
    return done;
  }

  // Reads the next block into block_, checked; `end` at the input's end.
  std::string next_block(bool& end) {
    block_.clear();
    char head[8];
    size_t got = read_exact(head, sizeof head);
    if (!source_.error().empty()) return source_.error();
    if (got == 0) return end = true, std::string();
    ++block_number_;
    if (got < sizeof head) return std::string(kTruncated);
    word_ = take_u32(head), checksum_ = take_u32(head + 4);
    uint32_t size = word_ & ~kPartEnd;
    while (block_.size() < size) {
      size_t step = std::min<size_t>(kReadStep, size - block_.size());
      size_t old = block_.size();
      block_.resize(old + step);
      if (read_exact(block_.data() + old, step) != step) {
        if (!source_.error().empty()) return source_.error();
        return std::string(kTruncated);
      }
    }
    if (!source_.damage().empty()) return "damaged state: " + source_.damage();
    if (!checksum_fits(block_, checksum_))
      return fmt::format("damaged state: block {} fails its checksum (before byte {})",
                         block_number_, bytes_read_);
    return {};
  }

  ByteSource& source_;
  std::string block_;
  uint32_t word_ = 0, checksum_ = 0;
  uint64_t block_number_ = 0, bytes_read_ = 0;
};

}  // namespace

// ---- StateBytes ---------------------------------------------------------------------------

namespace state {

int StateBytes::open(std::string& error) const {
  if (path_.empty()) return fd_;
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) error = strerror(errno);
  return fd;
}

void StateBytes::close(int fd) const {
  if (!path_.empty() && fd >= 0) ::close(fd);
}

bool StateBytes::read_at(int fd, uint64_t offset, char* dest, size_t size,
                         std::string& error) const {
  if (fd < 0) {
    if (offset > memory_.size() || size > memory_.size() - offset) return false;
    std::memcpy(dest, memory_.data() + offset, size);
    return true;
  }
  while (size > 0) {
    ssize_t n = ::pread(fd, dest, size, off_t(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = strerror(errno);
    if (n <= 0) return false;
    dest += n, offset += uint64_t(n), size -= size_t(n);
  }
  return true;
}

std::string StateBytes::size(uint64_t& size) const {
  if (path_.empty() && fd_ < 0) return size = memory_.size(), std::string();
  struct stat st {};
  if ((path_.empty() ? ::fstat(fd_, &st) : ::stat(path_.c_str(), &st)) != 0) return strerror(errno);
  size = uint64_t(st.st_size);
  return {};
}

std::string StateBytes::read_block(uint64_t offset, uint32_t& word, std::string& payload) const {
  std::string error;
  int fd = open(error);
  if (!path_.empty() && fd < 0) return error;
  char head[8];
  bool ok = read_at(fd, offset, head, sizeof head, error);
  if (ok) {
    word = take_u32(head);
    payload.resize(word & ~kPartEnd);
    ok = read_at(fd, offset + sizeof head, payload.data(), payload.size(), error);
  }
  close(fd);
  if (!error.empty()) return error;
  if (!ok) return std::string(kTruncated);  // the file changed since its parts were found
  if (!checksum_fits(payload, take_u32(head + 4)))
    return fmt::format("damaged state: a block fails its checksum (byte {})", offset);
  return {};
}

std::string StateBytes::find_parts(uint64_t begin, uint64_t end, uint64_t parts,
                                   std::vector<uint64_t>& starts) const {
  std::string error;
  int fd = open(error);
  if (!path_.empty() && fd < 0) return error;
  uint64_t found = 0, offset = begin, start = begin;
  std::string why;
  while (why.empty() && offset < end) {
    if (found == parts) {
      why = "damaged state: bytes follow its last entry";
      break;
    }
    char head[8];
    if (end - offset < sizeof head || !read_at(fd, offset, head, sizeof head, error)) {
      why = error.empty() ? std::string(kTruncated) : error;
      break;
    }
    uint32_t word = take_u32(head);
    uint64_t size = word & ~kPartEnd;
    if (size > end - offset - sizeof head) {
      why = kTruncated;
      break;
    }
    offset += sizeof head + size;
    if (word & kPartEnd) {
      starts.push_back(start);
      start = offset;
      ++found;
    }
  }
  close(fd);
  if (why.empty() && found < parts)
    why = offset == start ? "damaged state: it ends before its last entry (a truncated copy?)"
                          : "damaged state: its last block is not marked as the end of its part "
                            "(a truncated copy?)";
  return why;
}

std::string read_header(ByteSource& source, StateHeader& header, uint64_t& bytes_read) {
  Sequential in(source);
  std::string why = in.read_header(header);
  bytes_read = in.bytes_read();
  return why;
}

std::string copy_rest(ByteSource& source, int fd) {
  return Sequential(source).copy_rest(fd);
}

// ---- PartDecoder --------------------------------------------------------------------------

PartDecoder::PartDecoder(const StateBytes* bytes, uint64_t offset)
    : bytes_(bytes), offset_(offset) {}

PartDecoder::Step PartDecoder::fail(std::string why) {
  error_ = std::move(why);
  return Step::error;
}

std::string PartDecoder::damaged(std::string_view what) const {
  return fmt::format("damaged state: {} cannot be read (block {} of a part, before byte {})", what,
                     block_number_, offset_);
}

PartDecoder::Step PartDecoder::next(StateSink& sink) {
  keep_new_texts();  // the record handed out last is used: its new texts may enter the ring
  while (true) {
    if (in_.at_end()) {
      if (block_ends_part_) return fail(damaged("a part's last block without its end"));
      uint32_t word = 0;
      if (std::string why = bytes_->read_block(offset_, word, block_); !why.empty())
        return fail(why);
      offset_ += 8 + block_.size();
      bytes_read_ += 8 + block_.size();
      ++block_number_;
      block_ends_part_ = (word & kPartEnd) != 0;
      in_ = Cursor(block_);
      continue;
    }
    auto tag = Tag(in_.byte());
    if (tag == Tag::end) return end_part();
    bool ok = tag == Tag::record ? read_record() : entry(tag, sink);
    if (!ok) return fail(damaged(fmt::format("entry {} of the part", entries_ + 1)));
    ++entries_;
    if (tag == Tag::record) return Step::record;
  }
}

bool PartDecoder::entry(Tag tag, StateSink& sink) {
  switch (tag) {
    case Tag::file:
      return file(sink);
    case Tag::format:
      return format(sink);
    case Tag::bad_line:
      return bad_line(sink);
    case Tag::damage: {
      std::string note(in_.text());
      if (in_.ok()) sink.add_damage(std::move(note));
      return in_.ok();
    }
    case Tag::record:
    case Tag::end:
      break;
  }
  return false;
}

// The end of a part (a shard's state as `partial` wrote it): the last entry of a block marked
// as its part's last, the counts of what the part held.
PartDecoder::Step PartDecoder::end_part() {
  uint64_t records = in_.varint(), bad_lines = in_.varint();
  if (!in_.ok() || !in_.at_end() || records != records_ || bad_lines != bad_lines_)
    return fail(damaged("the end of a part"));
  if (!block_ends_part_) return fail(damaged("a part's end in a block not marked as its last"));
  return Step::end;
}

bool PartDecoder::file(StateSink& sink) {
  std::string name(in_.text());
  if (!in_.ok()) return false;
  files_.push_back(sink.add_file(std::move(name)));
  return true;
}

// The file a local index names, in the sink's numbering; false when the part never named it.
bool PartDecoder::known_file(uint64_t local, uint32_t& file) const {
  if (local >= files_.size()) return false;
  file = files_[local];
  return true;
}

bool PartDecoder::format(StateSink& sink) {
  Cursor& in = in_;
  uint32_t file = 0;
  bool known = known_file(in.varint(), file);
  InputFormat f;
  uint64_t dialect = in.varint(), multiline = in.varint();
  if (dialect > uint64_t(Dialect::opentelemetry) || multiline > 1) return false;
  f.dialect = Dialect(dialect);
  f.multiline = multiline == 1;
  f.why = in.text();
  for (uint64_t n = in.count(); n > 0 && in.ok(); --n) {
    KeySeen key;
    key.path = in.text();
    key.records = in.varint();
    for (uint64_t s = in.count(); s > 0 && in.ok(); --s) key.samples.emplace_back(in.text());
    f.keys.push_back(std::move(key));
  }
  f.records_looked = in.varint();
  f.task_field = in.text();
  f.kind_field = in.text();
  f.task_field_why = in.text();
  for (uint64_t n = in.count(); n > 0 && in.ok(); --n)
    f.partial_scope_fields.emplace_back(in.text());
  f.partial_scope_why = in.text();
  f.unread_traceback_field = in.text();
  if (!in.ok() || !known) return false;
  sink.on_input_format(file, f);
  return true;
}

bool PartDecoder::bad_line(StateSink& sink) {
  BadLine bad;
  bool known = known_file(in_.varint(), bad.file);
  bad.line = in_.varint();
  bad.reason = in_.text();
  if (!in_.ok() || !known) return false;
  ++bad_lines_;
  sink.on_bad_line(bad);
  return true;
}

bool PartDecoder::read_record() {
  RawRecord& r = record_;
  uint64_t present = in_.varint();
  size_t index = 0;
  bool ok = true;
  for_each_field([&](const auto& field) {
    auto& member = r.*field.member;
    const auto& fresh = kFreshRecord.*field.member;
    bool is_present = present & (uint64_t(1) << index++);
    if (is_left_out(field) && is_present) ok = false;
    if (is_present)
      ok = take_member(field, member) && ok;
    else
      reset_to_fresh(member, fresh);
  });
  if (present >> index) ok = false;  // a bit for a member records do not have
  ok = ok && in_.ok() && known_file(r.file, r.file);
  if (ok) ++records_;
  return ok;
}

template <typename Field, typename T>
bool PartDecoder::take_member(const Field& field, T& member) {
  Cursor& in = in_;
  const T& fresh = kFreshRecord.*field.member;
  if constexpr (kIsRanks<T>) {
    return false;  // never written
  } else if constexpr (std::is_same_v<T, bool>) {
    member = !fresh;
  } else if constexpr (kIsTextMember<T>) {
    member = ring_text();
  } else if constexpr (kIsTextList<T>) {
    member.clear();
    for (uint64_t n = in.count(); n > 0 && in.ok(); --n) member.push_back(ring_text());
  } else if constexpr (std::is_same_v<T, int64_t>) {
    int64_t value = unzigzag(in.varint());
    if (field.member == &RawRecord::time_ns) {
      // Unsigned: a damaged difference wraps instead of overflowing.
      value = int64_t(uint64_t(deltas_.time) + uint64_t(value));
      deltas_.time = value;
    }
    member = value;
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    member = deltas_.line = deltas_.line + uint64_t(unzigzag(in.varint()));
  } else if constexpr (std::is_enum_v<T>) {
    static_assert(std::is_same_v<T, TimeForm>, "each enum checks its own range");
    uint64_t value = in.varint();
    if (value > uint64_t(TimeForm::iso8601_no_zone)) return false;
    member = T(value);
  } else if constexpr (std::is_signed_v<T>) {
    int64_t value = unzigzag(in.varint());
    if (value < std::numeric_limits<T>::min() || value > std::numeric_limits<T>::max())
      return false;
    member = T(value);
  } else {
    uint64_t value = in.varint();
    if (value > std::numeric_limits<T>::max()) return false;
    member = T(value);
  }
  return in.ok();
}

std::string_view PartDecoder::ring_text() {
  uint64_t code = in_.varint();
  if (code >= kFirstSlot) {
    uint64_t slot = code - kFirstSlot;
    if (slot >= ring_.size()) return in_.fail(), std::string_view();
    return ring_[slot];
  }
  std::string_view text = in_.text();
  if (code == kNewKept) {
    if (text.size() > kLongestKept) return in_.fail(), std::string_view();
    new_texts_.push_back(text);
  }
  return text;
}

// As the writer does once a record is written (StateWriter's keep_new_texts()), here once the
// record was used: it views the ring's slots until then.
void PartDecoder::keep_new_texts() {
  for (std::string_view text : new_texts_) {
    if (next_slot_ < kRingSlots)
      ring_.emplace_back(text);  // a small state never allocates the whole ring
    else
      ring_[next_slot_ % kRingSlots].assign(text);
    ++next_slot_;
  }
  new_texts_.clear();
}

}  // namespace state

// ---- StateReader --------------------------------------------------------------------------

StateReader::StateReader(std::string path, std::unique_ptr<ByteSource> source)
    : path_(std::move(path)), source_(std::move(source)) {}
StateReader::~StateReader() = default;
StateReader::StateReader(StateReader&&) noexcept = default;
StateReader& StateReader::operator=(StateReader&&) noexcept = default;

std::optional<StateReader> StateReader::open(const std::string& path, InputError& error) {
  OpenedInput input = open_input(path);
  if (!input.source) {
    error = InputError{path, 0, input.error};
    return std::nullopt;
  }
  struct stat st {};
  bool plain = path != "-" && input.compression == Compression::none &&
               ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  StateReader reader(path, std::move(input.source));
  if (std::string why = read_header(*reader.source_, reader.header_, reader.header_end_);
      !why.empty()) {
    error = InputError{path, 0, why};
    return std::nullopt;
  }
  reader.seekable_ = plain;
  return reader;
}

std::optional<InputError> StateReader::replay(StateSink& sink, const ProgressFn& progress) {
  StateMerge merge;
  if (auto error = merge.add(std::move(*this))) return error;
  return merge.replay(sink, progress);
}

std::optional<InputError> StateReader::copy_blocks(std::FILE* out, const ProgressFn& progress) {
  Sequential in(*source_);
  if (std::string why = in.copy_blocks(out, progress); !why.empty())
    return InputError{path_, 0, why};
  return std::nullopt;
}

std::optional<InputError> replay_state_bytes(std::string_view bytes, StateSink& sink,
                                             StateHeader* header) {
  StateMerge merge;
  if (auto error = merge.add_bytes(bytes, header)) return error;
  return merge.replay(sink);
}

}  // namespace coroner
