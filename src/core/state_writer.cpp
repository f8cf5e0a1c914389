#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <functional>

#include "coroner/state.hpp"
#include "state_format.hpp"

namespace coroner {

using namespace state;

namespace {

// A payload behind its size (with kPartEnd set when it ends a part) and checksum.
std::string framed_block(std::string_view payload, bool ends_part) {
  std::string out;
  put_u32(out, uint32_t(payload.size()) | (ends_part ? kPartEnd : 0));
  put_u32(out,
          uint32_t(crc32(0, reinterpret_cast<const Bytef*>(payload.data()), uInt(payload.size()))));
  out.append(payload);
  return out;
}

}  // namespace

void write_state_header(std::FILE* out, const StateHeader& header) {
  std::string bytes(kMagic);
  bytes += std::to_string(kStateFormatVersion) + '\n';
  std::string payload;
  put_text(payload, header.coroner_version);
  put_varint(payload, header.reading_arguments.size());
  for (const std::string& word : header.reading_arguments) put_text(payload, word);
  put_varint(payload, header.parts);
  bytes += framed_block(payload, false);
  std::fwrite(bytes.data(), 1, bytes.size(), out);  // a failed write shows in ferror at the end
}

// Entries into blocks, blocks into the file.
class StateWriter::Encoder {
 public:
  Encoder(std::FILE* out, const StateHeader& header) : out_(out) {
    StateHeader one_part = header;
    one_part.parts = 1;
    write_state_header(out, one_part);
  }

  std::string& entry(Tag tag) {
    block_.push_back(char(tag));
    return block_;
  }
  // Closes the block once it is big enough; called after each entry.
  void entry_done() {
    if (block_.size() >= kBlockTarget) flush();
  }

  void record(const RawRecord& r) {
    entry(Tag::record);
    uint64_t present = 0;
    size_t index = 0;
    for_each_field([&](const auto& field) {
      const auto& member = r.*field.member;
      if (!is_left_out(field) && !holds_fresh(member, kFreshRecord.*field.member))
        present |= uint64_t(1) << index;
      ++index;
    });
    put_varint(block_, present);
    index = 0;
    for_each_field([&](const auto& field) {
      if (present & (uint64_t(1) << index++)) put_member(field, r.*field.member);
    });
    keep_new_texts();
    ++records_;
    entry_done();
  }

  void end(uint64_t bad_lines) {
    put_varint(entry(Tag::end), records_);
    put_varint(block_, bad_lines);
    flush(true);
    if (std::fflush(out_) != 0) ok_ = false;
  }

  bool ok() const { return ok_; }
  uint64_t records() const { return records_; }

 private:
  template <typename Field, typename T>
  void put_member(const Field& field, const T& member) {
    if constexpr (kIsRanks<T>) {
      // Never written.
    } else if constexpr (std::is_same_v<T, bool>) {
      // The present bit is the value.
    } else if constexpr (kIsTextMember<T>) {
      put_ring_text(member);
    } else if constexpr (kIsTextList<T>) {
      put_varint(block_, member.size());
      for (std::string_view text : member) put_ring_text(text);
    } else if constexpr (std::is_same_v<T, int64_t>) {
      if (field.member == &RawRecord::time_ns) {
        // Unsigned: the difference of two far-apart times wraps, as the reader's sum does.
        put_varint(block_, zigzag(int64_t(uint64_t(member) - uint64_t(deltas_.time))));
        deltas_.time = member;
      } else {
        put_varint(block_, zigzag(member));
      }
    } else if constexpr (std::is_same_v<T, uint64_t>) {
      // The line: the only other 64-bit number written.
      put_varint(block_, zigzag(int64_t(member - deltas_.line)));
      deltas_.line = member;
    } else if constexpr (std::is_enum_v<T>) {
      put_varint(block_, uint64_t(member));
    } else if constexpr (std::is_signed_v<T>) {
      put_varint(block_, zigzag(member));
    } else {
      static_assert(std::is_unsigned_v<T>, "a member the state can carry");
      put_varint(block_, member);
    }
  }

