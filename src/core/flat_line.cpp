#include "flat_line.hpp"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace coroner {

namespace {

using Kind = JsonScalar::Kind;

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

const char* skip_blanks(const char* p, const char* end) {
  while (p < end && is_blank(*p)) ++p;
  return p;
}

// Reads nothing past `end`, for texts without padding.
const char* skip_digits_exactly(const char* p, const char* end) {
  while (p < end && is_digit(*p)) ++p;
  return p;
}

// The closing quote of a string whose contents start at `p`; nullptr when the string holds an
// escape, a control character or a non-ASCII byte (simdjson decodes and validates those), or
// does not close before `end`.
#if defined(__SSE2__)
// Sixteen bytes at a time, which may read up to 15 bytes past `end` (see kFlatLinePadding).
const char* closing_quote(const char* p, const char* end) {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  for (; p < end; p += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // A signed compare: bytes 0x80 to 0xff are below 0x20 too, and they stop the string too.
    __m128i stops =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmplt_epi8(v, space));
    auto mask = unsigned(_mm_movemask_epi8(stops));
    if (mask != 0) {
      const char* at = p + __builtin_ctz(mask);
      return at < end && *at == '"' ? at : nullptr;
    }
  }
  return nullptr;
}

const char* skip_digits(const char* p, const char* end) {
  const __m128i below_zero = _mm_set1_epi8('0' - 1);
  const __m128i above_nine = _mm_set1_epi8('9' + 1);
  for (; p < end; p += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i digits = _mm_and_si128(_mm_cmpgt_epi8(v, below_zero), _mm_cmplt_epi8(v, above_nine));
    auto others = ~unsigned(_mm_movemask_epi8(digits)) & 0xffffu;
    if (others != 0) return std::min(p + __builtin_ctz(others), end);
  }
  return end;
}
#else
const char* closing_quote(const char* p, const char* end) {
  for (; p < end; ++p) {
    auto c = static_cast<unsigned char>(*p);
    if (c == '"') return p;
    if (c < 0x20 || c >= 0x80 || c == '\\') return nullptr;
  }
  return nullptr;
}

const char* skip_digits(const char* p, const char* end) {
  return skip_digits_exactly(p, end);
}
#endif

// Past the JSON number that starts at `p`; nullptr when none does. `SkipDigits` may read past
// `end` (a chunk's padding) or not.
template <const char* (*SkipDigits)(const char*, const char*)>
const char* number_end(const char* p, const char* end) {
  if (p < end && *p == '-') ++p;
  if (p == end || !is_digit(*p)) return nullptr;
  p = *p == '0' ? p + 1 : SkipDigits(p, end);
  if (p < end && *p == '.') {
    ++p;
    if (p == end || !is_digit(*p)) return nullptr;
    p = SkipDigits(p, end);
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p == end || !is_digit(*p)) return nullptr;
    p = SkipDigits(p, end);
  }
  return p;
}

const char* literal_end(const char* p, const char* end, std::string_view word) {
  if (size_t(end - p) < word.size() || std::memcmp(p, word.data(), word.size()) != 0)
    return nullptr;
  return p + word.size();
}

// Reads the scalar value at `p` (p < end); returns past it, or nullptr when it is not one.
const char* parse_scalar(const char* p, const char* end, JsonScalar& value) {
  const char* after = nullptr;
  switch (*p) {
    case '"':
      after = closing_quote(p + 1, end);
      if (!after) return nullptr;
      value = {Kind::string, std::string_view(p + 1, size_t(after - p - 1))};
      return after + 1;
    case 't':
      after = literal_end(p, end, "true");
      break;
    case 'f':
      after = literal_end(p, end, "false");
      break;
    case 'n':
      after = literal_end(p, end, "null");
      if (after) value = {Kind::null, {}};
      return after;
    default:
      after = number_end<skip_digits>(p, end);
      if (after) value = {Kind::number, std::string_view(p, size_t(after - p))};
      return after;
  }
  if (after) value = {Kind::boolean, std::string_view(p, size_t(after - p))};
  return after;
}

// True when the `n` bytes at `p`, which end before `end`, are those of `text` (readable for at
// least 16 bytes).
bool starts_with(const char* p, const char* end, const char* text, size_t n) {
  if (size_t(end - p) < n) return false;
#if defined(__SSE2__)
  if (n <= 16) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text));
    auto equal = unsigned(_mm_movemask_epi8(_mm_cmpeq_epi8(a, b)));
    unsigned wanted = (1u << n) - 1;
    return (equal & wanted) == wanted;
  }
