// Everything a parser said about a log, one line of text per record or bad line: two parses
// that must agree (the flat reader on and off) are compared through it.
#pragma once

#include <array>
#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "coroner/record.hpp"
#include "record_parser.hpp"

namespace coroner_test {

inline void describe_value(std::ostream& out, std::string_view text) {
  out << '[' << text << ']';
}
inline void describe_value(std::ostream& out, const std::vector<std::string_view>& texts) {
  for (std::string_view text : texts) describe_value(out, text);
}
template <size_t N>
void describe_value(std::ostream& out, const std::array<uint8_t, N>& ranks) {
  for (uint8_t rank : ranks) out << int(rank) << ',';
}
template <typename T>
requires std::is_arithmetic_v<T> || std::is_enum_v<T>
void describe_value(std::ostream& out, T value) {
  if constexpr (std::is_enum_v<T>)
    out << +std::underlying_type_t<T>(value);
  else
    out << +value;  // a bool or a uint8_t as a number
}

// Every member of the record as name=value, through the one list of them (record.hpp).
inline std::string describe(const coroner::RawRecord& r) {
  std::ostringstream out;
  coroner::for_each_field(r, [&](std::string_view name, const auto& value) {
    out << name << '=';
    describe_value(out, value);
    out << ' ';
  });
  return out.str();
}

// Everything the parser said about a text, one line per record or bad line.
class DescribingSink : public coroner::RecordSink {
 public:
  void on_record(const coroner::RawRecord& r) override { lines.push_back(describe(r)); }
  bool on_bad_line(const coroner::BadLine& bad) override {
    std::string text = "bad ";
    text.append(std::to_string(bad.line)).append(": ").append(bad.reason);
    lines.push_back(text);
    return true;
  }
  std::vector<std::string> lines;
};

}  // namespace coroner_test
