#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "coroner/analysis.hpp"
#include "coroner/ingest.hpp"
#include "coroner/roles.hpp"
#include "coroner/task_store.hpp"
#include "coroner/vocabulary.hpp"
#include "problems.hpp"

#ifndef CORONER_TESTS_DIR
#define CORONER_TESTS_DIR "."
#endif

// Each rule of the man page's FINDINGS (docs/DESIGN.md, "Rules") on a small log under
// tests/unit/logs/ (or a real fixture), read through ingest() into a TaskStore and judged by
// analyze(), as the CLI does. What must NOT be flagged is checked as carefully as what must.

namespace {

using coroner::AnalysisOptions;
using coroner::FindingKind;
using coroner::Lifecycle;
using coroner::Outcome;

const std::string kTests = CORONER_TESTS_DIR;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1'000'000'000;

// Keeps everything the analysis points into alive at a stable address.
struct Run {
  coroner::Vocabulary vocabulary;
  coroner::RoleConfig roles = coroner::default_roles();
  AnalysisOptions options;
  std::unique_ptr<coroner::TaskStore> store;
  coroner::Analysis analysis;

  const coroner::Interner& words() const { return store->words(); }

  // Task indices whose value is `value` (one per scope).
  std::vector<uint32_t> tasks_named(std::string_view value) const {
    std::vector<uint32_t> out;
    for (uint32_t t = 0; t < store->tasks().size(); ++t)
      if (store->task_value(t) == value) out.push_back(t);
    return out;
  }
  // The task of that value in the process `pid` (a log with several processes).
  uint32_t task_in_pid(std::string_view value, std::string_view pid) const {
    for (uint32_t t : tasks_named(value))
      if (store->task_label(t).find("pid=" + std::string(pid)) != std::string::npos) return t;
    FAIL("no task " << value << " in pid " << pid);
    return 0;
  }
  uint32_t task(std::string_view value) const {
    auto found = tasks_named(value);
    INFO("task " << value);
    REQUIRE(found.size() == 1);
    return found.front();
  }
  // "kind" or "kind/subkind" of every finding about the task, in report order.
  std::vector<std::string> findings(std::string_view value) const {
    uint32_t t = task(value);
    std::vector<std::string> out;
    for (const auto& f : analysis.findings) {
      if (f.task != t) continue;
      std::string name(coroner::to_string(f.kind));
      if (!f.subkind.empty()) name += "/" + f.subkind;
      out.push_back(name);
    }
    return out;
  }
  bool has(std::string_view value, FindingKind kind) const {
    uint32_t t = task(value);
    return std::any_of(analysis.findings.begin(), analysis.findings.end(),
                       [&](const coroner::Finding& f) { return f.task == t && f.kind == kind; });
  }
  const coroner::Finding& finding(std::string_view value, FindingKind kind) const {
    uint32_t t = task(value);
    for (const auto& f : analysis.findings)
      if (f.task == t && f.kind == kind) return f;
    FAIL("no " << coroner::to_string(kind) << " finding for " << value);
    return analysis.findings.front();
  }
  Outcome outcome(std::string_view value) const { return analysis.outcomes[task(value)].outcome; }
  size_t count(FindingKind kind) const {
    return size_t(std::count_if(analysis.findings.begin(), analysis.findings.end(),
                                [&](const coroner::Finding& f) { return f.kind == kind; }));
  }
  std::vector<std::string> tasks_with(FindingKind kind) const {
    std::vector<std::string> out;
    for (const auto& f : analysis.findings)
      if (f.kind == kind) out.push_back(store->task_label(f.task));
    std::sort(out.begin(), out.end());
    return out;
  }
};

using Setup = std::function<void(Run&)>;

// Reads `path` (relative to tests/) and analyses it; `setup` may change the options, the
// vocabulary and the roles first, as the CLI's flags do.
// Several files read as one log, as `coroner FILE...` reads them.
std::unique_ptr<Run> analyse_files(const std::vector<std::string>& paths,
                                   const Setup& setup = nullptr) {
  auto run = std::make_unique<Run>();
  if (setup) setup(*run);
  run->store = std::make_unique<coroner::TaskStore>(run->vocabulary, 10000, false);
  // As the CLI does: --stage-deadline judges every stage of every task, so nothing is folded.
  run->store->set_folding(run->options.stage_deadlines.empty());
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    run->store->add_file(path);
    files.push_back(kTests + "/" + path);
  }
  coroner::IngestResult result = coroner::ingest(files, run->roles, *run->store);
  INFO("log: " << paths.front());
  REQUIRE_FALSE(result.error.has_value());
  REQUIRE(run->store->counts().records > 0);
  REQUIRE(run->store->counts().bad_lines == 0);
  run->store->finish();
  run->analysis = coroner::analyze(*run->store, run->options);
  return run;
}

std::unique_ptr<Run> analyse(const std::string& path, const Setup& setup = nullptr) {
  return analyse_files({path}, setup);
}

using Kinds = std::vector<std::string>;

}  // namespace

TEST_CASE("coroner::analysis a task that held the event loop at its process's stop") {
  // item-5 runs a synchronous call in stage "enrich" (the module's pending record: "nothing:
  // running"), until a SIGTERM: it wedged the loop. poller's 10 ms sleep is 2.94 s overdue, as
  // any task's would be: it could not run. main awaits item-5: blocked on it.
  auto run = analyse("unit/logs/loop_held.jsonl");
  CHECK(run->findings("item-5") == Kinds{"hung"});
  const coroner::Finding& hung = run->finding("item-5", FindingKind::hung);
  CHECK(hung.reason.find("held the event loop, running") != std::string::npos);
  CHECK(hung.detail.find("running at app.py:14 in item") != std::string::npos);
  CHECK(run->findings("poller") == Kinds{"in-flight"});
  CHECK(run->finding("poller", FindingKind::in_flight).reason.find("item-5 held the event loop") !=
        std::string::npos);
  CHECK(run->findings("main") == Kinds{"blocked"});

  SUBCASE("a task only ready to run held nothing: the overdue sleeper is judged as before") {
    auto ready = analyse("unit/logs/loop_ready.jsonl");
    CHECK(ready->findings("item-5") == Kinds{"in-flight"});
    CHECK(ready->findings("poller") == Kinds{"hung"});
  }
}

TEST_CASE("coroner::analysis a task that went on after asyncio.run's shutdown cancelled it") {
  // main returned; asyncio.run cancelled what was left (the module's cancel-at-exit records).
  // mailer swallowed it and waits on its queue again; pinger swallowed it and sleeps its
  // second again; drainer drains on its cancellation, in another sleep, as a clean-up should;
  // closer's clean-up ("wait for ack") waits on an Event.
  SUBCASE("killed with no record (SIGKILL): the log ends with mailer back at its wait") {
    auto run = analyse("unit/logs/cancel_at_exit.jsonl");
    CHECK(run->findings("mailer") == Kinds{"hung/ignored-cancel"});
    const coroner::Finding& hung = run->finding("mailer", FindingKind::hung);
    CHECK(hung.reason.find("asyncio.run waits for it for ever") != std::string::npos);
    CHECK(run->findings("pinger") == Kinds{"in-flight"});  // no wait record: nothing proves it
    CHECK(run->findings("drainer") == Kinds{"in-flight"});
    CHECK(run->findings("closer") == Kinds{"in-flight"});
  }
  SUBCASE("stopped later by a SIGTERM, with the tasks still pending") {
    auto run =
        analyse_files({"unit/logs/cancel_at_exit.jsonl", "unit/logs/cancel_at_exit_stopped.jsonl"});
    for (const char* task : {"mailer", "pinger"}) {
      CAPTURE(task);
      CHECK(run->findings(task) == Kinds{"hung/ignored-cancel"});
      const coroner::Finding& hung = run->finding(task, FindingKind::hung);
      CHECK(hung.reason.find("until its process stopped at") != std::string::npos);
    }
    // Both still in their clean-ups, cut short: told, not judged (a bounded drain and an Event
    // nobody sets look the same), in the stage each logged after the cancel.
    CHECK(run->findings("drainer") == Kinds{"in-flight/clean-up"});
    CHECK(run->findings("closer") == Kinds{"in-flight/clean-up"});
    CHECK(
        run->finding("closer", FindingKind::in_flight)
            .reason.find("still in its clean-up (stage 'wait for ack') when its process stopped") !=
        std::string::npos);
  }
}

