// The command line, parsed by CLI11 into one struct; nothing here analyses anything.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

namespace coroner::cli {

inline constexpr const char* kDefaultFailOn = "hung,timeout,lost-exception,deadlock";

// All cores: one thread reads, the others parse, the main one builds the tasks.
inline unsigned default_threads() {
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

struct Options {
  std::string command = "analyze";
  std::vector<std::string> files;
  std::string timeline_task;
  std::string format = "text";
  std::string output;
  std::string color = "auto";
  bool quiet = false;
  bool strict = false;
  std::vector<std::string> fields;
  std::string key;
  bool key_given = false;
  std::vector<std::string> start_stages, end_stages, fail_stages;
  std::string stall, deadline;
  std::vector<std::string> stage_deadlines;
  std::string fail_on = kDefaultFailOn;
  std::string kinds;
  std::string task;
  std::string since, until;
  std::string naive_offset;  // --naive-offset: the zone of times written with none
  size_t top = 3;
  std::string graph_format = "dot";
  std::vector<std::string> around;
  int depth = 2;
  size_t max_stages = 10000;
  std::string templates = "auto";
  std::string dialect = "auto";
  std::string log_end;
  bool utc = false;
  std::string progress = "auto";
  std::string emit_state;  // merge: write the merged state here instead of a report
  unsigned threads = default_threads();
};

// Builds the CLI11 app over `options`. Every option and its default is declared here once;
// --help, the man page test and the README are checked against it.
void describe(CLI::App& app, Options& options);

}  // namespace coroner::cli
