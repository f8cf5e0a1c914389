// The lifecycle policy (lifecycle.hpp) on its own, and as the store and the analysis share it:
// the end stage the store guesses while reading is the one the analysis learns, and the
// analysis reads a finished store without changing it.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "coroner/analysis.hpp"
#include "coroner/task_store.hpp"
#include "lifecycle.hpp"

using namespace coroner;

namespace {

// Feeds records to a store as the parser would: task, stage, time in seconds.
struct Feed {
  explicit Feed(TaskStore& store) : store(store) {}
  void operator()(const std::string& task, const std::string& stage, double seconds,
                  const std::string& status = "") {
    RawRecord r;
    r.has_task = true;
    r.task = task;
    r.stage = stage;
    r.status = status;
    r.has_time = true;
    r.time_ns = int64_t(seconds * 1e9);
    r.line = ++line;
    store.on_record(r);
  }
  TaskStore& store;
  uint64_t line = 0;
};

// The seed's pipeline: validate, transform, save_to_db, and never a word for "ended ok".
void seed_tasks(Feed& feed, int count, double start) {
  for (int i = 0; i < count; ++i) {
    std::string id = std::to_string(i);
    double t = start + i * 0.01;
    feed(id, "validate", t);
    feed(id, "transform", t + 0.002);
    feed(id, "save_to_db", t + 0.004);
  }
}

uint32_t stage_id(const TaskStore& store, std::string_view name) {
  auto id = store.words().find(name);
  REQUIRE(id.has_value());
  return *id;
}

}  // namespace

TEST_CASE("coroner::lifecycle a record's meaning") {
  CHECK(record_meaning(Lifecycle::ended_failed, Lifecycle::ended_ok) == Lifecycle::ended_failed);
  CHECK(record_meaning(Lifecycle::none, Lifecycle::ended_ok) == Lifecycle::ended_ok);
  CHECK(record_meaning(Lifecycle::start, Lifecycle::none) == Lifecycle::start);
  CHECK(record_meaning(Lifecycle::none, Lifecycle::none) == Lifecycle::none);
}

TEST_CASE("coroner::lifecycle words for retries and restarts") {
  CHECK(mentions_retry("retrying fetch"));
  CHECK(mentions_retry("fetch_retry"));
  CHECK(mentions_retry("Retried after backoff"));
  CHECK_FALSE(mentions_retry("retrieve"));
  CHECK_FALSE(mentions_retry("upload"));
  CHECK(is_strong_start("task started"));
  CHECK(is_strong_start("begin"));
  CHECK_FALSE(is_strong_start("response received"));
  CHECK_FALSE(is_strong_start("start_upload"));

  CHECK(is_restart(Lifecycle::start, true, true));
  CHECK_FALSE(is_restart(Lifecycle::start, true, false));  // the first start
  CHECK_FALSE(is_restart(Lifecycle::start, false, true));  // "received" mid-task is a step
  CHECK_FALSE(is_restart(Lifecycle::ended_ok, true, true));
}

TEST_CASE("coroner::lifecycle which tasks may fold") {
  Task clean;
  CHECK(fold_point(clean, Lifecycle::ended_ok, kNone, kNone) == FoldPoint::ok_word);
  CHECK(fold_point(clean, Lifecycle::none, 7, 7) == FoldPoint::guessed_end);
  CHECK(fold_point(clean, Lifecycle::none, 6, 7) == FoldPoint::none);
  CHECK(fold_point(clean, Lifecycle::none, kNone, kNone) == FoldPoint::none);
  // A word that means something else is not the guessed end, whatever its stage.
  CHECK(fold_point(clean, Lifecycle::ended_failed, 7, 7) == FoldPoint::none);

  SUBCASE("a task with an error, a restart or records out of order keeps its records") {
    Task task;
    SUBCASE("error") {
      task.had_error = true;
    }
    SUBCASE("restart") {
      task.restarted = true;
    }
    SUBCASE("out of order") {
      task.out_of_order = true;
    }
    CHECK(fold_point(task, Lifecycle::ended_ok, kNone, kNone) == FoldPoint::none);
    CHECK(fold_point(task, Lifecycle::none, 7, 7) == FoldPoint::none);
  }
}

TEST_CASE("coroner::lifecycle learning the end stage") {
  Vocabulary vocabulary;
  TaskStore store(vocabulary, 10000, false);
  Feed feed(store);
  seed_tasks(feed, 10, 1700000000.0);
  uint32_t save = stage_id(store, "save_to_db");
  uint32_t validate = stage_id(store, "validate");
  std::vector<uint64_t> votes(store.words().size());

  SUBCASE("the stage every task stops at and never leaves") {
    votes[save] = 10;
    auto end = learn_end_stage(store, votes, 10, 2);
    REQUIRE(end.has_value());
    CHECK(end->stage == save);
    CHECK(end->tasks_ending_there == 10);
  }
  SUBCASE("not when fewer voters than asked for stop there") {
    votes[save] = 10;
    CHECK_FALSE(learn_end_stage(store, votes, 10, 64).has_value());
  }
  SUBCASE("not when most voters stop elsewhere") {
    votes[save] = 10;
    CHECK_FALSE(learn_end_stage(store, votes, 30, 2).has_value());
  }
  SUBCASE("not the stage tasks begin at") {
    votes[validate] = 10;
    CHECK_FALSE(learn_end_stage(store, votes, 10, 2).has_value());
  }
}

