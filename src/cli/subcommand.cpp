#include "subcommand.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "edit_distance.hpp"

namespace coroner::cli {

namespace {

using Spellings = std::set<std::string, std::less<>>;

// The spellings ("-o", "--output") of every option of `app` and of its subcommands that takes a
// value. The subcommand is not known yet when they are needed: a name that takes a value in one
// subcommand is taken to take one everywhere (no name is a flag in one and not in another).
Spellings options_with_value(const CLI::App& app) {
  Spellings spellings;
  auto collect = [&spellings](const CLI::App& cmd) {
    for (const CLI::Option* option : cmd.get_options()) {
      if (!option->nonpositional() || option->get_items_expected_max() == 0) continue;
      for (const auto& name : option->get_snames()) spellings.insert("-" + name);
      for (const auto& name : option->get_lnames()) spellings.insert("--" + name);
    }
  };
  collect(app);
  for (const CLI::App* cmd : app.get_subcommands({})) collect(*cmd);
  return spellings;
}

// Whether the option word `word` leaves its value to the next word: `--task` and `-o` do,
// `--task=T`, `-j2` and the flags do not. In a cluster of short options (`-qo`) the first one that
// takes a value takes the rest of the word, or the next word when nothing is left.
bool value_follows(std::string_view word, const Spellings& with_value) {
  if (word.starts_with("--"))
    return word.find('=') == std::string_view::npos && with_value.contains(word);
  for (size_t k = 1; k < word.size(); ++k) {
    if (with_value.contains(std::string{'-', word[k]})) return k + 1 == word.size();
  }
  return false;
}

bool is_subcommand(const CLI::App& app, std::string_view word) {
  for (const CLI::App* cmd : app.get_subcommands({}))
    if (cmd->get_name() == word) return true;
  return false;
}

bool is_top_level_flag(std::string_view arg) {
  return arg == "-h" || arg == "--help" || arg == "-V" || arg == "--version";
}

}  // namespace

std::optional<size_t> first_operand(const CLI::App& app, const std::vector<std::string>& args) {
  const Spellings with_value = options_with_value(app);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view word = args[i];
    // After `--` every word is a file, even one named like a subcommand.
    if (word == "--") return std::nullopt;
    // "-" alone is standard input, an operand like any file.
    if (word.size() < 2 || word.front() != '-') return i;
    if (value_follows(word, with_value)) ++i;
  }
  return std::nullopt;
}

// A word further than kMaxSuggestionEdits from every subcommand is taken for a file name,
// however unreadable.
std::optional<std::string> nearest_subcommand(const CLI::App& app, std::string_view word) {
  std::vector<std::string> names;
  for (const CLI::App* cmd : app.get_subcommands({})) names.push_back(cmd->get_name());
  return nearest_word(word, names);
}

std::string parse_error_hint(const CLI::App& app, const std::vector<std::string>& arranged) {
  const CLI::App* sub = nullptr;
  for (const CLI::App* cmd : app.get_subcommands({}))
    if (arranged.size() > 1 && cmd->get_name() == arranged[1]) sub = cmd;
  if (!sub) return "see coroner --help";
  std::vector<std::string> known;
  for (const CLI::Option* option : sub->get_options({}))
    for (const std::string& name : option->get_lnames()) known.push_back("--" + name);
  for (size_t i = 2; i < arranged.size(); ++i) {
    std::string_view word = arranged[i];
    if (word == "--") break;
    if (!word.starts_with("--")) continue;
    word = word.substr(0, word.find('='));
    if (std::find(known.begin(), known.end(), word) != known.end()) continue;
    if (auto meant = nearest_word(word, known))
      return fmt::format("did you mean {}? see coroner {} --help", *meant, arranged[1]);
  }
  return "see coroner " + arranged[1] + " --help";
}

ArrangedArgs put_subcommand_first(const CLI::App& app, std::vector<std::string> args,
                                  FileExists file_exists) {
  if (args.size() > 1 && is_top_level_flag(args[1])) return {std::move(args), std::nullopt};
  std::optional<size_t> at = first_operand(app, args);
  if (at && is_subcommand(app, args[*at])) {
    std::rotate(args.begin() + 1, args.begin() + std::ptrdiff_t(*at),
                args.begin() + std::ptrdiff_t(*at) + 1);
    return {std::move(args), std::nullopt};
  }
  // Only a word that names no file can be a misspelt subcommand: `coroner stast` analyses a
  // file named stast when there is one.
  if (at && !file_exists(args[*at])) {
    if (auto meant = nearest_subcommand(app, args[*at]))
      return {
          {},
          "'" + args[*at] + "' is neither a subcommand nor a file; did you mean '" + *meant + "'?"};
  }
  args.insert(args.begin() + 1, "analyze");
  return {std::move(args), std::nullopt};
}

}  // namespace coroner::cli
