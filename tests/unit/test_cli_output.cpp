// The command line's words around a report: the progress line, and the arguments that run the
// next command on the same input.
#include <doctest/doctest.h>

#include <string>

#include "cli/options.hpp"
#include "cli/progress.hpp"
#include "cli/rerun.hpp"
#include "coroner/report.hpp"

using coroner::cli::Progress;
using coroner::cli::ProgressMode;

TEST_CASE("coroner::cli progress: shown where a person watches, never in their way") {
  using coroner::cli::progress_mode;
  CHECK(progress_mode("auto", false, true) == ProgressMode::in_place);
  CHECK(progress_mode("auto", false, false) == ProgressMode::off);  // a pipe, a log file
  CHECK(progress_mode("always", false, false) == ProgressMode::lines);
  CHECK(progress_mode("always", false, true) == ProgressMode::in_place);
  CHECK(progress_mode("never", false, true) == ProgressMode::off);
  CHECK(progress_mode("always", true, true) == ProgressMode::off);  // -q wins over everything
}

TEST_CASE("coroner::cli progress line: of the total, the rate and the time left") {
  CHECK(Progress::describe(312'400'000, 658'500'000, 5'400'000, 1'800'000, 2.0) ==
        "coroner: read 312.4 of 658.5 MB (47%), 5.4M records, 1.8M tasks, 156.2 MB/s, 2.22s left");
  // No total (a pipe, a compressed file): no share and no time left.
  CHECK(Progress::describe(12'000'000, std::nullopt, 93, 20'500, 1.5) ==
        "coroner: read 12.0 MB, 93 records, 20.5k tasks, 8.0 MB/s");
  // All read: nothing left to wait for.
  CHECK(Progress::describe(100, 100, 3, 1, 1.0).find("left") == std::string::npos);
}

TEST_CASE("coroner::cli rerun arguments read the same input the same way") {
  coroner::cli::Options o;
  CHECK(coroner::cli::rerun_arguments(o) == " -");
  o.files = {"app.jsonl", "my logs/b.jsonl"};
  o.fields = {"task=extra.job id"};
  o.stall = "2s";
  o.utc = true;
  o.key_given = true;
  o.key = "";
  CHECK(coroner::cli::rerun_arguments(o) ==
        " --field 'task=extra.job id' --key '' --stall 2s --utc app.jsonl 'my logs/b.jsonl'");
  // graph shows no time and takes no --utc: its next command must run as printed.
  CHECK(coroner::cli::rerun_arguments(o, false) ==
        " --field 'task=extra.job id' --key '' --stall 2s app.jsonl 'my logs/b.jsonl'");
  CHECK(coroner::shell_quoted("it's") == "'it'\\''s'");
  CHECK(coroner::shell_quoted("Task-23 (pid=5531)") == "'Task-23 (pid=5531)'");
  CHECK(coroner::shell_quoted("job-07") == "job-07");
}
