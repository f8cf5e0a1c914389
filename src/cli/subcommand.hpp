// Finding the subcommand on a command line. It is the first word that is neither an option nor
// an option's value, so options may come before it (`coroner -q stats app.jsonl`) while
// `coroner -o stats app.jsonl` still writes a file named stats.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coroner::cli {

// The index in `args` (args[0] is the program) of the first word that is neither an option nor
// the value of one, before any `--`; none when there is no such word. Which options take a value
// is read from `app` and its subcommands: `--opt VALUE`, `--opt=VALUE`, `-o VALUE`, `-j2` and
// clusters of short flags (`-qo FILE`) are told apart as CLI11 reads them.
std::optional<size_t> first_operand(const CLI::App& app, const std::vector<std::string>& args);

// The subcommand of `app` at most two edits away from `word` ("stast" -> "stats"), the nearest
// first; none when no subcommand is that close.
std::optional<std::string> nearest_subcommand(const CLI::App& app, std::string_view word);

// What a parse error's line ends with: the help of the subcommand the options were given to
// ("see coroner analyze --help"), and for a long option the subcommand does not know
// (`--formt`), the nearest one it does ("did you mean --format?").
std::string parse_error_hint(const CLI::App& app, const std::vector<std::string>& arranged);

using FileExists = bool (*)(const std::string& path);

struct ArrangedArgs {
  std::vector<std::string> args;     // the subcommand right after the program name
  std::optional<std::string> error;  // one line, without the leading "coroner: "
};

// `args` as CLI11 wants them, with the subcommand right after the program name: the subcommand
// moved there from wherever it was, or `analyze` put there when the first operand is no
// subcommand (`coroner FILE` is `coroner analyze FILE`). An operand that is neither a subcommand
// nor an existing file, yet close to a subcommand, is a misspelt subcommand: an error that says
// which one was meant. `coroner --help` and `coroner --version` are left alone.
ArrangedArgs put_subcommand_first(const CLI::App& app, std::vector<std::string> args,
                                  FileExists file_exists);

}  // namespace coroner::cli
