// Several files are one log: ingest() hands their records on merged by time (ingest_by_time.cpp).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "../common/temp_file.hpp"
#include "coroner/ingest.hpp"
#include "coroner/roles.hpp"

namespace {

using coroner_test::TempFile;

// What reached the sink, one word per record or bad line: "1:2" is file 1's line 2, "bad 0:3"
// the bad line 3 of file 0. Files are numbered from 0 in the order given.
class OrderSink : public coroner::RecordSink {
 public:
  explicit OrderSink(bool stop_at_bad_line = false) : stop_at_bad_line_(stop_at_bad_line) {}
  void on_record(const coroner::RawRecord& r) override {
    seen.push_back(std::to_string(r.file) + ":" + std::to_string(r.line));
  }
  bool on_bad_line(const coroner::BadLine& bad) override {
    seen.push_back("bad " + std::to_string(bad.file) + ":" + std::to_string(bad.line));
    return !stop_at_bad_line_;
  }
  void on_input_format(uint32_t file, const coroner::InputFormat&) override {
    seen.push_back("format " + std::to_string(file));
  }
  std::vector<std::string> seen;

 private:
  bool stop_at_bad_line_;
};

// A seed-format line at epoch second `t`; a negative `t` writes no time.
std::string at(double t, const char* task = "a") {
  std::string time = t < 0 ? "" : "\"timestamp\": " + std::to_string(1795000000 + t) + ", ";
  return "{" + time + "\"task_id\": \"" + task + "\", \"stage\": \"s\"}\n";
}

std::vector<std::string> order_of(const std::vector<std::string>& texts, unsigned threads = 1,
                                  bool stop_at_bad_line = false,
                                  coroner::IngestResult* result = nullptr) {
  std::vector<std::unique_ptr<TempFile>> files;
  std::vector<std::string> paths;
  for (const std::string& text : texts) {
    files.push_back(std::make_unique<TempFile>(text));
    paths.push_back(files.back()->path());
  }
  OrderSink sink(stop_at_bad_line);
  coroner::IngestResult got =
      coroner::ingest(paths, coroner::default_roles(), sink, 0, nullptr, threads);
  CHECK_FALSE(got.error.has_value());
  if (result) *result = got;
  return sink.seen;
}

using Order = std::vector<std::string>;

}  // namespace

TEST_CASE("coroner::ingest several files merged by time") {
  for (unsigned threads : {1u, 2u, 3u}) {
    CAPTURE(threads);
    SUBCASE("logs rotated by the hour, listed newest first as a shell glob lists them") {
      // app.log (newest), app.log.1, app.log.2 (oldest)
      Order got = order_of({at(20) + at(21), at(10) + at(11), at(1) + at(2)}, threads);
      CHECK(got ==
            Order{"format 0", "format 1", "format 2", "2:1", "2:2", "1:1", "1:2", "0:1", "0:2"});
    }
    SUBCASE("two hosts' logs interleave; equal times keep the files' order, then the lines'") {
      Order got = order_of({at(1) + at(3) + at(3) + at(5), at(2) + at(3) + at(4)}, threads);
      CHECK(got == Order{"format 0", "format 1", "0:1", "1:1", "0:2", "0:3", "1:2", "1:3", "0:4"});
    }
    SUBCASE("a file keeps its own order: its late record stays where it was written") {
      Order got = order_of({at(1) + at(5) + at(2) + at(6), at(3)}, threads);
      CHECK(got == Order{"format 0", "format 1", "0:1", "1:1", "0:2", "0:3", "0:4"});
    }
    SUBCASE("a record without a time stays after the one before it in its file") {
      Order got = order_of({at(1) + at(-1) + at(4), at(2) + at(3)}, threads);
      CHECK(got == Order{"format 0", "format 1", "0:1", "0:2", "1:1", "1:2", "0:3"});
    }
    SUBCASE("records without a time that open a file go just before its first time") {
      Order got = order_of({at(-1) + at(-1) + at(4), at(2) + at(5)}, threads);
      CHECK(got == Order{"format 0", "format 1", "1:1", "0:1", "0:2", "0:3", "1:2"});
    }
    SUBCASE("a file without any time goes with the next file's first record") {
      Order got = order_of({at(2) + at(6), at(-1) + at(-1), at(4)}, threads);
      CHECK(got == Order{"format 0", "format 1", "format 2", "0:1", "1:1", "1:2", "2:1", "0:2"});
    }
    SUBCASE("a bad line goes just before its file's next record") {
      Order got = order_of({at(1) + "not json\n" + at(5), at(3)}, threads);
      CHECK(got == Order{"format 0", "format 1", "0:1", "1:1", "bad 0:2", "0:3"});
    }
    SUBCASE("a bad line at a file's end goes at its end") {
      Order got = order_of({at(1) + "not json\n", at(3)}, threads);
      CHECK(got == Order{"format 0", "format 1", "0:1", "bad 0:2", "1:1"});
    }
    SUBCASE("--strict stops at the first bad line in time order") {
      coroner::IngestResult result;
      Order got =
          order_of({at(4) + "late junk\n", at(1) + "early junk\n" + at(2)}, threads, true, &result);
      CHECK(result.stopped_by_sink);
      CHECK(got == Order{"format 0", "format 1", "1:1", "bad 1:2"});
    }
    SUBCASE("an empty file is read as one too") {
      Order got = order_of({"", at(1)}, threads);
      CHECK(got == Order{"format 0", "format 1", "1:1"});
    }
  }
}

