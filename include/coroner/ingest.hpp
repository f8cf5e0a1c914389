// Files to records: opens the inputs and feeds their lines through the record parser.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/dialect.hpp"
#include "coroner/record.hpp"
#include "coroner/roles.hpp"

namespace coroner {

// A fatal input problem, told as "FILE:LINE: message" (line 0: the file as a whole).
struct InputError {
  std::string file;
  uint64_t line = 0;
  std::string message;
  std::string describe() const;
};

struct IngestResult {
  std::optional<InputError> error;  // set when reading had to stop
  std::vector<std::string> damage;  // non-fatal: "FILE: gzip stream is truncated"
  uint64_t bytes = 0;               // decompressed bytes read
  bool stopped_by_sink = false;     // --strict met a bad line
};

// Called after each chunk with the bytes read so far: progress on a terminal.
using ProgressFn = std::function<void(uint64_t bytes)>;

// Reads `paths` ("-" is standard input); file i's records carry file index
// `first_file_index + i`. One file is read in order. Several are one log: their records are
// merged by time (the rules are in docs/DESIGN.md, "Several files are one log"). With `threads`
// > 1, threads - 1 threads read and parse chunks of lines ahead, and the calling thread hands
// the records to `sink` in that order (reading and parsing too while the next chunk is not ready).
// Each file's dialect is told from its first records (detect_format), unless `dialect` forces one;
// the sink hears it before the file's records.
IngestResult ingest(const std::vector<std::string>& paths, const RoleConfig& roles,
                    RecordSink& sink, uint32_t first_file_index = 0,
                    const ProgressFn& progress = nullptr, unsigned threads = 1,
                    Dialect dialect = Dialect::automatic);

}  // namespace coroner
