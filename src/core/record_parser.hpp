// Lines to records: the flat reader for the common flat lines, simdjson ondemand over windows of
// lines (iterate_many) for the others, and a per-line fallback for damaged lines, prefixes and
// oversized lines, so one bad line costs nothing else.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/record.hpp"
#include "coroner/roles.hpp"
#include "reader.hpp"

namespace coroner {

class RecordParser {
 public:
  // `flat_lines`: read flat lines with the flat reader (flat_line.hpp) and only the others with
  // simdjson. Off, simdjson reads every line: the tests compare the two.
  explicit RecordParser(const RoleConfig& roles, bool flat_lines = true);
  ~RecordParser();
  RecordParser(const RecordParser&) = delete;
  RecordParser& operator=(const RecordParser&) = delete;

  // Parses every line of the chunk and hands each record or bad line to the sink. Returns
  // false when the sink asked to stop.
  bool parse_chunk(const Chunk& chunk, uint32_t file, RecordSink& sink);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace coroner
