#include "lifecycle.hpp"

#include <algorithm>
#include <cstdint>
#include <numeric>
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

namespace {

// Whether `stage`, where `votes` of the `voters` stopped, is how a healthy task ends (the rule of
// learn_end_stage).
std::optional<LearnedEnd> end_at(const TaskStore& store, uint32_t stage, uint64_t votes,
                                 uint64_t voters, uint64_t min_votes) {
  if (stage == kNone || votes < min_votes) return std::nullopt;
  uint64_t entered = store.stage_stats()[stage].occurrences;
  bool most_voters_end_there = votes * 2 >= voters;
  bool rarely_left = store.times_left(stage) * 20 <= entered;
  bool not_a_first_stage = store.tasks_starting_at(stage) * 2 < votes;
  bool plain_word = store.meaning(stage) == Lifecycle::none;
  if (!(most_voters_end_there && rarely_left && not_a_first_stage && plain_word))
    return std::nullopt;
  return LearnedEnd{stage, votes, voters};
}

// The workflow of each stage, named by its lowest stage: stages joined by a move between them
// share one (union-find).
std::vector<uint32_t> workflow_of_stages(const TaskStore& store, size_t stages) {
  std::vector<uint32_t> root(stages);
  std::iota(root.begin(), root.end(), 0u);
  auto find = [&](uint32_t s) {
    while (root[s] != s) s = root[s] = root[root[s]];
    return s;
  };
  for (const TaskStore::Transition& move : store.transitions()) {
    if (move.from >= stages || move.to >= stages) continue;
    uint32_t a = find(move.from), b = find(move.to);
    if (a != b) root[std::max(a, b)] = std::min(a, b);
  }
  for (uint32_t s = 0; s < stages; ++s) root[s] = find(s);
  return root;
}

}  // namespace

std::optional<LearnedEnd> learn_end_stage(const TaskStore& store,
                                          std::span<const uint64_t> votes_by_stage, uint64_t voters,
                                          uint64_t min_votes) {
  uint32_t best = kNone;
  uint64_t votes = 0;
  for (uint32_t stage = 0; stage < votes_by_stage.size(); ++stage)
    if (votes_by_stage[stage] > votes) best = stage, votes = votes_by_stage[stage];
  return end_at(store, best, votes, voters, min_votes);
}

void EndVotes::assign(size_t stages) {
  votes.assign(stages, 0);
  ok_words.assign(stages, 0);
  first_arrival.assign(stages, INT64_MAX);
  latest_start.assign(stages, INT64_MIN);
}

void EndVotes::add(const EndVotes& other) {
  for (size_t s = 0; s < votes.size(); ++s) {
    votes[s] += other.votes[s];
    ok_words[s] += other.ok_words[s];
    first_arrival[s] = std::min(first_arrival[s], other.first_arrival[s]);
    latest_start[s] = std::max(latest_start[s], other.latest_start[s]);
  }
}

std::vector<LearnedEnd> learn_end_stages(const TaskStore& store, const EndVotes& votes,
                                         uint64_t min_votes) {
  const size_t stages = votes.votes.size();
  // Past the cap on the moves kept, a workflow could fall apart into pieces: read it as one.
  std::vector<uint32_t> workflow = store.transitions_capped() ? std::vector<uint32_t>(stages, 0)
                                                              : workflow_of_stages(store, stages);
  struct Workflow {
    uint64_t voters = 0;
    uint32_t best = kNone;  // its stage with the most votes (the first of equals)
    bool has_word = false;
    int64_t latest_start = INT64_MIN;
  };
  std::vector<Workflow> by_root(stages);
  for (uint32_t s = 0; s < stages; ++s) {
    Workflow& w = by_root[workflow[s]];
    w.voters += votes.votes[s];
    if (votes.votes[s] > (w.best == kNone ? 0 : votes.votes[w.best])) w.best = s;
    w.has_word |= votes.ok_words[s] > 0;
    w.latest_start = std::max(w.latest_start, votes.latest_start[s]);
  }
  // The one that needs no proof: the largest, in a log with no word for ok at all.
  const Workflow* largest = nullptr;
  for (const Workflow& w : by_root) {
    if (w.has_word) {
      largest = nullptr;
      break;
    }
    if (w.best != kNone && (!largest || w.voters > largest->voters)) largest = &w;
  }
  std::vector<LearnedEnd> ends;
  for (const Workflow& w : by_root) {
    if (w.best == kNone || w.has_word) continue;
    if (&w != largest && votes.first_arrival[w.best] >= w.latest_start) continue;
    if (auto end = end_at(store, w.best, votes.votes[w.best], w.voters, min_votes))
      ends.push_back(*end);
  }
  std::stable_sort(ends.begin(), ends.end(), [](const LearnedEnd& a, const LearnedEnd& b) {
    return a.tasks_ending_there > b.tasks_ending_there;
  });
  return ends;
}

}  // namespace coroner
