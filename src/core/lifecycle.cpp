#include "lifecycle.hpp"

#include <algorithm>
#include <bit>
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
                       size_t error_index, size_t end_index, bool started_again_next) {
  if (started_again_next && meanings[error_index] == Lifecycle::ended_failed) return true;
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

// A union-find over small integers: stages joined into workflows, files into groups.
class Joined {
 public:
  explicit Joined(size_t n) : root_(n) { std::iota(root_.begin(), root_.end(), 0u); }
  uint32_t find(uint32_t x) {
    while (root_[x] != x) x = root_[x] = root_[root_[x]];
    return x;
  }
  void join(uint32_t a, uint32_t b) {
    a = find(a), b = find(b);
    if (a != b) root_[std::max(a, b)] = std::min(a, b);
  }

 private:
  std::vector<uint32_t> root_;
};

// The workflow of each stage, named by its lowest stage: stages joined by a move between them
// share one. Past the cap on the moves kept, a workflow could fall apart into pieces: the whole
// log is then one.
std::vector<uint32_t> workflow_of_stages(const TaskStore& store, size_t stages) {
  if (store.transitions_capped()) return std::vector<uint32_t>(stages, 0);
  Joined workflows(stages);
  for (const TaskStore::Transition& move : store.transitions()) {
    if (move.from >= stages || move.to >= stages) continue;
    if (store.is_other_stage(move.from) || store.is_other_stage(move.to)) continue;
    workflows.join(move.from, move.to);
  }
  std::vector<uint32_t> out(stages);
  for (uint32_t s = 0; s < stages; ++s) out[s] = workflows.find(s);
  return out;
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
}

void EndVotes::add(const EndVotes& other) {
  for (size_t s = 0; s < votes.size(); ++s) {
    votes[s] += other.votes[s];
    ok_words[s] += other.ok_words[s];
  }
}

std::vector<LearnedEnd> learn_end_stages(const TaskStore& store, const EndVotes& votes,
                                         uint64_t min_votes) {
  const size_t stages = votes.votes.size();
  const std::vector<uint32_t> workflow = workflow_of_stages(store, stages);
  struct Workflow {
    uint64_t voters = 0;
    uint32_t best = kNone;  // its stage with the most votes (the first of equals)
    bool has_word = false;
    uint64_t files = 0;
  };
  std::vector<Workflow> by_root(stages);
  for (uint32_t s = 0; s < stages; ++s) {
    Workflow& w = by_root[workflow[s]];
    w.voters += votes.votes[s];
    if (votes.votes[s] > (w.best == kNone ? 0 : votes.votes[w.best])) w.best = s;
    w.has_word |= votes.ok_words[s] > 0;
    // The "(other ...)" stages of --max-stages hold rare names of every file: they join none.
    if (s < store.stage_stats().size() && !store.is_other_stage(s))
      w.files |= store.stage_stats()[s].files;
  }
  // Files that hold stages of one workflow are one group, named by its lowest file.
  constexpr uint32_t kFileBits = 64;
  Joined files(kFileBits);
  auto lowest = [](uint64_t bits) { return uint32_t(std::countr_zero(bits)); };
  for (const Workflow& w : by_root)
    for (uint64_t rest = w.files; rest != 0; rest &= rest - 1)
      files.join(lowest(w.files), lowest(rest));
  struct Group {
    bool has_word = false;
    const Workflow* largest = nullptr;
  };
  std::vector<Group> groups(kFileBits + 1);  // the last: stages without a file
  auto group_of = [&](const Workflow& w) -> Group& {
    return groups[w.files == 0 ? kFileBits : files.find(lowest(w.files))];
  };
  for (const Workflow& w : by_root) {
    Group& g = group_of(w);
    g.has_word |= w.has_word;
    if (w.best != kNone && (!g.largest || w.voters > g.largest->voters)) g.largest = &w;
  }
  std::vector<LearnedEnd> ends;
  for (const Group& g : groups) {
    if (g.has_word || !g.largest) continue;
    const Workflow& w = *g.largest;
    if (auto end = end_at(store, w.best, votes.votes[w.best], w.voters, min_votes))
      ends.push_back(*end);
  }
  std::stable_sort(ends.begin(), ends.end(), [](const LearnedEnd& a, const LearnedEnd& b) {
    return a.tasks_ending_there > b.tasks_ending_there;
  });
  return ends;
}

}  // namespace coroner
