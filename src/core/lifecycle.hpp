// The lifecycle policy: what a record means for its task, how the stage that ends a healthy task
// is learned, and what counts as a restart or a retry. The task store (while reading) and the
// analysis (at the end) both ask here, so each rule is written once (docs/DESIGN.md, "Rules").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "coroner/task_store.hpp"
#include "coroner/vocabulary.hpp"

namespace coroner {

// A record's meaning: its status's word when it has one, else its stage's.
constexpr Lifecycle record_meaning(Lifecycle status, Lifecycle stage) {
  return status != Lifecycle::none ? status : stage;
}

// "asyncio.exceptions.TimeoutError" is a TimeoutError: the last dotted part names the class.
constexpr bool exception_named(std::string_view type, std::string_view name) {
  size_t dot = type.rfind('.');
  if (dot != std::string_view::npos) type.remove_prefix(dot + 1);
  return type == name;
}

// ... and a record carrying asyncio.CancelledError is the task's cancellation, even when its word
// says it failed (a task that logs "failed" from `except BaseException` when it is cancelled).
inline Lifecycle record_meaning(const TaskStore& store, const Event& event) {
  Lifecycle said = record_meaning(store.meaning(event.status),
                                  event.plain_stage ? Lifecycle::none : store.meaning(event.stage));
  if (event.error != kNone && (said == Lifecycle::none || said == Lifecycle::ended_failed) &&
      exception_named(store.errors()[event.error].type, "CancelledError"))
    return Lifecycle::ended_cancelled;
  return said;
}

// "retrying fetch", "fetch_retry", "Retried after backoff": any part of the word says retry.
bool mentions_retry(std::string_view word);
// "started", "begin": a start that, after the task did other work, is a restart. Weaker start
// words ("response received", "invoice created") are ordinary steps mid-task.
bool is_strong_start(std::string_view word);

// "upload started", "fetch_begin": a lifecycle word after the name of a step, where "started"
// alone names none.
bool names_a_step(std::string_view word);

// A strong start after the task had done other work: its id was reused, or it restarted.
constexpr bool is_restart(Lifecycle meaning, bool strong_start_word, bool did_work) {
  return meaning == Lifecycle::start && strong_start_word && did_work;
}

// Whether a task may be folded (its records dropped, its summary kept) after a record that
// means `meaning` in `stage`: it ended ok, by a word or at the end stage guessed while reading
// (`guessed_end`), with no error (nor a record that said it failed or timed out), no restart, its
// records in time order, not pending when its process stopped, and not folded before.
enum class FoldPoint : uint8_t { none, ok_word, guessed_end };
inline FoldPoint fold_point(const Task& task, Lifecycle meaning, uint32_t stage,
                            uint32_t guessed_end) {
  // The end first: most records are not one.
  bool at_guess = meaning == Lifecycle::none && stage != kNone && stage == guessed_end;
  if (meaning != Lifecycle::ended_ok && !at_guess) return FoldPoint::none;
  // A task pending at its process's exit is judged from the exit: what it did before is kept.
  // One that logs again after it was folded keeps its records: they say it ended twice.
  if (task.had_error || task.restarted || task.out_of_order || task.pending_at_exit || task.folded)
    return FoldPoint::none;
  return at_guess ? FoldPoint::guessed_end : FoldPoint::ok_word;
}

// An error or a timeout at record `error_index` was handled by a retry: that record or one up to
// `end_index` says the work is being retried (a retry word), or a later one's attempt number is
// higher than the error's try, or (`started_again_next`) the error's own record said the run
// failed and the very next record starts the task again with a strong start word: a framework
// that runs a failed task again (Dask's `retries=`, Celery's) logs no attempt. A worker that
// logs a job's error and starts its next job (`except: log; continue`) says no failure: that
// error is swallowed, whatever start word follows. Going back to
// the same stage alone is not enough: a loop over items with `except: log; continue` does that
// too, and that is the swallowed exception itself.
// `meanings`: each record's meaning, as the analysis reads it.
bool error_was_retried(const EventList& events, std::span<const Lifecycle> meanings,
                       size_t error_index, size_t end_index, bool started_again_next = false);

// End-stage learning, when the log has no word for "ended ok" (the seed's pipeline logs validate,
// transform, save_to_db and never "done"). Each voter is a task whose last record did not end it
// by a word, and votes for the stage it stopped at. The winner is how a healthy task ends when at
// least `min_votes` and most voters stop there, tasks (almost) never leave it, it is not where
// tasks begin, and it is no lifecycle word itself. The store guesses while reading, from the tasks
// sitting in each stage; the analysis decides at the end, from every task's last stage.
std::optional<LearnedEnd> learn_end_stage(const TaskStore& store,
                                          std::span<const uint64_t> votes_by_stage, uint64_t voters,
                                          uint64_t min_votes);

// Files read together may be the logs of different programs: each ends its tasks at a stage of
// its own, and one may say "done" where the other says nothing. So the files are grouped by the
// stages they share, through workflows (the stages joined by the moves tasks made between them,
// TaskStore::transitions; the "(other ...)" stages of --max-stages join nothing), and each group
// of files learns as if it had been read alone: when none of its tasks ended by an "ended ok"
// word, its workflow with the most voters learns its end by the rule above. One file is one
// group: within a file, a second kind of job with stages of its own learns nothing, since a
// kind of job stuck at one point looks the same as one that ends there.
struct EndVotes {                  // by stage id, from each task's last stage
  std::vector<uint64_t> votes;     // voters (tasks not ended by a word) stopped there
  std::vector<uint64_t> ok_words;  // tasks that ended ok by a word there
  void assign(size_t stages);
  void add(const EndVotes& other);
};
// The ends found, one for each group of files at most, the one most tasks end at first.
std::vector<LearnedEnd> learn_end_stages(const TaskStore& store, const EndVotes& votes,
                                         uint64_t min_votes);

}  // namespace coroner
