#include "coroner/asyncio_messages.hpp"

#include <optional>
#include <vector>

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

namespace {
constexpr std::string_view kCallbackRaised = "Exception in callback ";
}  // namespace

std::optional<AsyncioNote> parse_asyncio_message(std::string_view text) {
  AsyncioNote note;
  // The line of a message that names the task, alone: asyncio wrote the message as text to
  // stderr (no JSON handler on its logger), and the log holds its lines among the JSON ones.
  if (text.starts_with(kNeverRetrievedLine)) {
    note.kind = AsyncioMessage::exception_never_retrieved;
  } else if (text.starts_with(kCallbackRaised)) {
    // The loop's exception handler logged it and went on: a callback's exception reaches no
    // task. Its exception is the record's error, not in this text. The callback is named
    // without its arguments, whose reprs hold addresses that change from run to run.
    note.kind = AsyncioMessage::callback_raised;
    std::string_view callback = text.substr(kCallbackRaised.size());
    callback = callback.substr(0, callback.find_first_of("(\n"));
    note.task_name = std::string(kCallbackPrefix) + std::string(callback) + "()";
    return note;
  } else if (text.starts_with(kDestroyedPendingLine)) {
    note.kind = AsyncioMessage::destroyed_pending;
    // Cheap reject first, as every stage value comes here: each of the messages holds "was ".
  } else if (text.size() < 20 || text.find("was ") == std::string_view::npos) {
    return std::nullopt;
  } else if (text.find("Task exception was never retrieved") != std::string_view::npos) {
    note.kind = AsyncioMessage::exception_never_retrieved;
  } else if (text.starts_with("Future exception was never retrieved")) {
    // A Future set_exception() with nobody awaiting it: no task of its own, no name.
    note.kind = AsyncioMessage::exception_never_retrieved;
    note.task_name = kLostFutureName;
    if (size_t at = text.find("exception="); at != std::string_view::npos)
      note.detail = exception_repr(text.substr(at + 10));
    return note;
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

namespace {

constexpr std::string_view kGroupHeader = "+ Exception Group Traceback";
constexpr std::string_view kTracebackHeader = "Traceback (most recent call last):";
constexpr std::string_view kGroupTracebackHeader =
    "Exception Group Traceback (most recent call last):";

// The lines Python writes between two exceptions of a chain (__context__, __cause__).
bool is_chain_sentence(std::string_view line) {
  return line.starts_with("During handling of the above exception") ||
         line.starts_with("The above exception was the direct cause");
}

// The lines of a text, each without its newline.
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return lines;
}

// `line` at margin `m`: its content after "| " (or "|" alone), else nullopt.
std::optional<std::string_view> content_at(std::string_view line, size_t m) {
  if (line.size() <= m || line[m] != '|' || line.find_first_not_of(' ') != m) return std::nullopt;
  line.remove_prefix(m + 1);
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  return line;
}

bool starts_at(std::string_view line, size_t m, std::string_view what) {
  return line.size() >= m + what.size() && line.find_first_not_of(' ') == m &&
         line.substr(m, what.size()) == what;
}

// "(3 sub-exceptions)" in an exception group's own line: 3; 0 when it says none.
uint32_t sub_exceptions(std::string_view line) {
  size_t at = line.rfind(" sub-exception");
  if (at == std::string_view::npos) return 0;
  size_t open = line.rfind('(', at);
  if (open == std::string_view::npos) return 0;
  uint32_t n = 0;
  for (size_t i = open + 1; i < at; ++i) {
    if (line[i] < '0' || line[i] > '9' || n > 100000000) return 0;
    n = n * 10 + uint32_t(line[i] - '0');
  }
  return n;
}

// One exception of an exception group's picture at margin `m` (its lines "| ..." at column m,
// its sub-exceptions after a "+-+---- 1 ----" line at column m): its own line, the first line
// of its last exception after any header, chain sentence and frames; for a group, that of its
// first sub-exception (the first's first, down nested groups). `others` gets the group's other
// sub-exceptions.
std::string_view exception_in_picture(const std::vector<std::string_view>& lines, size_t begin,
                                      size_t end, size_t m, uint32_t& others) {
  std::string_view own;
  for (size_t i = begin; i < end; ++i) {
    if (starts_at(lines[i], m, "+-+")) {
      // Its first sub-exception runs to the next "+----" at the sub-exceptions' margin.
      size_t sub_end = i + 1;
      while (sub_end < end && !starts_at(lines[sub_end], m + 2, "+--")) ++sub_end;
      uint32_t nested = 0;
      std::string_view first = exception_in_picture(lines, i + 1, sub_end, m + 2, nested);
      if (first.empty()) return own;
      uint32_t n = sub_exceptions(own);
      others = n > 1 ? n - 1 : 0;
      return first;
    }
    std::optional<std::string_view> content = content_at(lines[i], m);
    if (!content && starts_at(lines[i], m, kGroupHeader)) content = kGroupTracebackHeader;
    if (!content) continue;
    if (*content == kTracebackHeader || *content == kGroupTracebackHeader ||
        is_chain_sentence(*content)) {
      own = {};
    } else if (own.empty() && !content->empty() && content->front() != ' ' &&
               content->front() != '\t') {
      own = *content;
    }
  }
  return own;
}

}  // namespace

bool is_traceback(std::string_view text) {
  if (text.starts_with("Traceback")) return true;
  size_t first = text.find_first_not_of(' ');
  return first != std::string_view::npos && text.substr(first).starts_with(kGroupHeader);
}

std::string_view traceback_exception_line(std::string_view text, uint32_t* others) {
  if (others) *others = 0;
  std::vector<std::string_view> lines = lines_of(text);
  // The exception raised last is the chain's last: after the last sentence that links two.
  size_t begin = 0;
  for (size_t i = 0; i < lines.size(); ++i)
    if (is_chain_sentence(lines[i])) begin = i + 1;
  for (size_t i = begin; i < lines.size(); ++i) {
    size_t m = lines[i].find_first_not_of(' ');
    if (m == std::string_view::npos) continue;
    if (lines[i].substr(m).starts_with(kGroupHeader)) {
      uint32_t n = 0;
      std::string_view line = exception_in_picture(lines, i, lines.size(), m, n);
      if (others) *others = n;
      if (!line.empty()) return line;
    }
    break;
  }
  // A plain traceback: from the last chain sentence on, as exception_line reads it.
  if (begin == 0) return exception_line(text);
  const char* from = lines[begin - 1].data() + lines[begin - 1].size();
  return exception_line(text.substr(size_t(from - text.data())));
}

std::string_view exception_type_of(std::string_view text) {
  size_t repr = text.find("exception=");
  if (repr != std::string_view::npos) {
    if (auto name = leading_exception_name(text.substr(repr + 10)); !name.empty()) return name;
  }
  if (is_traceback(text)) {
    std::string_view line = traceback_exception_line(text);
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
