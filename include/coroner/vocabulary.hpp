// The lifecycle words (the man page's LIFECYCLE VOCABULARY section): which stage or status values
// start or end a task.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace coroner {

enum class Lifecycle : uint8_t {
  none,
  start,
  ended_ok,
  ended_failed,
  ended_timeout,
  ended_cancelled
};

constexpr bool is_end(Lifecycle l) {
  return l >= Lifecycle::ended_ok;
}
std::string_view to_string(Lifecycle l);

// Lower case; runs of space, '.', '-', ':' and '/' become one '_'; leading and trailing '_'
// dropped. "fetch_data timed out" -> "fetch_data_timed_out".
std::string normalise_word(std::string_view value);

// The stage that ends a healthy task, learned when the log has no word for it.
struct LearnedEnd {
  uint32_t stage = UINT32_MAX;
  uint64_t tasks_ending_there = 0;
  uint64_t tasks = 0;  // the candidates: tasks with a stage that did not end by a word
};

class Vocabulary {
 public:
  Vocabulary();  // the default words
  // A vocabulary of no word, for add() to give it only the words given: which values one word
  // alone would classify.
  static Vocabulary none() { return Vocabulary(Empty{}); }
  void add(Lifecycle meaning, std::string_view word);
  // A value matches a word when its normalised form equals the word or ends with "_word", so
  // "task_started" starts but "start_upload" does not; or, failing that, when it does so before
  // a last " in " and a number ("item 7 done in 0.31s", "succeeded in <num>s: <num>"); or when
  // the part before its first ": " ends with Celery's "raised unexpected" or "raised expected"
  // (the exception's repr follows), as that word means.
  Lifecycle classify(std::string_view value) const;
  // The words of one meaning, for the man page test and the reports.
  std::vector<std::string> words(Lifecycle meaning) const;

 private:
  struct Empty {};
  explicit Vocabulary(Empty) {}
  Lifecycle lookup(std::string_view normalised) const;
  Lifecycle classify_tail(std::string_view normalised) const;
  std::array<std::unordered_set<std::string>, 6> words_;
};

}  // namespace coroner
