#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "coroner/task_store.hpp"

namespace {

coroner::RawRecord record_in(const std::string& task, const std::string& stage, int64_t time) {
  coroner::RawRecord r;
  r.has_time = true;
  r.time_ns = time;
  r.has_task = true;
  r.task = task;
  r.stage = stage;
  return r;
}

}  // namespace

// The stage each task's record ended in, by task name, once the store is finished.
std::map<std::string, std::string> stages_by_task(const std::vector<std::string>& stages,
                                                  size_t max_stages) {
  coroner::Vocabulary vocabulary;
  coroner::TaskStore store(vocabulary, max_stages, false);
  for (size_t i = 0; i < stages.size(); ++i)
    store.on_record(record_in(stages[i] + "#" + std::to_string(i), stages[i], int64_t(i) * 1000));
  store.finish();
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < stages.size(); ++i) {
    uint32_t id = store.find_task(0, stages[i] + "#" + std::to_string(i));
    REQUIRE(id != coroner::kNone);
    out[stages[i]] = std::string(store.words().view(store.tasks()[id].stage));
  }
  return out;
}

TEST_CASE("coroner::TaskStore stage names: the most frequent stay, whatever the order") {
  // "late" is the most frequent, "ab" and "cb" next; "load" and "new" are the rarest.
  std::vector<std::string> stages = {"ab", "cb", "load", "late", "late", "ab", "cb", "new", "late"};
  std::map<std::string, std::string> expected = {
      {"ab", "ab"}, {"cb", "cb"}, {"late", "late"}, {"load", "(other)"}, {"new", "(other)"}};
  CHECK(stages_by_task(stages, 3) == expected);
  std::reverse(stages.begin(), stages.end());
  CHECK(stages_by_task(stages, 3) == expected);
  std::rotate(stages.begin(), stages.begin() + 4, stages.end());
  CHECK(stages_by_task(stages, 3) == expected);
}

TEST_CASE("coroner::TaskStore stage names: a folded name keeps its meaning") {
  // Two frequent plain names fill the cap; each rare name carries a meaning.
  std::vector<std::string> stages = {"fetch",           "fetch",           "fetch",
                                     "parse",           "parse",           "parse",
                                     "job 7 timed out", "job 8 cancelled", "job 9 done",
                                     "job 3 started",   "retrying job 4",  "upload 5"};
  auto seen = stages_by_task(stages, 2);
  CHECK(seen["fetch"] == "fetch");
  CHECK(seen["job 7 timed out"] == "(other timed-out)");
  CHECK(seen["job 8 cancelled"] == "(other cancelled)");
  CHECK(seen["job 9 done"] == "(other ok)");
  CHECK(seen["job 3 started"] == "(other begin)");
  CHECK(seen["retrying job 4"] == "(other retry)");
  CHECK(seen["upload 5"] == "(other)");

  coroner::Vocabulary vocabulary;
  coroner::TaskStore store(vocabulary, 2, false);
  for (size_t i = 0; i < stages.size(); ++i)
    store.on_record(record_in(std::to_string(i), stages[i], int64_t(i) * 1000));
  store.finish();
  CHECK(store.counts().folded_stages == 6);
  auto meaning_of = [&](const char* task) {
    return store.meaning(store.tasks()[store.find_task(0, task)].stage);
  };
  CHECK(meaning_of("6") == coroner::Lifecycle::ended_timeout);
  CHECK(meaning_of("7") == coroner::Lifecycle::ended_cancelled);
  CHECK(meaning_of("8") == coroner::Lifecycle::ended_ok);
  CHECK(meaning_of("9") == coroner::Lifecycle::start);
  CHECK(store.is_restart_word(store.tasks()[store.find_task(0, "9")].stage));
  uint64_t records = 0;
  for (const auto& st : store.stage_stats()) records += st.records;
  CHECK(records == stages.size());  // the statistics kept every record
}

TEST_CASE("coroner::TaskStore await_began: the waiter's earliest record that names the await") {
  coroner::Vocabulary vocabulary;
  coroner::TaskStore store(vocabulary, 100, false);
  store.on_record(record_in("db", "connect", 1000));
  store.on_record(record_in("api", "start", 2000));
  // Named at 5000, then again at 9000, and at 4000 by a record that arrives late.
  const std::string api_name = "api", waiting = "waiting";  // the record's views point here
  for (int64_t time : {int64_t(5000), int64_t(9000), int64_t(4000)}) {
    coroner::RawRecord r = record_in(api_name, waiting, time);
    r.awaits.push_back("db");
    store.on_record(r);
  }
  store.finish();
  uint32_t api = store.find_task(0, "api"), db = store.find_task(0, "db");
  REQUIRE(api != coroner::kNone);
  REQUIRE(db != coroner::kNone);
  CHECK(store.await_began(api, db) == 4000);
  // Not when the awaited task started, and nothing for an await never named.
  CHECK(store.await_began(db, api) == std::nullopt);
}