TEST_CASE("coroner::analysis a task main started outlives main by design") {
  // asyncio.Runner: run() of Task-1 starts heartbeat and returns; run() of Task-2 serves a
  // request, whose handler leaves audit running; Runner.close() stops the process 100 ms after
  // Task-1 ended. heartbeat is the program's background work, no orphan; audit is one.
  auto run = analyse("unit/logs/runner_background.jsonl");
  CHECK(run->findings("heartbeat") == Kinds{"in-flight"});
  CHECK(run->findings("audit") == Kinds{"orphan", "in-flight"});
}

TEST_CASE("coroner::analysis a stage no task ever left") {
  // warmer's last stage, "cache ready", is its end in the program's mind; the log says "done"
  // for the other jobs, so no end is learned, and only the user can say which it is. loader is
  // stuck "waiting for config", which no task left either.
  SUBCASE("hung, with how to tell coroner that tasks end there") {
    auto run = analyse("unit/logs/stage_nobody_left.jsonl");
    CHECK(run->findings("warmer") == Kinds{"hung"});
    CHECK(run->finding("warmer", FindingKind::hung)
              .detail.find("no task ever finished that stage (if tasks end there, --end-stage "
                           "'cache ready' says so)") != std::string::npos);
  }

  SUBCASE("told, it ends there; and the hint is gone once the user gives end words") {
    auto told = analyse("unit/logs/stage_nobody_left.jsonl", [](Run& r) {
      r.vocabulary.add(Lifecycle::ended_ok, "cache ready");
      r.options.user_end_words = true;
    });
    CHECK(told->findings("warmer").empty());
    CHECK(told->outcome("warmer") == Outcome::ok);
    auto other = analyse("unit/logs/stage_nobody_left.jsonl", [](Run& r) {
      r.vocabulary.add(Lifecycle::ended_ok, "finished_all");
      r.options.user_end_words = true;
    });
    CHECK(other->finding("warmer", FindingKind::hung).detail.find("--end-stage") ==
          std::string::npos);
  }

  SUBCASE("a stage that says nothing goes on is no stage under way: the hint is given") {
    // "nothing" ends in "ing" as "fetching" does, and says the opposite.
    auto run = analyse("unit/logs/nothing_to_copy.jsonl");
    CHECK(run->finding("mirror", FindingKind::hung)
              .detail.find("(if tasks end there, --end-stage 'checksums match, nothing to copy' "
                           "says so)") != std::string::npos);
    // An -ing word said done is nothing going on either.
    auto configured = analyse("unit/logs/logging_configured.jsonl");
    CHECK(configured->finding("mirror", FindingKind::hung)
              .detail.find("(if tasks end there, --end-stage 'logging configured' says so)") !=
          std::string::npos);
  }

  SUBCASE("no hint for a task the asyncio module traces: its stages are steps, its end a status") {
    auto run = analyse("unit/logs/stage_nobody_left_traced.jsonl");
    const std::string& detail = run->finding("warmer", FindingKind::hung).detail;
    CHECK(detail.find("no task ever finished that stage;") != std::string::npos);
    CHECK(detail.find("--end-stage") == std::string::npos);
  }

  SUBCASE("no hint for a stage whose name says something is under way") {
    auto run = analyse("unit/logs/stage_nobody_left.jsonl");
    const std::string& detail = run->finding("loader", FindingKind::hung).detail;
    CHECK(detail.find("no task ever finished that stage;") != std::string::npos);
    CHECK(detail.find("--end-stage") == std::string::npos);
  }
}

TEST_CASE("coroner::analysis an ok end the tasks go on from is a step") {
  // download_complete ends a task by the vocabulary, but every job goes on from it to resizing
  // and ends at job_succeeded: in this log it is a step. worker-1's "done" is followed only by
  // its next round's "job received": an end.
  SUBCASE("a task silent after it is open, not ended ok with records after its end") {
    auto run = analyse("unit/logs/step_words.jsonl");
    CHECK(run->findings("job-stuck") == Kinds{"hung"});
    CHECK(run->outcome("job-stuck") == Outcome::open);
    CHECK(run->findings("job-early") == Kinds{"hung"});  // stopped right at the step
    CHECK(run->outcome("job-early") == Outcome::open);
    CHECK(run->findings("worker-1").empty());
    CHECK(run->outcome("worker-1") == Outcome::ok);
    // "done" then "closing connection": the end stays, the record after it is an anomaly; a
    // worker's "finished" then "idle" between rounds stays an end too.
    for (int i = 0; i < 5; ++i) {
      INFO(i);
      CHECK(run->outcome("req-" + std::to_string(i)) == Outcome::ok);
      CHECK(run->findings("req-" + std::to_string(i)) == Kinds{"anomaly"});
    }
    CHECK(run->outcome("poller") == Outcome::ok);
    CHECK(run->findings("poller").empty());
    for (int i = 0; i < 8; ++i) {
      INFO(i);
      CHECK(run->findings("job-" + std::to_string(i)).empty());
      CHECK(run->outcome("job-" + std::to_string(i)) == Outcome::ok);
    }
  }

  SUBCASE("--end-stage is the user's say: the word ends tasks again") {
    auto run = analyse("unit/logs/step_words.jsonl", [](Run& r) {
      r.vocabulary.add(Lifecycle::ended_ok, "job_succeeded");
      r.options.user_end_words = true;
    });
    CHECK(run->findings("job-stuck") == Kinds{"anomaly"});
    CHECK(run->outcome("job-early") == Outcome::ok);
  }
}

TEST_CASE("coroner::analysis a task stuck until cancelled, waiting on another stuck so") {
  // A shutdown cancels report-9 and the child it waits on, fetch-9, both silent for 4 s: one
  // problem, told at fetch-9; report-9 is blocked on it (and keeps its subkind).
  auto run = analyse("unit/logs/stuck_until_cancelled_chain.jsonl");
  CHECK(run->findings("fetch-9") == Kinds{"hung/until-cancelled"});
  CHECK(run->finding("fetch-9", FindingKind::hung).subkind == "until-cancelled");
  CHECK(run->findings("report-9") == Kinds{"blocked/until-cancelled"});
  const coroner::Finding& blocked = run->finding("report-9", FindingKind::blocked);
  CHECK(blocked.subkind == "until-cancelled");
  CHECK(blocked.reason == "waits on fetch-9, which hung in stage 'fetch' until it was cancelled");
  CHECK(blocked.chain.size() == 2);
  for (int i = 0; i < 10; ++i) CHECK(run->findings("job-" + std::to_string(i)).empty());
  // report-8 waited on fetch-8 once, but fetch-8 was cancelled before report-8 went on to
  // "render" and stuck there: nothing held it up, it hung of its own.
  CHECK(run->findings("report-8") == Kinds{"hung/until-cancelled"});
}

