// A small streaming JSON writer: objects, arrays, escaped strings, commas handled.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace coroner {

void append_json_string(std::string& out, std::string_view text);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(int64_t number);
  JsonWriter& value(uint64_t number);
  JsonWriter& value(int number) { return value(int64_t(number)); }
  JsonWriter& value(double number);
  JsonWriter& value(bool flag);
  JsonWriter& null();
  // The text, or null when it is empty: a field the report has no value for.
  JsonWriter& text_or_null(std::string_view text) { return text.empty() ? null() : value(text); }
  // Seconds with microsecond precision, from nanoseconds.
  JsonWriter& seconds(int64_t ns);

 private:
  void separate();
  std::string& out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace coroner
