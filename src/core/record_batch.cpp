#include "record_batch.hpp"

#include <cstring>

namespace coroner {

namespace {

// What an entry of the stream is, and which of a record's parts follow its header.
enum Part : uint16_t {
  kBadLine = 1 << 0,  // the entry is a bad line (the next of bad_lines_), nothing else follows
  kTime = 1 << 1,
  kTask = 1 << 2,
  kStage = 1 << 3,
  kStatus = 1 << 4,
  kParent = 1 << 5,
  kErrorText = 1 << 6,
  kErrorType = 1 << 7,
  kLevel = 1 << 8,
  kScope = 1 << 9,
  kAwaits = 1 << 10,
  kTimeout = 1 << 11,
  // Flags with no data.
  kHasError = 1 << 12,
  kRetry = 1 << 13,
  kBadTime = 1 << 14,
};

struct Header {
  uint16_t parts = 0;
  uint8_t time_form = 0;
  uint8_t filled_roles = 0;  // how many (role, rank) pairs of filled_by follow
  uint32_t file = 0;
  uint64_t line = 0;
};

template <typename T>
T take(const char*& p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  p += sizeof value;
  return value;
}

}  // namespace

template <typename T>
void RecordBatch::put(const T& value) {
  stream_.append(reinterpret_cast<const char*>(&value), sizeof value);
}

RecordBatch::Span RecordBatch::keep(std::string_view text) {
  auto at = reinterpret_cast<uintptr_t>(text.data());
  auto input = reinterpret_cast<uintptr_t>(input_);
  if (at >= input && at + text.size() <= input + input_size_)
    return Span{uint32_t(at - input), uint32_t(text.size())};
  Span span{uint32_t(input_size_ + arena_.size()), uint32_t(text.size())};
  arena_.append(text);
  return span;
}

void RecordBatch::on_record(const RawRecord& r) {
  Header h;
  h.parts = uint16_t((r.has_time ? kTime : 0) | (r.has_task ? kTask : 0) |
                     (r.stage.empty() ? 0 : kStage) | (r.status.empty() ? 0 : kStatus) |
                     (r.parent.empty() ? 0 : kParent) | (r.error_text.empty() ? 0 : kErrorText) |
                     (r.error_type.empty() ? 0 : kErrorType) | (r.level.empty() ? 0 : kLevel) |
                     (r.scope.empty() ? 0 : kScope) | (r.awaits.empty() ? 0 : kAwaits) |
                     (r.has_timeout ? kTimeout : 0) | (r.has_error ? kHasError : 0) |
                     (r.retry ? kRetry : 0) | (r.bad_time ? kBadTime : 0));
  h.time_form = uint8_t(r.time_form);
  for (uint8_t rank : r.filled_by) h.filled_roles += rank != RawRecord::kNoField;
  h.file = r.file;
  h.line = r.line;
  put(h);
  for (size_t role = 0; role < r.filled_by.size(); ++role)
    if (r.filled_by[role] != RawRecord::kNoField) put(uint8_t(role)), put(r.filled_by[role]);
  if (r.has_time) put(r.time_ns);
  if (r.has_task) put_text(r.task);
  if (!r.stage.empty()) put_text(r.stage);
  if (!r.status.empty()) put_text(r.status);
  if (!r.parent.empty()) put_text(r.parent);
  if (!r.error_text.empty()) put_text(r.error_text);
  if (!r.error_type.empty()) put_text(r.error_type);
  if (!r.level.empty()) put_text(r.level);
  if (!r.scope.empty()) put_text(r.scope);
  if (!r.awaits.empty()) {
    put(uint32_t(r.awaits.size()));
    for (std::string_view a : r.awaits) put_text(a);
  }
  if (r.has_timeout) put(r.timeout_ns);
}

bool RecordBatch::on_bad_line(const BadLine& bad) {
  Header h;
  h.parts = kBadLine;
  put(h);
  bad_lines_.push_back(bad);
  return true;  // the sink that replays decides whether to stop
}

bool RecordBatch::replay(RecordSink& sink) const {
  RawRecord& r = replayed_;
  size_t next_bad_line = 0;
  const char* p = stream_.data();
  const char* end = p + stream_.size();
  while (p < end) {
    const Header h = take<Header>(p);
    if (h.parts & kBadLine) {
      if (!sink.on_bad_line(bad_lines_[next_bad_line++])) return false;
      continue;
    }
    auto text = [&](Part part) {
      return (h.parts & part) ? view(take<Span>(p)) : std::string_view();
    };
    r.filled_by.fill(RawRecord::kNoField);
    for (uint8_t i = 0; i < h.filled_roles; ++i) {
      uint8_t role = take<uint8_t>(p);
      r.filled_by[role] = take<uint8_t>(p);
    }
    r.has_time = h.parts & kTime;
    r.time_ns = r.has_time ? take<int64_t>(p) : 0;
    r.time_form = TimeForm(h.time_form);
    r.has_task = h.parts & kTask;
    r.task = text(kTask);
    r.stage = text(kStage);
    r.status = text(kStatus);
    r.parent = text(kParent);
    r.error_text = text(kErrorText);
    r.error_type = text(kErrorType);
    r.level = text(kLevel);
    r.scope.assign(text(kScope));
    r.awaits.clear();
    if (h.parts & kAwaits) {
      uint32_t count = take<uint32_t>(p);
      for (uint32_t i = 0; i < count; ++i) r.awaits.push_back(view(take<Span>(p)));
    }
    r.has_timeout = h.parts & kTimeout;
    r.timeout_ns = r.has_timeout ? take<int64_t>(p) : 0;
    r.has_error = h.parts & kHasError;
    r.retry = h.parts & kRetry;
    r.bad_time = h.parts & kBadTime;
    r.file = h.file;
    r.line = h.line;
    sink.on_record(r);
  }
  return true;
}

void RecordBatch::clear() {
  input_ = nullptr;
  input_size_ = 0;
  arena_.clear();
  stream_.clear();
  bad_lines_.clear();
}

}  // namespace coroner
