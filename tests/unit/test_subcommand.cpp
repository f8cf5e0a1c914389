#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "cli/subcommand.hpp"

namespace {

using Args = std::vector<std::string>;

// The real app, as main() builds it: the options that take a value are the ones --help shows.
struct App {
  CLI::App app{"coroner"};
  coroner::cli::Options options;
  App() { coroner::cli::describe(app, options); }
};

// Files that exist in these tests: only app.jsonl, and a file named like a misspelt command.
bool fake_file_exists(const std::string& path) {
  return path == "app.jsonl" || path == "stat";
}

std::optional<size_t> operand(const Args& tail) {
  App a;
  Args args{"coroner"};
  args.insert(args.end(), tail.begin(), tail.end());
  return coroner::cli::first_operand(a.app, args);
}

coroner::cli::ArrangedArgs arranged(const Args& tail) {
  App a;
  Args args{"coroner"};
  args.insert(args.end(), tail.begin(), tail.end());
  return coroner::cli::put_subcommand_first(a.app, args, fake_file_exists);
}

// The arguments after the program name, once arranged; fails the test on an error.
Args arranged_tail(const Args& tail) {
  auto result = arranged(tail);
  INFO("error: " << result.error.value_or(""));
  REQUIRE_FALSE(result.error.has_value());
  REQUIRE(!result.args.empty());
  CHECK(result.args.front() == "coroner");
  return Args(result.args.begin() + 1, result.args.end());
}

}  // namespace

// first_operand reads the options of every subcommand at once, before it knows which one runs:
// that holds only while a name takes a value everywhere or nowhere.
TEST_CASE("coroner::cli options: a name takes a value in every subcommand or in none") {
  App a;
  std::map<std::string, bool> takes_value;
  for (const CLI::App* cmd : a.app.get_subcommands({})) {
    for (const CLI::Option* option : cmd->get_options()) {
      bool value = option->get_items_expected_max() > 0;
      std::vector<std::string> names = option->get_lnames();
      for (const auto& name : option->get_snames()) names.push_back(name);
      for (const auto& name : names) {
        INFO(cmd->get_name() << ": " << name);
        auto [known, inserted] = takes_value.emplace(name, value);
        CHECK(known->second == value);
      }
    }
  }
  CHECK(takes_value.at("output"));
  CHECK(takes_value.at("o"));
  CHECK(takes_value.at("task"));
  CHECK_FALSE(takes_value.at("quiet"));
  CHECK_FALSE(takes_value.at("strict"));
}

TEST_CASE("coroner::cli::first_operand") {
  SUBCASE("the first word that is no option") {
    CHECK(operand({"stats", "app.jsonl"}) == 1u);
    CHECK(operand({"-q", "stats"}) == 2u);
    CHECK(operand({"--strict", "--quiet", "app.jsonl"}) == 3u);
  }

  SUBCASE("an option's value is no operand") {
    CHECK(operand({"-o", "stats", "app.jsonl"}) == 3u);
    CHECK(operand({"--output", "stats", "app.jsonl"}) == 3u);
    CHECK(operand({"--task", "stats", "app.jsonl"}) == 3u);
    CHECK(operand({"--field", "attempt=retries", "stats"}) == 3u);
    CHECK(operand({"-j", "2", "stats"}) == 3u);
  }

  SUBCASE("options of one subcommand only are known too") {
    CHECK(operand({"--around", "stats", "graph"}) == 3u);
    CHECK(operand({"--depth", "1", "graph"}) == 3u);
    CHECK(operand({"--top", "3", "app.jsonl"}) == 3u);
  }

  SUBCASE("a value in the same word") {
    CHECK(operand({"--output=x", "stats"}) == 2u);
    CHECK(operand({"--task=stats", "app.jsonl"}) == 2u);
    CHECK(operand({"-j2", "stats"}) == 2u);
  }

  SUBCASE("a cluster of short options: flags, then one that takes a value") {
    CHECK(operand({"-qo", "stats", "app.jsonl"}) == 3u);
    CHECK(operand({"-qj2", "stats"}) == 2u);
    CHECK(operand({"-qV", "stats"}) == 2u);
  }

  SUBCASE("'-' is standard input, an operand") {
    CHECK(operand({"-q", "-", "stats"}) == 2u);
  }

  SUBCASE("after '--' there are only files") {
    CHECK_FALSE(operand({"--", "stats"}).has_value());
    CHECK_FALSE(operand({"-q", "--", "stats"}).has_value());
    CHECK(operand({"stats", "--", "-x.jsonl"}) == 1u);
  }

  SUBCASE("no operand") {
    CHECK_FALSE(operand({}).has_value());
    CHECK_FALSE(operand({"-q"}).has_value());
    CHECK_FALSE(operand({"-o"}).has_value());
    CHECK_FALSE(operand({"-o", "stats"}).has_value());
  }
}

