// Masking the variable parts of a free-text stage name. One left-to-right scan, no regex, no
// allocation until the first variable part is found; every attempt looks at a bounded stretch
// or at the one word it starts, so the whole is O(n).
//
// The rules. Bytes >= 0x80 (UTF-8) count as letters. A "word character" is an ASCII letter or
// digit or such a byte. A token starts where the byte before is no word character and not '>',
// and ends where the byte after is no word character and not '<' (so that the placeholders'
// brackets never open a token a second pass would mask: a template masks to itself).
// At a token start, in this order:
//   <url>   scheme://rest: a scheme of 2 to 32 characters (a letter, then letters, digits, + - .),
//           the rest up to whitespace, '<', '>' or '"', without trailing . , ; : ! ? ' ) ] } or
//           backslash; at least one character after "://".
//   <uuid>  8-4-4-4-12 hex digits, any case.
//   <time>  a date YYYY-MM-DD, optionally followed by 'T' or one space and a time of day; or a
//           time of day H:MM:SS or HH:MM:SS (hours to 24, minutes to 59, seconds to 60) with an
//           optional fraction after '.' or ',', and an optional zone Z, +HH, +HHMM or +HH:MM.
//           HH:MM alone is no time (it reads as <num>:<num>).
//   <ip>    IPv4: four dotted numbers 0..255, not part of a longer dotted run, with an optional
//           :port of 1 to 5 digits. IPv6: hex groups of 1 to 4 digits, either 8 of them or fewer
//           with one "::", possibly ending in a dotted IPv4, with an optional %zone; it must hold
//           a decimal digit, so "a::b" and "std::vector" are left alone. "[v6]" and "[v6]:port"
//           are one <ip>.
//   <hex>   0x or 0X and hex digits; or a run of 8 or more hex digits, the whole token, with at
//           least one digit and letters of one case (a git sha, a span id 4bf92f3577b34da6).
//   <path>  a token starting with '/' that has a second '/' and a character other than '/'
//           ("/app/main.py", "/tmp/"; not "/health"); or one starting with ./ ../ ~/ and at
//           least one character more; or a drive path C:\... or C:/... with at least one more.
//           Paths are made of word characters and _ - . ~ / \ + @ % =; trailing '.' and '\'
//           are left out, and so is ":42" after "main.py". A path may start after '=' but not
//           after another path character.
// Anywhere:
//   <str>   a quoted string '...' or "..." on one line: the opening quote not after a word
//           character or '>' ("don't" opens nothing), the closing one the first same quote,
//           not escaped by '\', not followed by a word character or '<'.
//   <num>   a run of digits, with a leading sign when the sign does not follow a word character,
//           thousands groups ",ddd" when the first group has at most three digits, a fraction
//           ".d..." and an exponent "e+d...". Numbers inside words are masked too: job-07 ->
//           job-<num>, 12ms -> <num>ms, v2 -> v<num>. No digit survives masking.
#include "stage_template.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace coroner {

namespace {

enum class Mask : uint8_t { url, uuid, time, ip, hex, path, str, num };

constexpr std::string_view placeholder(Mask mask) {
  switch (mask) {
    case Mask::url:
      return "<url>";
    case Mask::uuid:
      return "<uuid>";
    case Mask::time:
      return "<time>";
    case Mask::ip:
      return "<ip>";
    case Mask::hex:
      return "<hex>";
    case Mask::path:
      return "<path>";
    case Mask::str:
      return "<str>";
    case Mask::num:
      return "<num>";
  }
  return "";
}

struct Span {
  size_t begin;
  size_t end;
  Mask mask;
};

// Character classes, looked up in one table: the scanner asks them of every byte.
enum : uint8_t { kDigit = 1, kLetter = 2, kHigh = 4, kHexLetter = 8 };
constexpr std::array<uint8_t, 256> kClasses = [] {
  std::array<uint8_t, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = kDigit;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 32] = kLetter;
  for (int c = 'a'; c <= 'f'; ++c) t[c] = t[c - 32] = kLetter | kHexLetter;
  for (int c = 0x80; c < 0x100; ++c) t[c] = kHigh;
  return t;
}();

