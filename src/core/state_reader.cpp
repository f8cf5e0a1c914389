#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "coroner/state.hpp"
#include "coroner/version.hpp"
#include "reader.hpp"
#include "state_format.hpp"

namespace coroner {

using namespace state;

namespace {

// A state in memory, as a source of bytes.
class ViewSource : public ByteSource {
 public:
  explicit ViewSource(std::string_view bytes) : bytes_(bytes) {}
  size_t read(char* dest, size_t size) override {
    size_t n = std::min(size, bytes_.size());
    std::memcpy(dest, bytes_.data(), n);
    bytes_.remove_prefix(n);
    return n;
  }

 private:
  std::string_view bytes_;
};

// A block's size is read before its checksum can vouch for it: the payload is read in steps,
// so a damaged size fails at the input's end instead of allocating what it claims.
constexpr size_t kReadStep = 16 << 20;

}  // namespace

class StateDecoder {
 public:
  explicit StateDecoder(std::unique_ptr<ByteSource> source) : source_(std::move(source)) {}

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
    if (std::string why = next_block(); !why.empty()) return why;
    Cursor in(block_);
    header.coroner_version = std::string(in.text());
    header.reading_arguments.clear();
    for (uint64_t n = in.count(); n > 0 && in.ok(); --n)
      header.reading_arguments.emplace_back(in.text());
    header.parts = in.varint();
    if (!in.ok() || !in.at_end() || header.parts == 0) return damaged("its header");
    parts_ = header.parts;
    if (header.coroner_version != kVersion)
      return fmt::format(
          "written by coroner {}; this is coroner {}: states merge only with the "
          "version that wrote them (run 'coroner partial' again)",
          header.coroner_version, kVersion);
    return {};
  }

  std::string replay(StateSink& sink, const ProgressFn& progress) {
    sink_ = &sink;
    while (true) {
      if (std::string why = next_block(); !why.empty()) return why;
      if (at_input_end_) return "damaged state: it ends before its last entry (a truncated copy?)";
      Cursor in(block_);
      while (!in.at_end()) {
        auto tag = Tag(in.byte());
        if (tag == Tag::end) {
          if (std::string why = end_part(in); !why.empty() || parts_done_ == parts_) return why;
          break;
        }
        if (!entry(tag, in))
          return damaged(fmt::format("entry {} of block {}", entries_ + 1, block_number_));
        ++entries_;
      }
      if (progress) progress(bytes_read_);
    }
  }

 private:
  size_t read_exact(char* dest, size_t size) {
    size_t done = 0;
    while (done < size) {
      size_t n = source_->read(dest + done, size - done);
      if (n == 0) break;
      done += n;
    }
    bytes_read_ += done;
    return done;
  }

  std::string damaged(std::string_view what) const {
    return fmt::format("damaged state: {} cannot be read (block {}, before byte {})", what,
                       block_number_, bytes_read_);
  }

  // Reads the next block into block_, checked; an empty block_ with at_input_end_ at the end.
  std::string next_block() {
    block_.clear();
    char head[8];
    size_t got = read_exact(head, sizeof head);
    if (!source_->error().empty()) return source_->error();
    if (got == 0) {
      at_input_end_ = true;
      return {};
    }
    ++block_number_;
    if (got < sizeof head) return "damaged state: it ends inside a block (a truncated copy?)";
    uint32_t size = take_u32(head), checksum = take_u32(head + 4);
    while (block_.size() < size) {
      size_t step = std::min<size_t>(kReadStep, size - block_.size());
      size_t old = block_.size();
      block_.resize(old + step);
      if (read_exact(block_.data() + old, step) != step) {
        if (!source_->error().empty()) return source_->error();
        return "damaged state: it ends inside a block (a truncated copy?)";
      }
    }
    if (!source_->damage().empty()) return "damaged state: " + source_->damage();
    auto crc = crc32(0, reinterpret_cast<const Bytef*>(block_.data()), uInt(block_.size()));
    block_crc_ = checksum;
    if (uint32_t(crc) != checksum)
      return fmt::format("damaged state: block {} fails its checksum (before byte {})",
                         block_number_, bytes_read_);
    return {};
  }

