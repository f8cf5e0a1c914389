// What every way of reading logs does with an input it opens: refuse a state, tell its dialect,
// name its damage. ingest.cpp reads one input, ingest_by_time.cpp merges several by time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/dialect.hpp"
#include "coroner/ingest.hpp"
#include "reader.hpp"

namespace coroner {

// "FILE: gzip stream is truncated".
std::string damage_note(const std::string& path, const std::string& damage);

// A partial state given where logs are read: said plainly, not read as lines of bad JSON.
bool is_state(LineChunker& chunker);
inline constexpr std::string_view kStateNotLog =
    "a coroner state, not a log: 'coroner merge' reports on states";

// Tells the input's format from its first bytes, and makes the chunker cut where it must. The
// input's own task field (InputFormat::task_field) is kept only where `roles` leave the task
// field to coroner.
InputFormat read_format(LineChunker& chunker, Dialect dialect, const RoleConfig& roles);

// Files are compared by up to this many of their first bytes (decompressed) to tell copies of
// one log (same_log.cpp).
inline constexpr size_t kCopyHead = 64 << 10;
// The first of `paths` whose head (its first kCopyHead bytes, or all of a shorter file) holds
// the same log as one given before it; nullopt when none.
std::optional<InputError> same_log_among(const std::vector<std::string_view>& heads,
                                         const std::vector<std::string>& paths);

// Several files as one log: their records handed to `sink` merged by time (ingest.hpp), with
// `threads` - 1 threads reading ahead.
IngestResult ingest_by_time(const std::vector<std::string>& paths, const RoleConfig& roles,
                            RecordSink& sink, uint32_t first_file_index, const ProgressFn& progress,
                            unsigned threads, Dialect dialect);

}  // namespace coroner
