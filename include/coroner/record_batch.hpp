// Records parsed on one thread and handed, in order, to the sink on another: a batch copies the
// strings a RawRecord views (the parser's buffers die with the next chunk) into its own arena.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/record.hpp"
#include "coroner/record_parser.hpp"

namespace coroner {

class RecordBatch : public RecordSink {
 public:
  void on_record(const RawRecord& record) override;
  bool on_bad_line(const BadLine& bad) override;
  // Hands every record and bad line to `sink` in the order they were parsed. Returns false when
  // the sink asked to stop.
  bool replay(RecordSink& sink) const;
  void clear();

 private:
  struct Span {
    uint32_t offset = 0, size = 0;
  };
  // A RawRecord without its views: those are spans of the arena.
  struct Stored {
    RawRecord scalars;  // views empty, vectors and strings unused
    Span task, stage, status, parent, error_text, error_type, level, scope;
    uint32_t awaits_begin = 0, awaits_count = 0;
  };
  struct Item {
    bool is_record;
    uint32_t index;
  };

  Span keep(std::string_view text);
  std::string_view view(Span span) const { return {arena_.data() + span.offset, span.size}; }

  std::string arena_;
  std::vector<Stored> records_;
  std::vector<Span> awaits_;
  std::vector<BadLine> bad_lines_;
  std::vector<Item> order_;
  mutable RawRecord replayed_;
};

}  // namespace coroner
