#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/analysis.hpp"
#include "coroner/ingest.hpp"
#include "coroner/roles.hpp"
#include "reader.hpp"
#include "record_parser.hpp"

// What the fuzzers (tests/fuzz) and the hostile-input suite (tests/e2e/hostile.py) found, one
// test each, so a fix stays fixed. Each names the input that showed it.

namespace {

struct Counts : coroner::RecordSink {
  std::vector<std::string> tasks;
  std::vector<uint64_t> record_lines, bad_lines;
  std::vector<bool> has_timeout;
  void on_record(const coroner::RawRecord& r) override {
    tasks.emplace_back(r.task);
    record_lines.push_back(r.line);
    has_timeout.push_back(r.has_timeout);
  }
  bool on_bad_line(const coroner::BadLine& b) override {
    bad_lines.push_back(b.line);
    return true;
  }
};

// The text as one chunk, with the padding simdjson reads behind it.
Counts parse(std::string_view text) {
  std::string buffer(text);
  buffer.append(coroner::LineChunker::kPadding, '\0');
  coroner::Chunk chunk{buffer.data(), text.size(), buffer.size(), 1};
  static const coroner::RoleConfig roles = coroner::default_roles();
  coroner::RecordParser parser(roles);
  Counts counts;
  parser.parse_chunk(chunk, 0, counts);
  return counts;
}

}  // namespace

TEST_CASE("regression: a timeout past double's range keeps its record (hostile.py)") {
  // Was: the whole line was a bad line, "invalid JSON: Problem while parsing a number".
  Counts c = parse(
      "{\"ts\":1,\"task_id\":\"a\",\"stage\":\"start\",\"timeout\":1e999}\n"
      "{\"ts\":2,\"task_id\":\"b\",\"stage\":\"start\",\"timeout\":-1e999}\n"
      "{\"ts\":3,\"task_id\":\"c\",\"stage\":\"start\",\"timeout\":2.5}\n");
  CHECK(c.bad_lines.empty());
  REQUIRE(c.tasks == std::vector<std::string>{"a", "b", "c"});
  CHECK(c.has_timeout == std::vector<bool>{false, false, true});
}

TEST_CASE(
    "regression: two objects on one line are one bad line, wherever the line is ("
    "fuzz_reader)") {
  // Was: two records when the fast path reached the line, one bad line ("text after the
  // object") when a damaged line shortly before had sent the parser down the slow path; so
  // records + bad lines could exceed the lines read (fuzz_reader's invariant).
  const std::string two =
      "{\"ts\":2,\"task\":\"a\",\"stage\":\"x\"}{\"ts\":3,\"task\":\"b\",\"stage\":\"y\"}\n";
  const std::string junk = "{\"ts\":4,\"task\":\"c\",\"stage\":\"x\"} trailing junk\n";
  const std::string good = "{\"ts\":1,\"task\":\"g\",\"stage\":\"start\"}\n";
  for (const std::string& before : {std::string(), good, std::string("not json\n")}) {
    CAPTURE(before);
    Counts c = parse(before + two + junk + good);
    size_t lines = (before.empty() ? 0 : 1) + 3;
    CHECK(c.tasks.size() + c.bad_lines.size() == lines);
    uint64_t first = before.empty() ? 1 : 2;
    CHECK(c.bad_lines.size() == (before == good || before.empty() ? 2 : 3));
    CHECK(std::count(c.bad_lines.begin(), c.bad_lines.end(), first) == 1);
    CHECK(std::count(c.bad_lines.begin(), c.bad_lines.end(), first + 1) == 1);
    CHECK(c.tasks.back() == "g");
  }
}

TEST_CASE("regression: what follows an object on its line is judged alike on both paths") {
  // Blanks and a CR after the object are fine; a comma is text after the object: one bad line,
  // whether the fast path meets it or the slow path after a damaged line.
  const std::string lines =
      "{\"ts\":1,\"task\":\"a\",\"stage\":\"x\"} \t\r\n"
      "{\"ts\":2,\"task\":\"b\",\"stage\":\"x\"},\n"
      "{\"ts\":3,\"task\":\"c\",\"stage\":\"x\"}";
  for (const std::string& before : {std::string(), std::string("not json\n")}) {
    CAPTURE(before);
    Counts c = parse(before + lines);
    uint64_t first = before.empty() ? 1 : 2;
    CHECK(c.tasks == std::vector<std::string>{"a", "c"});
    CHECK(std::count(c.bad_lines.begin(), c.bad_lines.end(), first + 1) == 1);
    CHECK(c.bad_lines.size() == (before.empty() ? 1u : 2u));
  }
}

