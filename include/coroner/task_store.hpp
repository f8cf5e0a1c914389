// Records to tasks: every task's events in arrival order, keyed by (scope, task) and interned.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/asyncio_messages.hpp"
#include "coroner/interner.hpp"
#include "coroner/record_parser.hpp"
#include "coroner/vocabulary.hpp"

namespace coroner {

constexpr uint32_t kNone = UINT32_MAX;

// One record of a task, compact: what the analysis and the timelines need.
struct Event {
  int64_t time = 0;
  uint32_t stage = kNone;   // id in TaskStore::words()
  uint32_t status = kNone;  // id in TaskStore::words()
  uint32_t error = kNone;   // index into TaskStore::errors(), when the record carried an error
  uint32_t line = 0;        // line in its file (saturated), for evidence
  uint16_t file = 0;
  bool error_level = false;  // level error/critical/fatal
  bool retry = false;        // a retry: a retry word in its stage or status, or an attempt field
};

struct ErrorNote {
  std::string type;  // "ValueError", from the error-type role or parsed from the text
  std::string text;  // the error's message, first line, shortened
};

struct Task {
  uint32_t scope = 0;      // id in TaskStore::scopes(); 0 is the empty scope
  uint32_t parent = kNone;  // task index of the task that created it
  bool logged = false;      // false for a task only named by others (an await, a parent, asyncio)
  int64_t timeout_ns = 0;   // its declared timeout, 0 when none
  std::vector<Event> events;
  std::vector<uint32_t> awaits;  // task indices it waited on, in first-seen order
};

struct InputCounts {
  uint64_t records = 0;          // valid JSON objects
  uint64_t task_records = 0;     // of which had a task
  uint64_t bad_lines = 0;        // lines that were not a JSON object
  uint64_t bad_times = 0;        // records whose time field could not be read
  uint64_t folded_stages = 0;    // records whose stage went to "(other)" past the cap
  uint64_t outside_window = 0;   // records before --since or after --until, skipped
};

class TaskStore : public RecordSink {
 public:
  static constexpr size_t kKeptBadLines = 5;

  TaskStore(const Vocabulary& vocabulary, size_t max_stages, bool strict);

  void on_record(const RawRecord& record) override;
  bool on_bad_line(const BadLine& bad) override;

  // Adds a file name; records then carry its index.
  uint32_t add_file(std::string name) {
    files_.push_back(std::move(name));
    return uint32_t(files_.size() - 1);
  }
  // --since / --until: records outside [since, until] are skipped (counted).
  void set_window(std::optional<int64_t> since, std::optional<int64_t> until) {
    since_ = since;
    until_ = until;
  }
  // A note about an input that was damaged but read (a truncated gzip): reported, not fatal.
  void add_damage(std::string note) { damage_.push_back(std::move(note)); }

  // Looks a task up by scope and value; kNone when unknown.
  uint32_t find_task(uint32_t scope, std::string_view name) const;
  uint32_t task_or_new(uint32_t scope, std::string_view name);

  const std::vector<Task>& tasks() const { return tasks_; }
  std::vector<Task>& tasks() { return tasks_; }
  const Interner& words() const { return words_; }
  const Interner& scopes() const { return scopes_; }
  const std::vector<ErrorNote>& errors() const { return errors_; }
  const std::vector<AsyncioNote>& asyncio_notes() const { return asyncio_notes_; }
  const std::vector<std::string>& files() const { return files_; }
  const std::vector<BadLine>& bad_lines() const { return bad_lines_; }
  const std::vector<std::string>& damage() const { return damage_; }
  const InputCounts& counts() const { return counts_; }
  // Lifecycle meaning of a word id (a stage or status), classified once per distinct word.
  Lifecycle meaning(uint32_t word) const { return word == kNone ? Lifecycle::none : meanings_[word]; }
  uint32_t other_stage() const { return other_stage_; }
  bool has_time() const { return has_any_time_; }
  int64_t first_time() const { return first_time_; }
  int64_t last_time() const { return last_time_; }
  std::string task_label(uint32_t task) const;  // "1003" or "Task-3 (pid=12)"
  // The task value as written: its key minus the scope id in front.
  std::string_view task_value(uint32_t task) const {
    return task_keys_.view(task).substr(sizeof(uint32_t));
  }

 private:
  uint32_t intern_word(std::string_view word);
  uint32_t intern_stage(std::string_view stage);
  uint32_t add_error(const RawRecord& record);

  const Vocabulary& vocabulary_;
  size_t max_stages_;
  bool strict_;
  Interner words_;
  Interner scopes_;
  Interner task_keys_;  // scope id (4 bytes) + task value -> task index
  std::string key_buffer_;
  std::vector<Lifecycle> meanings_;
  std::vector<Task> tasks_;
  std::vector<ErrorNote> errors_;
  std::vector<AsyncioNote> asyncio_notes_;
  std::vector<std::string> files_;
  std::vector<BadLine> bad_lines_;
  std::vector<std::string> damage_;
  InputCounts counts_;
  uint32_t other_stage_ = kNone;
  size_t distinct_stages_ = 0;
  std::vector<bool> is_stage_;
  std::vector<bool> is_retry_word_;
  std::optional<int64_t> since_, until_;
  bool has_any_time_ = false;
  int64_t previous_time_ = 0;
  int64_t first_time_ = 0;
  int64_t last_time_ = 0;
};

}  // namespace coroner
