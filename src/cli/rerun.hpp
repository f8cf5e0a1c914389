// The command a report prints for the next step must read the same input the same way.
#pragma once

#include <string>

#include "options.hpp"

namespace coroner::cli {

// The options that change how the input is read or judged, then the files, each shell-quoted
// after a space: " --field task=job --stall 2s app.jsonl". Standard input is "-".
std::string rerun_arguments(const Options& o);

}  // namespace coroner::cli
