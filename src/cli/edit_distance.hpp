// How many single-character edits turn one word into another: the measure behind "did you mean".
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace coroner::cli {

// The Levenshtein distance: the fewest insertions, deletions and replacements of one character
// that turn `from` into `to` ("stast" -> "stats" is 2). Case counts: 'S' and 's' differ.
size_t edit_distance(std::string_view from, std::string_view to);

// A word further than this from every candidate is no misspelling of one.
constexpr size_t kMaxSuggestionEdits = 2;

// The candidate nearest `word`, the first of equals, within kMaxSuggestionEdits edits; nullopt
// when none is that near. `candidates` is any range of things a string_view can be made of.
template <typename Range>
std::optional<std::string> nearest_word(std::string_view word, const Range& candidates) {
  std::optional<std::string> nearest;
  size_t best = kMaxSuggestionEdits + 1;
  for (const auto& candidate : candidates) {
    std::string_view text = candidate;
    // Lengths further apart than the edits allowed: no need to count them (a log's long stages).
    size_t longer = std::max(word.size(), text.size()),
           shorter = std::min(word.size(), text.size());
    if (longer - shorter > kMaxSuggestionEdits) continue;
    if (size_t distance = edit_distance(word, text); distance < best) {
      best = distance;
      nearest = std::string(text);
    }
  }
  return nearest;
}

}  // namespace coroner::cli