TEST_CASE("coroner::cli::nearest_subcommand") {
  App a;
  CHECK(coroner::cli::nearest_subcommand(a.app, "stast") == "stats");
  CHECK(coroner::cli::nearest_subcommand(a.app, "stat") == "stats");
  CHECK(coroner::cli::nearest_subcommand(a.app, "anaylze") == "analyze");
  CHECK(coroner::cli::nearest_subcommand(a.app, "timelne") == "timeline");
  CHECK(coroner::cli::nearest_subcommand(a.app, "schma") == "schema");
  CHECK(coroner::cli::nearest_subcommand(a.app, "grpah") == "graph");
  CHECK_FALSE(coroner::cli::nearest_subcommand(a.app, "app.jsonl").has_value());
  CHECK(coroner::cli::nearest_subcommand(a.app, "sta") == "stats");  // two edits still
  CHECK_FALSE(coroner::cli::nearest_subcommand(a.app, "nonsense").has_value());
  CHECK_FALSE(coroner::cli::nearest_subcommand(a.app, "-").has_value());
}

TEST_CASE("coroner::cli::put_subcommand_first") {
  SUBCASE("a subcommand first stays first") {
    CHECK(arranged_tail({"stats", "app.jsonl"}) == Args{"stats", "app.jsonl"});
    CHECK(arranged_tail({"timeline", "7", "app.jsonl"}) == Args{"timeline", "7", "app.jsonl"});
  }

  SUBCASE("a subcommand after options moves to the front, the options keep their order") {
    CHECK(arranged_tail({"-q", "stats", "app.jsonl"}) == Args{"stats", "-q", "app.jsonl"});
    CHECK(arranged_tail({"--field", "task=id", "-q", "schema", "app.jsonl"}) ==
          Args{"schema", "--field", "task=id", "-q", "app.jsonl"});
  }

  SUBCASE("a value named like a subcommand is a value: analyze") {
    CHECK(arranged_tail({"-o", "stats", "app.jsonl"}) ==
          Args{"analyze", "-o", "stats", "app.jsonl"});
    CHECK(arranged_tail({"--task", "stats", "app.jsonl"}) ==
          Args{"analyze", "--task", "stats", "app.jsonl"});
    CHECK(arranged_tail({"-o", "stats", "schema", "app.jsonl"}) ==
          Args{"schema", "-o", "stats", "app.jsonl"});
  }

  SUBCASE("a file, standard input or nothing: analyze") {
    CHECK(arranged_tail({"app.jsonl"}) == Args{"analyze", "app.jsonl"});
    CHECK(arranged_tail({}) == Args{"analyze"});
    CHECK(arranged_tail({"-"}) == Args{"analyze", "-"});
    CHECK(arranged_tail({"-q"}) == Args{"analyze", "-q"});
    CHECK(arranged_tail({"--", "stats"}) == Args{"analyze", "--", "stats"});
  }

  SUBCASE("the program's own --help and --version are left alone") {
    CHECK(arranged_tail({"--help"}) == Args{"--help"});
    CHECK(arranged_tail({"-V"}) == Args{"-V"});
    CHECK(arranged_tail({"--help", "stast"}) == Args{"--help", "stast"});
  }

  SUBCASE("a misspelt subcommand that names no file: an error with the suggestion") {
    auto result = arranged({"-q", "stast", "app.jsonl"});
    REQUIRE(result.error.has_value());
    CHECK(*result.error == "'stast' is neither a subcommand nor a file; did you mean 'stats'?");
    CHECK(arranged({"garph", "app.jsonl"}).error.value_or("").find("'graph'") != std::string::npos);
  }

  SUBCASE("a near word that names a file is that file") {
    CHECK(arranged_tail({"stat"}) == Args{"analyze", "stat"});
  }

  SUBCASE("a far-off word that names no file is still a file, for the reader to refuse") {
    CHECK(arranged_tail({"nonsense.jsonl"}) == Args{"analyze", "nonsense.jsonl"});
  }
}