TEST_CASE("coroner::analysis hung vs in-flight") {
  SUBCASE("silent far longer than its stage takes: hung; active near the end: in-flight") {
    auto run = analyse("unit/logs/hung.jsonl");
    CHECK(run->findings("h") == Kinds{"hung"});
    CHECK(run->findings("f") == Kinds{"in-flight"});
    CHECK(run->outcome("h") == Outcome::open);
    CHECK(run->outcome("f") == Outcome::open);
    CHECK(run->tasks_with(FindingKind::hung) == Kinds{"h"});
    CHECK(run->tasks_with(FindingKind::in_flight) == Kinds{"f"});
    // Every other task ended ok and is not flagged.
    for (const char* t : {"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"}) {
      INFO(t);
      CHECK(run->findings(t).empty());
      CHECK(run->outcome(t) == Outcome::ok);
      CHECK_FALSE(run->analysis.outcomes[run->task(t)].flagged);
    }
    CHECK(run->analysis.outcomes[run->task("h")].flagged);
    CHECK_FALSE(run->analysis.outcomes[run->task("f")].flagged);
    const coroner::Finding& hung = run->finding("h", FindingKind::hung);
    CHECK(hung.stage == *run->words().find("work"));
    CHECK(hung.reason.find("'work'") != std::string::npos);
    CHECK(run->analysis.outcome_counts[size_t(Outcome::ok)] == 8);
    CHECK(run->analysis.outcome_counts[size_t(Outcome::open)] == 2);
  }

  SUBCASE("the learned threshold comes from the stage's durations") {
    auto run = analyse("unit/logs/hung.jsonl");
    uint32_t work = *run->words().find("work");
    int64_t threshold = run->analysis.stall_threshold(work);
    // 'work' always takes 10 ms: 4 x p99, within the histogram's error.
    CHECK(threshold >= 39 * kMs);
    CHECK(threshold <= 41 * kMs);
  }

  SUBCASE("--stall longer than the silence: nothing is hung") {
    auto run = analyse("unit/logs/hung.jsonl", [](Run& r) { r.options.stall_ns = 20 * kSecond; });
    CHECK(run->findings("h") == Kinds{"in-flight"});
    CHECK(run->count(FindingKind::hung) == 0);
  }

  SUBCASE("--stall shorter than the silence: both are hung") {
    auto run = analyse("unit/logs/hung.jsonl", [](Run& r) { r.options.stall_ns = 1 * kMs; });
    CHECK(run->tasks_with(FindingKind::hung) == Kinds{"f", "h"});
    CHECK(run->count(FindingKind::in_flight) == 0);
  }

  SUBCASE("a smaller stall margin makes the near-end task hung too") {
    auto run = analyse("unit/logs/hung.jsonl", [](Run& r) { r.options.stall_margin = 0.1; });
    CHECK(run->tasks_with(FindingKind::hung) == Kinds{"f", "h"});
  }
}

TEST_CASE("coroner::analysis declared timeouts: the task's and its steps'") {
  auto run = analyse("unit/logs/declared_timeouts.jsonl");

  SUBCASE("a timeout on step records only is no deadline of the task") {
    // s1 runs 1 s, each of its calls within its own 0.25 s; s3's first record is such a call.
    for (const char* t : {"s1", "s3"}) {
      INFO(t);
      CHECK(run->findings(t).empty());
      CHECK(run->outcome(t) == Outcome::ok);
    }
  }

  SUBCASE("a step past the timeout its record declared") {
    CHECK(run->findings("s2") == Kinds{"timeout"});
    const coroner::Finding& f = run->finding("s2", FindingKind::timeout);
    CHECK(f.reason ==
          "stage 'http request' took 150ms, past the timeout of 50.0ms its record "
          "declared");
    CHECK(f.stage == *run->words().find("http request"));
    CHECK(run->outcome("s2") == Outcome::ok);
  }

  SUBCASE("on every record, or on the first only, it is the task's") {
    CHECK(run->findings("s4") == Kinds{"timeout"});
    CHECK(run->finding("s4", FindingKind::timeout)
              .reason.find("past its declared timeout of "
                           "500ms") != std::string::npos);
    CHECK(run->findings("s5") == Kinds{"timeout"});
    CHECK(run->finding("s5", FindingKind::timeout)
              .reason.find("past its declared timeout of "
                           "300ms") != std::string::npos);
    CHECK(run->findings("s6").empty());
  }

  SUBCASE("a step still going at the log's end is left to the stall rules") {
    CHECK(run->findings("s7") == Kinds{"hung"});
    CHECK(run->tasks_with(FindingKind::timeout) == Kinds{"s2", "s4", "s5", "s9"});
  }

  SUBCASE("named at the stage its time ran out in, with that stage's record as evidence") {
    // s5 (0.3 s) was in 'report rendered' (line 16) at its deadline and ended ok in 'report
    // finished'; s4 (0.5 s), in 'part written' (line 20). A task that ended ok was folded, and
    // its finding had the stage it ended in and no place at all.
    for (auto [task, stage, line] :
         {std::tuple{"s5", "report rendered", 16}, std::tuple{"s4", "part written", 20}}) {
      INFO(task);
      const coroner::Finding& f = run->finding(task, FindingKind::timeout);
      CHECK(f.stage == *run->words().find(stage));
      auto place = coroner::report::place_of(*run->store, f);
      REQUIRE(place.has_value());
      CHECK(place->line == line);
    }
    // A step past its own timeout, in a task that ended ok: s2's second call (line 15).
    auto place = coroner::report::place_of(*run->store, run->finding("s2", FindingKind::timeout));
    REQUIRE(place.has_value());
    CHECK(place->line == 15);
  }

  SUBCASE("a status record ends the step too") {
    // s9's call ends with its task ("done", no stage) 200 ms into a 50 ms timeout; s10's in time.
    CHECK(run->findings("s9") == Kinds{"timeout"});
    CHECK(run->finding("s9", FindingKind::timeout).reason ==
          "stage 'http request' took 200ms, past the timeout of 50.0ms its record declared");
    CHECK(run->findings("s10").empty());
    CHECK(run->outcome("s10") == Outcome::ok);
  }
}

TEST_CASE("coroner::analysis timeout") {
  auto run = analyse("unit/logs/timeouts.jsonl");

  SUBCASE("by an end word: 'fetch_data timed out'") {
    CHECK(run->findings("t1") == Kinds{"timeout"});
    CHECK(run->outcome("t1") == Outcome::timed_out);
    // The stage it was working in when it timed out, as the reason says, in every format.
    const coroner::Finding& f = run->finding("t1", FindingKind::timeout);
    CHECK(f.stage == *run->words().find("fetch"));
    CHECK(f.reason.find("in stage 'fetch'") != std::string::npos);
  }

  SUBCASE("by a status word: timed_out") {
    CHECK(run->findings("t2") == Kinds{"timeout"});
    CHECK(run->outcome("t2") == Outcome::timed_out);
  }

  SUBCASE("by the TimeoutError type, though the task ended failed") {
    CHECK(run->findings("t3") == Kinds{"timeout"});
    CHECK(run->outcome("t3") == Outcome::failed);
  }

  SUBCASE("by asyncio.exceptions.TimeoutError caught, and the task carried on to done") {
    CHECK(run->findings("t4") == Kinds{"timeout"});
    CHECK(run->outcome("t4") == Outcome::ok);
  }

  SUBCASE("by its declared timeout field, and not when within it") {
    CHECK(run->findings("t5") == Kinds{"timeout"});
    CHECK(run->finding("t5", FindingKind::timeout).reason.find("declared timeout") !=
          std::string::npos);
    CHECK(run->findings("t6").empty());
    CHECK(run->outcome("t6") == Outcome::ok);
  }

  SUBCASE("a task cancelled at shutdown did not time out") {
    for (const char* t : {"c1", "c2", "c3"}) {
      INFO(t);
      CHECK(run->findings(t).empty());
      CHECK(run->outcome(t) == Outcome::cancelled);
    }
  }

  SUBCASE("healthy tasks are not flagged, and nothing else is") {
    for (const char* t : {"ok1", "ok2", "ok3", "ok4", "ok9"}) {
      INFO(t);
      CHECK(run->findings(t).empty());
    }
    CHECK(run->tasks_with(FindingKind::timeout) == Kinds{"t1", "t2", "t3", "t4", "t5"});
    CHECK(run->analysis.findings.size() == 5);
  }
}

