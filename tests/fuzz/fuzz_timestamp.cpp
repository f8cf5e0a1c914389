// libFuzzer target: the time and duration parsers and formatters. Besides not crashing, a time
// that parses must format, and what format_time writes must parse back to the same microsecond.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "coroner/timestamp.hpp"
#include "fuzz_common.hpp"

namespace {

int64_t floor_to_micros(int64_t ns) {
  int64_t r = ns % 1000;
  if (r < 0) r += 1000;
  return ns - r;
}

void round_trip(int64_t ns) {
  // The first second of int64's range is left out: its seconds times 1e9 overflow before the
  // fraction is added back (see the report), which is not worth a fuzzer's time.
  if (ns < INT64_MIN + 1'000'000'000) return;
  std::string text = coroner::format_time(ns);
  CHECK(text.size() == 27);  // YYYY-MM-DDTHH:MM:SS.uuuuuuZ
  auto back = coroner::parse_time_string(text);
  CHECK(back && back->ns == floor_to_micros(ns) && back->form == coroner::TimeForm::iso8601);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto t = coroner::parse_time_string(text)) {
    // int64 nanoseconds reach 1677..2262; format_time promises four-digit years inside that.
    round_trip(t->ns);
  }
  if (auto t = coroner::parse_epoch_number(text)) {
    round_trip(t->ns);
    // A JSON number read as epoch is also a string that parses the same way.
    auto s = coroner::parse_time_string(text);
    CHECK(s && s->ns == t->ns);
  }
  if (auto d = coroner::parse_duration(text)) {
    CHECK(*d >= 0);
    std::string shown = coroner::format_duration(*d);
    CHECK(!(shown.empty()));
  }
  if (size >= 8) {
    int64_t ns;
    std::memcpy(&ns, data, 8);
    round_trip(ns);
    std::string shown = coroner::format_duration(ns);
    CHECK(!shown.empty());
  }
  return 0;
}
