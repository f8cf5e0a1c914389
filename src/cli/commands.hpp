// Runs one parsed command line; returns the exit status.
#pragma once

#include "options.hpp"

namespace coroner::cli {

enum ExitStatus : int { kExitClean = 0, kExitFindings = 1, kExitError = 2 };

int run(const Options& options);

}  // namespace coroner::cli