TEST_CASE("coroner::analysis an error as a task's last record, soon before the log ends") {
  // Too short a silence to call the task dead on its own; what the rest of the log did decides.
  SUBCASE("every task that logged after it ended: the log went on without it") {
    auto run = analyse("unit/logs/error_left_open.jsonl");
    CHECK(run->findings("j4") == Kinds{"lost-exception/died-silently"});
    const coroner::Finding& f = run->finding("j4", FindingKind::lost_exception);
    CHECK(f.reason.find("ZeroDivisionError: division by zero") != std::string::npos);
    CHECK(f.detail.find("every task that logged after it ended") != std::string::npos);
    CHECK(run->analysis.outcomes[run->task("j4")].flagged);
    for (const char* t : {"j1", "j2", "j3", "j5", "j6"}) {
      INFO(t);
      CHECK(run->findings(t).empty());
    }
  }

  SUBCASE("a task that logged after it is still at work: the tail of a live log, in flight") {
    auto run = analyse("unit/logs/error_left_open_live.jsonl");
    CHECK(run->findings("j4") == Kinds{"in-flight"});
    CHECK(run->findings("j7") == Kinds{"in-flight"});
  }

  SUBCASE("an error that says it will retry says the task goes on") {
    auto run = analyse("unit/logs/error_left_open_retrying.jsonl");
    CHECK(run->findings("j4") == Kinds{"in-flight"});
  }

  SUBCASE("a poller's routine error, a moment before the log ends: no longer than its gaps") {
    auto run = analyse("unit/logs/error_of_a_poller.jsonl");
    CHECK(run->findings("poller") == Kinds{"in-flight"});
    CHECK(run->findings("req-99").empty());
  }
}

TEST_CASE("coroner::analysis a second run appended to the same file begins its tasks again") {
  // Each job begins with "job received", a start word weaker than "started" (a step mid-task
  // may say it); after the job's end, the word tasks begin with begins it again.
  auto run = analyse("unit/logs/appended_runs.jsonl");
  CHECK(run->findings("j3") == Kinds{"hung"});
  for (const char* t : {"j1", "j2", "j4", "j9"}) {
    INFO(t);
    CHECK(run->findings(t).empty());
  }
}

TEST_CASE("coroner::analysis --deadline and --stage-deadline") {
  SUBCASE("without options nothing times out") {
    auto run = analyse("unit/logs/deadlines.jsonl");
    CHECK(run->analysis.findings.empty());
  }

  SUBCASE("--deadline flags the tasks that ran longer, only those") {
    auto run =
        analyse("unit/logs/deadlines.jsonl", [](Run& r) { r.options.deadline_ns = 2500 * kMs; });
    CHECK(run->tasks_with(FindingKind::timeout) == Kinds{"longrun"});
    CHECK(run->finding("longrun", FindingKind::timeout).reason.find("--deadline") !=
          std::string::npos);
    run = analyse("unit/logs/deadlines.jsonl", [](Run& r) { r.options.deadline_ns = 2 * kSecond; });
    CHECK(run->tasks_with(FindingKind::timeout) == Kinds{"longrun", "slowfetch"});
    run = analyse("unit/logs/deadlines.jsonl", [](Run& r) { r.options.deadline_ns = 3 * kSecond; });
    CHECK(run->count(FindingKind::timeout) == 0);
  }

  SUBCASE("--stage-deadline flags the task whose stage took longer, only that stage") {
    auto run = analyse("unit/logs/deadlines.jsonl", [](Run& r) {
      r.options.stage_deadlines = {{"fetch", 1 * kSecond}};
    });
    CHECK(run->tasks_with(FindingKind::timeout) == Kinds{"slowfetch"});
    const coroner::Finding& f = run->finding("slowfetch", FindingKind::timeout);
    CHECK(f.stage == *run->words().find("fetch"));
    CHECK(f.reason.find("--stage-deadline") != std::string::npos);
    // longrun's stages each took under a second, though it ran 2.9 s.
    CHECK(run->findings("longrun").empty());
  }

  SUBCASE("--stage-deadline on a stage that was quick everywhere flags nothing") {
    auto run = analyse("unit/logs/deadlines.jsonl", [](Run& r) {
      r.options.stage_deadlines = {{"parse", 1 * kSecond}, {"nosuchstage", 1}};
    });
    CHECK(run->count(FindingKind::timeout) == 0);
  }
}

TEST_CASE("coroner::analysis lost-exception") {
  auto run = analyse("unit/logs/errors.jsonl");

  SUBCASE("an error followed by a failed end reached the outcome: not lost") {
    CHECK(run->findings("failed_end").empty());
    CHECK(run->outcome("failed_end") == Outcome::failed);
  }

  SUBCASE("an error, then a retry (a retry word or an attempt counter), then done: information") {
    CHECK(run->findings("retry_word") == Kinds{"retried"});
    CHECK(run->findings("retried_attempt") == Kinds{"retried"});
    CHECK(run->outcome("retried_attempt") == Outcome::ok);
    CHECK_FALSE(run->analysis.outcomes[run->task("retried_attempt")].flagged);
  }

  SUBCASE("an error, then the task started again (a framework's retry, no attempt), then done") {
    // Dask's `retries=`, Celery's: the run said it failed, and the framework ran the task again.
    CHECK(run->findings("rerun") == Kinds{"retried"});
    CHECK(run->outcome("rerun") == Outcome::ok);
    // A worker that logs one job's error and starts its next job: the error said no failure of
    // the run, and the job is lost: swallowed, though a start word follows.
    CHECK(run->findings("worker_loop") == Kinds{"lost-exception/swallowed"});
  }

  SUBCASE("an error, then carrying on to other stages and done: swallowed") {
    CHECK(run->findings("swallowed") == Kinds{"lost-exception/swallowed"});
    CHECK(run->outcome("swallowed") == Outcome::ok);
    const coroner::Finding& f = run->finding("swallowed", FindingKind::lost_exception);
    CHECK(f.reason.find("KeyError: 'price'") != std::string::npos);
    CHECK(f.stage == *run->words().find("fetch"));
  }

  SUBCASE("an error-level record without exception text counts as an error") {
    CHECK(run->findings("swallowed_level") == Kinds{"lost-exception/swallowed"});
  }

  SUBCASE("a warning is not an error; stage words in the middle of a name are not ends") {
    CHECK(run->findings("warned").empty());
    CHECK(run->findings("budget").empty());
    CHECK(run->outcome("budget") == Outcome::ok);
  }

  SUBCASE("an error as the task's last record, then silence: died silently") {
    CHECK(run->findings("died") == Kinds{"lost-exception/died-silently"});
    CHECK(run->outcome("died") == Outcome::open);
    CHECK(run->finding("died", FindingKind::lost_exception).reason.find("database went away") !=
          std::string::npos);
  }

  SUBCASE("nothing else is flagged") {
    Kinds lost = run->tasks_with(FindingKind::lost_exception);
    // 'retried' is judged in its own test case below.
    lost.erase(std::remove(lost.begin(), lost.end(), "retried"), lost.end());
    CHECK(lost == Kinds{"died", "swallowed", "swallowed_level", "worker_loop"});
    for (const char* t : {"h1", "h2", "h3", "h4", "h9"}) {
      INFO(t);
      CHECK(run->findings(t).empty());
    }
    CHECK(run->count(FindingKind::hung) == 0);
    CHECK(run->count(FindingKind::timeout) == 0);
  }
}

// Going back to the stage that failed is what a retry does, and also what `except: log;
// continue` in a loop over items does: the second loses the item's exception. So only a retry the
// log says is one (a retry word, an attempt counter: 'retry_word' above) counts as handled; an
// error followed by the same stage and an ok end is reported as swallowed.
TEST_CASE("coroner::analysis a supervisor that tells of its child's failure swallowed nothing") {
  auto run = analyse("unit/logs/supervisor_tells.jsonl");
  // "batch failed" just after its child batch-a1 failed: the child's failure, told.
  CHECK(run->findings("sup-a").empty());
  CHECK(run->outcome("batch-a1") == Outcome::failed);
  // No child failed: the word is its own error, swallowed.
  CHECK(run->findings("sup-b") == Kinds{"lost-exception/swallowed"});
  // Its child failed, but it went on to other work before the word: its own error too.
  CHECK(run->findings("sup-c") == Kinds{"lost-exception/swallowed"});
}

TEST_CASE("coroner::analysis an error, then the same stage again, then done") {
  auto run = analyse("unit/logs/errors.jsonl");
  CHECK(run->findings("retried") == Kinds{"lost-exception/swallowed"});
  CHECK(run->outcome("retried") == Outcome::ok);
  CHECK(run->findings("retry_word") == Kinds{"retried"});
}

