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
  int kind = 0;        // 2 numbered (.N), 1 dated (-20261127, .2026-11-27), 0 the live file
  std::string number;  // the suffix: a number or a date
};

bool all_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(uint8_t(c)); });
}

// A date or a date and time as rotating handlers write it: digits, with '-', '_' or '.' between
// ("2026-11-26", "2026-11-26_14", "20261126").
bool is_date_suffix(std::string_view s) {
  return !s.empty() && std::isdigit(uint8_t(s.front())) && std::isdigit(uint8_t(s.back())) &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return std::isdigit(uint8_t(c)) || c == '-' || c == '_' || c == '.';
         });
}

Rotated rotated(std::string_view path) {
  for (std::string_view compressed : {".gz", ".zst", ".zstd"})
    if (path.ends_with(compressed)) {
      path.remove_suffix(compressed.size());
      break;
    }
  size_t name_start = path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1;
  // The earliest '.' or '-' of the file's name after which all is a number or a date:
  // app.log.3 (logrotate, RotatingFileHandler), app.log-20261127 (logrotate's dateext),
  // app.log.2026-11-26 (TimedRotatingFileHandler).
  size_t cut = std::string_view::npos;
  for (size_t i = path.size(); i-- > name_start + 1;) {
    if (path[i] != '.' && path[i] != '-') continue;
    if (!is_date_suffix(path.substr(i + 1))) break;
    cut = i;
  }
  if (cut == std::string_view::npos) return Rotated{std::string(path), 0, {}};
  std::string_view suffix = path.substr(cut + 1);
  // A short plain number after a dot counts rotations (.1 the newest); anything else is a date.
  int kind = path[cut] == '.' && all_digits(suffix) && suffix.size() < 8 ? 2 : 1;
  return Rotated{std::string(path.substr(0, cut)), kind, std::string(suffix)};
}

// Older first: numbered by number descending, then dated ascending (dates, written largest
// unit first, sort as text), then the live file.
bool older(const Rotated& a, const Rotated& b) {
  if (a.kind != b.kind) return a.kind > b.kind;
  if (a.kind != 2) return a.number < b.number;
  auto numeric_less = [](const std::string& x, const std::string& y) {
    return x.size() != y.size() ? x.size() < y.size() : x < y;
  };
  return numeric_less(b.number, a.number);
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
