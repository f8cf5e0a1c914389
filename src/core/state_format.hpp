// The bytes of a partial state, shared by its writer and its reader (docs/STATE_FORMAT.md):
//
//   "coroner-state 2\n", then blocks: a u32 payload size and the payload's u32 CRC-32 (both
//   little-endian), then the payload. The first block is the header; the others hold entries,
//   each a tag byte and its fields. Entries make parts; a part's last block ends with the `end`
//   entry and has the top bit of its size set, so parts are found from the block sizes alone.
//
// Numbers are LEB128 varints (signed ones zigzagged), texts a varint size and the bytes. Nothing
// depends on the machine's byte order or word size: the same logs give the same bytes anywhere.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "coroner/record.hpp"

namespace coroner::state {

inline constexpr std::string_view kMagic = "coroner-state ";  // then the version and '\n'

enum class Tag : uint8_t { file = 1, format, record, bad_line, damage, end };

// A block closes after the entry that takes it past this size: small enough to read a state
// in bounded memory, large enough that the 8 bytes of a block's size and checksum do not count.
inline constexpr size_t kBlockTarget = 1 << 20;
// The top bit of a block's size word: this block is the last of its part (it ends with `end`).
inline constexpr uint32_t kPartEnd = 0x80000000u;
// The payload's size is the rest of the word.
inline constexpr uint32_t kLargestBlock = kPartEnd - 1;
// Texts a record names repeatedly (its task, stage, status, scope) are written once and then
// referred to by their slot in a ring of the latest texts written: both sides fill the ring the
// same way, so the reader finds each text where the writer left it.
inline constexpr uint32_t kRingSlots = 1 << 16;
// Longer texts (tracebacks, free-text messages) seldom repeat: written in full, not kept.
inline constexpr size_t kLongestKept = 256;
// A text's first varint: a new text to keep in the ring, a text not kept, or a slot + kFirstSlot.
inline constexpr uint64_t kNewKept = 0, kNewOnce = 1, kFirstSlot = 2;

inline void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(char(uint8_t(value) | 0x80));
    value >>= 7;
  }
  out.push_back(char(value));
}
inline uint64_t zigzag(int64_t value) {
  return (uint64_t(value) << 1) ^ uint64_t(value >> 63);
}
inline int64_t unzigzag(uint64_t value) {
  return int64_t(value >> 1) ^ -int64_t(value & 1);
}
inline void put_text(std::string& out, std::string_view text) {
  put_varint(out, text.size());
  out.append(text);
}
inline void put_u32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(char(uint8_t(value >> (8 * i))));
}
inline uint32_t take_u32(const char* p) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= uint32_t(uint8_t(p[i])) << (8 * i);
  return value;
}

// Reads a block's payload. Every read is checked: a damaged payload makes it fail, never read
// past the end; once failed, it answers zeros.
class Cursor {
 public:
  explicit Cursor(std::string_view bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}
  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }
  size_t left() const { return size_t(end_ - p_); }
  void fail() { ok_ = false, p_ = end_; }

  uint8_t byte() {
    if (p_ == end_) return fail(), 0;
    return uint8_t(*p_++);
  }
  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = byte();
      value |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return value;
    }
    return fail(), 0;
  }
  // A count of things that each take at least one byte: never more than the bytes left.
  uint64_t count() {
    uint64_t n = varint();
    if (n > left()) return fail(), 0;
    return n;
  }
  std::string_view bytes(uint64_t size) {
    if (size > left()) return fail(), std::string_view();
    std::string_view out(p_, size);
    p_ += size;
    return out;
  }
  std::string_view text() { return bytes(varint()); }

 private:
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

// How a record's members are written, in kRawRecordFields' order, after a varint whose bit i
// says that member i differs from a fresh record's (a flag's bit is its value). Two are left out:
// the sequence, a position in the input given anew by whoever reads, and which field filled each
// role, which only `coroner schema` reads (a fifth of a state's bytes).
template <typename T>
constexpr bool kIsTextMember =
    std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string>;
template <typename T>
constexpr bool kIsTextList = std::is_same_v<T, std::vector<std::string_view>>;

template <typename T>
constexpr bool kIsRanks = std::is_same_v<T, decltype(RawRecord::filled_by)>;

inline bool is_left_out(const auto& field) {
  if constexpr (std::is_same_v<decltype(field.member), uint64_t RawRecord::*>)
    return field.member == &RawRecord::sequence;
  return kIsRanks<std::remove_cvref_t<decltype(std::declval<RawRecord>().*field.member)>>;
}

// The time and the line move little from one record to the next: each is written as the
// difference from the previous record's that had one.
struct Deltas {
  int64_t time = 0;
  uint64_t line = 0;
};

}  // namespace coroner::state