TEST_CASE("coroner::analysis a Future's and a callback's lost exceptions are findings") {
  // They belong to no task: a heartbeat whose call_later callback raised stopped for good, and
  // a Future set_exception() nobody awaited lost its error; both were only "errors in no task".
  auto run = analyse("unit/logs/asyncio_untasked.jsonl");
  CHECK(run->findings("callback Heartbeat.beat()") == Kinds{"lost-exception/callback"});
  CHECK(run->finding("callback Heartbeat.beat()", FindingKind::lost_exception)
            .reason.find("KeyError: 'queue_depth'") != std::string::npos);
  CHECK(run->findings("a Future") == Kinds{"lost-exception/never-retrieved"});
  CHECK(run->finding("a Future", FindingKind::lost_exception)
            .reason.starts_with("asyncio: Future exception was never retrieved: ValueError"));
  CHECK(run->outcome("callback Heartbeat.beat()") == Outcome::failed);
  CHECK(run->findings("Task-1").empty());
  // Only those two: a program's own line with the same words (at warning, in its task; at
  // info), a callback that met CancelledError, and asyncio's transport meeting a reset peer are
  // no lost exception. The last two stay errors of no task.
  CHECK(run->count(FindingKind::lost_exception) == 2);
  CHECK(run->findings("delivery-2").empty());
  CHECK(run->outcome("delivery-2") == Outcome::ok);
  CHECK(run->store->counts().untasked_errors == 2);
}

TEST_CASE("coroner::analysis asyncio's own messages") {
  SUBCASE("jsonlogger.jsonl: never-retrieved goes to the task in the repr, not taskName") {
    auto run = analyse("fixtures/jsonlogger.jsonl");
    CHECK(run->findings("Task-8") == Kinds{"lost-exception/never-retrieved"});
    const coroner::Finding& f = run->finding("Task-8", FindingKind::lost_exception);
    CHECK(f.reason.find("ValueError('boom')") != std::string::npos);
    CHECK(run->outcome("Task-8") == Outcome::failed);
    // Task-1's record carried the message; Task-1 itself lost nothing.
    CHECK(run->findings("Task-1").empty());
    CHECK(run->outcome("Task-1") == Outcome::ok);
    CHECK(run->findings("Task-9") == Kinds{"destroyed-pending"});
    CHECK(run->finding("Task-9", FindingKind::destroyed_pending).stage ==
          *run->words().find("waiting for lock"));
    for (const char* t : {"Task-2", "Task-3", "Task-4", "Task-5", "Task-6", "Task-7"}) {
      INFO(t);
      CHECK(run->findings(t).empty());
      CHECK(run->outcome(t) == Outcome::ok);
    }
    CHECK(run->analysis.findings.size() == 2);
    // asyncio's records are not steps of the task that carried them: of the 31 records with a
    // taskName, the never-retrieved one is not a task record.
    CHECK(run->store->counts().task_records == 30);
    CHECK(run->store->asyncio_notes().size() == 2);
  }

  SUBCASE("a destroyed task that never logged still gets its finding") {
    auto run = analyse("unit/logs/asyncio.jsonl");
    CHECK(run->findings("Task-99") == Kinds{"destroyed-pending"});
    CHECK(run->findings("Task-8") == Kinds{"lost-exception/never-retrieved"});
    CHECK(run->findings("Task-9") == Kinds{"destroyed-pending"});
    CHECK(run->findings("Task-1").empty());
    CHECK(run->findings("Task-2").empty());
    // The destroyed task is neither hung nor in flight: asyncio said what happened.
    CHECK(run->count(FindingKind::hung) == 0);
    CHECK(run->count(FindingKind::in_flight) == 0);
  }
}

TEST_CASE("coroner::analysis learned end stage") {
  SUBCASE("seed style: no word for a finished task, the common last stage is learned") {
    auto run = analyse("unit/logs/seedlike.jsonl");
    REQUIRE(run->analysis.learned_ends.size() == 1);
    CHECK(run->analysis.learned_ends[0].stage == *run->words().find("save_to_db"));
    CHECK(run->analysis.learned_ends[0].tasks_ending_there == 6);
    CHECK(run->analysis.learned_ends[0].tasks == 7);
    for (const char* t : {"1", "2", "3", "4", "5", "6"}) {
      INFO(t);
      CHECK(run->outcome(t) == Outcome::ok);
      CHECK(run->findings(t).empty());
    }
    CHECK(run->outcome("7") == Outcome::open);
  }

  SUBCASE("the seed's own log: save_to_db is learned from 9 of 11 tasks") {
    auto run = analyse("fixtures/seed_print.jsonl");
    REQUIRE(run->analysis.learned_ends.size() == 1);
    CHECK(run->analysis.learned_ends[0].stage == *run->words().find("save_to_db"));
    CHECK(run->analysis.learned_ends[0].tasks_ending_there == 9);
    // Task 6 ended by a word ("fetch_data timed out"): it is no candidate.
    CHECK(run->analysis.learned_ends[0].tasks == 11);
  }

  SUBCASE("not learned when the log has a word for done") {
    auto run = analyse("unit/logs/seedlike_done.jsonl");
    CHECK(run->analysis.learned_ends.empty());
    CHECK(run->outcome("8") == Outcome::ok);
    CHECK(run->outcome("1") == Outcome::open);
    run = analyse("fixtures/structlog.jsonl");
    CHECK(run->analysis.learned_ends.empty());
  }

  SUBCASE("files that share no stage learn each their own end, or keep their word for done") {
    // Three programs' logs: validate/transform/save_to_db and download/resize/upload with no
    // word for done, fetch ending with status "done". Learning one end for all the files made
    // every task of the other two hung.
    auto run =
        analyse_files({"unit/logs/workflows/orders.jsonl", "unit/logs/workflows/images.jsonl",
                       "unit/logs/workflows/fetch.jsonl"});
    REQUIRE(run->analysis.learned_ends.size() == 2);
    CHECK(run->analysis.learned_ends[0].stage == *run->words().find("save_to_db"));
    CHECK(run->analysis.learned_ends[0].tasks_ending_there == 5);
    CHECK(run->analysis.learned_ends[0].tasks == 6);
    CHECK(run->analysis.learned_ends[1].stage == *run->words().find("upload"));
    CHECK(run->analysis.learned_ends[1].tasks_ending_there == 3);
    CHECK(run->analysis.learned_ends[1].tasks == 4);
    for (const char* t : {"a0", "a4", "b0", "b2", "c0", "c3"}) {
      INFO(t);
      CHECK(run->outcome(t) == Outcome::ok);
      CHECK(run->findings(t).empty());
    }
    // What each workflow's healthy tasks did not do is still found, in each one.
    CHECK(run->findings("a5") == Kinds{"hung"});
    CHECK(run->findings("b3") == Kinds{"hung"});
    CHECK(run->findings("c2") == Kinds{"hung"});
  }

  SUBCASE("one file is one program's log: its word for done is every task's") {
    // The same records in one file: a kind of job with stages of its own looks the same
    // whether it ends at its last stage or is stuck there, so nothing is learned beside the
    // word "done", and the tasks that never say it are open.
    auto run = analyse("unit/logs/three_workflows.jsonl");
    CHECK(run->analysis.learned_ends.empty());
    CHECK(run->outcome("c0") == Outcome::ok);
    CHECK(run->outcome("a0") == Outcome::open);
    CHECK(run->outcome("b0") == Outcome::open);
  }

  SUBCASE("tasks stuck at a stage no other task of their file logs learn no end there") {
    // swap-a and swap-b stop at 'waiting for reply', a stage no other task logs: learned as
    // their own end, they would pass as ok. In one file only the largest workflow learns.
    auto run = analyse("unit/logs/stuck_pair.jsonl");
    REQUIRE(run->analysis.learned_ends.size() == 1);
    CHECK(run->analysis.learned_ends[0].stage == *run->words().find("save_to_db"));
    CHECK(run->outcome("swap-a") == Outcome::open);
    CHECK(run->findings("swap-a") == Kinds{"hung"});
    CHECK(run->findings("swap-b") == Kinds{"hung"});
    CHECK(run->findings("a0").empty());
  }

  SUBCASE("--end-stage: the user's word, and no learning") {
    auto run = analyse("unit/logs/seedlike.jsonl", [](Run& r) {
      r.vocabulary.add(Lifecycle::ended_ok, "save_to_db");
      r.options.user_end_words = true;
    });
    CHECK(run->analysis.learned_ends.empty());
    CHECK(run->outcome("1") == Outcome::ok);
    CHECK(run->findings("1").empty());
  }

  SUBCASE("--end-stage with another word: save_to_db is no longer an end") {
    auto run = analyse("unit/logs/seedlike.jsonl", [](Run& r) {
      r.vocabulary.add(Lifecycle::ended_ok, "transform");
      r.options.user_end_words = true;
    });
    CHECK(run->analysis.learned_ends.empty());
    CHECK(run->outcome("7") == Outcome::ok);
  }
}

