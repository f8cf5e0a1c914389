// How many single-character edits turn one word into another: the measure behind "did you mean".
#pragma once

#include <cstddef>
#include <string_view>

namespace coroner::cli {

// The Levenshtein distance: the fewest insertions, deletions and replacements of one character
// that turn `from` into `to` ("stast" -> "stats" is 2). Case counts: 'S' and 's' differ.
size_t edit_distance(std::string_view from, std::string_view to);

}  // namespace coroner::cli
