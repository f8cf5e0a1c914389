#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "coroner/analysis.hpp"
#include "coroner/ingest.hpp"
#include "coroner/roles.hpp"
#include "coroner/task_store.hpp"
#include "coroner/vocabulary.hpp"

// Folding drops a finished task's records as soon as it ends ok (analyze); `timeline` keeps every
// record. Folding may drop records, never what they meant: on random logs, every task gets the
// same findings either way (SPEC section 2, "Rules the findings keep").

namespace {

// A random log of `tasks` tasks, their records interleaved in time: lifecycle words in stages and
// statuses, errors, timeouts, cancellations, retries, repeated stages, records out of order, the
// asyncio module's task, wait, pending and exit records, and (when `ok_words` is false) no word for
// "ended ok", so the end stage is learned.
std::string random_log(std::mt19937& rng, int tasks, bool ok_words) {
  const std::vector<std::string> stages = {"fetch",
                                           "parse",
                                           "save",
                                           "fetch",
                                           "parse",
                                           "save",
                                           "fetch timed out",
                                           "fx lookup failed",
                                           "retrying fetch",
                                           "started",
                                           "job 7 done",
                                           "poll",
                                           "poll",
                                           "validate"};
  const std::vector<std::string> statuses = {"done", "failed", "cancelled", "started", "ok"};
  const std::vector<std::string> errors = {"ValueError: boom", "TimeoutError",
                                           "asyncio.exceptions.CancelledError"};
  auto pick = [&](size_t n) {
    return size_t(std::uniform_int_distribution<size_t>(0, n - 1)(rng));
  };
  auto chance = [&](int percent) { return int(pick(100)) < percent; };
  struct Line {
    double time;
    std::string text;
  };
  std::vector<Line> lines;
  const double start = 1795610000.0;
  for (int t = 0; t < tasks; ++t) {
    std::string scope = std::to_string(1 + pick(2));
    std::string id = "\"task\": \"t" + std::to_string(t) + "\", \"pid\": " + scope;
    double time = start + double(pick(1000)) / 1000;
    // Now and then a task the asyncio module traces: its stage names end nothing.
    if (chance(15))
      lines.push_back({time, "{\"ts\": " + std::to_string(time) + ", " + id +
                                 ", \"status\": \"started\", \"coroner\": \"task\"}"});
    int records = 1 + int(pick(7));
    for (int r = 0; r < records; ++r) {
      time += double(1 + pick(chance(10) ? 2000 : 20)) / 1000;
      double written = chance(3) ? time - 0.05 : time;  // now and then out of order
      std::string fields;
      if (chance(8)) {
        fields = ", \"coroner\": \"wait\", \"waiting_for\": \"gather\", \"awaits\": [\"t" +
                 std::to_string(pick(size_t(tasks))) + "\"]";
      } else if (chance(15)) {
        fields = ", \"status\": \"" + statuses[pick(statuses.size())] + "\"";
      } else {
        fields = ", \"stage\": \"" + stages[pick(stages.size())] + "\"";
      }
      if (chance(10)) fields += ", \"error\": \"" + errors[pick(errors.size())] + "\"";
      if (chance(5)) fields += ", \"level\": \"error\"";
      if (chance(5)) fields += ", \"attempt\": " + std::to_string(1 + pick(3));
      lines.push_back({written, "{\"ts\": " + std::to_string(written) + ", " + id + fields + "}"});
    }
    // Most tasks end, with a status or (seed style) at the stage that ends healthy tasks.
    time += double(1 + pick(20)) / 1000;
    if (chance(70)) {
      std::string end = ok_words ? "\"status\": \"done\"" : "\"stage\": \"save_to_db\"";
      lines.push_back({time, "{\"ts\": " + std::to_string(time) + ", " + id + ", " + end + "}"});
    } else if (chance(30)) {
      lines.push_back({time, "{\"ts\": " + std::to_string(time) + ", " + id +
                                 ", \"coroner\": \"pending\", \"suspended_at\": \"a.py:1 in f\"}"});
    }
  }
  lines.push_back({start + 1.5, "{\"ts\": " + std::to_string(start + 1.5) +
                                    ", \"pid\": 1, \"coroner\": \"exit\"}"});
  std::stable_sort(lines.begin(), lines.end(),
                   [](const Line& a, const Line& b) { return a.time < b.time; });
  std::string log;
  for (const Line& line : lines) log += line.text + "\n";
  return log;
}

#ifndef CORONER_TESTS_DIR
#define CORONER_TESTS_DIR "."
#endif

// Every finding of the analysis, one line each, sorted: the two runs must print the same.
std::vector<std::string> findings_of(const std::string& path, bool folding) {
  coroner::Vocabulary vocabulary;
  coroner::TaskStore store(vocabulary, 10000, false);
  store.set_folding(folding);
  store.add_file(path);
  coroner::IngestResult result = coroner::ingest({path}, coroner::default_roles(), store);
  REQUIRE_FALSE(result.error.has_value());
  store.finish();
  coroner::Analysis analysis = coroner::analyze(store, coroner::AnalysisOptions{});
  std::vector<std::string> out;
  for (const coroner::Finding& f : analysis.findings)
    out.push_back(store.task_label(f.task) + " " + std::string(coroner::to_string(f.kind)) + "/" +
                  f.subkind + ": " + f.reason);
  for (uint32_t t = 0; t < store.tasks().size(); ++t)
    out.push_back(store.task_label(t) + " outcome " +
                  std::string(coroner::to_string(analysis.outcomes[t].outcome)));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("coroner::analysis folding drops records, never what they meant") {
  char path[] = "/tmp/coroner_fold_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::mt19937 rng(std::getenv("CORONER_SEED") ? unsigned(std::atoi(std::getenv("CORONER_SEED")))
                                               : 20261126u);
  for (int round = 0; round < 60; ++round) {
    bool ok_words = round % 2 == 0;
    std::ofstream(path, std::ios::trunc) << random_log(rng, 150, ok_words);
    INFO("round " << round << std::string(ok_words ? " (ok words)" : " (learned end stage)"));
    std::vector<std::string> folded = findings_of(path, true), kept = findings_of(path, false);
    // The first difference says the most.
    auto [a, b] = std::mismatch(folded.begin(), folded.end(), kept.begin(), kept.end());
    if (a != folded.end() || b != kept.end()) {
      INFO("analyze:  " << (a != folded.end() ? *a : "(nothing)"));
      INFO("timeline: " << (b != kept.end() ? *b : "(nothing)"));
      CHECK(false);
      if (std::getenv("CORONER_KEEP_LOG")) std::rename(path, std::getenv("CORONER_KEEP_LOG"));
      break;
    }
  }
  std::remove(path);
}

TEST_CASE("coroner::analysis folding changes no finding on any fixture") {
  namespace fs = std::filesystem;
  const fs::path tests = CORONER_TESTS_DIR;
  size_t logs = 0;
  for (const fs::path& dir : {tests / "fixtures", tests / "unit" / "logs", tests / "e2e" / "logs",
                              tests / ".." / "sample_traces"}) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      std::string path = entry.path().string();
      if (!entry.is_regular_file() || entry.path().extension() != ".jsonl") continue;
      INFO("log: " << path);
      ++logs;
      CHECK(findings_of(path, true) == findings_of(path, false));
    }
  }
  CHECK(logs > 20);
}