TEST_CASE("coroner::analysis seed_print.jsonl") {
  auto run = analyse("fixtures/seed_print.jsonl");
  CHECK(run->findings("6") == Kinds{"timeout"});
  CHECK(run->outcome("6") == Outcome::timed_out);
  CHECK(run->findings("10") == Kinds{"lost-exception/swallowed"});
  CHECK(run->outcome("10") == Outcome::ok);
  for (const char* t : {"1", "2", "4", "5", "7", "9", "11", "12"}) {
    INFO(t);
    CHECK(run->findings(t).empty());
    CHECK(run->outcome(t) == Outcome::ok);
  }
  CHECK(run->outcome("3") == Outcome::open);
  CHECK(run->outcome("8") == Outcome::open);
}

// The fixture README: tasks 3 and 8 are hung (a transform normally takes 3-6 ms; they are silent
// for ~90 and ~40 ms). Task 6's transform ended in a timeout after 31 ms: that is no normal
// transform, and must not raise the threshold that tells hung from in flight.
TEST_CASE("coroner::analysis seed_print.jsonl hung tasks") {
  auto run = analyse("fixtures/seed_print.jsonl");
  CHECK(run->findings("3") == Kinds{"hung"});
  CHECK(run->findings("8") == Kinds{"hung"});
}

TEST_CASE("coroner::analysis structlog.jsonl: an ordinary failure is no finding") {
  auto run = analyse("fixtures/structlog.jsonl");
  CHECK(run->outcome("job-07") == Outcome::failed);
  CHECK(run->findings("job-07").empty());
  CHECK(run->analysis.findings.empty());
  CHECK(run->analysis.outcome_counts[size_t(Outcome::ok)] == 9);
  CHECK(run->analysis.outcome_counts[size_t(Outcome::failed)] == 1);
}

TEST_CASE("coroner::analysis nested_fields.jsonl with dotted fields: task 102 hung") {
  auto run = analyse("fixtures/nested_fields.jsonl", [](Run& r) {
    REQUIRE_FALSE(coroner::apply_field_override(r.roles, "task=extra.task_id"));
    REQUIRE_FALSE(coroner::apply_field_override(r.roles, "stage=extra.stage"));
  });
  CHECK(run->findings("102") == Kinds{"hung"});
  for (const char* t : {"101", "103", "104", "105", "106"}) {
    INFO(t);
    CHECK(run->findings(t).empty());
    CHECK(run->outcome(t) == Outcome::ok);
  }
}

TEST_CASE("coroner::analysis no_time.jsonl: a record without time takes the previous time") {
  auto run = analyse("fixtures/no_time.jsonl");
  CHECK(run->analysis.findings.empty());
  for (const char* t : {"a", "b", "c"}) {
    INFO(t);
    CHECK(run->outcome(t) == Outcome::ok);
  }
  // Each task's load took its begin's time: begin lasted 0 in all three, load about 7 ms.
  const auto& begin = run->analysis.stages[*run->words().find("begin")].durations;
  const auto& load = run->analysis.stages[*run->words().find("load")].durations;
  CHECK(begin.count() == 3);
  CHECK(begin.max() == 0);
  CHECK(load.count() == 3);
  CHECK(load.min() > 1 * kMs);
  CHECK(run->store->counts().bad_times == 0);
}

TEST_CASE("coroner::analysis anomaly") {
  auto run = analyse("unit/logs/anomalies.jsonl");

  SUBCASE("records after the task ended") {
    CHECK(run->findings("late") == Kinds{"anomaly"});
    CHECK(run->finding("late", FindingKind::anomaly).reason.find("after the task ended") !=
          std::string::npos);
  }

  SUBCASE("a second start after the task ran") {
    CHECK(run->has("twice", FindingKind::anomaly));
  }

  SUBCASE("a start that arrives after the end but is older than it is no second start") {
    // tardy's start was written late (out of order): it ended ok and was folded before it came.
    CHECK(run->findings("tardy").empty());
    CHECK(run->outcome("tardy") == Outcome::ok);
    // Every record kept (a --stage-deadline keeps them, as timeline does): the same verdict.
    auto kept = analyse("unit/logs/anomalies.jsonl", [](Run& r) {
      r.options.stage_deadlines.push_back({"(none)", kSecond});
    });
    CHECK(kept->findings("tardy").empty());
  }

  SUBCASE("ordinary tasks are not anomalies, and an anomaly does not fail") {
    for (const char* t : {"h1", "h2", "h3", "h9"}) {
      INFO(t);
      CHECK(run->findings(t).empty());
    }
    CHECK_FALSE(run->analysis.outcomes[run->task("late")].flagged == false);
    CHECK(run->count(FindingKind::hung) == 0);
    CHECK(run->count(FindingKind::lost_exception) == 0);
  }
}

TEST_CASE("coroner::analysis records after an end: a new run, a retry, a step") {
  auto run = analyse("unit/logs/runs_after_end.jsonl");

  SUBCASE("work after an end that started the task again is its last run, judged open") {
    // stuck: "job done", then "job started" and "fetch", silent for seconds: hung, not ok.
    CHECK(run->findings("stuck") == Kinds{"hung"});
    CHECK(run->outcome("stuck") == Outcome::open);
  }
  SUBCASE("a retry under the same id is no restart") {
    // retry: failed on attempt 1, started again with attempt 2, done.
    CHECK(run->findings("retry") == Kinds{"retried"});
    CHECK(run->outcome("retry") == Outcome::ok);
  }
  SUBCASE("steps' starts and ends are no restart and no second end") {
    CHECK(run->findings("steps").empty());
    CHECK(run->outcome("steps") == Outcome::ok);
    CHECK(run->findings("late").empty());
  }
  SUBCASE("records after the end that start no new run leave the end as it was") {
    // trailing: "download complete" mid-run, "done", then "closing connection"; created: "done",
    // then "report created" (a weak start word): ended ok, with an anomaly, never hung.
    for (const char* t : {"trailing", "created"}) {
      INFO(t);
      CHECK(run->findings(t) == Kinds{"anomaly"});
      CHECK(run->outcome(t) == Outcome::ok);
    }
  }
  SUBCASE("a task started again is blamed on what it waits on in its last run") {
    // rerun awaited child, which failed; rerun logged "job done", then started again and stuck.
    CHECK(run->findings("rerun") == Kinds{"hung"});
  }
  SUBCASE("a bare start after an end, and the same end twice in a row, are anomalies") {
    CHECK(run->findings("reused") == Kinds{"anomaly"});
    CHECK(run->finding("reused", FindingKind::anomaly).reason.find("started again") !=
          std::string::npos);
    CHECK(run->outcome("reused") == Outcome::ok);
    CHECK(run->findings("twice") == Kinds{"anomaly"});
    CHECK(run->finding("twice", FindingKind::anomaly).reason == "ended ok 2 times");
  }
  SUBCASE("an end logged twice at once is shown at a line of it, not at its fold marker's") {
    // echoed's "done" twice at one time (two handlers): folded at the first, its marker stands
    // at the second's time, and has no line of the log (it gave line 0 of the first file).
    CHECK(run->findings("echoed") == Kinds{"anomaly"});
    const coroner::Finding& f = run->finding("echoed", FindingKind::anomaly);
    CHECK(f.reason == "ended ok 2 times");
    auto place = coroner::report::place_of(*run->store, f);
    REQUIRE(place.has_value());
    CHECK((place->line == 46 || place->line == 47));
  }
}

