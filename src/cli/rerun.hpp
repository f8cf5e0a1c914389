// The command a report prints for the next step must read the same input the same way.
#pragma once

#include <string>
#include <vector>

#include "options.hpp"

namespace coroner::cli {

// The options that change how the input is read or judged, then the files, each shell-quoted
// after a space: " --field task=job --stall 2s app.jsonl". Standard input is "-". `utc`: --utc
// too, when given (timeline takes it, graph does not).
std::string rerun_arguments(const Options& o, bool utc = true);

// The options that act while reading (--field, --key, --since, --until, --max-stages, --dialect,
// --templates, --strict), as command-line words: what a partial state records, so that states
// read alike merge and a merged report's next commands read the logs as the states were.
std::vector<std::string> reading_arguments(const Options& o);

}  // namespace coroner::cli