  // A text is found in the ring through a table indexed by its hash, which remembers the slot
  // that last held a text of that hash: a slot since reused, or another text of the same hash,
  // fails the comparison and the text is written anew. That costs a few bytes now and then; a
  // map from every text in the ring to its slot cost a third of a partial's time in cache misses.
  void put_ring_text(std::string_view text) {
    size_t hash = std::hash<std::string_view>{}(text) & (kRingSlots - 1);
    uint32_t slot = slot_by_hash_[hash];
    if (slot != kNoSlot && ring_[slot] == text) {
      put_varint(block_, slot + kFirstSlot);
      return;
    }
    bool keep = text.size() <= kLongestKept;
    put_varint(block_, keep ? kNewKept : kNewOnce);
    put_text(block_, text);
    if (keep) new_texts_.push_back({text, hash});
  }

  // The ring learns a record's new texts once the record is written, as the reader's does once
  // the record is read: a text the record refers to stays in its slot while it is read.
  void keep_new_texts() {
    for (auto [text, hash] : new_texts_) {
      uint32_t slot = uint32_t(next_slot_++ % kRingSlots);
      if (slot == ring_.size())
        ring_.emplace_back(text);  // the ring grows to its size, then turns
      else
        ring_[slot].assign(text);
      slot_by_hash_[hash] = slot;
    }
    new_texts_.clear();
  }

  void write(std::string_view bytes) {
    if (ok_ && std::fwrite(bytes.data(), 1, bytes.size(), out_) != bytes.size()) ok_ = false;
  }

  void flush(bool ends_part = false) {
    if (block_.size() > kLargestBlock) ok_ = false, errno = EFBIG;  // a record of 2 GiB
    write(framed_block(block_, ends_part));
    block_.clear();
  }

  std::FILE* out_;
  std::string block_;
  bool ok_ = true;
  uint64_t records_ = 0;
  Deltas deltas_;
  std::vector<std::string> ring_;
  uint64_t next_slot_ = 0;
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  std::vector<uint32_t> slot_by_hash_ = std::vector<uint32_t>(kRingSlots, kNoSlot);
  struct NewText {
    std::string_view text;  // in the record being written
    size_t hash;
  };
  std::vector<NewText> new_texts_;
};

StateWriter::StateWriter(std::FILE* out, const StateHeader& header, bool strict)
    : encoder_(std::make_unique<Encoder>(out, header)), strict_(strict) {}

StateWriter::~StateWriter() = default;

uint32_t StateWriter::add_file(std::string name) {
  put_text(encoder_->entry(Tag::file), name);
  encoder_->entry_done();
  return files_++;
}

void StateWriter::add_damage(std::string note) {
  put_text(encoder_->entry(Tag::damage), note);
  encoder_->entry_done();
}

void StateWriter::on_input_format(uint32_t file, const InputFormat& format) {
  std::string& out = encoder_->entry(Tag::format);
  put_varint(out, file);
  put_varint(out, uint64_t(format.dialect));
  put_varint(out, format.multiline);
  put_text(out, format.why);
  put_varint(out, format.keys.size());
  for (const KeySeen& key : format.keys) {
    put_text(out, key.path);
    put_varint(out, key.records);
    put_varint(out, key.samples.size());
    for (const std::string& sample : key.samples) put_text(out, sample);
  }
  put_varint(out, format.records_looked);
  put_text(out, format.task_field);
  put_text(out, format.kind_field);
  put_text(out, format.task_field_why);
  put_varint(out, format.partial_scope_fields.size());
  for (const std::string& field : format.partial_scope_fields) put_text(out, field);
  put_text(out, format.partial_scope_why);
  put_text(out, format.unread_traceback_field);
  encoder_->entry_done();
}

void StateWriter::on_record(const RawRecord& record) {
  encoder_->record(record);
}

bool StateWriter::on_bad_line(const BadLine& bad) {
  if (strict_) {
    stopped_at_ = bad;
    return false;
  }
  std::string& out = encoder_->entry(Tag::bad_line);
  put_varint(out, bad.file);
  put_varint(out, bad.line);
  put_text(out, bad.reason);
  encoder_->entry_done();
  ++bad_lines_;
  return true;
}

uint64_t StateWriter::records() const {
  return encoder_->records();
}

bool StateWriter::finish() {
  encoder_->end(bad_lines_);
  return encoder_->ok();
}

}  // namespace coroner