TEST_CASE("coroner::analysis scope") {
  SUBCASE("the same task id in two pids is two tasks") {
    auto run = analyse("unit/logs/scope.jsonl");
    auto both = run->tasks_named("Task-3");
    REQUIRE(both.size() == 2);
    CHECK(run->tasks_with(FindingKind::hung) == Kinds{"Task-3 (pid=202)"});
    uint32_t ended = run->store->task_label(both[0]) == "Task-3 (pid=101)" ? both[0] : both[1];
    CHECK(run->store->task_label(ended) == "Task-3 (pid=101)");
    CHECK(run->analysis.outcomes[ended].outcome == Outcome::ok);
    CHECK(run->analysis.findings.size() == 1);
  }

  SUBCASE("with no scope fields (--key ''), they are one task") {
    auto run =
        analyse("unit/logs/scope.jsonl", [](Run& r) { coroner::set_scope_fields(r.roles, ""); });
    CHECK(run->tasks_named("Task-3").size() == 1);
    CHECK(run->store->task_label(run->task("Task-3")) == "Task-3");
    CHECK(run->count(FindingKind::hung) == 0);
  }
}

TEST_CASE("coroner::analysis a TimeoutError logged by a task that never ended") {
  auto run = analyse("unit/logs/open_timeout.jsonl");
  // `except TimeoutError: log.error(...)` and the task went quiet: a timeout, not a mystery.
  CHECK(run->findings("quiet_timeout") == Kinds{"timeout"});
  CHECK(run->finding("quiet_timeout", FindingKind::timeout).reason.find("never ended") !=
        std::string::npos);
  // A CancelledError is no timeout, nor a lost exception: the task was cancelled, after being
  // silent 50 times as long as its stage takes: stuck until then.
  CHECK(run->findings("cancelled_quietly") == Kinds{"hung/until-cancelled"});
  CHECK(run->outcome("cancelled_quietly") == Outcome::cancelled);
  for (const char* t : {"h1", "h2", "h3"}) CHECK(run->findings(t).empty());
}

TEST_CASE("coroner::analysis a stage order no other task follows") {
  auto run = analyse("unit/logs/stage_order.jsonl");
  // 'odd' went validate -> save -> transform; 25 tasks went validate -> transform -> save.
  REQUIRE(run->findings("odd") == Kinds{"anomaly"});  // one finding for its unusual moves
  const auto& reason = run->finding("odd", FindingKind::anomaly).reason;
  CHECK(reason.find("from stage 'validate' to 'save'") != std::string::npos);
  CHECK(run->finding("odd", FindingKind::anomaly).detail.find("2 more such move(s)") !=
        std::string::npos);
  CHECK(run->count(FindingKind::anomaly) == 1);
  CHECK(run->findings("t00").empty());
}

// What a review of the rules found: each a realistic log that used to be misjudged.
TEST_CASE("coroner::analysis start words in the middle of a task are steps, not restarts") {
  // "job started", then "response received", "invoice created": structlog-style messages.
  auto run = analyse("unit/logs/mid_task_start_words.jsonl");
  CHECK(run->analysis.findings.empty());
  CHECK(run->analysis.outcome_counts[size_t(Outcome::ok)] == 30);
}

TEST_CASE("coroner::analysis a bad day: most tasks time out, the end stage is still learned") {
  auto run = analyse("unit/logs/bad_day_timeouts.jsonl");
  REQUIRE(run->analysis.learned_ends.size() == 1);
  CHECK(run->analysis.learned_ends[0].stage == *run->words().find("save_to_db"));
  CHECK(run->analysis.outcome_counts[size_t(Outcome::ok)] == 40);
  CHECK(run->count(FindingKind::timeout) == 60);
  CHECK(run->count(FindingKind::hung) == 0);
}

namespace {

// A log of `tasks` tasks, 64 interleaved, with the seed's troubles and a few more: hung tasks,
// timeouts (ending the task or swallowed), swallowed errors, records after the end, restarts,
// and tasks still running at the end.
std::string many_tasks_log(int tasks) {
  std::mt19937 random(11);
  std::ostringstream out;
  double t0 = 1795578788.0;
  for (int wave = 0; wave < tasks; wave += 64) {
    std::vector<std::pair<double, std::string>> lines;
    for (int id = wave; id < std::min(wave + 64, tasks); ++id) {
      double t = t0 + (random() % 10000) / 1e6;
      auto line = [&](std::string stage, std::string extra = "") {
        t += 0.002 + (random() % 18000) / 1e6;
        char text[200];
        std::snprintf(text, sizeof text, R"({"timestamp": %.6f, "task_id": %d, "stage": "%s"%s})",
                      t, id, stage.c_str(), extra.c_str());
        lines.emplace_back(t, text);
      };
      unsigned fate = random() % 100;
      line("validate");
      if (fate < 3) line("validate", R"(, "level": "error", "exception": "ValueError: n/a")");
      if (fate == 3) line("started");
      line("transform");
      if (fate >= 4 && fate < 7) continue;  // hung
      if (fate >= 7 && fate < 9) {
        line("fetch_data timed out", R"(, "level": "error")");
        if (fate == 8) line("save_to_db");  // carried on: the timeout was swallowed
        continue;
      }
      if (fate == 9 && id > tasks - 200) continue;  // still running when the log ends
      line("save_to_db");
      if (fate == 10) line("transform");  // a record after its end
    }
    std::sort(lines.begin(), lines.end());
    for (const auto& [time, text] : lines) out << text << "\n";
    t0 += 0.03;
  }
  return out.str();
}

std::string describe(const coroner::Analysis& a) {
  std::ostringstream out;
  for (const auto& f : a.findings) {
    out << int(f.kind) << '/' << f.subkind << ' ' << f.task << ' ' << int(f.severity) << ' '
        << f.time << ' ' << f.stage << ' ' << f.reason << " chain";
    for (uint32_t t : f.chain) out << ' ' << t;
    out << "\n";
  }
  for (const auto& o : a.outcomes) out << o.end << int(o.outcome) << o.flagged << ',';
  for (const auto& st : a.stages) out << st.tasks_ended_here << ',';
  for (uint64_t n : a.outcome_counts) out << n << ',';
  for (const auto& l : a.learned_ends) out << " learned " << l.stage << ' ' << l.tasks;
  return out.str();
}

}  // namespace

TEST_CASE("coroner::analysis judges tasks on several threads with the same result") {
  char path[] = "/tmp/coroner_analysis_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << many_tasks_log(70000);
  std::string one_thread;
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    INFO("threads: " << threads);
    coroner::Vocabulary vocabulary;
    coroner::TaskStore store(vocabulary, 10000, false);
    store.set_folding(true);
    store.add_file(path);
    coroner::IngestResult result = coroner::ingest({path}, coroner::default_roles(), store);
    REQUIRE_FALSE(result.error.has_value());
    store.finish();
    AnalysisOptions options;
    options.threads = threads;
    coroner::Analysis analysis = coroner::analyze(store, options);
    // Every kind of finding is there to be judged, and the end stage was learned.
    for (FindingKind kind : {FindingKind::hung, FindingKind::timeout, FindingKind::lost_exception,
                             FindingKind::anomaly, FindingKind::in_flight}) {
      INFO("kind " << coroner::to_string(kind));
      CHECK(std::any_of(analysis.findings.begin(), analysis.findings.end(),
                        [&](const coroner::Finding& f) { return f.kind == kind; }));
    }
    CHECK(analysis.learned_ends.size() == 1);
    if (threads == 1)
      one_thread = describe(analysis);
    else
      CHECK(describe(analysis) == one_thread);
  }
  std::remove(path);
}

