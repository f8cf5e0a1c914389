// Records to tasks, keyed by (scope, task) and interned. Memory is bounded by the tasks, not the
// records: each task keeps a compact summary, and a task that ends ok cleanly has its records
// folded into that summary and the per-stage statistics as soon as it ends.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "coroner/asyncio_messages.hpp"
#include "coroner/chunked_vector.hpp"
#include "coroner/interner.hpp"
#include "coroner/record.hpp"
#include "coroner/stage_stats.hpp"
#include "coroner/state.hpp"
#include "coroner/vocabulary.hpp"

namespace coroner {

class TaskIndex;
class RecordBatch;

constexpr uint32_t kNone = UINT32_MAX;
constexpr uint32_t kMaxAttempt = 127;  // Event::attempt saturates here (7 bits)

// One record of a task, compact: what the analysis and the timelines need.
struct Event {
  int64_t time = 0;
  uint32_t stage = kNone;   // id in TaskStore::words(): the stage, or its template
  uint32_t status = kNone;  // id in TaskStore::words()
  uint32_t text = kNone;    // the stage as written, when its template differs: see stage_text()
  uint32_t error = kNone;   // index into TaskStore::errors(), when the record carried an error
  uint32_t line = 0;        // line in its file (saturated), for evidence
  uint16_t file = 0;
  bool error_level : 1 = false;  // level error/critical/fatal
  // A retry word in its stage or status, or an attempt field of true (a grown attempt number
  // is a retry too: error_was_retried compares `attempt`).
  bool retry : 1 = false;
  // Stands for the records of a task folded at its clean end, when the task logs again after
  // it: the analysis reads it as the task's ok end (when the end stage was not only guessed).
  bool fold_marker : 1 = false;
  bool fold_marker_at_guess : 1 = false;
  // The asyncio module's "wait" record: no stage of its own, `text` says what the task waits on.
  bool wait : 1 = false;
  // Its stage is only a step: the task is traced by the asyncio module, whose status records
  // say when it starts and ends, so "download complete" or "payment failed" ends nothing.
  bool plain_stage : 1 = false;
  // The asyncio module's "cancel" record: cancel() was called on the task (no stage of its own).
  bool cancel_request : 1 = false;
  // A fold marker whose end was said by its stage's word alone (no status said it): where the
  // analysis finds that word a step of the log (a task goes on from it), it ended nothing.
  bool fold_marker_by_stage : 1 = false;
  uint8_t attempt : 7 = 0;  // the try's number from the attempt role (saturated), 0 when none
  // The asyncio module's "cancel-at-exit" (a cancel_request too): asyncio.run cancelling what
  // main left, after its process's exit record.
  bool cancel_at_exit : 1 = false;
};
// Millions of records are kept while their tasks are open: every byte counts.
static_assert(sizeof(Event) == 32, "an Event fits in half a cache line");

// The module's waiting_for of the task that was running, holding the event loop, when a signal
// or another thread stopped its process (docs/ASYNCIO_RECORDS.md).
inline constexpr std::string_view kHoldsTheLoop = "nothing: running";

// What the asyncio module wrote about a task still pending when its process stopped.
struct PendingAtExit {
  int64_t time = 0;
  size_t records_before = 0;  // the task's records (in arrival order) up to the pending record
  std::string suspended_at;   // "app.py:42 in fetch": its innermost coroutine frame
  std::string waiting_for;    // "asyncio.Event created at app.py:33"
  // When it was asleep (`asyncio.sleep of 60 s, 42.5 s left`): the sleep's length and what was
  // left of it then (negative: it was due and not yet woken); 0 and 0 when it was not asleep.
  int64_t sleep_ns = 0;
  int64_t sleep_left_ns = 0;
  // The tasks its pending record named as what it waits on (a Lock's holder, an awaited task):
  // the wait-for edges at that moment, not every task it ever waited on.
  std::vector<uint32_t> awaits;
  // It was running, not suspended: suspended_at is the line it was running.
  bool held_the_loop() const { return waiting_for.starts_with(kHoldsTheLoop); }
  // "; suspended at app.py:42 in fetch, waiting for an Event ...", "; running at app.py:14 in
  // item", or "" when the module could tell neither.
  std::string where_and_what() const {
    std::string out;
    if (!suspended_at.empty())
      out += (held_the_loop() ? "; running at " : "; suspended at ") + suspended_at;
    if (!waiting_for.empty() && !held_the_loop())
      out += (out.empty() ? "; waiting for " : ", waiting for ") + waiting_for;
    return out;
  }
};

// A sleep as the asyncio module describes it, "asyncio.sleep of 60 s, 42.5 s left": its length
// and what was left of it (negative: due and not yet woken); both 0 for any other text.
struct PlannedSleep {
  int64_t length_ns = 0;
  int64_t left_ns = 0;
};
PlannedSleep planned_sleep(std::string_view waiting_for);

struct ErrorNote {
  std::string type;  // "ValueError", from the error-type role or parsed from the text
  std::string text;  // the error's message, first line, shortened
};

// A list of task indices that costs 8 bytes while empty: most tasks await nothing.
class TaskList {
 public:
  TaskList() = default;
  TaskList(const TaskList& other)
      : items_(other.items_ ? std::make_unique<std::vector<uint32_t>>(*other.items_) : nullptr) {}
  TaskList& operator=(const TaskList& other) {
    if (this != &other) *this = TaskList(other);
    return *this;
  }
  TaskList(TaskList&&) noexcept = default;
  TaskList& operator=(TaskList&&) noexcept = default;

