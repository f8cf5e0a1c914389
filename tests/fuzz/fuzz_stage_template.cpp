// libFuzzer target: stage templates. Besides not crashing on any bytes: a template masks to
// itself (nothing left to mask), holds no ASCII digit, and is at most five times the text (the
// longest placeholder for the shortest part: "<num>" for one digit); and the plain-sentence
// shortcut gives the full scanner's answer.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "stage_template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string out = "left over";
  std::string by_scanner = "left over";
  const bool masked = coroner::mask_variable_parts(text, out);
  CHECK(masked == coroner::mask_variable_parts_by_scanner(text, by_scanner));
  CHECK(out == by_scanner);
  if (!masked) {
    CHECK(out.empty());
    for (char c : text) CHECK(!(c >= '0' && c <= '9'));
    return 0;
  }
  CHECK(out.size() <= 5 * size);
  for (char c : out) CHECK(!(c >= '0' && c <= '9'));
  std::string again = "left over";
  CHECK(!coroner::mask_variable_parts(out, again));
  CHECK(again.empty());
  return 0;
}