TEST_CASE("coroner::analysis shutdown: cancellations, rhythms and retried timeouts") {
  auto run = analyse("unit/logs/shutdown.jsonl");

  SUBCASE("cancelled after a silence far longer than its stage takes: hung until cancelled") {
    CHECK(run->findings("stuck") == Kinds{"hung/until-cancelled"});
    CHECK(run->outcome("stuck") == Outcome::cancelled);
    const coroner::Finding& f = run->finding("stuck", FindingKind::hung);
    CHECK(f.reason.find("silent for 2.00s in stage 'fetch'") != std::string::npos);
    CHECK(f.stage == *run->words().find("fetch"));
  }

  SUBCASE("cancelled promptly while at work: clean") {
    CHECK(run->findings("prompt").empty());
    CHECK(run->outcome("prompt") == Outcome::cancelled);
  }

  SUBCASE("failed with a CancelledError: cancelled, not failed") {
    CHECK(run->findings("failed_cancel").empty());
    CHECK(run->outcome("failed_cancel") == Outcome::cancelled);
    CHECK(run->analysis.outcome_counts[size_t(Outcome::failed)] == 0);
  }

  SUBCASE("a stage repeated every 100 ms: silence shorter than a few rhythms is no hang") {
    CHECK(run->findings("supervisor") == Kinds{"in-flight"});
    CHECK(run->finding("supervisor", FindingKind::in_flight).detail.find("every 100ms") !=
          std::string::npos);
    // The repeats are no durations of the stage: nothing timed 'supervise'.
    CHECK(run->analysis.stages[*run->words().find("supervise")].durations.count() == 0);
  }

  SUBCASE("what a task logs as it is cancelled does not hide that it was stuck before") {
    CHECK(run->findings("noisy_stuck") == Kinds{"hung/until-cancelled"});
    const coroner::Finding& f = run->finding("noisy_stuck", FindingKind::hung);
    CHECK(f.reason.find("in stage 'fetch' until it was cancelled") != std::string::npos);
    // When it entered the stage, as the log wrote the time.
    CHECK(f.detail.find("entered at " + coroner::format_clock(1'795'610'001'000'000'000)) !=
          std::string::npos);
    // Nor does its 2 s in 'fetch' count as a normal run of the stage.
    CHECK(run->analysis.stages[*run->words().find("fetch")].durations.max() < 100 * kMs);
  }

  SUBCASE("an attempt number that never grew is no retry") {
    CHECK(run->findings("same_attempt") == Kinds{"lost-exception/swallowed"});
  }

  SUBCASE("a quick rhythm does not hide a long silence") {
    CHECK(run->findings("stalled_loop") == Kinds{"hung"});
  }

  SUBCASE("a timeout handled by a retry is information; one carried on from is swallowed") {
    CHECK(run->findings("retried_timeout") == Kinds{"retried"});
    CHECK(run->outcome("retried_timeout") == Outcome::ok);
    CHECK_FALSE(run->analysis.outcomes[run->task("retried_timeout")].flagged);
    CHECK(run->findings("swallowed_timeout") == Kinds{"timeout"});
    CHECK(run->finding("swallowed_timeout", FindingKind::timeout).reason.find("swallowed") !=
          std::string::npos);
  }

  SUBCASE("nothing else") {
    for (const char* t : {"h1", "h2", "h3", "h4", "h5", "h6", "h7", "prompt", "failed_cancel"}) {
      INFO(t);
      CHECK(run->findings(t).empty());
    }
  }
}

TEST_CASE("coroner::analysis the asyncio module's wait, pending and exit records") {
  auto run = analyse("unit/logs/module_exit.jsonl");
  auto in = [&](std::string_view value, std::string_view pid) {
    return run->task_in_pid(value, pid);
  };
  auto kinds_of = [&](uint32_t task) {
    Kinds out;
    for (const auto& f : run->analysis.findings)
      if (f.task == task) out.push_back(std::string(coroner::to_string(f.kind)));
    return out;
  };
  const auto& store = *run->store;

  SUBCASE("the exit and pending records are no records of a task") {
    CHECK(store.counts().exit_records == 1);
    CHECK(store.counts().records == 78);
    CHECK(store.counts().pending_records == 4);
    CHECK(store.pending_at_exit(in("stuck", "1")) != nullptr);
    CHECK(store.pending_at_exit(in("job-1", "1")) == nullptr);
  }

  SUBCASE("a task pending at exit is judged from the exit, once") {
    // Its cancellation after the exit judges nothing; asyncio's "destroyed but it is pending" as
    // the loop closed is reported, and does not hide that the task was hung at the exit.
    uint32_t stuck = in("stuck", "1");
    CHECK(kinds_of(stuck) == Kinds{"hung", "destroyed-pending"});
    CHECK(run->analysis.outcomes[stuck].outcome == Outcome::open);
    const coroner::Finding& f = run->analysis.findings[0];
    REQUIRE(f.task == stuck);
    CHECK(f.reason.find("silent for 1.50s") != std::string::npos);
    CHECK(f.detail.find("suspended at app.py:41 in fetch") != std::string::npos);
    CHECK(f.detail.find("asyncio.Event created at app.py:33") != std::string::npos);
  }

  SUBCASE("a task at work just before the exit is in flight, not hung") {
    // Nor an orphan: its parent main ended with the program, after the task's last record.
    CHECK(kinds_of(in("busy", "1")) == Kinds{"in-flight"});
    CHECK(kinds_of(in("main", "1")).empty());
  }

  SUBCASE("a task pending at exit whose parent ended long before is an orphan") {
    CHECK(kinds_of(in("child", "1")) == Kinds{"orphan", "in-flight"});
    CHECK(kinds_of(in("spawner", "1")).empty());
  }

  SUBCASE("what a task logs after the exit judges nothing, and times no stage") {
    uint32_t stuck = in("stuck", "1");
    CHECK(store.tasks()[stuck].stage == *run->words().find("fetch"));
    CHECK(run->analysis.stages[*run->words().find("fetch")].durations.max() < 100 * kMs);
  }

  SUBCASE("a wait record is an await edge and no stage") {
    uint32_t waiter = in("waiter", "1");
    CHECK(kinds_of(waiter) == Kinds{"blocked"});
    CHECK(store.tasks()[waiter].stage == coroner::kNone);
  }

  SUBCASE("the exit ends its own process only: the other one is judged at the log's end") {
    CHECK(kinds_of(in("late", "2")) == Kinds{"hung"});
    for (const char* job : {"job-0", "job-1", "job-2", "job-3", "job-4"}) {
      INFO(job);
      CHECK(kinds_of(in(job, "1")).empty());
      CHECK(kinds_of(in(job, "2")).empty());
    }
  }

  SUBCASE("a status 'done' ends the stage: the stage has durations to learn from") {
    CHECK(run->analysis.stages[*run->words().find("fetch")].durations.count() == 11);
  }
}

TEST_CASE("coroner::analysis a task pending when its test ended leaked") {
  // Process 1 is a test whose stop record is the pytest plugin's "test-end"; process 2 is a
  // program whose stop is an ordinary exit, with a task pending after the same few milliseconds.
  auto run = analyse("unit/logs/test_end.jsonl");
  auto in = [&](std::string_view value, std::string_view pid) {
    return run->task_in_pid(value, pid);
  };
  auto kinds_of = [&](uint32_t task) {
    Kinds out;
    for (const auto& f : run->analysis.findings)
      if (f.task == task)
        out.push_back(std::string(coroner::to_string(f.kind)) +
                      (f.subkind.empty() ? "" : "/" + f.subkind));
    return out;
  };

  SUBCASE("pending at a test's end: hung/leaked, however short the silence") {
    uint32_t leaky = in("leaky", "1");
    REQUIRE(kinds_of(leaky) == Kinds{"hung/leaked"});
    const coroner::Finding& f = run->finding("leaky", FindingKind::hung);
    CHECK(f.reason.find("when its test ended") != std::string::npos);
    CHECK(f.detail.find("suspended at test_app.py:12 in poll") != std::string::npos);
  }

  SUBCASE("a test-end is a stop: what follows it judges nothing") {
    CHECK(run->store->counts().exit_records == 2);
    CHECK(run->analysis.outcomes[in("leaky", "1")].outcome == Outcome::open);
  }

  SUBCASE("the tasks that ended in the test are clean") {
    CHECK(kinds_of(in("tidy", "1")).empty());
    CHECK(kinds_of(in("Task-1", "1")).empty());
  }

  SUBCASE("pending at a program's exit after a short silence is still only in flight") {
    CHECK(kinds_of(in("busy", "2")) == Kinds{"in-flight"});
  }
}