  const uint32_t* begin() const { return items_ ? items_->data() : nullptr; }
  const uint32_t* end() const { return items_ ? items_->data() + items_->size() : nullptr; }
  size_t size() const { return items_ ? items_->size() : 0; }
  bool empty() const { return size() == 0; }
  uint32_t operator[](size_t i) const { return (*items_)[i]; }
  void push_back(uint32_t task) {
    if (!items_) items_ = std::make_unique<std::vector<uint32_t>>();
    items_->push_back(task);
  }
  operator std::vector<uint32_t>() const { return {begin(), end()}; }

 private:
  std::unique_ptr<std::vector<uint32_t>> items_;
};

// A task's records: a vector whose size and capacity live in its heap block, so a task holds just
// one pointer (null when it has no records: folded tasks, tasks only named by others).
class EventList {
 public:
  EventList() = default;
  ~EventList() { release(); }
  EventList(const EventList& other) { *this = other; }
  EventList& operator=(const EventList& other) {
    if (this == &other) return *this;
    release();
    reserve(uint32_t(other.size()));
    std::copy(other.begin(), other.end(), begin());
    if (block_) block_->size = uint32_t(other.size());
    return *this;
  }
  EventList(EventList&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  EventList& operator=(EventList&& other) noexcept {
    std::swap(block_, other.block_);
    return *this;
  }

  Event* begin() { return block_ ? block_->events() : nullptr; }
  Event* end() { return begin() + size(); }
  const Event* begin() const { return block_ ? block_->events() : nullptr; }
  const Event* end() const { return begin() + size(); }
  size_t size() const { return block_ ? block_->size : 0; }
  bool empty() const { return size() == 0; }
  Event& operator[](size_t i) { return begin()[i]; }
  const Event& operator[](size_t i) const { return begin()[i]; }
  const Event& front() const { return *begin(); }
  const Event& back() const { return begin()[size() - 1]; }
  void push_back(const Event& event) {
    uint32_t capacity = block_ ? block_->capacity : 0;
    if (size() == capacity) reserve(capacity == 0 ? kFirstCapacity : capacity * 2);
    block_->events()[block_->size++] = event;
  }
  // Frees the memory, not just the elements: a folded task keeps no records.
  void release() {
    if (block_ && block_->capacity == kFirstCapacity) {
      free_first_block(block_);
    } else if (block_) {
      ::operator delete(block_);
    }
    block_ = nullptr;
  }

 private:
  // Most tasks log a handful of records before they end and fold: one allocation for them.
  static constexpr uint32_t kFirstCapacity = 4;
  // A task's first block is recycled through a free list: tasks start and end by the million,
  // and each would otherwise be a trip through malloc's small bins, which coalesce and split.
  static void* allocate_first_block();
  static void free_first_block(void* block);

  struct Block {
    uint32_t size;
    uint32_t capacity;
    Event* events() { return reinterpret_cast<Event*>(this + 1); }
  };
  static_assert(sizeof(Block) % alignof(Event) == 0, "events follow the header aligned");
  static constexpr size_t kFirstBlockBytes = sizeof(Block) + kFirstCapacity * sizeof(Event);

  void reserve(uint32_t capacity) {
    if (block_ && capacity <= block_->capacity) return;
    void* memory = capacity == kFirstCapacity
                       ? allocate_first_block()
                       : ::operator new(sizeof(Block) + capacity * sizeof(Event));
    auto* grown = static_cast<Block*>(memory);
    grown->size = uint32_t(size());
    grown->capacity = capacity;
    // Event is trivially copyable: the raw block holds copies, no constructor needed.
    if (block_)
      std::memcpy(static_cast<void*>(grown->events()), block_->events(), size() * sizeof(Event));
    release();
    block_ = grown;
  }

  Block* block_ = nullptr;
};

static_assert(std::is_trivially_copyable_v<Event>, "EventList copies events as bytes");

// One task: a summary that lives as long as the store, and the records not yet folded into it.
struct Task {
  int64_t first_time = 0;   // its first record
  int64_t last_time = 0;    // its latest record
  int64_t stage_since = 0;  // when it entered its current stage
  uint32_t scope = 0;       // id in TaskStore::scopes(); 0 is the empty scope
  uint32_t parent = kNone;  // task index of the task that created it
  uint32_t stage = kNone;   // its current (latest) stage
  bool logged : 1 = false;  // false for a task only named by others (an await, a parent, asyncio)
  bool folded : 1 = false;  // it ended ok with no error: `events` holds only records after that
  bool had_error : 1 = false;     // an error, or a record that said it failed or timed out
  bool restarted : 1 = false;     // a start word after it had already worked
  bool out_of_order : 1 = false;  // a record older than one before it: its records are never folded
  bool did_work : 1 = false;      // it logged something other than a start
  // Folded at the end stage guessed while reading, not at an "ended ok" word: if the analysis
  // learns another end stage, the task did not end and is judged from its summary.
  bool folded_at_guess : 1 = false;
  bool has_texts : 1 = false;         // a record keeps its stage's text (Event::text)
  bool ended_by_word : 1 = false;     // its latest record ends it by a word: it does not vote
  bool pending_at_exit : 1 = false;   // the asyncio module saw it pending when its process stopped
  bool did_end_stage : 1 = false;     // a status "done" ended its current stage: timed already
  bool timed_last_stage : 1 = false;  // leaving its previous stage added a normal duration
  // It encloses other tasks (an eliot action or a span with children): its stages last as long
  // as its children, and their time is theirs, not a duration of its own stages.
  bool encloses : 1 = false;
  bool traced : 1 = false;            // the asyncio module traces it (its "started" record says so)
  bool declared_timeout : 1 = false;  // a record of it declared a timeout (TaskStore::timeouts_)
  // The highest try's number its records gave (Event::attempt): a fold marker keeps it, so a
  // retry after the fold is told from a restart as it is without folding.
  uint8_t attempt = 0;
  // cancel() was called on it (the asyncio module's "cancel" record): the stage it is in was
  // interrupted, and leaving it adds no normal duration.
  bool cancel_asked : 1 = false;
  // Its latest wait named itself alone (a non-reentrant asyncio.Lock it already holds), and it
  // has not moved on since: a cycle of one when it is stuck. Kept apart from `awaits`, whose
  // edges join two tasks.
  bool waits_on_itself : 1 = false;
  // Its current run of its stage already counted an error (StageStats::errors counts runs that
  // had one, not error records: a stage error and the failure it ends in are one).
  bool stage_errored : 1 = false;
  // Folded at an ok word of its stage alone, no status (Event::fold_marker_by_stage).
  bool folded_by_stage : 1 = false;
  EventList events;  // records not folded, in arrival order
  TaskList awaits;   // task indices it waited on, in first-seen order
};

// Millions of tasks: the try's number fits in the padding before `events`.
static_assert(sizeof(Task) <= 56, "a Task stays within 56 bytes");

struct InputCounts {
  uint64_t records = 0;           // valid JSON objects
  uint64_t task_records = 0;      // of which had a task
  uint64_t bad_lines = 0;         // lines that were not a JSON object
  uint64_t traceback_lines = 0;   // of which were a Python traceback's text
  uint64_t bad_times = 0;         // records whose time field could not be read
  uint64_t folded_stages = 0;     // records whose stage name folded into an "(other)" past the cap
  uint64_t outside_window = 0;    // records before --since or after --until, skipped
  uint64_t templated_stages = 0;  // records whose free-text stage was reduced to a template
  uint64_t exit_records = 0;      // the asyncio module's records that a process stopped
  uint64_t pending_records = 0;   // its records of a task pending at exit
  uint64_t staged_records = 0;    // task records with a stage or a status
  uint64_t untasked_errors = 0;   // records of no task with an error or an error level
  // Records read from asyncio's messages written as text ("future: <Task finished ...>"), no
  // JSON line of the log: a log of text around them is still a log of text.
  uint64_t text_records = 0;
};

// The first error a record of no task carried (`@logger.catch` on a logger no task id was bound
// to, a library's own failure): no task's finding, but the report says it was logged.
struct UntaskedError {
  uint32_t file = 0;
  uint64_t line = 0;
  std::string text;  // as a task's error reads: "IndexError: list index out of range"
};

// How the times of one file's records run, from one to the next: a file listed newest first
// (`gcloud logging read`, a `tac`) goes back at nearly every step.
struct TimeOrder {
  int64_t last = 0;
  bool timed = false;  // a record with a time came
  // Its first timed record's time said nothing of its zone (read as UTC: TimeForm).
  bool no_zone = false;
  int64_t earliest = 0, latest = 0;
  uint64_t back = 0, forward = 0;
  int64_t largest_back = 0;        // its largest step back in time
  uint64_t largest_back_line = 0;  // the line that took it
  // Nine steps in ten back, of eight at least: records of processes interleaved out of order
  // by a few milliseconds, or of hosts whose clocks differ, go back at most half the time.
  bool newest_first() const { return back >= 8 && back > 9 * forward; }
};

// Files whose times have no zone, read as UTC, beside files whose times are in UTC, and the two
// sets do not overlap in time: one shift by a whole quarter hour would make them overlap. A
// program that logs its local time with no zone (structlog's TimeStamper(utc=False), logging's
// asctime) beside one that logs UTC looks hours apart, every task that crosses looks stalled.
struct NaiveTimes {
  uint32_t file = 0;   // the first file with times of no zone
  uint32_t other = 0;  // the first file with times in UTC (or epoch numbers)
  int64_t apart = 0;   // the first file's first time minus the other's first time
  int32_t offset = 0;  // the local time's offset from UTC that would make them overlap
};

// A file whose times have no zone, in order but for one step back of an hour (or half an hour):
// a local clock set back at daylight saving's end. Read as UTC, what follows seems older than
// what came before, and the log's end an hour away from what it ended on.
struct ClockSetBack {
  uint32_t file = 0;
  uint64_t line = 0;  // the first record after the step
  int64_t step = 0;
};

// A scope as interned, "pid=5531\x1fhostname=vm", as (name, value) pairs.
std::vector<std::pair<std::string_view, std::string_view>> scope_parts(std::string_view scope);

// A StateSink: the records of partial states replay into it as they would have been read.
class TaskStore : public StateSink {
 public:
  static constexpr size_t kKeptBadLines = 5;

