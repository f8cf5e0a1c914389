// Copies of one log given as several files: their records would count twice, every task would
// start again. A file whose first bytes are all of another's, or begin them, holds that log
// again (a copy, the log and its .gz, a snapshot of it taken earlier). A short file that begins
// another is no proof (two hosts' logs may open with the same startup line, a cleared log holds
// a blank line): it must be a full head, or a file of kCopyProof bytes and kCopyProofLines
// lines at least.
#include <fmt/format.h>

#include <algorithm>

#include "ingest_input.hpp"

namespace coroner {

namespace {
constexpr size_t kCopyProof = 1 << 10, kCopyProofLines = 8;
}  // namespace

// Sorted, a head that begins another sits just before it, or before heads that begin with it
// too: neighbours are enough.
std::optional<InputError> same_log_among(const std::vector<std::string_view>& heads,
                                         const std::vector<std::string>& paths) {
  std::vector<std::pair<std::string_view, size_t>> sorted;
  for (size_t i = 0; i < heads.size(); ++i)
    if (heads[i].find_first_not_of(" \t\r\n") != std::string_view::npos)
      sorted.emplace_back(heads[i], i);
  std::sort(sorted.begin(), sorted.end());
  for (size_t k = 1; k < sorted.size(); ++k) {
    auto [shorter, a] = sorted[k - 1];
    auto [longer, b] = sorted[k];
    if (!longer.starts_with(shorter)) continue;
    bool proof = shorter.size() == kCopyHead ||
                 (shorter.size() >= kCopyProof &&
                  size_t(std::count(shorter.begin(), shorter.end(), '\n')) >= kCopyProofLines);
    if (!proof) continue;
    // The one given later is the one that would count again.
    return InputError{paths[std::max(a, b)], 0,
                      fmt::format("holds the same log as {} (the first {} bytes of both): each "
                                  "of its records would count twice",
                                  display_name(paths[std::min(a, b)]), shorter.size())};
  }
  return std::nullopt;
}

}  // namespace coroner