TEST_CASE("coroner::ingest several files: many chunks each") {
  // Two logs of 30,000 records each, one every other second: they interleave record by record
  // across many chunks. Every record comes once, in time order.
  std::string even, odd;
  for (int i = 0; i < 30000; ++i) {
    even += at(2 * i);
    odd += at(2 * i + 1);
  }
  for (unsigned threads : {1u, 2u}) {
    CAPTURE(threads);
    coroner::IngestResult result;
    Order got = order_of({odd, even}, threads, false, &result);
    REQUIRE(got.size() == 60002);
    bool alternate = true;
    for (size_t i = 2; i < got.size(); ++i) {
      size_t n = i - 2;
      std::string want = std::to_string(n % 2 == 0 ? 1 : 0) + ":" + std::to_string(n / 2 + 1);
      alternate = alternate && got[i] == want;
    }
    CHECK(alternate);
    CHECK(result.bytes == even.size() + odd.size());
  }
}

TEST_CASE("coroner::ingest several files: a missing one is an error naming it") {
  TempFile present(at(1));
  OrderSink sink;
  coroner::IngestResult result =
      coroner::ingest({present.path(), "/nonexistent/app.log"}, coroner::default_roles(), sink);
  REQUIRE(result.error.has_value());
  CHECK(result.error->describe() == "/nonexistent/app.log: No such file or directory");
}

TEST_CASE("coroner::ingest several files: a copy of one is an error naming it") {
  auto records = [](int from, int to) {
    std::string text;
    for (int i = from; i < to; ++i) text += at(i);
    return text;
  };
  TempFile log(records(0, 30));
  TempFile copy(records(0, 30));
  TempFile snapshot(records(0, 20));  // the log as it was earlier: 20 lines, over 1 KiB
  TempFile other(at(0) + at(1, "b") + records(2, 30));  // shares its first line, no more
  TempFile crashed(at(0));                              // a host that stopped after one line
  TempFile cleared("\n");                               // a log emptied with `echo >`
  auto error_of = [](const std::vector<std::string>& paths) {
    OrderSink sink;
    return coroner::ingest(paths, coroner::default_roles(), sink).error;
  };
  auto error = error_of({log.path(), copy.path()});
  REQUIRE(error.has_value());
  CHECK(error->file == copy.path());
  CHECK(error->message.find("same log as " + log.path()) != std::string::npos);
  error = error_of({snapshot.path(), other.path(), log.path()});
  REQUIRE(error.has_value());
  CHECK(error->file == log.path());
  // No proof of a copy: a different log, a one-line log and a blank one that begin it.
  CHECK_FALSE(error_of({log.path(), other.path()}).has_value());
  CHECK_FALSE(error_of({crashed.path(), log.path()}).has_value());
  CHECK_FALSE(error_of({log.path(), cleared.path()}).has_value());
}