  TaskStore(const Vocabulary& vocabulary, size_t max_stages, bool strict);
  ~TaskStore() override;
  TaskStore(const TaskStore&) = delete;
  TaskStore& operator=(const TaskStore&) = delete;

  // A record without a time before the log's first time takes that time: such records are held
  // (up to kMaxHeldUntimed) until it comes, not dated 1970.
  void on_record(const RawRecord& record) override;
  bool on_bad_line(const BadLine& bad) override;
  void on_input_format(uint32_t file, const InputFormat& format) override;
  // How each input was read (its dialect and why), by file index; empty for a file not read.
  const std::vector<InputFormat>& formats() const { return formats_; }
  // Called once after the last record, before the analysis: folds the rarest stage names past
  // --max-stages (which renumbers stages), puts each task's records in time order and attributes
  // asyncio's messages to the tasks they name. The store is read-only after.
  void finish();
  bool finished() const { return finished_; }

  // Adds a file name; records then carry its index.
  uint32_t add_file(std::string name) override {
    files_.push_back(std::move(name));
    utc_offsets_.emplace_back();
    time_orders_.emplace_back();
    return uint32_t(files_.size() - 1);
  }
  // --since / --until: records outside [since, until] are skipped (counted).
  void set_window(std::optional<int64_t> since, std::optional<int64_t> until) {
    since_ = since;
    until_ = until;
  }
  // A note about an input that was damaged but read (a truncated gzip): reported, not fatal.
  void add_damage(std::string note) override { damage_.push_back(std::move(note)); }