constexpr bool is_digit(unsigned char c) {
  return kClasses[c] & kDigit;
}
constexpr bool is_letter(unsigned char c) {
  return kClasses[c] & kLetter;
}
constexpr bool is_word(unsigned char c) {
  return kClasses[c] & (kDigit | kLetter | kHigh);
}
constexpr bool is_hex(unsigned char c) {
  return kClasses[c] & (kDigit | kHexLetter);
}
// '>' ends a placeholder and '<' starts one: they bind like word characters, so that what a
// first pass left standing beside a placeholder is read the same by a second.
constexpr bool binds_left(unsigned char c) {
  return is_word(c) || c == '>';
}
constexpr bool binds_right(unsigned char c) {
  return is_word(c) || c == '<';
}
constexpr bool is_path_char(unsigned char c) {
  return is_word(c) || std::string_view("_-.~/\\+@%=").find(char(c)) != std::string_view::npos;
}
constexpr bool is_url_char(unsigned char c) {
  return c > ' ' && c != 0x7f && c != '<' && c != '>' && c != '"';
}
// Punctuation that ends the sentence around a url rather than the url.
constexpr bool is_url_trailer(unsigned char c) {
  return std::string_view(".,;:!?')]}\\").find(char(c)) != std::string_view::npos;
}

class Scanner {
 public:
  explicit Scanner(std::string_view text) : s_(text) {}

  // The next variable part after the last one found, in text order; false when there is none.
  bool next(Span& span);
  // 8-4-4-4-12 hex digits at `i`, a whole token; `end` past them.
  bool uuid(size_t i, size_t& end) const;

 private:
  // The byte at `i`, or 0 past the end: a NUL is no word character, nor is the end.
  unsigned char at(size_t i) const { return i < s_.size() ? static_cast<unsigned char>(s_[i]) : 0; }
  bool starts_token(size_t i) const { return i == 0 || !binds_left(at(i - 1)); }
  bool ends_token(size_t i) const { return !binds_right(at(i)); }
  // The number of `pred` bytes from `i` on, counting no further than `limit`.
  template <typename Pred>
  size_t run(size_t i, Pred pred, size_t limit = SIZE_MAX) const {
    size_t n = 0;
    while (n < limit && pred(at(i + n))) ++n;
    return n;
  }
  size_t digits(size_t i, size_t limit = SIZE_MAX) const { return run(i, is_digit, limit); }
  // The value of the `count` digits at `i` (count is small).
  unsigned value(size_t i, size_t count) const {
    unsigned v = 0;
    for (size_t k = 0; k < count; ++k) v = v * 10 + (at(i + k) - '0');
    return v;
  }

  bool token_at_digit(size_t i, Span& span) const;
  bool token_at_letter(size_t i, Span& span) const;
  Span number(size_t i) const;

  bool url(size_t i, size_t& end) const;
  bool date(size_t i, size_t& end) const;
  bool time_of_day(size_t i, size_t& end) const;
  bool time(size_t i, size_t& end) const;
  bool ipv4_address(size_t i, size_t& end) const;
  bool ipv4(size_t i, size_t& end) const;
  bool ipv6_address(size_t i, size_t& end) const;
  bool ipv6(size_t i, size_t& end) const;
  bool bracketed_ipv6(size_t i, size_t& end) const;
  bool port(size_t i, size_t& end) const;
  bool hex(size_t i, size_t& end) const;
  bool path(size_t i, size_t& end) const;
  bool drive_path(size_t i, size_t& end) const;
  size_t path_end(size_t i) const;
  bool quoted(size_t i, size_t& end);

  std::string_view s_;
  size_t pos_ = 0;
  size_t literal_begin_ = 0;  // where the text after the last variable part starts
  // A quote before these positions has no closing quote on its line: the scan for one, done
  // once, stands for every opening quote up to the line's end (a closing quote's test looks only
  // at the bytes around it), which keeps many unmatched quotes linear.
  size_t no_single_close_before_ = 0;
  size_t no_double_close_before_ = 0;
};

