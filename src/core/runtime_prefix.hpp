// The prefix a container runtime writes before each line a program wrote: CRI's
// "2026-11-27T10:00:00.123456789Z stdout F " (containerd, CRI-O: the files under /var/log/pods),
// or `kubectl logs --timestamps`'s time alone. CRI cuts a line longer than its buffer (16 KiB)
// into partial lines tagged P, closed by the line tagged F: joined, they are the program's line.
#pragma once

#include <optional>
#include <string_view>

namespace coroner {

struct RuntimePrefix {
  // `kubectl logs --prefix`'s "[pod/worker-6d9c/worker] ": the pod and container, "" when none.
  std::string_view pod;
  std::string_view stream;  // "stdout", "stderr", or "" (`kubectl logs --timestamps`)
  bool partial = false;     // tagged P: the line goes on in the next one of its stream
  size_t size = 0;          // the prefix's bytes: the program's text starts there
};

// The prefix of `line`, when it starts with an ISO 8601 time and a space, or with kubectl's
// "[pod/NAME/CONTAINER] " (then maybe the time).
std::optional<RuntimePrefix> runtime_prefix(std::string_view line);

// The line without its prefix; the line itself when it has none.
std::string_view without_runtime_prefix(std::string_view line);

// The word of `prefix` (the text before a record's '{') that may be the runtime's time: its
// first, after kubectl's pod.
std::string_view time_of_prefix(std::string_view prefix);

// A CRI line tagged P, whose text goes on in a later line: a chunk of the input does not end
// after one, so that the lines joined are always read together.
inline bool is_partial_line(std::string_view line) {
  // Cheap first: most lines are JSON and never start with a digit (a time) or a bracket
  // (kubectl's pod, before the time).
  if (line.empty() || ((line[0] < '0' || line[0] > '9') && line[0] != '[')) return false;
  std::optional<RuntimePrefix> prefix = runtime_prefix(line);
  return prefix && prefix->partial;
}

}  // namespace coroner
