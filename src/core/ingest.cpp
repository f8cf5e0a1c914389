#include "coroner/ingest.hpp"

#include <fmt/format.h>

#include "coroner/reader.hpp"

namespace coroner {

std::string InputError::describe() const {
  std::string where = file == "-" ? std::string("<stdin>") : file;
  if (line > 0) return fmt::format("{}:{}: {}", where, line, message);
  return fmt::format("{}: {}", where, message);
}

IngestResult ingest(const std::vector<std::string>& paths, const RoleConfig& roles,
                    RecordSink& sink, uint32_t first_file_index, const ProgressFn& progress) {
  IngestResult result;
  RecordParser parser(roles);
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string& path = paths[i];
    OpenedInput input = open_input(path);
    if (!input.source) {
      result.error = InputError{path, 0, input.error};
      return result;
    }
    LineChunker chunker(*input.source);
    Chunk chunk;
    while (chunker.next(chunk)) {
      result.bytes += chunk.size;
      if (!parser.parse_chunk(chunk, first_file_index + uint32_t(i), sink)) {
        result.stopped_by_sink = true;
        return result;
      }
      if (progress) progress(result.bytes);
    }
    if (!input.source->error().empty()) {
      result.error = InputError{path, chunker.lines_read() + 1, input.source->error()};
      return result;
    }
    if (!input.source->damage().empty())
      result.damage.push_back(fmt::format("{}: {}", path == "-" ? "<stdin>" : path,
                                          input.source->damage()));
  }
  return result;
}

}  // namespace coroner
