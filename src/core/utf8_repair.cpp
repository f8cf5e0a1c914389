#include "utf8_repair.hpp"

#include <cstdint>

namespace coroner {

namespace {

// The length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF), or 0 when the byte there starts none.
size_t sequence_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return i + k < text.size() ? uint8_t(text[i + k]) : 0; };
  auto continuation = [&](size_t k) { return (byte(k) & 0xC0) == 0x80; };
  uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    uint8_t low = lead == 0xE0 ? 0xA0 : 0x80, high = lead == 0xED ? 0x9F : 0xBF;
    return byte(1) >= low && byte(1) <= high && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    uint8_t low = lead == 0xF0 ? 0x90 : 0x80, high = lead == 0xF4 ? 0x8F : 0xBF;
    return byte(1) >= low && byte(1) <= high && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

// Windows-1252's characters for the bytes 0x80 to 0x9F (0 where it defines none).
constexpr char16_t kHighControls[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(char(c));
  } else if (c < 0x800) {
    out.push_back(char(0xC0 | (c >> 6)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else {
    out.push_back(char(0xE0 | (c >> 12)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  }
}

char32_t windows_1252(uint8_t byte) {
  if (byte < 0x80 || byte >= 0xA0) return byte;
  char16_t c = kHighControls[byte - 0x80];
  return c == 0 ? 0xFFFD : c;
}

}  // namespace

bool repair_utf8(std::string_view text, std::string& out, size_t padding) {
  size_t i = 0;
  while (i < text.size()) {
    size_t n = sequence_length(text, i);
    if (n == 0) break;
    i += n;
  }
  if (i == text.size()) return false;
  out.assign(text.substr(0, i));
  while (i < text.size()) {
    size_t n = sequence_length(text, i);
    if (n == 0) {
      append_utf8(out, windows_1252(uint8_t(text[i])));
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  out.append(padding, '\0');
  return true;
}

}  // namespace coroner