#endif
  return std::memcmp(p, text, n) == 0;
}

// Past the blanks, '}' and blanks that close an object and its line; nullptr when the line
// holds more.
const char* close_line(const char* p, const char* end) {
  p = skip_blanks(p, end);
  if (p == end || *p != '}') return nullptr;
  p = skip_blanks(p + 1, end);
  if (p == end) return end;
  return *p == '\n' ? p + 1 : nullptr;
}

}  // namespace

FlatLineReader::FlatLineReader() {
  shape_.reserve(256);
}

const char* FlatLineReader::read(const char* p, const char* end) {
  if (shape_size_ != 0)
    if (const char* next = read_same_shape(p, end)) return next;
  return read_in_full(p, end);
}

const char* FlatLineReader::read_same_shape(const char* p, const char* end) {
  for (size_t i = 0; i < shape_size_; ++i) {
    const Piece& piece = pieces_[i];
    if (!starts_with(p, end, shape_.data() + piece.offset, piece.size)) return nullptr;
    fields_[i].key = std::string_view(p + piece.key_offset, piece.key_size);
    p = parse_scalar(p + piece.size, end, fields_[i].value);
    if (!p) return nullptr;
  }
  p = close_line(p, end);
  if (!p) return nullptr;
  blank_ = false;
  same_keys_ = true;
  size_ = shape_size_;
  return p;
}

const char* FlatLineReader::read_in_full(const char* p, const char* end) {
  size_ = 0;
  blank_ = false;
  same_keys_ = false;
  // Where the text before each value starts (the line's start, or the end of the last value).
  std::array<const char*, kMaxFields> piece_starts;
  std::array<const char*, kMaxFields> value_starts;
  const char* line_start = p;
  p = skip_blanks(p, end);
  if (p == end || *p == '\n') {
    blank_ = true;
    return p == end ? end : p + 1;
  }
  if (*p != '{') return nullptr;
  p = skip_blanks(p + 1, end);
  if (p == end) return nullptr;
  if (*p == '}') return close_line(p, end);  // no keys: the shape stays for the next line
  const char* piece_start = line_start;
  while (true) {
    if (size_ == kMaxFields || *p != '"') return nullptr;
    const char* quote = closing_quote(p + 1, end);
    if (!quote) return nullptr;
    FlatField& field = fields_[size_];
    field.key = std::string_view(p + 1, size_t(quote - p - 1));
    p = skip_blanks(quote + 1, end);
    if (p == end || *p != ':') return nullptr;
    p = skip_blanks(p + 1, end);
    if (p == end) return nullptr;
    piece_starts[size_] = piece_start;
    value_starts[size_] = p;
    p = parse_scalar(p, end, field.value);
    if (!p) return nullptr;
    ++size_;
    piece_start = p;
    p = skip_blanks(p, end);
    if (p == end) return nullptr;
    if (*p == '}') break;
    if (*p != ',') return nullptr;
    p = skip_blanks(p + 1, end);
    if (p == end) return nullptr;
  }
  const char* next = close_line(p, end);
  if (next) keep_shape(piece_starts.data(), value_starts.data());
  return next;
}

void FlatLineReader::keep_shape(const char* const* piece_starts, const char* const* value_starts) {
  shape_.clear();
  shape_size_ = 0;
  for (size_t i = 0; i < size_; ++i) {
    // Only short pieces are worth comparing with the next line: a key padded with a page of
    // blanks is read in full each time.
    if (value_starts[i] - piece_starts[i] > kMaxPieceSize) return;
    Piece& piece = pieces_[i];
    piece.offset = uint32_t(shape_.size());
    piece.size = uint32_t(value_starts[i] - piece_starts[i]);
    piece.key_offset = uint32_t(fields_[i].key.data() - piece_starts[i]);
    piece.key_size = uint32_t(fields_[i].key.size());
    shape_.append(piece_starts[i], piece.size);
  }
  shape_.append(16, '\0');  // 16-byte loads of the last piece stay inside
  shape_size_ = size_;
}

bool is_json_number(std::string_view text) {
  const char* end = text.data() + text.size();
  return !text.empty() && number_end<skip_digits_exactly>(text.data(), end) == end;
}

}  // namespace coroner