  // What an eliot action or a span is, beside its id: its type or name, and its root's
  // ("fetch in job"); "" for the tasks of other dialects, whose ids are names already.
  std::string task_title(uint32_t task) const;

  // Looks a task up by scope and value; kNone when unknown.
  uint32_t find_task(uint32_t scope, std::string_view name) const;
  uint32_t task_or_new(uint32_t scope, std::string_view name);

  // Which stage values are reduced to templates; `roles` tells which stage fields are messages.
  void set_stage_templates(StageTemplates mode) { templates_ = mode; }
  // How many stage names are templates of free text (the folded ones not counted).
  size_t stage_templates() const;
  bool is_template(uint32_t word) const { return word < is_template_.size() && is_template_[word]; }
  // One of the "(other …)" stages rare names fold into.
  bool is_other_stage(uint32_t word) const;

  // Folding drops a cleanly ended task's records as soon as it ends. Off for `timeline` (which
  // shows every record) and --stage-deadline (which needs every stage's duration).
  void set_folding(bool enabled) { folding_ = enabled; }
  // The scope is the default fields (no --key): a task id that is a UUID then names one task
  // wherever it is logged (a Celery task retried in another worker process keeps its id), and
  // its records get no scope.
  void set_default_scope(bool is_default) { default_scope_ = is_default; }
  const std::vector<StageStats>& stage_stats() const { return stage_stats_; }
  const DurationHistogram& all_stage_durations() const { return all_stages_; }
  // Times a task left `stage` for another one.
  uint64_t times_left(uint32_t stage) const { return left_[stage]; }
  // Every move from one stage to another seen in the log: how often, and the first task and time.
  struct Transition {
    uint32_t from = kNone, to = kNone;
    uint32_t first_task = kNone;
    uint64_t count = 0;
    int64_t first_time = 0;
  };
  const std::vector<Transition>& transitions() const { return transitions_; }
  // The cap on the moves kept was reached: some moves are missing from transitions().
  bool transitions_capped() const { return transitions_.size() >= kMaxTransitions; }
  // Tasks whose first stage it is.
  uint64_t tasks_starting_at(uint32_t stage) const { return first_stage_of_[stage]; }
  bool seen_ok_word() const { return seen_ok_word_; }
  // The task's own declared timeout (0: none): the one on its first record, unless that record
  // is one of a step it logs again with a timeout while other records carry none (each HTTP
  // call logging its per-request timeout); a timeout bound on every record is the task's.
  int64_t timeout_of(uint32_t task) const {
    auto it = timeouts_.find(task);
    if (it == timeouts_.end()) return 0;
    const DeclaredTimeouts& d = it->second;
    return d.every_record || !d.first_stage_again ? d.first_ns : 0;
  }
  // A step whose record declared a timeout and that took longer: from that record to the task's
  // next record of another stage (a step still going at the log's end is not judged here).
  struct StepOverrun {
    uint32_t stage = kNone;
    int64_t began = 0, took = 0, limit = 0;
  };
  const StepOverrun* step_overrun(uint32_t task) const {
    auto it = timeouts_.find(task);
    return it == timeouts_.end() || it->second.overrun.stage == kNone ? nullptr
                                                                      : &it->second.overrun;
  }
  // The task was pending when its process stopped (the asyncio module said so); null if not.
  const std::unordered_map<uint32_t, PendingAtExit>& tasks_pending_at_exit() const {
    return pending_at_exit_;
  }
  const PendingAtExit* pending_at_exit(uint32_t task) const {
    if (pending_at_exit_.empty()) return nullptr;  // asked for every task: spare the hashing
    auto it = pending_at_exit_.find(task);
    return it == pending_at_exit_.end() ? nullptr : &it->second;
  }
  // When `waiter` began to wait on `awaited`: the time of its earliest record naming the await;
  // none when it never named it.
  std::optional<int64_t> await_began(uint32_t waiter, uint32_t awaited) const {
    auto it = await_began_.find(uint64_t(waiter) << 32 | awaited);
    if (it == await_began_.end()) return std::nullopt;
    return it->second;
  }
  // When the process of `scope` stopped, by its first exit record at or after `time` (a process
  // may be restarted under the same scope); none when no exit record follows.
  std::optional<int64_t> stop_after(uint32_t scope, int64_t time) const;
  // The stop of `scope` at `time` ended a test (the pytest plugin's "test-end" record): a task
  // still pending then was left behind by that test.
  bool stop_ends_test(uint32_t scope, int64_t time) const;