TEST_CASE("coroner::TaskStore a task asleep at exit: the sleep's length and what was left") {
  coroner::Vocabulary vocabulary;
  coroner::TaskStore store(vocabulary, 100, false);
  // (what the asyncio module wrote, the sleep read from it in ns, what was left in ns)
  const std::vector<std::tuple<std::string, int64_t, int64_t>> cases = {
      {"asyncio.sleep of 60 s, 42.5 s left", 60'000'000'000, 42'500'000'000},
      {"asyncio.sleep of 0.6 s, 0.457772 s left", 600'000'000, 457'772'000},
      {"asyncio.sleep of 0.01 s, -0.0021 s left", 10'000'000, -2'100'000},  // due, not woken
      {"asyncio.sleep of 1e-05 s, 1e-06 s left", 10'000, 1'000},
      {"asyncio.sleep", 0, 0},  // sleep(0), or a module before the lengths were written
      {"asyncio.sleep of s, 1 s left", 0, 0},
      {"asyncio.sleep of 5 s, 1 s", 0, 0},
      {"asyncio.sleep of 0 s, 0 s left", 0, 0},
      {"asyncio.sleep of nan s, 1 s left", 0, 0},
      {"asyncio.Event created at app.py:3", 0, 0}};
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& [text, length, left] = cases[i];
    INFO(text);
    std::string name = std::to_string(i);  // ("t" + ... trips GCC 12's -Wrestrict)
    store.on_record(record_in(name, "sleep", 1000));
    coroner::RawRecord pending = record_in(name, "", 2000);
    pending.marker = "pending";
    pending.waiting_for = text;
    store.on_record(pending);
    const coroner::PendingAtExit* note = store.pending_at_exit(store.find_task(0, name));
    REQUIRE(note != nullptr);
    CHECK(note->sleep_ns == length);
    CHECK(note->sleep_left_ns == left);
  }
}

TEST_CASE("coroner::TaskStore records without a time before the first time take it") {
  coroner::Vocabulary vocabulary;
  coroner::TaskStore store(vocabulary, 100, false);
  store.add_file("app.jsonl");
  // Texts that die with the call, as a chunk's do: the store must keep copies of held records.
  auto untimed = [&](std::string task, std::string stage) {
    coroner::RawRecord r = record_in(task, stage, 0);
    r.has_time = false;
    store.on_record(r);
  };
  untimed("x", "boot");
  untimed("y", "boot");
  store.on_record(record_in("x", "load", 5'000'000'000));
  store.on_record(record_in("y", "load", 5'600'000'000));
  store.finish();
  CHECK(store.counts().records == 4);
  CHECK(store.first_time() == 5'000'000'000);
  const coroner::Task& x = store.tasks()[store.find_task(0, "x")];
  REQUIRE(x.events.size() == 2);
  CHECK(store.words().view(x.events[0].stage) == "boot");
  CHECK(x.events[0].time == 5'000'000'000);  // not 1970
  CHECK(x.first_time == 5'000'000'000);
  // The stage 'boot' lasted from the first time to 'load': 0 and 600 ms, not 55 years.
  uint32_t boot = *store.words().find("boot");
  CHECK(store.stage_stats()[boot].durations.max() <= 600'000'000);
  // The order of first sight is kept: x, then y.
  CHECK(store.find_task(0, "x") < store.find_task(0, "y"));
}

TEST_CASE("coroner::TaskStore a log without any time keeps its records") {
  coroner::Vocabulary vocabulary;
  coroner::TaskStore store(vocabulary, 100, false);
  store.add_file("app.jsonl");
  std::string task = "x", stage = "boot";
  coroner::RawRecord r = record_in(task, stage, 0);
  r.has_time = false;
  store.on_record(r);
  store.finish();
  CHECK(store.counts().records == 1);
  CHECK(store.find_task(0, "x") != coroner::kNone);
  CHECK(store.unreadable_reason() == "no record has a time");
}

TEST_CASE("coroner::TaskStore a stage's errors count its runs that logged one, not its records") {
  coroner::Vocabulary vocabulary;
  coroner::TaskStore store(vocabulary, 100, false);
  // a: its stage's error record, then the failure it ends in, in the same run: one error.
  auto error_in = [](const std::string& task, const std::string& stage, int64_t time) {
    coroner::RawRecord r = record_in(task, stage, time);
    r.error_type = "KeyError";
    r.error_text = "KeyError: 'geo'";
    return r;
  };
  store.on_record(record_in("a", "geo", 1000));
  store.on_record(error_in("a", "geo", 2000));
  const std::string a = "a", no_stage;  // alive while `failed`'s views point into them
  coroner::RawRecord failed = error_in(a, no_stage, 3000);
  failed.status = "failed";
  store.on_record(failed);
  // b: an error in two runs of the stage (it left it and came back): two.
  store.on_record(record_in("b", "geo", 1000));
  store.on_record(error_in("b", "geo", 1500));
  store.on_record(record_in("b", "retry", 2000));
  store.on_record(record_in("b", "geo", 2500));
  store.on_record(error_in("b", "geo", 2600));
  // c: a clean run.
  store.on_record(record_in("c", "geo", 1000));
  store.finish();
  const coroner::StageStats& geo = store.stage_stats()[*store.words().find("geo")];
  CHECK(geo.occurrences == 4);
  CHECK(geo.errors == 3);
}
