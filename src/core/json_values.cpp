#include "json_values.hpp"

namespace coroner {

namespace {

// Walks bytes keeping the depth of brackets outside strings.
struct BracketCounter {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;

  void take(char c) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"' || c == '\n') {  // a raw newline: the string was damaged
        in_string = false;
      }
      return;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
};

}  // namespace

size_t json_value_end(const char* data, size_t size) {
  BracketCounter counter;
  for (size_t i = 0; i < size; ++i) {
    counter.take(data[i]);
    if (counter.depth == 0 && !counter.in_string) return i + 1;
  }
  return kNoValueEnd;
}

size_t last_newline_between_values(const char* data, size_t size) {
  BracketCounter counter;
  size_t last = kNoValueEnd;
  for (size_t i = 0; i < size; ++i) {
    counter.take(data[i]);
    if (data[i] == '\n' && counter.depth == 0 && !counter.in_string) last = i + 1;
  }
  return last;
}

}  // namespace coroner