TEST_CASE("coroner::lifecycle the store's guess and the analysis's choice agree") {
  Vocabulary vocabulary;
  TaskStore store(vocabulary, 10000, false);
  Feed feed(store);
  // Enough records for the store to guess while reading (it guesses every 65,536 records).
  seed_tasks(feed, 30000, 1700000000.0);
  feed("late", "validate", 1700000400.0);  // one task still at work when the log ends
  store.finish();
  uint32_t save = stage_id(store, "save_to_db");
  size_t folded_at_guess = 0;
  for (const Task& t : store.tasks()) folded_at_guess += t.folded_at_guess;
  // The tasks that ended after the first guess (at record 65,536, task 21,845) were folded there.
  CHECK(folded_at_guess > 8000);

  Analysis analysis = analyze(store, AnalysisOptions{});
  REQUIRE(analysis.learned_ends.size() == 1);
  CHECK(analysis.learned_ends[0].stage == save);
  // Every task folded at the guess ended ok: the guess was the analysis's own rule.
  CHECK(analysis.outcome_counts[size_t(Outcome::ok)] == 30000);
  CHECK(analysis.outcome_counts[size_t(Outcome::open)] == 1);
}

TEST_CASE("coroner::analyze reads a finished store and leaves it as it was") {
  Vocabulary vocabulary;
  TaskStore store(vocabulary, 10000, false);
  store.set_folding(false);
  Feed feed(store);
  seed_tasks(feed, 5, 1700000000.0);
  // Out of order: its records arrive late to early.
  feed("x", "save_to_db", 1700000003.0);
  feed("x", "transform", 1700000002.0);
  feed("x", "validate", 1700000001.0);

  CHECK_THROWS_AS(analyze(store, AnalysisOptions{}), std::logic_error);
  store.finish();
  uint32_t x = store.find_task(0, "x");
  REQUIRE(x != kNone);
  const EventList& events = store.tasks()[x].events;
  REQUIRE(events.size() == 3);
  CHECK(events[0].stage == stage_id(store, "validate"));  // finish() put them in time order
  CHECK(events[2].stage == stage_id(store, "save_to_db"));
  // Its current stage is its latest in time, entered when that record was written.
  CHECK(store.tasks()[x].stage == stage_id(store, "save_to_db"));
  CHECK(store.tasks()[x].stage_since == int64_t(1700000003.0 * 1e9));

  size_t tasks = store.tasks().size();
  Analysis first = analyze(store, AnalysisOptions{});
  Analysis second = analyze(store, AnalysisOptions{});
  CHECK(store.tasks().size() == tasks);
  REQUIRE(first.findings.size() == second.findings.size());
  for (size_t i = 0; i < first.findings.size(); ++i)
    CHECK(first.findings[i].reason == second.findings[i].reason);
}

TEST_CASE("coroner::lifecycle the store's guess does not count tasks that ended by a word") {
  // Most tasks reach save_to_db and fail there by their status; the analysis counts no vote of
  // theirs, so neither may the store's guess, or it would fold the clean ones at a stage the
  // analysis never learns.
  Vocabulary vocabulary;
  TaskStore store(vocabulary, 10000, false);
  Feed feed(store);
  double t = 1700000000.0;
  auto task = [&](const std::string& id, int steps, const std::string& last_status) {
    const char* stages[] = {"validate", "transform", "save_to_db"};
    for (int s = 0; s < steps; ++s)
      feed(id, stages[s], t + s * 0.001, s == steps - 1 ? last_status : "");
    t += 0.0001;
  };
  // By the first guess (record 65,536) the failed tasks are all in: counted, they would make
  // save_to_db the guess.
  for (int i = 0; i < 18000; ++i) task("failed-" + std::to_string(i), 3, "failed");
  for (int i = 0; i < 12000; ++i) task("open-" + std::to_string(i), 2, "");
  for (int i = 0; i < 7500; ++i) task("clean-" + std::to_string(i), 3, "");
  store.finish();
  size_t folded_at_guess = 0;
  for (const Task& each : store.tasks()) folded_at_guess += each.folded_at_guess;
  CHECK(folded_at_guess == 0);
  Analysis analysis = analyze(store, AnalysisOptions{});
  CHECK(analysis.learned_ends.empty());
}