bool Scanner::next(Span& span) {
  const size_t n = s_.size();
  while (pos_ < n) {
    const size_t i = pos_;
    const unsigned char c = at(i);
    bool found = false;
    if (is_digit(c)) {
      // A digit is always part of a variable part: no digit survives.
      if (!(starts_token(i) && token_at_digit(i, span))) span = number(i);
      found = true;
    } else if (is_word(c)) {
      // The rest of the word's letters start no token; its digits are numbers.
      size_t letters_end = i + 1;
      while (letters_end < n && (kClasses[uint8_t(s_[letters_end])] & (kLetter | kHigh)))
        ++letters_end;
      // Every token a letter starts has a digit or one of ": - + ." right after its first
      // letters ("https:", "C:", "fe80", "abcdefab-", "a94a8fe5"): a constant name ("await",
      // "approval") is passed over in one step.
      const unsigned char after = at(letters_end);
      const bool maybe_token =
          is_digit(after) || after == ':' || after == '-' || after == '+' || after == '.';
      if (maybe_token && starts_token(i) && token_at_letter(i, span)) {
        found = true;
      } else {
        pos_ = letters_end;
        continue;
      }
    } else {
      size_t end = 0;
      if (c == '\'' || c == '"') {
        found = quoted(i, end);
        span = {i, end, Mask::str};
      } else if (c == '/' || c == '.' || c == '~') {
        found = path(i, end);
        span = {i, end, Mask::path};
      } else if (c == ':') {
        found = starts_token(i) && ipv6(i, end);  // "::1"
        span = {i, end, Mask::ip};
      } else if (c == '[') {
        found = bracketed_ipv6(i, end);
        span = {i, end, Mask::ip};
      }
    }
    if (found) {
      pos_ = literal_begin_ = span.end;
      return true;
    }
    ++pos_;
  }
  return false;
}

bool Scanner::token_at_digit(size_t i, Span& span) const {
  // Each token a digit starts is a run of 8 or more hex digits, or has ": - . x" right after its
  // first hex digits ("2024-", "12:", "10.", "fe80:", "0x"); "12ms" and "1234 " are numbers.
  const size_t hex_digits = run(i, is_hex);
  const unsigned char after = at(i + hex_digits);
  if (hex_digits < 8 && after != ':' && after != '-' && after != '.' && (after | 0x20) != 'x')
    return false;
  size_t end = 0;
  if (uuid(i, end))
    span = {i, end, Mask::uuid};
  else if (time(i, end))
    span = {i, end, Mask::time};
  else if (ipv4(i, end) || ipv6(i, end))
    span = {i, end, Mask::ip};
  else if (hex(i, end))
    span = {i, end, Mask::hex};
  else
    return false;
  return true;
}

bool Scanner::token_at_letter(size_t i, Span& span) const {
  size_t end = 0;
  if (url(i, end))
    span = {i, end, Mask::url};
  else if (drive_path(i, end))
    span = {i, end, Mask::path};
  else if (uuid(i, end))
    span = {i, end, Mask::uuid};
  else if (ipv6(i, end))
    span = {i, end, Mask::ip};
  else if (hex(i, end))
    span = {i, end, Mask::hex};
  else
    return false;
  return true;
}

Span Scanner::number(size_t i) const {
  size_t begin = i;
  // "-5" and "+5" are signed; "job-5" and "1-5" are not.
  if (i > literal_begin_ && (at(i - 1) == '-' || at(i - 1) == '+') &&
      (i == 1 || !is_word(at(i - 2))))
    --begin;
  size_t p = i + digits(i);
  if (p - i <= 3) {
    // Thousands groups: "1,234,567" is one number ("12:00:01,123" was a time already).
    while (at(p) == ',' && digits(p + 1, 4) == 3) p += 4;
  }
  if (at(p) == '.' && is_digit(at(p + 1))) p += 1 + digits(p + 1);
  if ((at(p) | 0x20) == 'e') {
    size_t q = p + 1;
    if (at(q) == '+' || at(q) == '-') ++q;
    if (is_digit(at(q))) p = q + digits(q);
  }
  return {begin, p, Mask::num};
}

