#include "edit_distance.hpp"

#include <algorithm>
#include <vector>

namespace coroner::cli {

size_t edit_distance(std::string_view from, std::string_view to) {
  // One row of the classic table at a time: row[j] is the distance from the part of `from` read
  // so far to the first j characters of `to`.
  std::vector<size_t> row(to.size() + 1);
  for (size_t j = 0; j <= to.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= from.size(); ++i) {
    size_t diagonal = row[0];  // the distance of the two prefixes one shorter each
    row[0] = i;
    for (size_t j = 1; j <= to.size(); ++j) {
      size_t above = row[j];
      size_t replace = diagonal + (from[i - 1] == to[j - 1] ? 0 : 1);
      row[j] = std::min({replace, above + 1, row[j - 1] + 1});
      diagonal = above;
    }
  }
  return row[to.size()];
}

}  // namespace coroner::cli
