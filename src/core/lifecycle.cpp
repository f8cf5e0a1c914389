#include "lifecycle.hpp"

#include <string>

namespace coroner {

namespace {

// The word's normalised form split at '_': the parts a lifecycle word is made of.
template <typename Visit>
bool any_part(std::string_view word, Visit visit) {
  std::string normal = normalise_word(word);
  std::string_view rest = normal;
  while (!rest.empty()) {
    size_t sep = rest.find('_');
    if (visit(rest.substr(0, sep))) return true;
    if (sep == std::string_view::npos) break;
    rest.remove_prefix(sep + 1);
  }
  return false;
}

}  // namespace

bool mentions_retry(std::string_view word) {
  return any_part(word, [](std::string_view part) {
    return part == "retry" || part == "retrying" || part == "retried" || part == "retries" ||
           part == "reattempt" || part == "reattempting";
  });
}

bool is_strong_start(std::string_view word) {
  std::string normal = normalise_word(word);
  size_t last = normal.rfind('_');
  std::string_view tail = last == std::string::npos ? std::string_view(normal)
                                                    : std::string_view(normal).substr(last + 1);
  return tail == "start" || tail == "started" || tail == "starting" || tail == "begin" ||
         tail == "began" || tail == "restart" || tail == "restarted";
}

bool names_a_step(std::string_view word) {
  return normalise_word(word).find('_') != std::string::npos;
}

bool error_was_retried(const EventList& events, std::span<const Lifecycle> meanings,
                       size_t error_index, size_t end_index) {
  // The try the error belongs to: the last attempt number up to it since the task's last end
  // (1 when none was given). Not past that end, where a fold marker may stand for the records.
  uint8_t attempt_then = 1;
  for (size_t j = error_index + 1; j-- > 0;) {
    if (j < error_index && is_end(meanings[j])) break;
    if (events[j].attempt != 0) {
      attempt_then = events[j].attempt;
      break;
    }
  }
  for (size_t j = error_index; j <= end_index && j < events.size(); ++j) {
    // The error record's own retry word counts ("fetch failed, retrying"); its attempt does not.
    if (events[j].retry) return true;
    if (j > error_index && events[j].attempt > attempt_then) return true;
  }
  return false;
}

std::optional<LearnedEnd> learn_end_stage(const TaskStore& store,
                                          std::span<const uint64_t> votes_by_stage, uint64_t voters,
                                          uint64_t min_votes) {
  uint32_t best = kNone;
  uint64_t votes = 0;
  for (uint32_t stage = 0; stage < votes_by_stage.size(); ++stage)
    if (votes_by_stage[stage] > votes) best = stage, votes = votes_by_stage[stage];
  if (best == kNone || votes < min_votes) return std::nullopt;
  uint64_t entered = store.stage_stats()[best].occurrences;
  bool most_voters_end_there = votes * 2 >= voters;
  bool rarely_left = store.times_left(best) * 20 <= entered;
  bool not_a_first_stage = store.tasks_starting_at(best) * 2 < votes;
  bool plain_word = store.meaning(best) == Lifecycle::none;
  if (!(most_voters_end_there && rarely_left && not_a_first_stage && plain_word))
    return std::nullopt;
  return LearnedEnd{best, votes, voters};
}

}  // namespace coroner