bool Scanner::url(size_t i, size_t& end) const {
  auto is_scheme_char = [](unsigned char c) {
    return is_letter(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
  };
  const size_t scheme = run(i, is_scheme_char, 33);
  if (scheme < 2 || scheme > 32 || at(i + scheme) != ':' || at(i + scheme + 1) != '/' ||
      at(i + scheme + 2) != '/')
    return false;
  const size_t rest = i + scheme + 3;
  size_t p = rest + run(rest, is_url_char);
  while (p > rest && is_url_trailer(at(p - 1))) --p;
  if (p == rest) return false;
  end = p;
  return true;
}

bool Scanner::uuid(size_t i, size_t& end) const {
  static constexpr size_t kGroups[] = {8, 4, 4, 4, 12};
  size_t p = i;
  for (size_t group : kGroups) {
    if (p != i && at(p++) != '-') return false;
    if (run(p, is_hex, group) != group) return false;
    p += group;
  }
  if (!ends_token(p)) return false;
  end = p;
  return true;
}

bool Scanner::date(size_t i, size_t& end) const {
  if (digits(i, 5) != 4 || at(i + 4) != '-' || digits(i + 5, 3) != 2 || at(i + 7) != '-' ||
      digits(i + 8, 3) != 2)
    return false;
  const unsigned month = value(i + 5, 2), day = value(i + 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  end = i + 10;
  return true;
}

bool Scanner::time_of_day(size_t i, size_t& end) const {
  const size_t h = digits(i, 3);
  if (h < 1 || h > 2 || at(i + h) != ':') return false;
  const size_t m = i + h + 1;
  if (digits(m, 3) != 2 || at(m + 2) != ':' || digits(m + 3, 3) != 2) return false;
  if (value(i, h) > 24 || value(m, 2) > 59 || value(m + 3, 2) > 60) return false;
  size_t p = m + 5;
  if ((at(p) == '.' || at(p) == ',') && is_digit(at(p + 1))) p += 1 + digits(p + 1);
  // The zone.
  if ((at(p) | 0x20) == 'z') {
    ++p;
  } else if ((at(p) == '+' || at(p) == '-') && digits(p + 1, 3) == 2) {
    p += 3;
    if (digits(p, 3) == 2)
      p += 2;
    else if (at(p) == ':' && digits(p + 1, 3) == 2)
      p += 3;
  }
  end = p;
  return true;
}

bool Scanner::time(size_t i, size_t& end) const {
  size_t p = 0;
  if (date(i, p)) {
    size_t q = 0;
    if ((at(p) == 'T' || at(p) == 't' || at(p) == ' ') && time_of_day(p + 1, q)) p = q;
  } else if (!time_of_day(i, p)) {
    return false;
  }
  if (!ends_token(p)) return false;
  end = p;
  return true;
}

bool Scanner::ipv4_address(size_t i, size_t& end) const {
  size_t p = i;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0 && at(p++) != '.') return false;
    const size_t d = digits(p, 4);
    if (d < 1 || d > 3 || value(p, d) > 255) return false;
    p += d;
  }
  end = p;
  return true;
}

bool Scanner::port(size_t i, size_t& end) const {
  if (at(i) != ':') return false;
  const size_t d = digits(i + 1, 6);
  if (d < 1 || d > 5 || value(i + 1, d) > 65535 || !ends_token(i + 1 + d)) return false;
  end = i + 1 + d;
  return true;
}

