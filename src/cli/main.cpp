// coroner's command line: picks the subcommand, parses options, runs, returns the exit status.
#include <csignal>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "commands.hpp"
#include "options.hpp"

namespace {

bool is_command(const char* arg) {
  for (const char* name : coroner::cli::kCommands)
    if (std::strcmp(arg, name) == 0) return true;
  return false;
}

bool is_top_level_flag(const char* arg) {
  return std::strcmp(arg, "-h") == 0 || std::strcmp(arg, "--help") == 0 ||
         std::strcmp(arg, "-V") == 0 || std::strcmp(arg, "--version") == 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A reader that goes away (`coroner big.jsonl | head -1`) ends the output quietly: writes fail
  // with EPIPE and coroner still exits with the status its findings call for.
  std::signal(SIGPIPE, SIG_IGN);
  // `coroner FILE` means `coroner analyze FILE`: insert the default subcommand.
  std::vector<std::string> args(argv, argv + argc);
  if (argc == 1 || (!is_command(argv[1]) && !is_top_level_flag(argv[1])))
    args.insert(args.begin() + 1, "analyze");
  std::vector<const char*> cargs;
  for (const auto& a : args) cargs.push_back(a.c_str());

  CLI::App app{"coroner"};
  coroner::cli::Options options;
  coroner::cli::describe(app, options);
  try {
    app.parse(int(cargs.size()), cargs.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "coroner: %s (see coroner --help)\n", e.what());
    return coroner::cli::kExitError;
  }
  // Nothing below throws on purpose; should anything (memory running out on a huge log), the
  // user still gets one line and the input-error status, never an abort.
  try {
    return coroner::cli::run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coroner: error: %s\n", e.what());
    return coroner::cli::kExitError;
  }
}
