#include "traceback_text.hpp"

#include <array>

#include "runtime_prefix.hpp"

namespace coroner {
namespace {

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// "ValueError: boom", "asyncio.exceptions.CancelledError": a dotted name alone, or followed by
// ": " and the message.
std::string_view exception_name(std::string_view line) {
  size_t end = 0;
  while (end < line.size() && (is_identifier_char(line[end]) || line[end] == '.')) ++end;
  if (end == 0 || line[0] == '.' || (line[0] >= '0' && line[0] <= '9')) return {};
  std::string_view rest = line.substr(end);
  if (!rest.empty() && !rest.starts_with(": ") && rest != ":") return {};
  return line.substr(0, end);
}

// A name that says it is an exception's, and more than the word alone ("ValueError", not the
// "Error" of an "Error: disk full" a program printed).
bool names_an_exception(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kEndings = {"Error",     "Exception", "Exit",
                                                               "Interrupt", "Warning",   "Group"};
  for (std::string_view e : kEndings)
    if (name.size() > e.size() && name.substr(name.size() - e.size()) == e) return true;
  return false;
}

// A line that only a report of an exception begins with.
bool opens_a_report(std::string_view line) {
  static constexpr std::array<std::string_view, 13> kOpenings = {
      "Traceback (most recent call last):",
      "During handling of the above exception, another exception occurred:",
      "The above exception was the direct cause of the following exception:",
      "Task exception was never retrieved",
      "Future exception was never retrieved",
      "Task was destroyed but it is pending!",
      "future: <Task ",
      "task: <Task ",
      "Exception ignored in:",
      "Exception in thread ",
      "Exception in callback ",
      "ERROR:asyncio:",  // logging.basicConfig()'s format
      "+ Exception Group Traceback (most recent call last):",
  };
  size_t first = line.find_first_not_of(' ');
  if (first == std::string_view::npos) return false;
  for (std::string_view opening : kOpenings)
    if (line.substr(first).starts_with(opening)) return true;
  // The warnings module's "app.py:15: RuntimeWarning: coroutine 'f' was never awaited".
  size_t warning = line.find("Warning: ");
  if (warning == std::string_view::npos) return false;
  size_t start = line.rfind(' ', warning);
  std::string_view name =
      line.substr(start == std::string_view::npos ? 0 : start + 1,
                  warning + 7 - (start == std::string_view::npos ? 0 : start + 1));
  return names_an_exception(exception_name(name));
}

}  // namespace

bool is_traceback_text(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  line = without_runtime_prefix(line);
  if (line.empty()) return false;
  if (opens_a_report(line) || line[0] == ' ' || line[0] == '\t') return true;
  return names_an_exception(exception_name(line));
}

}  // namespace coroner
