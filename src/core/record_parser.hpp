// Lines to records: the flat reader for the common flat lines, simdjson ondemand over windows of
// lines (iterate_many) for the others, and a per-line fallback for damaged lines, prefixes and
// oversized lines, so one bad line costs nothing else. Values written over several lines, and the
// dialects with readers of their own (eliot, OpenTelemetry), are read one JSON value at a time.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/dialect.hpp"
#include "coroner/record.hpp"
#include "coroner/roles.hpp"
#include "reader.hpp"

namespace coroner {

class RecordParser {
 public:
  // `roles`: the user's (default_roles() with --field and --key); each dialect reads them as
  // roles_for() says. `flat_lines`: read flat lines with the flat reader (flat_line.hpp) and only
  // the others with simdjson. Off, simdjson reads every line: the tests compare the two.
  explicit RecordParser(const RoleConfig& roles, bool flat_lines = true);
  ~RecordParser();
  RecordParser(const RecordParser&) = delete;
  RecordParser& operator=(const RecordParser&) = delete;

  // Parses every record of the chunk, read in `format`, and hands each record or bad line to the
  // sink. Returns false when the sink asked to stop.
  bool parse_chunk(const Chunk& chunk, uint32_t file, RecordSink& sink,
                   const InputFormat& format = {});

 private:
  struct Impl;
  Impl& impl_for(const InputFormat& format);

  RoleConfig roles_;
  bool flat_lines_;
  std::array<std::unique_ptr<Impl>, 5> impls_;  // by dialect, made when first needed
  // An input whose task is read from its own task_field (InputFormat): by dialect and fields.
  std::map<std::string, std::unique_ptr<Impl>> task_field_impls_;
};

}  // namespace coroner