  const ChunkedVector<Task>& tasks() const { return tasks_; }
  ChunkedVector<Task>& tasks() { return tasks_; }
  const Interner& words() const { return words_; }
  const Interner& scopes() const { return scopes_; }
  const std::vector<ErrorNote>& errors() const { return errors_; }
  const std::vector<AsyncioNote>& asyncio_notes() const { return asyncio_notes_; }
  const std::vector<std::string>& files() const { return files_; }
  // The offset from UTC a file's times were written in (its first timed record's), so the
  // reports show times as the log wrote them. 0 (UTC) for epoch numbers and unknown files.
  int32_t utc_offset(uint32_t file) const;
  // How the times of file `file` ran (nothing counted for a file the store was not told of).
  TimeOrder time_order(uint32_t file) const {
    return file < time_orders_.size() ? time_orders_[file] : TimeOrder{};
  }
  // A task's: the offset of the file of its first record kept, else of the first file.
  int32_t task_utc_offset(uint32_t task) const;
  const std::vector<BadLine>& bad_lines() const { return bad_lines_; }
  // The first bad line that is neither a traceback's text nor the start of a JSON array.
  const std::optional<BadLine>& first_text_line() const { return first_text_line_; }
  // The first line that starts a compressed stream (kCompressedData).
  const std::optional<BadLine>& first_compressed_line() const { return first_compressed_line_; }
  // Every task's times are whole seconds (a datefmt without milliseconds): a silence is known
  // to a second at best, so a stall of a second or two can read as in flight. Set by finish().
  bool whole_second_times() const { return whole_second_times_; }
  // Set by finish(): the times of some files look like local times read as UTC.
  const std::optional<NaiveTimes>& naive_times() const { return naive_times_; }
  const std::optional<ClockSetBack>& clock_set_back() const { return clock_set_back_; }
  const std::optional<UntaskedError>& first_untasked_error() const { return first_untasked_error_; }
  const std::vector<std::string>& damage() const { return damage_; }
  const InputCounts& counts() const { return counts_; }
  // Why nothing in the log can be judged, or "" when something can: no record names a task, or
  // none has a time, or no task record a stage or a status. A log coroner cannot read is an
  // input error, never a clean report.
  std::string unreadable_reason() const;
  // The file's records name their tasks by opaque ids (eliot's uuids, span ids).
  bool has_opaque_ids(uint32_t file) const {
    if (file >= formats_.size()) return false;
    Dialect d = formats_[file].dialect;
    return d == Dialect::eliot || d == Dialect::opentelemetry;
  }
  // Lifecycle meaning of a word id (a stage or status), classified once per distinct word.
  Lifecycle meaning(uint32_t word) const {
    return word == kNone ? Lifecycle::none : meanings_[word];
  }
  // "started", "starting", "begin": a start that, after the task did other work, is a restart.
  // Weaker start words ("response received", "invoice created") are ordinary steps mid-task.
  bool is_restart_word(uint32_t word) const { return word != kNone && restart_word_[word]; }
  bool has_time() const { return has_any_time_; }
  int64_t first_time() const { return first_time_; }
  int64_t last_time() const { return last_time_; }
  // "1003", or "Task-3 (pid=12)": the id, then the scope fields that tell the log's scopes apart
  // (hostname=vm on every record tells nothing); with `every_field`, all of them.
  std::string task_label(uint32_t task, bool every_field = false) const;
  // The scope fields whose value differs between the log's scopes, or that some lack.
  const std::vector<std::string>& varying_scope_fields() const { return varying_scope_fields_; }
  // A record's stage as the log wrote it ("fetched https://example.com/item/7 in 12 ms"), where
  // stage() is its template; "" when it has none.
  std::string_view stage_text(const Event& event) const;
  // The task value as written.
  std::string_view task_value(uint32_t task) const;

