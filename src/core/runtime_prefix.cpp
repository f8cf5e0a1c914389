#include "runtime_prefix.hpp"

#include "coroner/timestamp.hpp"

namespace coroner {

std::optional<RuntimePrefix> runtime_prefix(std::string_view line) {
  if (line.empty() || line[0] < '0' || line[0] > '9') return std::nullopt;
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto time = parse_time_string(line.substr(0, space));
  if (!time || time->form != TimeForm::iso8601) return std::nullopt;
  RuntimePrefix prefix;
  std::string_view rest = line.substr(space + 1);
  for (std::string_view stream : {"stdout", "stderr"}) {
    if (rest.starts_with(stream) && rest.substr(stream.size()).starts_with(' ')) {
      prefix.stream = rest.substr(0, stream.size());
      rest.remove_prefix(stream.size() + 1);
      break;
    }
  }
  // The tag is CRI's alone: after a stream's name.
  if (!prefix.stream.empty() && (rest.starts_with("F ") || rest.starts_with("P "))) {
    prefix.partial = rest[0] == 'P';
    rest.remove_prefix(2);
  } else if (!prefix.stream.empty() && (rest == "F" || rest == "P")) {
    prefix.partial = rest[0] == 'P';  // an empty line's, or an empty part's
    rest.remove_prefix(1);
  }
  prefix.size = size_t(rest.data() - line.data());
  return prefix;
}

std::string_view without_runtime_prefix(std::string_view line) {
  std::optional<RuntimePrefix> prefix = runtime_prefix(line);
  return prefix ? line.substr(prefix->size) : line;
}

}  // namespace coroner
