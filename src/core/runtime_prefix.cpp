#include "runtime_prefix.hpp"

#include "coroner/timestamp.hpp"

namespace coroner {

namespace {

// kubectl's "[pod/NAME/CONTAINER] ": "NAME/CONTAINER", "" when `line` does not start so.
std::string_view kubectl_pod(std::string_view line) {
  constexpr std::string_view kOpen = "[pod/";
  if (!line.starts_with(kOpen)) return {};
  size_t close = line.find("] ");
  if (close == std::string_view::npos || close == kOpen.size()) return {};
  std::string_view pod = line.substr(kOpen.size(), close - kOpen.size());
  return pod.find_first_of(" \"{[") == std::string_view::npos ? pod : std::string_view();
}

// The bytes of kubectl's pod prefix, "[pod/" and "] " around the pod.
size_t pod_prefix_size(std::string_view pod) {
  return pod.empty() ? 0 : pod.size() + 7;
}

}  // namespace

std::optional<RuntimePrefix> runtime_prefix(std::string_view line) {
  RuntimePrefix prefix;
  prefix.pod = kubectl_pod(line);
  std::string_view rest = line.substr(pod_prefix_size(prefix.pod));
  size_t space =
      !rest.empty() && rest[0] >= '0' && rest[0] <= '9' ? rest.find(' ') : std::string_view::npos;
  std::optional<ParsedTime> time;
  if (space != std::string_view::npos) time = parse_time_string(rest.substr(0, space));
  if (!time || !is_written_out(time->form)) {
    if (prefix.pod.empty()) return std::nullopt;
    prefix.size = pod_prefix_size(prefix.pod);  // the pod alone: `kubectl logs --prefix`
    return prefix;
  }
  rest.remove_prefix(space + 1);
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

std::string_view time_of_prefix(std::string_view prefix) {
  prefix.remove_prefix(pod_prefix_size(kubectl_pod(prefix)));
  return prefix.substr(0, prefix.find(' '));
}

std::string_view without_runtime_prefix(std::string_view line) {
  std::optional<RuntimePrefix> prefix = runtime_prefix(line);
  return prefix ? line.substr(prefix->size) : line;
}

}  // namespace coroner