 private:
  void add_record(const RawRecord& record);
  void release_held_untimed();
  uint32_t intern_word(std::string_view word);
  uint32_t intern_stage(std::string_view stage, bool from_message, uint32_t& text);
  uint32_t intern_stage_slowly(std::string_view stage);
  uint32_t keep_text(std::string_view text);
  void release_texts(Task& task);
  uint32_t other_stage(Lifecycle meaning, bool retry, bool strong_start);
  uint32_t other_stage_for(std::string_view stage);
  void fold_rare_stages();
  void merge_stage_into(uint32_t stage, uint32_t into);
  void remap_stages(const std::vector<uint32_t>& remap);
  uint32_t add_error(const RawRecord& record);
  static ErrorNote error_note(const RawRecord& record);
  void note_untasked_error(const RawRecord& record);
  bool record_time(const RawRecord& record, int64_t& time);
  Event make_event(const RawRecord& record, int64_t time);
  void add_links(uint32_t task, uint32_t scope, const RawRecord& record, int64_t time);
  void apply_event(uint32_t task, const Event& event);
  void follow_stage(uint32_t task_index, Task& task, const Event& event, bool abnormal);
  // `repeat`: the run ends as the task enters the stage again (StageStats::repeat_runs).
  void time_stage(const Task& task, int64_t time, bool repeat = false);
  void untime_interrupted_stage(Task& task, int64_t time);
  void fold(Task& task);
  bool ran_past_declared_timeout(uint32_t task, int64_t end) const;
  void count_move(uint32_t from, uint32_t to, uint32_t task, int64_t time);
  void learn_provisional_end();
  void sort_out_of_order_tasks();
  void attribute_asyncio_notes();
  static std::string alias_key(uint32_t scope, std::string_view name);
  bool take_module_record(const RawRecord& record, uint32_t scope, uint32_t task, int64_t time);