bool Scanner::ipv4(size_t i, size_t& end) const {
  // Not the tail of a longer dotted run ("1.2.3.4.5" is a version, not an address).
  if (i > 0 && at(i - 1) == '.') return false;
  size_t p = 0;
  if (!ipv4_address(i, p) || !ends_token(p) || (at(p) == '.' && is_digit(at(p + 1)))) return false;
  port(p, p);
  end = p;
  return true;
}

bool Scanner::ipv6_address(size_t i, size_t& end) const {
  size_t p = i;
  int groups = 0;
  bool compressed = false;
  bool has_digit = false;
  if (at(p) == ':' && at(p + 1) == ':') {
    compressed = true;
    p += 2;
  }
  while (true) {
    const size_t len = run(p, is_hex, 5);
    if (len == 0) break;
    if (len > 4) return false;
    // A dotted IPv4 tail ("::ffff:192.168.0.1") counts as two groups.
    size_t v4_end = 0;
    if (at(p + len) == '.' && groups <= 6 && ipv4_address(p, v4_end)) {
      p = v4_end;
      groups += 2;
      has_digit = true;
      break;
    }
    for (size_t k = 0; k < len; ++k) has_digit |= is_digit(at(p + k));
    p += len;
    ++groups;
    if (groups > 8) return false;
    if (at(p) == ':' && at(p + 1) == ':') {
      if (compressed) return false;
      compressed = true;
      p += 2;
    } else if (at(p) == ':' && is_hex(at(p + 1))) {
      ++p;
    } else {
      break;
    }
  }
  if (!has_digit || (compressed ? groups > 7 : groups != 8)) return false;
  end = p;
  return true;
}

bool Scanner::ipv6(size_t i, size_t& end) const {
  if (i > 0 && (at(i - 1) == '.' || at(i - 1) == ':')) return false;
  size_t p = 0;
  if (!ipv6_address(i, p)) return false;
  if (at(p) == '%') {
    auto is_zone_char = [](unsigned char c) {
      return is_letter(c) || is_digit(c) || c == '_' || c == '-' || c == '.';
    };
    const size_t zone = run(p + 1, is_zone_char, 33);
    if (zone >= 1 && zone <= 32) p += 1 + zone;
  }
  if (!ends_token(p)) return false;
  end = p;
  return true;
}

bool Scanner::bracketed_ipv6(size_t i, size_t& end) const {
  size_t p = 0;
  if (!ipv6_address(i + 1, p) || at(p) != ']') return false;
  ++p;
  port(p, p);
  end = p;
  return true;
}

bool Scanner::hex(size_t i, size_t& end) const {
  if (at(i) == '0' && (at(i + 1) | 0x20) == 'x' && is_hex(at(i + 2))) {
    const size_t p = i + 2 + run(i + 2, is_hex);
    if (!ends_token(p)) return false;
    end = p;
    return true;
  }
  bool digit = false, lower = false, upper = false;
  size_t p = i;
  for (; is_hex(at(p)); ++p) {
    const unsigned char c = at(p);
    digit |= is_digit(c);
    lower |= c >= 'a';
    upper |= c >= 'A' && c <= 'F';
  }
  // Letters of one case: "Decade2024" is a word with a number, "4bf92f35" an id.
  if (p - i < 8 || !digit || lower == upper || !ends_token(p)) return false;
  end = p;
  return true;
}

size_t Scanner::path_end(size_t i) const {
  size_t p = i + run(i, is_path_char);
  // A sentence's full stop is no part of the path; nor is a backslash, which in a quoted
  // string escapes what follows and must go on doing so once the path is masked.
  while (p > i && (at(p - 1) == '.' || at(p - 1) == '\\')) --p;
  return p;
}

