#include "rotation_order.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <string_view>

namespace coroner {

namespace {

// Where a file stands in its rotation set: the set's name, and its age (the larger, the older).
struct Rotated {
  std::string set;
  int kind = 0;        // 2 numbered (.N), 1 dated (-20261127), 0 the live file
  std::string number;  // the suffix's digits
};

bool all_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(uint8_t(c)); });
}

Rotated rotated(std::string_view path) {
  for (std::string_view compressed : {".gz", ".zst", ".zstd"})
    if (path.ends_with(compressed)) {
      path.remove_suffix(compressed.size());
      break;
    }
  size_t cut = path.find_last_of(".-");
  size_t slash = path.rfind('/');
  if (cut != std::string_view::npos && (slash == std::string_view::npos || cut > slash + 1)) {
    std::string_view suffix = path.substr(cut + 1);
    if (all_digits(suffix)) {
      // app.log.3 is numbered; app.log-20261127 (logrotate's dateext) is dated.
      int kind = path[cut] == '.' && suffix.size() < 8 ? 2 : 1;
      return Rotated{std::string(path.substr(0, cut)), kind, std::string(suffix)};
    }
  }
  return Rotated{std::string(path), 0, {}};
}

// Older first: numbered by number descending, then dated ascending, then the live file.
bool older(const Rotated& a, const Rotated& b) {
  if (a.kind != b.kind) return a.kind > b.kind;
  auto numeric_less = [](const std::string& x, const std::string& y) {
    return x.size() != y.size() ? x.size() < y.size() : x < y;
  };
  if (a.kind == 2) return numeric_less(b.number, a.number);
  return numeric_less(a.number, b.number);
}

}  // namespace

std::vector<std::string> oldest_rotation_first(std::vector<std::string> files) {
  std::vector<Rotated> keys;
  std::map<std::string, std::vector<size_t>> sets;  // a set's name -> the places of its files
  for (size_t i = 0; i < files.size(); ++i) {
    keys.push_back(rotated(files[i]));
    sets[keys.back().set].push_back(i);
  }
  std::vector<std::string> out = files;
  for (const auto& [name, places] : sets) {
    if (places.size() < 2) continue;
    std::vector<size_t> by_age = places;
    std::stable_sort(by_age.begin(), by_age.end(),
                     [&](size_t a, size_t b) { return older(keys[a], keys[b]); });
    for (size_t k = 0; k < places.size(); ++k) out[places[k]] = files[by_age[k]];
  }
  return out;
}

}  // namespace coroner
