#include "traceback_text.hpp"

#include <array>

namespace coroner {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// "ValueError: boom", "asyncio.exceptions.CancelledError", "KeyboardInterrupt": a dotted name
// whose last part names an exception, alone or followed by ": " and the message.
bool is_exception_line(std::string_view line) {
  size_t end = 0;
  while (end < line.size() && (is_identifier_char(line[end]) || line[end] == '.')) ++end;
  if (end == 0 || line[0] == '.' || (line[0] >= '0' && line[0] <= '9')) return false;
  std::string_view name = line.substr(0, end);
  std::string_view rest = line.substr(end);
  if (!rest.empty() && !starts_with(rest, ": ") && rest != ":") return false;
  static constexpr std::array<std::string_view, 8> kEndings = {
      "Error",   "Exception", "Exit",          "Interrupt",
      "Warning", "Group",     "StopIteration", "StopAsyncIteration"};
  for (std::string_view e : kEndings)
    if (ends_with(name, e)) return true;
  return false;
}

}  // namespace

bool is_traceback_text(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return false;
  // Frames ('  File "w.py", line 3, in run'), their code, the carets under it, and the boxes
  // of an exception group ("  | ValueError", "  +----") are all indented.
  if (line[0] == ' ' || line[0] == '\t') return true;
  static constexpr std::array<std::string_view, 7> kOpenings = {
      "Traceback (most recent call last):",
      "During handling of the above exception, another exception occurred:",
      "The above exception was the direct cause of the following exception:",
      "Task exception was never retrieved",
      "Task was destroyed but it is pending!",
      "future: <Task ",
      "task: <Task ",
  };
  for (std::string_view opening : kOpenings)
    if (starts_with(line, opening)) return true;
  return is_exception_line(line);
}

}  // namespace coroner