bool Scanner::path(size_t i, size_t& end) const {
  // After '=' ("file=/tmp/x"), but not inside a word or another path ("and/or", "a/b/c").
  if (i > 0 && (binds_left(at(i - 1)) || (is_path_char(at(i - 1)) && at(i - 1) != '=')))
    return false;
  size_t prefix = 0;
  if (at(i) == '/')
    prefix = 1;
  else if (at(i) == '.' && at(i + 1) == '/')
    prefix = 2;
  else if (at(i) == '.' && at(i + 1) == '.' && at(i + 2) == '/')
    prefix = 3;
  else if (at(i) == '~' && at(i + 1) == '/')
    prefix = 2;
  else
    return false;
  const size_t p = path_end(i);
  if (prefix == 1) {
    // "/app/main.py" and "/tmp/", not "/health" nor "//".
    size_t slashes = 0;
    bool other = false;
    for (size_t k = i; k < p; ++k) {
      slashes += at(k) == '/';
      other |= at(k) != '/';
    }
    if (slashes < 2 || !other) return false;
  } else if (p <= i + prefix) {
    return false;
  }
  end = p;
  return true;
}

bool Scanner::drive_path(size_t i, size_t& end) const {
  if (!is_letter(at(i)) || at(i + 1) != ':' || (at(i + 2) != '\\' && at(i + 2) != '/'))
    return false;
  const size_t p = path_end(i + 2);
  if (p <= i + 3) return false;
  end = p;
  return true;
}

bool Scanner::quoted(size_t i, size_t& end) {
  if (i > 0 && binds_left(at(i - 1))) return false;  // "don't", "students'"
  const unsigned char quote = at(i);
  size_t& no_close_before = quote == '\'' ? no_single_close_before_ : no_double_close_before_;
  if (i < no_close_before) return false;
  size_t p = i + 1;
  for (; p < s_.size(); ++p) {
    const unsigned char c = at(p);
    if (c == '\n' || c == '\r') break;
    if (c == '\\' && at(p + 1) != '\n' && at(p + 1) != '\r') {
      ++p;
    } else if (c == quote && !binds_right(at(p + 1))) {
      end = p + 1;
      return true;
    }
  }
  no_close_before = p;
  return false;
}

// Plain sentences: ASCII letters, digits, spaces and punctuation that no rule above looks at
// ("validated order 1047 in 11 ms", "saved order 7 to db_shard 3", "retry (attempt 2)!"). In such
// a text no rule but <num> can match, and each run of digits is one <num>. Most logs write such
// messages, and the scanner, with a branch or more a byte, costs nearly what the rest of reading
// the record costs: a sentence of up to 64 bytes is read instead without a branch a byte, into one
// bit a byte for each class below, and the rules become a few operations on those bits. It gives up
// on anything a rule might read differently, and the scanner decides:
//   - a longer text, or any other byte (quotes, / ~ : + [ < >, control bytes, UTF-8);
//   - a run of 8 hex digits (a hex id or a uuid's first group);
//   - a digit followed by e or x (an exponent, "0x");
//   - '.' ',' '-' next to a digit (a fraction, thousands, a sign, a date, an address, "job-7"),
//     or followed by '.' (a path "../").
enum : uint8_t {
  kPlainOther = 1,
  kPlainDigit = 2,
  kPlainHex = 4,  // digits too
  kPlainJoin = 8,
  kPlainDot = 16,  // a joiner too
  kPlainExpOrX = 32,
};
constexpr std::array<uint8_t, 256> kPlainClasses = [] {
  std::array<uint8_t, 256> t{};
  t.fill(kPlainOther);
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 32] = 0;
  for (int c = 'a'; c <= 'f'; ++c) t[c] = t[c - 32] = kPlainHex;
  for (int c = '0'; c <= '9'; ++c) t[c] = kPlainDigit | kPlainHex;
  for (char c : std::string_view(" _!?;()=@#%&*|$")) t[uint8_t(c)] = 0;
  t['e'] = t['E'] = kPlainHex | kPlainExpOrX;
  t['x'] = t['X'] = kPlainExpOrX;
  t[','] = t['-'] = kPlainJoin;
  t['.'] = kPlainJoin | kPlainDot;
  return t;
}();

// The plain classes of up to 64 bytes: bit i of a class's mask is set when byte i is of it.
struct PlainMasks {
  uint64_t other = 0, digit = 0, hex = 0, join = 0, dot = 0, exp_or_x = 0;
};

