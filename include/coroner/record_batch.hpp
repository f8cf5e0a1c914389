// Records parsed on one thread and handed, in order, to the sink on another: a batch copies the
// strings a RawRecord views (the parser's buffers die with the next chunk) into its own arena.
#pragma once

#include <array>
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
  // A RawRecord's values, compact (a batch holds thousands): its strings are spans of the arena.
  struct Stored {
    int64_t time_ns = 0;
    int64_t timeout_ns = 0;
    uint64_t line = 0;
    uint32_t file = 0;
    Span task, stage, status, parent, error_text, error_type, level, scope;
    uint32_t awaits_begin = 0, awaits_count = 0;
    std::array<uint8_t, kRoleCount> filled_by{};
    TimeForm time_form = TimeForm::none;
    bool has_time : 1 = false;
    bool has_task : 1 = false;
    bool has_error : 1 = false;
    bool retry : 1 = false;
    bool has_timeout : 1 = false;
    bool bad_time : 1 = false;
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
