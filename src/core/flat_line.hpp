// The shape nearly every log line has: one flat JSON object whose values are ASCII strings
// without escapes, numbers, true, false or null. Such a line is read here in one short pass,
// much faster than a general parser walks it. Every other line (nested values, escapes,
// non-ASCII text, damage) is refused and left to simdjson, so a line read here is always one
// simdjson would accept, and reads the same.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace coroner {

// A JSON value as the roles see it.
struct JsonScalar {
  enum class Kind : uint8_t { string, number, boolean, null, container };
  Kind kind = Kind::null;
  // A string's contents, a number or true/false as written; empty for null and for a
  // container (an object or array, which only simdjson reads).
  std::string_view text;
};

struct FlatField {
  std::string_view key;
  JsonScalar value;
};

// The flat reader looks at up to this many bytes past the end it is given: they must be readable
// (a Chunk's padding is).
constexpr size_t kFlatLinePadding = 16;

// Reads flat lines one after another. Lines of a log mostly share their keys, in the same order
// and spacing: the text before each value ('{"timestamp": ', ', "task_id": ') is kept from the
// last line read in full, and a line that repeats it has only its values read.
class FlatLineReader {
 public:
  static constexpr size_t kMaxFields = 64;

  FlatLineReader();

  // Reads the line that starts at `p` and ends at the next '\n' or at `end`, which
  // kFlatLinePadding readable bytes follow. Returns where the next line starts; nullptr when the
  // line is neither blank nor a flat object of at most kMaxFields fields, and then the fields
  // below mean nothing.
  const char* read(const char* p, const char* end);

  bool blank() const { return blank_; }  // only blanks: no record, and no error either
  size_t size() const { return size_; }
  const FlatField& field(size_t i) const { return fields_[i]; }
  // The keys are those of the last line read that had fields: anything the caller worked out
  // from them still holds.
  bool same_keys() const { return same_keys_; }

 private:
  // The text from the end of one value (or the line's start) to the start of the next.
  struct Piece {
    uint32_t offset = 0;  // into shape_
    uint32_t size = 0;
    uint32_t key_offset = 0;  // the key's contents, from the piece's start
    uint32_t key_size = 0;
  };

  const char* read_in_full(const char* p, const char* end);
  const char* read_same_shape(const char* p, const char* end);
  void keep_shape(const char* const* piece_starts, const char* const* value_starts);

  static constexpr ptrdiff_t kMaxPieceSize = 4096;

  bool blank_ = false;
  bool same_keys_ = false;
  size_t size_ = 0;
  std::array<FlatField, kMaxFields> fields_;
  std::string shape_;      // the pieces, one after another, then padding for 16-byte loads
  size_t shape_size_ = 0;  // how many pieces: 0 when there is no shape to try
  std::array<Piece, kMaxFields> pieces_;
};

// True when `text` is exactly one JSON number (RFC 8259: no leading zeros, no bare '.', no '+').
bool is_json_number(std::string_view text);
// True when `text` is exactly one JSON number without a fraction or an exponent.
// Inline: every task id of every record is checked. Ids of four to eight digits, most of them,
// are checked in two four-byte words that overlap, without a loop whose end the branch predictor
// missed on every change of length.
inline bool is_json_integer(std::string_view text) {
  if (!text.empty() && text[0] == '-') text.remove_prefix(1);
  if (text.empty()) return false;
  if (text[0] == '0') return text.size() == 1;
  if (text.size() >= 4 && text.size() <= 8) {
    uint32_t head, tail;
    std::memcpy(&head, text.data(), 4);
    std::memcpy(&tail, text.data() + text.size() - 4, 4);
    // Every byte 0x30..0x39: its high nibble is 3, and adding 6 does not carry out of it.
    auto digits = [](uint32_t w) {
      return (w & 0xF0F0F0F0u) == 0x30303030u && ((w + 0x06060606u) & 0xF0F0F0F0u) == 0x30303030u;
    };
    return digits(head) && digits(tail);
  }
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace coroner