// Bit j of the result: bit `bit` of byte j of `classes`, for the 8 bytes of a word.
constexpr uint64_t gather_bits(uint64_t classes, int bit) {
  constexpr uint64_t kLowBits = 0x0101010101010101;
  constexpr uint64_t kSpread = 0x0102040810204080;  // moves byte j's low bit to bit 56 + j
  return (((classes >> bit) & kLowBits) * kSpread) >> 56;
}

PlainMasks plain_masks(std::string_view text) {
  std::array<uint8_t, 64> classes{};  // past the text: 0, a word byte
  for (size_t i = 0; i < text.size(); ++i) classes[i] = kPlainClasses[uint8_t(text[i])];
  PlainMasks m;
  for (size_t word = 0; word * 8 < text.size(); ++word) {
    uint64_t eight = 0;  // byte j in bits 8j to 8j + 7
    std::memcpy(&eight, classes.data() + word * 8, 8);
    if constexpr (std::endian::native == std::endian::big) eight = __builtin_bswap64(eight);
    const int at = int(word * 8);
    m.other |= gather_bits(eight, 0) << at;
    m.digit |= gather_bits(eight, 1) << at;
    m.hex |= gather_bits(eight, 2) << at;
    m.join |= gather_bits(eight, 3) << at;
    m.dot |= gather_bits(eight, 4) << at;
    m.exp_or_x |= gather_bits(eight, 5) << at;
  }
  return m;
}

enum class Plain { no, constant, masked };

Plain mask_plain_sentence(std::string_view text, std::string& out) {
  const size_t n = text.size();
  if (n > 64) return Plain::no;
  const PlainMasks m = plain_masks(text);
  uint64_t hex8 = m.hex & m.hex >> 1;  // a bit where 2, then 4, then 8 hex digits start
  hex8 &= hex8 >> 2;
  hex8 &= hex8 >> 4;
  const uint64_t before_digit = m.digit >> 1, after_digit = m.digit << 1;
  if (m.other | hex8 | (m.exp_or_x & after_digit) | (m.join & (before_digit | after_digit)) |
      (m.join & m.dot >> 1))
    return Plain::no;
  if (m.digit == 0) return Plain::constant;
  // Each run of digits, from its first digit to its last, is one <num>.
  uint64_t firsts = m.digit & ~after_digit;
  uint64_t lasts = m.digit & ~before_digit;
  out.reserve(n + 16);
  size_t copied = 0;
  for (; firsts != 0; firsts &= firsts - 1, lasts &= lasts - 1) {
    const size_t first = size_t(__builtin_ctzll(firsts));
    out.append(text.substr(copied, first - copied));
    out.append("<num>");
    copied = size_t(__builtin_ctzll(lasts)) + 1;
  }
  out.append(text.substr(copied));
  return Plain::masked;
}

}  // namespace

bool mask_variable_parts(std::string_view text, std::string& out) {
  out.clear();
  switch (mask_plain_sentence(text, out)) {
    case Plain::constant:
      return false;
    case Plain::masked:
      return true;
    case Plain::no:
      out.clear();
      return mask_variable_parts_by_scanner(text, out);
  }
  return false;
}

bool mask_variable_parts_by_scanner(std::string_view text, std::string& out) {
  out.clear();
  Scanner scanner(text);
  Span span{};
  if (!scanner.next(span)) return false;
  out.reserve(text.size() + 16);
  size_t copied = 0;
  do {
    out.append(text.substr(copied, span.begin - copied));
    out.append(placeholder(span.mask));
    copied = span.end;
  } while (scanner.next(span));
  out.append(text.substr(copied));
  return true;
}

bool is_uuid(std::string_view text) {
  if (text.size() == 32)
    return std::all_of(text.begin(), text.end(), [](char c) { return is_hex(c); });
  size_t end = 0;
  return text.size() == 36 && Scanner(text).uuid(0, end) && end == text.size();
}

}  // namespace coroner