  bool entry(Tag tag, Cursor& in) {
    switch (tag) {
      case Tag::file:
        return file(in);
      case Tag::format:
        return format(in);
      case Tag::record:
        return record(in);
      case Tag::bad_line:
        return bad_line(in);
      case Tag::damage: {
        std::string note(in.text());
        if (in.ok()) sink_->add_damage(std::move(note));
        return in.ok();
      }
      case Tag::end:
        break;
    }
    return false;
  }

  // The end of a part (a shard's state as `partial` wrote it), the last entry of its block:
  // the next part starts afresh, its files numbered anew and its ring empty. After the last part
  // nothing may follow.
  std::string end_part(Cursor& in) {
    uint64_t records = in.varint(), bad_lines = in.varint();
    if (!in.ok() || !in.at_end() || records != records_ || bad_lines != bad_lines_)
      return damaged("the end of a part");
    ++parts_done_;
    if (parts_done_ == parts_) {
      char extra = 0;
      if (read_exact(&extra, 1) != 0) return "damaged state: bytes follow its last entry";
      return {};
    }
    records_ = bad_lines_ = 0;
    files_.clear();
    deltas_ = Deltas{};
    ring_.clear();
    next_slot_ = 0;
    return {};
  }

 public:
  // Copies the blocks after the header to `out` as they are, each checked against its checksum:
  // a state's parts go into a merged state without a record decoded.
  std::string copy_blocks(std::FILE* out, const ProgressFn& progress) {
    while (true) {
      if (std::string why = next_block(); !why.empty()) return why;
      if (at_input_end_) return {};
      std::string head;
      put_u32(head, uint32_t(block_.size()));
      put_u32(head, block_crc_);
      if (std::fwrite(head.data(), 1, head.size(), out) != head.size() ||
          std::fwrite(block_.data(), 1, block_.size(), out) != block_.size())
        return "cannot write the merged state";
      if (progress) progress(bytes_read_);
    }
  }

 private:
  bool file(Cursor& in) {
    std::string name(in.text());
    if (!in.ok()) return false;
    files_.push_back(sink_->add_file(std::move(name)));
    return true;
  }

  // The file a local index names, in the sink's numbering; false when the state never named it.
  bool known_file(uint64_t local, uint32_t& file) const {
    if (local >= files_.size()) return false;
    file = files_[local];
    return true;
  }

  bool format(Cursor& in) {
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
    if (!in.ok() || !known) return false;
    sink_->on_input_format(file, f);
    return true;
  }

  bool bad_line(Cursor& in) {
    BadLine bad;
    bool known = known_file(in.varint(), bad.file);
    bad.line = in.varint();
    bad.reason = in.text();
    if (!in.ok() || !known) return false;
    ++bad_lines_;
    sink_->on_bad_line(bad);
    return true;
  }

  bool record(Cursor& in) {
    RawRecord& r = record_;
    uint64_t present = in.varint();
    size_t index = 0;
    bool ok = true;
    for_each_field([&](const auto& field) {
      auto& member = r.*field.member;
      const auto& fresh = kFreshRecord.*field.member;
      bool is_present = present & (uint64_t(1) << index++);
      if (is_left_out(field) && is_present) ok = false;
      if (is_present)
        ok = take_member(in, field, member) && ok;
      else
        reset_to_fresh(member, fresh);
    });
    if (present >> index) ok = false;  // a bit for a member records do not have
    ok = ok && in.ok() && known_file(r.file, r.file);
    if (ok) {
      ++records_;
      sink_->on_record(r);
    }
    keep_new_texts();
    return ok;
  }