  const Vocabulary& vocabulary_;
  size_t max_stages_;
  bool strict_;
  Interner words_;
  Interner scopes_;
  std::unique_ptr<TaskIndex> task_keys_;  // scope id and task value -> task index
  std::vector<Lifecycle> meanings_;
  ChunkedVector<Task> tasks_;
  std::vector<ErrorNote> errors_;
  std::vector<AsyncioNote> asyncio_notes_;
  std::vector<std::string> files_;
  std::vector<std::optional<int32_t>> utc_offsets_;  // by file, from its first timed record
  std::vector<TimeOrder> time_orders_;               // by file
  std::vector<BadLine> bad_lines_;
  std::optional<UntaskedError> first_untasked_error_;
  std::optional<BadLine> first_text_line_;
  std::optional<BadLine> first_compressed_line_;
  std::vector<std::string> damage_;
  InputCounts counts_;
  // Stage names past the cap fold into "(other)" stages, one for each meaning a name can carry
  // (a lifecycle word, a retry word, a strong start), so folding never loses what a name meant.
  static constexpr size_t kOtherStages = 6 * 2 * 2;
  std::array<uint32_t, kOtherStages> other_stages_;
  std::vector<bool> is_other_;  // by word id: one of other_stages_
  size_t distinct_stages_ = 0;
  // Every stage name is kept while reading, up to this many, so that the cap keeps the most
  // frequent names of the whole log whatever its order; past it, new names fold at once.
  static constexpr size_t kStagesHeldWhileReading = 100000;
  // A stage value seen lately, whether it came from a message field, and its stage.
  struct RecentStage {
    std::string text;
    uint32_t id = kNone;
    bool from_message = false;
    bool masked = false;  // the stage is its template
  };
  uint32_t template_named(std::string_view name);
  static constexpr size_t kRecentStages = 64;
  std::array<RecentStage, kRecentStages> recent_values_;
  std::array<RecentStage, kRecentStages> recent_templates_;
  std::vector<bool> is_stage_;
  std::vector<bool> is_template_;  // by word id: a stage that is the template of free text
  StageTemplates templates_ = StageTemplates::automatic;
  std::string template_buffer_;
  // The stage texts of records kept whose template differs (Event::text); a slot is reused once
  // its task folds, so they cost what the open tasks' records cost.
  std::vector<std::string> stage_texts_;
  std::vector<uint32_t> free_texts_;
  std::vector<uint32_t> out_of_order_tasks_;  // tasks with a record older than one before it
  std::vector<bool> is_retry_word_;
  std::vector<bool> restart_word_;
  std::vector<StageStats> stage_stats_;     // by word id
  std::vector<uint64_t> left_;              // by word id
  std::vector<uint64_t> first_stage_of_;    // by word id: tasks whose first stage it is
  std::vector<uint64_t> ended_by_word_at_;  // by word id: tasks there whose last record ended them
  DurationHistogram all_stages_;
  // What a task's records declared of timeouts (tasks whose records declared none have none).
  struct DeclaredTimeouts {
    int64_t first_ns = 0;            // on its first record
    uint32_t first_stage = kNone;    // that record's stage
    bool first_stage_again = false;  // a later record of that stage declared one too
    bool every_record = true;        // every record so far declared one
    uint32_t step_stage = kNone;     // the step open now, begun by a record that declared one
    int64_t step_began = 0, step_limit = 0;
    StepOverrun overrun;  // the first step past its own timeout
  };
  void follow_timeouts(uint32_t task, const RawRecord& r, uint32_t stage, int64_t time,
                       bool first_record);
  std::unordered_map<uint32_t, DeclaredTimeouts> timeouts_;       // by task
  std::unordered_map<uint32_t, PendingAtExit> pending_at_exit_;   // by task
  std::unordered_map<uint64_t, int64_t> await_began_;             // by waiter << 32 | awaited
  std::unordered_map<uint32_t, std::vector<int64_t>> exits_;      // by scope, sorted at finish()
  std::unordered_map<uint32_t, std::vector<int64_t>> test_ends_;  // the exits that ended a test
  // Bounded: a log whose stage names are free text would otherwise fill it.
  static constexpr size_t kMaxTransitions = 100000;
  std::vector<Transition> transitions_;
  // By word id, the indices into transitions_ of the moves out of that stage: a stage has few
  // successors, so a short scan beats hashing on the path of every record.
  std::vector<std::vector<uint32_t>> moves_from_;
  bool folding_ = true;
  bool default_scope_ = true;
  bool finished_ = false;
  bool whole_second_times_ = false;
  std::optional<NaiveTimes> naive_times_;
  std::optional<ClockSetBack> clock_set_back_;
  bool seen_ok_word_ = false;
  // While the log shows no word for "ended ok", the stage tasks end at is guessed every so often
  // (the analysis learns it for good at the end); tasks reaching it cleanly are folded.
  uint32_t provisional_end_ = kNone;
  uint64_t records_until_learning_ = kLearnEvery;
  static constexpr uint64_t kLearnEvery = 1 << 16;
  std::optional<int64_t> since_, until_;
  bool has_any_time_ = false;
  std::vector<InputFormat> formats_;
  std::vector<std::string> varying_scope_fields_;
  void find_varying_scope_fields();
  void find_whole_second_times();
  void find_naive_times();
  void find_clock_set_back();
  bool told_by_another_logger(const AsyncioNote& note, const RawRecord& r) const;
  // Tasks of the dialects whose ids are opaque (eliot, opentelemetry): the stage they started in.
  std::unordered_map<uint32_t, uint32_t> titles_;
  // Other names of tasks (RawRecord::alias), by scope and name: asyncio's messages use them.
  std::unordered_map<std::string, uint32_t> aliases_;
  int64_t previous_time_ = 0;
  // The records without a time read before any with one, and whether one with a time came.
  static constexpr size_t kMaxHeldUntimed = 100000;
  std::unique_ptr<RecordBatch> held_untimed_;
  size_t held_count_ = 0;
  bool time_seen_ = false;
  int64_t first_time_ = 0;
  int64_t last_time_ = 0;
};

}  // namespace coroner
