// coroner's command line: picks the subcommand, parses options, runs, returns the exit status.
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "commands.hpp"
#include "huge_pages.hpp"
#include "options.hpp"
#include "subcommand.hpp"

namespace {

bool file_exists(const std::string& path) {
  std::error_code ignored;
  return std::filesystem::exists(path, ignored);
}

}  // namespace

int main(int argc, char** argv) {
  coroner::cli::restart_with_huge_pages(argv);
  coroner::cli::keep_heap_in_place();
  // A reader that goes away (`coroner big.jsonl | head -1`) ends the output quietly: writes fail
  // with EPIPE and coroner still exits with the status its findings call for.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"coroner"};
  coroner::cli::Options options;
  coroner::cli::describe(app, options);

  auto arranged = coroner::cli::put_subcommand_first(app, {argv, argv + argc}, file_exists);
  if (arranged.error) {
    std::fprintf(stderr, "coroner: %s\n", arranged.error->c_str());
    return coroner::cli::kExitError;
  }
  std::vector<const char*> cargs;
  for (const auto& a : arranged.args) cargs.push_back(a.c_str());
  try {
    app.parse(int(cargs.size()), cargs.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "coroner: %s (%s)\n", e.what(),
                 coroner::cli::parse_error_hint(app, arranged.args).c_str());
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