namespace {

// The file under tests/fuzz/regressions/ read and judged as the CLI does.
struct Judged {
  explicit Judged(const std::string& name) : store(vocabulary, 10000, false) {
    std::string path = std::string(CORONER_TESTS_DIR) + "/fuzz/regressions/" + name;
    store.add_file(path);
    coroner::IngestResult r = coroner::ingest({path}, coroner::default_roles(), store);
    REQUIRE_FALSE(r.error.has_value());
    store.finish();
    analysis = coroner::analyze(store, options);
  }
  std::vector<std::string> kinds_of(std::string_view task) const {
    std::vector<std::string> out;
    for (const auto& f : analysis.findings)
      if (store.task_value(f.task) == task) out.emplace_back(coroner::to_string(f.kind));
    return out;
  }
  coroner::Vocabulary vocabulary;
  coroner::AnalysisOptions options;
  coroner::TaskStore store;
  coroner::Analysis analysis;
};

}  // namespace

TEST_CASE("regression: a threshold past int64 saturates (fuzz_pipeline)") {
  // Was: p99 x margin overflowed int64 (UB), the threshold became 1 ns and 'b', silent 10 s in
  // a stage that normally takes 130 years, was hung.
  Judged j("analysis-stall-threshold-overflow.jsonl");
  CHECK(j.kinds_of("b") == std::vector<std::string>{"in-flight"});
}

TEST_CASE("regression: a log spanning 580 years subtracts without overflow") {
  // Was: 2261 - 1678 overflowed in follow_stage (UB) and the report said "-13631h of log".
  Judged j("task_store-time-span-overflow.jsonl");
  CHECK(j.analysis.log_end > j.analysis.log_start);
  for (const auto& stats : j.analysis.stages) CHECK(stats.durations.min() >= 0);
}

TEST_CASE("regression: a cancel decades after its stage began keeps the stage before timed") {
  // Was: untime_interrupted_stage multiplied the 56 years 'a' sat in 'parse' by 16 (UB), the
  // product wrapped negative and 'fetch' lost its 1 s run, as if the cancel came moments after.
  Judged j("task_store-cancel-decades-later.jsonl");
  std::optional<uint32_t> fetch = j.store.words().find("fetch");
  REQUIRE(fetch.has_value());
  CHECK(j.analysis.stages[*fetch].durations.count() == 1);
}

TEST_CASE("regression: tasks folded at a wrongly guessed end stage are judged again") {
  // While reading, the end stage of a log with no "done" word is guessed every 64K records.
  // Here every task logs validate and transform before any saves (asyncio starts them all, their
  // fetches pending), so the first guess is 'transform' and later transforms were folded as
  // finished: the 40 tasks that never reach save_to_db came out ok instead of hung.
  char path[] = "/tmp/coroner_burst_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream out(path);
    constexpr int kTasks = 33000;
    double t = 1700000000.0;
    for (int i = 0; i < kTasks; ++i, t += 0.0001)
      out << "{\"timestamp\": " << std::fixed << t << ", \"task_id\": " << i
          << ", \"stage\": \"validate\"}\n{\"timestamp\": " << t + 0.00005 << ", \"task_id\": " << i
          << ", \"stage\": \"transform\"}\n";
    for (int i = 0; i < kTasks - 40; ++i, t += 0.0001)
      out << "{\"timestamp\": " << t << ", \"task_id\": " << i << ", \"stage\": \"save_to_db\"}\n";
    out << "{\"timestamp\": " << t + 60 << ", \"stage\": \"shutdown\"}\n";
  }
  coroner::Vocabulary vocabulary;
  coroner::TaskStore store(vocabulary, 10000, false);
  store.add_file(path);
  coroner::IngestResult r = coroner::ingest({path}, coroner::default_roles(), store);
  std::remove(path);
  REQUIRE_FALSE(r.error.has_value());
  store.finish();
  coroner::Analysis analysis = coroner::analyze(store, coroner::AnalysisOptions{});
  REQUIRE(analysis.learned_ends.size() == 1);
  CHECK(store.words().view(analysis.learned_ends[0].stage) == "save_to_db");
  size_t hung = 0;
  for (const auto& f : analysis.findings) hung += f.kind == coroner::FindingKind::hung;
  CHECK(hung == 40);
  CHECK(analysis.outcome_counts[size_t(coroner::Outcome::ok)] == 33000 - 40);
}
