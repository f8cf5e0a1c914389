#include "coroner/asyncio_messages.hpp"

namespace coroner {

namespace {

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

// The quoted value after `key` ("name='worker-3'" -> worker-3). repr() quotes with ' or ", and
// escapes that quote (and backslashes) inside with a backslash.
std::string quoted_after(std::string_view text, std::string_view key) {
  size_t at = text.find(key);
  if (at == std::string_view::npos) return {};
  size_t open = at + key.size();
  if (open >= text.size() || (text[open] != '\'' && text[open] != '"')) return {};
  char quote = text[open];
  std::string out;
  for (size_t i = open + 1; i < text.size(); ++i) {
    if (text[i] == quote) return out;
    if (text[i] == '\\' && i + 1 < text.size()) ++i;
    out.push_back(text[i]);
  }
  return {};  // never closed: not a name
}

// A dotted name whose last part starts with a capital: ValueError, asyncio.TimeoutError.
std::string_view leading_exception_name(std::string_view line) {
  size_t end = 0;
  while (end < line.size() && is_identifier_char(line[end])) ++end;
  if (end == 0) return {};
  std::string_view name = line.substr(0, end);
  if (end < line.size() && line[end] != ':' && line[end] != '(') return {};
  size_t last_dot = name.rfind('.');
  char first = name[last_dot == std::string_view::npos ? 0 : last_dot + 1];
  if (first < 'A' || first > 'Z') return {};
  return name;
}

// The exception's repr at the start of `text`: "KeyError('ttl')", up to the parenthesis that
// closes its arguments. What follows is the task repr's tail, and in debug mode a "created at"
// and a source traceback many lines long, which are no part of the exception.
std::string exception_repr(std::string_view text) {
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote) {
      if (c == '\\')
        ++i;
      else if (c == quote)
        quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0 && --depth == 0) {
      return std::string(text.substr(0, i + 1));
    } else if (depth == 0 && (c == ' ' || c == '>' || c == '\n')) {
      return std::string(text.substr(0, i));
    }
  }
  return std::string(text.substr(0, text.find('\n')));
}

}  // namespace

std::optional<AsyncioNote> parse_asyncio_message(std::string_view text) {
  // Cheap reject first, as every stage value comes here: each of the messages holds "was ".
  if (text.size() < 20 || text.find("was ") == std::string_view::npos) return std::nullopt;
  AsyncioNote note;
  if (text.find("Task exception was never retrieved") != std::string_view::npos) {
    note.kind = AsyncioMessage::exception_never_retrieved;
  } else if (text.find("Task was destroyed but it is pending") != std::string_view::npos) {
    note.kind = AsyncioMessage::destroyed_pending;
  } else if (text.find("was never awaited") != std::string_view::npos) {
    note.kind = AsyncioMessage::never_awaited;
    note.detail = quoted_after(text, "coroutine ");
    return note;
  } else {
    return std::nullopt;
  }
  note.task_name = quoted_after(text, "name=");
  size_t exception = text.find("exception=");
  if (exception != std::string_view::npos)
    note.detail = exception_repr(text.substr(exception + 10));
  return note;
}

std::string_view exception_line(std::string_view traceback) {
  std::string_view line, after_frames;
  bool in_frames = false;
  while (!traceback.empty()) {
    size_t nl = traceback.find('\n');
    line = traceback.substr(0, nl);
    traceback.remove_prefix(nl == std::string_view::npos ? traceback.size() : nl + 1);
    bool indented = !line.empty() && (line.front() == ' ' || line.front() == '\t');
    if (indented) {
      in_frames = true;
    } else if (in_frames && !line.empty() && line != "\r") {
      after_frames = line;  // the exception line of this (possibly chained) traceback
      in_frames = false;
    }
  }
  return after_frames.empty() ? line : after_frames;
}

std::string_view exception_type_of(std::string_view text) {
  size_t repr = text.find("exception=");
  if (repr != std::string_view::npos) {
    if (auto name = leading_exception_name(text.substr(repr + 10)); !name.empty()) return name;
  }
  if (text.rfind("Traceback", 0) == 0) {
    std::string_view line = exception_line(text);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (auto name = leading_exception_name(line); !name.empty()) return name;
  }
  // The last non-empty line: a traceback ends with "KeyError: 'price'".
  while (!text.empty()) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
      text.remove_suffix(1);
    size_t nl = text.rfind('\n');
    std::string_view line = nl == std::string_view::npos ? text : text.substr(nl + 1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (!line.empty()) return leading_exception_name(line);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(0, nl);
  }
  return {};
}

}  // namespace coroner
