#include "coroner/vocabulary.hpp"

#include <algorithm>
#include <cctype>

namespace coroner {

std::string_view to_string(Lifecycle l) {
  switch (l) {
    case Lifecycle::none:
      return "none";
    case Lifecycle::start:
      return "start";
    case Lifecycle::ended_ok:
      return "ok";
    case Lifecycle::ended_failed:
      return "failed";
    case Lifecycle::ended_timeout:
      return "timed-out";
    case Lifecycle::ended_cancelled:
      return "cancelled";
  }
  return "none";
}

std::string normalise_word(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    bool separator =
        c == ' ' || c == '.' || c == '-' || c == ':' || c == '/' || c == '_' || c == '\t';
    if (separator) {
      if (!out.empty() && out.back() != '_') out.push_back('_');
    } else {
      out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

namespace {

// A number as normalise_word leaves it ("0_31" for 0.31) or as a template masks it ("<num>").
size_t number_length(std::string_view s) {
  if (s.starts_with("<num>")) return 5;
  auto digits = [&](size_t from) {
    size_t end = from;
    while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
    return end - from;
  };
  size_t whole = digits(0);
  if (whole == 0) return 0;
  if (whole < s.size() && s[whole] == '_')
    if (size_t fraction = digits(whole + 1); fraction > 0) return whole + 1 + fraction;
  return whole;
}

// A duration and nothing else, normalised: "0_08s", "<num>_ms", "30_seconds", "2".
bool is_duration(std::string_view s) {
  size_t n = number_length(s);
  if (n == 0) return false;
  std::string_view unit = s.substr(n);
  if (unit.starts_with('_')) unit.remove_prefix(1);
  for (std::string_view u : {"", "ns", "us", "ms", "s", "sec", "secs", "second", "seconds", "m",
                             "min", "mins", "minute", "minutes", "h", "hr", "hrs", "hour", "hours"})
    if (unit == u) return true;
  return false;
}

// A count of tries and nothing else, normalised: "3_attempts", "<num>_tries", "1_retry".
bool is_count_of_tries(std::string_view s) {
  size_t n = number_length(s);
  if (n == 0 || n >= s.size() || s[n] != '_') return false;
  std::string_view unit = s.substr(n + 1);
  for (std::string_view u : {"attempt", "attempts", "try", "tries", "retry", "retries"})
    if (unit == u) return true;
  return false;
}

}  // namespace

Vocabulary::Vocabulary() {
  for (auto w : {"start", "started", "starting", "begin", "began", "created", "spawned",
                 "scheduled", "enqueued", "received"})
    add(Lifecycle::start, w);
  for (auto w : {"done", "finished", "finish", "complete", "completed", "success", "succeeded",
                 "ok", "end", "ended"})
    add(Lifecycle::ended_ok, w);
  for (auto w : {"failed", "failure", "fail", "error", "errored", "crashed", "exception", "aborted",
                 "raised_unexpected", "raised_expected", "gave_up", "given_up", "giving_up",
                 "abandoned", "failed_permanently", "permanently_failed"})
    add(Lifecycle::ended_failed, w);
  for (auto w : {"timeout", "timed_out", "timedout", "deadline_exceeded", "expired"})
    add(Lifecycle::ended_timeout, w);
  for (auto w : {"cancelled", "canceled", "cancel"}) add(Lifecycle::ended_cancelled, w);
}

void Vocabulary::add(Lifecycle meaning, std::string_view word) {
  std::string normal = normalise_word(word);
  if (normal.empty()) return;
  // A word the user adds wins over a default of another meaning.
  for (auto& set : words_) set.erase(normal);
  words_[static_cast<size_t>(meaning)].insert(std::move(normal));
}

Lifecycle Vocabulary::lookup(std::string_view normalised) const {
  std::string key(normalised);
  for (size_t i = 1; i < words_.size(); ++i)
    if (words_[i].count(key)) return static_cast<Lifecycle>(i);
  return Lifecycle::none;
}

Lifecycle Vocabulary::classify_tail(std::string_view normal) const {
  // Try the whole value, then each suffix that starts after a '_': multi-part words such as
  // "timed_out" and "deadline_exceeded" must match as a whole tail.
  if (Lifecycle l = lookup(normal); l != Lifecycle::none) return l;
  for (size_t i = 0; i < normal.size(); ++i) {
    if (normal[i] != '_') continue;
    if (Lifecycle l = lookup(normal.substr(i + 1)); l != Lifecycle::none) return l;
  }
  return Lifecycle::none;
}

Lifecycle Vocabulary::classify(std::string_view value) const {
  std::string normal = normalise_word(value);
  if (normal.empty()) return Lifecycle::none;
  // An HTTP status of a server error (an access-log middleware's status=500 as the request
  // ends): the request failed, whatever word its message says it finished with.
  if (normal.size() == 3 && normal[0] == '5' &&
      std::isdigit(static_cast<unsigned char>(normal[1])) &&
      std::isdigit(static_cast<unsigned char>(normal[2])))
    return Lifecycle::ended_failed;
  if (Lifecycle l = classify_tail(normal); l != Lifecycle::none) return l;
  // "done in 0.31s", "succeeded in <num>s: <num>" (a template's masked number): the word comes
  // before how long it took.
  for (size_t at = normal.rfind("_in_"); at != std::string::npos && at > 0;
       at = normal.rfind("_in_", at - 1)) {
    char next = at + 4 < normal.size() ? normal[at + 4] : '\0';
    if ((next >= '0' && next <= '9') || next == '<')
      return classify_tail(std::string_view(normal).substr(0, at));
  }
  // "pull timed out after 0.08s", "done (0.31s)", "timed out (after 30 s)", "abandoned after 3
  // attempts": the word comes before how long it waited or how often it tried, and nothing
  // follows that ("timeout after 3s, retrying" ends nothing: the task goes on).
  constexpr std::string_view kAfter = "_after_";
  if (size_t at = normal.rfind(kAfter); at != std::string::npos && at > 0) {
    std::string_view after = std::string_view(normal).substr(at + kAfter.size());
    // A count of tries may be followed by the last error in parentheses ("after 3 tries
    // (ConnectionError)"), as the backoff library writes it.
    std::string_view tries = after;
    if (size_t paren = tries.find("_("); paren != std::string_view::npos && tries.back() == ')')
      tries = tries.substr(0, paren);
    if (is_duration(after) || is_count_of_tries(tries)) {
      std::string_view before = std::string_view(normal).substr(0, at);
      if (Lifecycle l = classify_tail(before); l != Lifecycle::none) return l;
      // "Giving up fetch(...) after 3 tries" (the backoff library's), "gave up on t-5 after 3
      // attempts": the words that give up open the message, what was given up follows them.
      for (std::string_view giving_up : {"giving_up", "gave_up"})
        if (before.starts_with(giving_up) && before.size() > giving_up.size() &&
            before[giving_up.size()] == '_')
          return lookup(giving_up);
    }
  }
  if (size_t at = normal.rfind("_("); at != std::string::npos && at > 0 && normal.back() == ')') {
    std::string_view inside = std::string_view(normal).substr(at + 2, normal.size() - at - 3);
    if (inside.starts_with(kAfter.substr(1))) inside.remove_prefix(kAfter.size() - 1);
    // Only a word that ends a task well or by its deadline: "retrying after error (2s)" and
    // "attempt 2 failed (1.5s)" say when the next try comes, not that the task is over.
    Lifecycle l = is_duration(inside) ? classify_tail(std::string_view(normal).substr(0, at))
                                      : Lifecycle::none;
    if (l == Lifecycle::ended_ok || l == Lifecycle::ended_timeout) return l;
  }
  // "request completed with warnings", "done with 3 warnings": an ok end that says there is
  // something to look at, not a failure. Only warnings: "finished with errors" stays unread.
  if (size_t at = normal.rfind("_with_"); at != std::string::npos && at > 0) {
    std::string_view rest = std::string_view(normal).substr(at + 6);
    if (size_t n = number_length(rest); n > 0 && n < rest.size() && rest[n] == '_')
      rest.remove_prefix(n + 1);
    if ((rest == "warning" || rest == "warnings") &&
        classify_tail(std::string_view(normal).substr(0, at)) == Lifecycle::ended_ok)
      return Lifecycle::ended_ok;
  }
  // Celery's failure line, "Task tasks.fetch[<uuid>] raised unexpected: ValueError('bad feed')":
  // the words that say a task raised come before a colon and the exception's repr. Only those:
  // "error: could not parse" or "timed out: retrying" end nothing.
  if (size_t colon = value.find(": "); colon != std::string_view::npos) {
    std::string before = normalise_word(value.substr(0, colon));
    for (std::string_view raised : {"raised_unexpected", "raised_expected"}) {
      bool tail = before.size() > raised.size() && before.ends_with(raised) &&
                  before[before.size() - raised.size() - 1] == '_';
      if ((before == raised || tail) && lookup(raised) != Lifecycle::none) return lookup(raised);
    }
  }
  return Lifecycle::none;
}

std::vector<std::string> Vocabulary::words(Lifecycle meaning) const {
  const auto& set = words_[static_cast<size_t>(meaning)];
  std::vector<std::string> out(set.begin(), set.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace coroner