  template <typename Field, typename T>
  bool take_member(Cursor& in, const Field& field, T& member) {
    const T& fresh = kFreshRecord.*field.member;
    if constexpr (kIsRanks<T>) {
      return false;  // never written
    } else if constexpr (std::is_same_v<T, bool>) {
      member = !fresh;
    } else if constexpr (kIsTextMember<T>) {
      member = ring_text(in);
    } else if constexpr (kIsTextList<T>) {
      member.clear();
      for (uint64_t n = in.count(); n > 0 && in.ok(); --n) member.push_back(ring_text(in));
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
      if (value > uint64_t(TimeForm::asctime)) return false;
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

  std::string_view ring_text(Cursor& in) {
    uint64_t code = in.varint();
    if (code >= kFirstSlot) {
      uint64_t slot = code - kFirstSlot;
      if (slot >= ring_.size()) return in.fail(), std::string_view();
      return ring_[slot];
    }
    std::string_view text = in.text();
    if (code == kNewKept) {
      if (text.size() > kLongestKept) return in.fail(), std::string_view();
      new_texts_.push_back(text);
    }
    return text;
  }

  // As the writer does, once the record is read: see StateWriter's keep_new_texts().
  void keep_new_texts() {
    for (std::string_view text : new_texts_) {
      if (next_slot_ < kRingSlots)
        ring_.emplace_back(text);  // a small state never allocates the whole ring
      else
        ring_[next_slot_ % kRingSlots].assign(text);
      ++next_slot_;
    }
    new_texts_.clear();
  }

  std::unique_ptr<ByteSource> source_;
  StateSink* sink_ = nullptr;
  std::string block_;
  uint64_t block_number_ = 0;
  uint64_t bytes_read_ = 0;
  bool at_input_end_ = false;
  uint64_t entries_ = 0, records_ = 0, bad_lines_ = 0;
  uint64_t parts_ = 1, parts_done_ = 0;
  uint32_t block_crc_ = 0;
  std::vector<uint32_t> files_;  // the sink's index of each file the state named
  RawRecord record_;
  Deltas deltas_;
  std::vector<std::string> ring_;
  uint64_t next_slot_ = 0;
  std::vector<std::string_view> new_texts_;
};

StateReader::StateReader(std::string path, std::unique_ptr<StateDecoder> decoder)
    : path_(std::move(path)), decoder_(std::move(decoder)) {}
StateReader::~StateReader() = default;
StateReader::StateReader(StateReader&&) noexcept = default;
StateReader& StateReader::operator=(StateReader&&) noexcept = default;

std::optional<StateReader> StateReader::open(const std::string& path, InputError& error) {
  OpenedInput input = open_input(path);
  if (!input.source) {
    error = InputError{path, 0, input.error};
    return std::nullopt;
  }
  StateReader reader(path, std::make_unique<StateDecoder>(std::move(input.source)));
  if (std::string why = reader.decoder_->read_header(reader.header_); !why.empty()) {
    error = InputError{path, 0, why};
    return std::nullopt;
  }
  return reader;
}

std::optional<InputError> StateReader::replay(StateSink& sink, const ProgressFn& progress) {
  if (std::string why = decoder_->replay(sink, progress); !why.empty())
    return InputError{path_, 0, why};
  return std::nullopt;
}

std::optional<InputError> StateReader::copy_blocks(std::FILE* out, const ProgressFn& progress) {
  if (std::string why = decoder_->copy_blocks(out, progress); !why.empty())
    return InputError{path_, 0, why};
  return std::nullopt;
}

std::optional<InputError> replay_state_bytes(std::string_view bytes, StateSink& sink,
                                             StateHeader* header) {
  StateDecoder decoder(std::make_unique<ViewSource>(bytes));
  StateHeader read;
  std::string why = decoder.read_header(read);
  if (why.empty()) why = decoder.replay(sink, nullptr);
  if (header) *header = read;
  if (!why.empty()) return InputError{"<state>", 0, why};
  return std::nullopt;
}

}  // namespace coroner
