#include "coroner/record_batch.hpp"

namespace coroner {

RecordBatch::Span RecordBatch::keep(std::string_view text) {
  Span span{uint32_t(arena_.size()), uint32_t(text.size())};
  arena_.append(text);
  return span;
}

void RecordBatch::on_record(const RawRecord& r) {
  Stored s;
  s.time_ns = r.time_ns;
  s.timeout_ns = r.timeout_ns;
  s.line = r.line;
  s.file = r.file;
  s.filled_by = r.filled_by;
  s.time_form = r.time_form;
  s.has_time = r.has_time;
  s.has_task = r.has_task;
  s.has_error = r.has_error;
  s.retry = r.retry;
  s.has_timeout = r.has_timeout;
  s.bad_time = r.bad_time;
  s.task = keep(r.task);
  s.stage = keep(r.stage);
  s.status = keep(r.status);
  s.parent = keep(r.parent);
  s.error_text = keep(r.error_text);
  s.error_type = keep(r.error_type);
  s.level = keep(r.level);
  s.scope = keep(r.scope);
  s.awaits_begin = uint32_t(awaits_.size());
  s.awaits_count = uint32_t(r.awaits.size());
  for (std::string_view a : r.awaits) awaits_.push_back(keep(a));
  order_.push_back(Item{true, uint32_t(records_.size())});
  records_.push_back(std::move(s));
}

bool RecordBatch::on_bad_line(const BadLine& bad) {
  order_.push_back(Item{false, uint32_t(bad_lines_.size())});
  bad_lines_.push_back(bad);
  return true;  // the sink that replays decides whether to stop
}

bool RecordBatch::replay(RecordSink& sink) const {
  RawRecord& r = replayed_;
  for (const Item& item : order_) {
    if (!item.is_record) {
      if (!sink.on_bad_line(bad_lines_[item.index])) return false;
      continue;
    }
    const Stored& s = records_[item.index];
    r.time_ns = s.time_ns;
    r.timeout_ns = s.timeout_ns;
    r.line = s.line;
    r.file = s.file;
    r.filled_by = s.filled_by;
    r.time_form = s.time_form;
    r.has_time = s.has_time;
    r.has_task = s.has_task;
    r.has_error = s.has_error;
    r.retry = s.retry;
    r.has_timeout = s.has_timeout;
    r.bad_time = s.bad_time;
    r.task = view(s.task);
    r.stage = view(s.stage);
    r.status = view(s.status);
    r.parent = view(s.parent);
    r.error_text = view(s.error_text);
    r.error_type = view(s.error_type);
    r.level = view(s.level);
    r.scope.assign(view(s.scope));
    r.awaits.clear();
    for (uint32_t i = 0; i < s.awaits_count; ++i) r.awaits.push_back(view(awaits_[s.awaits_begin + i]));
    sink.on_record(r);
  }
  return true;
}

void RecordBatch::clear() {
  arena_.clear();
  records_.clear();
  awaits_.clear();
  bad_lines_.clear();
  order_.clear();
}

}  // namespace coroner
