#include "coroner/task_store.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <new>
#include <utility>

#include "lifecycle.hpp"
#include "record_batch.hpp"
#include "stage_template.hpp"
#include "task_index.hpp"

namespace coroner {

namespace {
constexpr size_t kErrorTextLimit = 240;

// The first line of an error, shortened: a whole traceback does not fit a one-line reason, but
// its exception's own line ("KeyError: 'price'") says what happened; an exception group's, that
// of its first sub-exception (traceback_exception_line), with how many others it holds.
std::string summarise_error(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r'))
    text.remove_suffix(1);
  uint32_t others = 0;
  if (is_traceback(text)) {
    text = traceback_exception_line(text, &others);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  } else {
    text = text.substr(0, text.find('\n'));
  }
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  std::string out(text.substr(0, kErrorTextLimit));
  if (text.size() > kErrorTextLimit) out += "...";
  if (others > 0) out += " (and " + std::to_string(others) + " more in the exception group)";
  return out;
}

// The traceback a message goes on with, from its "Traceback (most recent call last):" line on;
// "" when its later lines hold none.
std::string_view appended_traceback(std::string_view message) {
  constexpr std::string_view kHeader = "\nTraceback (most recent call last):";
  // Most messages are short and one line: the search only for those that may hold one.
  if (message.size() < kHeader.size() ||
      std::memchr(message.data(), '\n', message.size()) == nullptr)
    return {};
  size_t at = message.find(kHeader);
  return at == std::string_view::npos ? std::string_view() : message.substr(at + 1);
}

// Whether `text` begins with the exception `type`'s name, as an exception's line does
// ("TimeoutError: ...", "asyncio.exceptions.TimeoutError" for the type "TimeoutError").
bool names_exception(std::string_view text, std::string_view type) {
  size_t end = text.find_first_of(": (");
  std::string_view name = text.substr(0, end);
  auto last_part = [](std::string_view dotted) {
    size_t dot = dotted.rfind('.');
    return dot == std::string_view::npos ? dotted : dotted.substr(dot + 1);
  };
  return !name.empty() && last_part(name) == last_part(type);
}

// Seconds as the module writes them (Python's %g: "60", "0.457772", "-0.0021", "1e-05") to
// nanoseconds; false when `text` is not such a number.
bool read_seconds(std::string_view text, int64_t& ns) {
  double seconds = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(seconds) ||
      std::fabs(seconds) > 1e9)
    return false;
  ns = int64_t(std::llround(seconds * 1e9));
  return true;
}

// The free list of EventList first blocks, one per thread (a store is filled on one thread). It
// keeps at most kMaxKept blocks: enough for every task open at once in a busy log.
struct FirstBlockPool {
  struct Free {
    Free* next;
  };
  static constexpr size_t kMaxKept = 1 << 16;
  Free* head = nullptr;
  size_t kept = 0;
  ~FirstBlockPool() {
    while (head != nullptr) ::operator delete(std::exchange(head, head->next));
  }
};
thread_local FirstBlockPool first_blocks;

// Under AddressSanitizer the free list is compiled out and every first block goes to operator
// new and back to operator delete: to ASan a block the list keeps is still allocated, so a use of
// a task's events after release() would pass unseen. Compiled out rather than poisoned: with
// plain new and delete ASan also says where the block was freed and holds it in quarantine
// before reuse, and the list only buys speed, which a sanitizer build does not need.
#if defined(__SANITIZE_ADDRESS__)  // gcc
constexpr bool kKeepFirstBlocks = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)  // clang
constexpr bool kKeepFirstBlocks = false;
#else
constexpr bool kKeepFirstBlocks = true;
#endif
#else
constexpr bool kKeepFirstBlocks = true;
#endif

}  // namespace

PlannedSleep planned_sleep(std::string_view text) {
  constexpr std::string_view kOf = "asyncio.sleep of ", kComma = " s, ", kLeft = " s left";
  if (!text.starts_with(kOf) || !text.ends_with(kLeft)) return {};
  text.remove_prefix(kOf.size());
  text.remove_suffix(kLeft.size());
  size_t comma = text.find(kComma);
  int64_t length = 0, left = 0;
  if (comma == std::string_view::npos || !read_seconds(text.substr(0, comma), length) ||
      !read_seconds(text.substr(comma + kComma.size()), left) || length <= 0)
    return {};
  return {length, left};
}

void* EventList::allocate_first_block() {
  if (!kKeepFirstBlocks) return ::operator new(kFirstBlockBytes);
  FirstBlockPool& pool = first_blocks;
  if (pool.head == nullptr) return ::operator new(kFirstBlockBytes);
  --pool.kept;
  return std::exchange(pool.head, pool.head->next);
}

void EventList::free_first_block(void* memory) {
  if (!kKeepFirstBlocks) return ::operator delete(memory);
  FirstBlockPool& pool = first_blocks;
  if (pool.kept == FirstBlockPool::kMaxKept) return ::operator delete(memory);
  pool.head = new (memory) FirstBlockPool::Free{pool.head};
  ++pool.kept;
}

TaskStore::TaskStore(const Vocabulary& vocabulary, size_t max_stages, bool strict)
    : vocabulary_(vocabulary),
      max_stages_(max_stages),
      strict_(strict),
      task_keys_(std::make_unique<TaskIndex>()) {
  scopes_.intern("");  // scope 0: no scope field
  other_stages_.fill(kNone);
}

TaskStore::~TaskStore() = default;

std::string_view TaskStore::task_value(uint32_t task) const {
  return task_keys_->name(task);
}

uint32_t TaskStore::intern_word(std::string_view word) {
  uint32_t id = words_.intern(word);
  if (id == meanings_.size()) {
    meanings_.push_back(vocabulary_.classify(word));
    is_stage_.push_back(false);
    is_template_.push_back(false);
    is_retry_word_.push_back(mentions_retry(word));
    restart_word_.push_back(meanings_.back() == Lifecycle::start && is_strong_start(word));
    stage_stats_.emplace_back();
    left_.push_back(0);
    first_stage_of_.push_back(0);
    ended_by_word_at_.push_back(0);
  }
  return id;
}

// An alias is looked up by scope and name.
std::string TaskStore::alias_key(uint32_t scope, std::string_view name) {
  std::string key = std::to_string(scope);
  key += '\x1f';
  key += name;
  return key;
}

uint32_t TaskStore::find_task(uint32_t scope, std::string_view name) const {
  auto id = task_keys_->find(scope, name);
  return id ? *id : kNone;
}

uint32_t TaskStore::task_or_new(uint32_t scope, std::string_view name) {
  uint32_t id = task_keys_->index_or_add(scope, name);
  if (id == tasks_.size()) {
    Task task;
    task.scope = scope;
    tasks_.push_back(std::move(task));
  }
  return id;
}

uint32_t TaskStore::add_error(const RawRecord& r) {
  errors_.push_back(error_note(r));
  return uint32_t(errors_.size() - 1);
}

ErrorNote TaskStore::error_note(const RawRecord& r) {
  ErrorNote note;
  note.text = summarise_error(r.error_text);
  if (!r.error_type.empty()) {
    note.type = std::string(r.error_type);
  } else {
    note.type = std::string(exception_type_of(r.error_text));
  }
  // A message without its type (loguru's record.exception.value, dict_tracebacks' exc_value, an
  // eliot reason) reads as Python writes an exception's line: "PaymentDeclined: card declined".
  // An exception without a message is its type, as loguru's and eliot's are.
  if (note.text.empty())
    note.text = note.type;
  else if (!note.type.empty() && !names_exception(note.text, note.type))
    note.text = note.type + ": " + note.text;
  if (note.text.empty() && !r.stage.empty()) note.text = summarise_error(r.stage);
  return note;
}

void TaskStore::on_record(const RawRecord& r) {
  if (!time_seen_ && !r.has_time) {
    // Held, its texts copied: it takes the first time that comes after it, or, past the
    // limit or in a log without any time, goes on undated as before.
    if (!held_untimed_) {
      held_untimed_ = std::make_unique<RecordBatch>();
      held_untimed_->set_input(nullptr, 0);  // no chunk outlives the call: copy every text
    }
    held_untimed_->on_record(r);
    if (++held_count_ >= kMaxHeldUntimed) {
      time_seen_ = true;
      release_held_untimed();
    }
    return;
  }
  if (!time_seen_) {
    time_seen_ = true;
    previous_time_ = r.time_ns;
    release_held_untimed();
  }
  add_record(r);
}

void TaskStore::release_held_untimed() {
  if (!held_untimed_) return;
  std::unique_ptr<RecordBatch> held = std::move(held_untimed_);
  RecordBatch::Cursor at;
  RecordBatch::Entry entry;
  while (held->next(at, entry))
    if (entry.record) add_record(*entry.record);
}

// asyncio's messages of a Future's or a callback's lost exception come from the loop's
// exception handler: at error level, from no task, with the exception. A program's own line
// that opens with the same words ("Exception in callback on_paid(): HTTP 503, retrying" at
// warning, in its task) is no such message. Nor are the ones that tell of no fault: a callback
// that met CancelledError (a cancelled connection handler's, on 3.11 and 3.12) or one of
// asyncio's own transports' callbacks meeting a peer that reset its connection.
bool TaskStore::told_by_another_logger(const AsyncioNote& note, const RawRecord& r) const {
  bool lost =
      note.kind == AsyncioMessage::callback_raised ||
      (note.kind == AsyncioMessage::exception_never_retrieved && note.task_name == kLostFutureName);
  if (!lost) return false;
  if (r.has_task || !(r.is_error_level() || r.has_error)) return true;
  if (note.kind != AsyncioMessage::callback_raised) return false;
  ErrorNote error = error_note(r);
  std::string_view callback = std::string_view(note.task_name).substr(kCallbackPrefix.size());
  bool transport = callback.starts_with('_') && (callback.find("Transport") != std::string::npos ||
                                                 callback.find("Protocol") != std::string::npos);
  return exception_named(error.type, "CancelledError") || transport;
}

void TaskStore::add_record(const RawRecord& r) {
  ++counts_.records;
  if (r.bad_time) ++counts_.bad_times;
  int64_t time = 0;
  if (!record_time(r, time)) return;  // outside --since / --until
  bool unscoped = r.scope.empty() || (default_scope_ && r.has_task && is_uuid(r.task));
  uint32_t scope = unscoped ? 0 : scopes_.intern(r.scope);
  uint32_t own_task = r.has_task ? task_or_new(scope, r.task) : kNone;

  if (auto note = parse_asyncio_message(r.stage); note && !told_by_another_logger(*note, r)) {
    if (r.stage.starts_with(kNeverRetrievedLine) || r.stage.starts_with(kDestroyedPendingLine))
      ++counts_.text_records;
    if (note->kind == AsyncioMessage::callback_raised) note->detail = error_note(r).text;
    note->scope = scope;
    note->record_task = own_task;
    note->time = time;
    note->file = r.file;
    note->line = r.line;
    asyncio_notes_.push_back(std::move(*note));
    // The record is asyncio speaking about another task, not a step of the current one.
    return;
  }
  if (!r.marker.empty() && take_module_record(r, scope, own_task, time)) return;
  if (own_task == kNone) {
    if (r.has_error || !r.error_type.empty() || r.is_error_level()) note_untasked_error(r);
    return;
  }
  ++counts_.task_records;
  counts_.staged_records += !r.stage.empty() || !r.status.empty();
  if (r.marker == "task") tasks_[own_task].traced = true;
  Event event = make_event(r, time);
  event.plain_stage = event.stage != kNone && tasks_[own_task].traced;
  // (a flag of the task, not a lookup: one task's timeout costs the other records nothing)
  if (r.has_timeout || tasks_[own_task].declared_timeout)
    follow_timeouts(own_task, r, event.stage, time, !tasks_[own_task].logged);
  add_links(own_task, scope, r, time);
  if (r.marker == "child") tasks_[own_task].encloses = true;
  if (!r.alias.empty()) aliases_.emplace(alias_key(scope, r.alias), own_task);
  if (has_opaque_ids(r.file)) {
    // A parent known only from its children (a span never exported) has no title but that.
    if (event.stage != kNone && r.status == "started")
      titles_.insert_or_assign(own_task, event.stage);
    else if (r.marker == "child")
      titles_.emplace(own_task, kNone);
  }
  apply_event(own_task, event);
  // A task first heard of at exit: its pending record was its first record.
  if (!r.marker.empty() && r.marker == "pending") tasks_[own_task].pending_at_exit = true;
  if (--records_until_learning_ == 0) learn_provisional_end();
}

// A timeout on a task's first record, or on every record it logs (bound to its context), is the
// task's deadline; one on another record is that step's: the step lasts until the task's next
// record of another stage, or of its stage with a timeout again.
void TaskStore::follow_timeouts(uint32_t task, const RawRecord& r, uint32_t stage, int64_t time,
                                bool first_record) {
  auto it = timeouts_.find(task);
  if (it == timeouts_.end()) {
    if (!r.has_timeout) return;
    tasks_[task].declared_timeout = true;
    it = timeouts_.emplace(task, DeclaredTimeouts{}).first;
    if (first_record) {
      it->second.first_ns = r.timeout_ns;
      it->second.first_stage = stage;
    } else {
      it->second.every_record = false;
    }
  } else {
    DeclaredTimeouts& d = it->second;
    d.every_record = d.every_record && r.has_timeout;
    if (r.has_timeout && stage != kNone && stage == d.first_stage) d.first_stage_again = true;
  }
  DeclaredTimeouts& d = it->second;
  // The open step ends at a record of another stage, or at one of its own stage that declares
  // a timeout again: the next call of a step logged once a call (a poll, a retried request); or
  // at a status with no stage (the task's "done": the step ran until its task ended).
  bool declares = r.has_timeout && r.timeout_ns > 0;
  bool next_step = stage != kNone ? stage != d.step_stage || declares : !r.status.empty();
  if (d.step_stage != kNone && next_step) {
    int64_t took = std::max<int64_t>(0, time - d.step_began);
    if (took > d.step_limit && d.overrun.stage == kNone)
      d.overrun = StepOverrun{d.step_stage, d.step_began, took, d.step_limit};
    d.step_stage = kNone;
  }
  if (declares && stage != kNone && d.step_stage == kNone) {
    d.step_stage = stage;
    d.step_began = time;
    d.step_limit = r.timeout_ns;
  }
}

// The asyncio module's exit and pending-at-exit records say when a process stopped and what was
// still pending then: they are no step of a task (docs/ASYNCIO_RECORDS.md). True when the record
// was taken here; a "wait" record goes on as a task's record.
bool TaskStore::take_module_record(const RawRecord& r, uint32_t scope, uint32_t task,
                                   int64_t time) {
  // "test-end" (the pytest plugin) is an exit that ends one test: what is pending then leaked.
  if (r.marker == "exit" || r.marker == "test-end") {
    ++counts_.exit_records;
    exits_[scope].push_back(time);
    if (r.marker == "test-end") test_ends_[scope].push_back(time);
    return true;
  }
  if (r.marker != "pending" || task == kNone) return false;
  ++counts_.pending_records;
  add_links(task, scope, r, time);
  bool logged = tasks_[task].logged;
  PendingAtExit& note = pending_at_exit_[task];
  note.time = time;
  note.records_before = tasks_[task].events.size() + (logged ? 0 : 1);
  note.suspended_at = std::string(r.suspended_at.substr(0, kErrorTextLimit));
  note.waiting_for = std::string(r.waiting_for.substr(0, kErrorTextLimit));
  PlannedSleep sleep = planned_sleep(note.waiting_for);
  note.sleep_ns = sleep.length_ns;
  note.sleep_left_ns = sleep.left_ns;
  note.awaits.clear();
  for (std::string_view awaited : r.awaits)
    if (uint32_t other = task_or_new(scope, awaited); other != task) note.awaits.push_back(other);
  // A task first heard of at exit: its pending record is its only record (on_record goes on).
  if (!logged) return false;
  tasks_[task].pending_at_exit = true;
  return true;
}

std::optional<int64_t> TaskStore::stop_after(uint32_t scope, int64_t time) const {
  if (exits_.empty()) return std::nullopt;  // most logs: no asyncio module, no lookup per task
  auto it = exits_.find(scope);
  if (it == exits_.end()) return std::nullopt;
  auto stop = std::lower_bound(it->second.begin(), it->second.end(), time);
  if (stop == it->second.end()) return std::nullopt;
  return *stop;
}

bool TaskStore::stop_ends_test(uint32_t scope, int64_t time) const {
  auto it = test_ends_.find(scope);
  return it != test_ends_.end() && std::binary_search(it->second.begin(), it->second.end(), time);
}

// A record without time takes the time of the record before it, so order survives. False when
// the record falls outside --since / --until. (Not an optional: GCC returns one through memory
// with a one-byte store and an eight-byte load, a store-forwarding stall on every record.)
bool TaskStore::record_time(const RawRecord& r, int64_t& time) {
  time = r.has_time ? r.time_ns : previous_time_;
  if (r.has_time) previous_time_ = time;
  if ((since_ && time < *since_) || (until_ && time > *until_)) {
    ++counts_.outside_window;
    return false;
  }
  if (r.has_time) {
    if (r.file < utc_offsets_.size() && !utc_offsets_[r.file]) utc_offsets_[r.file] = r.utc_offset;
    if (r.file < time_orders_.size()) {
      TimeOrder& order = time_orders_[r.file];
      if (order.timed && time < order.last) {
        ++order.back;
        if (order.last - time > order.largest_back) {
          order.largest_back = order.last - time;
          order.largest_back_line = r.line;
        }
      }
      order.forward += order.timed && time > order.last;
      if (!order.timed) {
        // (with --naive-offset the parser gave it its zone: no time of no zone)
        order.no_zone = has_no_zone(r.time_form);
        order.earliest = order.latest = time;
      }
      order.earliest = std::min(order.earliest, time);
      order.latest = std::max(order.latest, time);
      order.last = time;
      order.timed = true;
    }
    if (!has_any_time_ || time < first_time_) first_time_ = time;
    if (!has_any_time_ || time > last_time_) last_time_ = time;
    has_any_time_ = true;
  }
  return true;
}

int32_t TaskStore::utc_offset(uint32_t file) const {
  return file < utc_offsets_.size() ? utc_offsets_[file].value_or(0) : 0;
}

int32_t TaskStore::task_utc_offset(uint32_t task) const {
  const Task& t = tasks_[task];
  return utc_offset(t.events.empty() ? 0 : t.events.front().file);
}

Event TaskStore::make_event(const RawRecord& r, int64_t time) {
  Event event;
  event.time = time;
  event.file = uint16_t(std::min<uint32_t>(r.file, UINT16_MAX));
  event.line = uint32_t(std::min<uint64_t>(r.line, UINT32_MAX));
  if (!r.stage.empty()) {
    // A message that goes on over several lines (a formatter that appends the traceback) is a
    // stage by its first line.
    std::string_view stage = r.stage.substr(0, r.stage.find('\n'));
    if (!stage.empty() && stage.back() == '\r') stage.remove_suffix(1);
    event.stage = intern_stage(stage.empty() ? r.stage : stage, r.stage_from_message, event.text);
    StageStats& stats = stage_stats_[event.stage];
    ++stats.records;
    stats.files |= uint64_t(1) << std::min<uint32_t>(r.file, 63);
  }
  if (!r.status.empty()) event.status = intern_word(r.status);
  event.error_level = r.is_error_level();
  event.retry = (r.retry && r.attempt == 0) ||
                (event.stage != kNone && is_retry_word_[event.stage]) ||
                (event.status != kNone && is_retry_word_[event.status]);
  event.attempt = uint8_t(std::min<uint32_t>(r.attempt, kMaxAttempt));
  // "child": a dialect's reader says a parent waits on the child it encloses (dialect_readers.hpp).
  if ((r.marker == "wait" || r.marker == "child") && event.stage == kNone) {
    event.wait = true;
    if (!r.waiting_for.empty()) event.text = keep_text(r.waiting_for.substr(0, kErrorTextLimit));
  }
  bool at_exit = r.marker == "cancel-at-exit";
  if ((at_exit || r.marker == "cancel") && event.stage == kNone && event.status == kNone) {
    event.cancel_request = true;
    event.cancel_at_exit = at_exit;
    // What it was waiting for when cancel() was called (asleep, idle on a queue): the analysis
    // judges its silence by it, as at an exit.
    if (!r.waiting_for.empty()) event.text = keep_text(r.waiting_for.substr(0, kErrorTextLimit));
  }
  if (r.has_error || !r.error_type.empty()) {
    event.error = add_error(r);
  } else if (std::string_view traceback = appended_traceback(r.stage); !traceback.empty()) {
    // The traceback written into the message (a QueueHandler formats the exception into it and
    // drops exc_info before the JSON formatter sees the record): the record's error all the same.
    RawRecord with_error = r;
    with_error.has_error = true;
    with_error.error_text = traceback;
    event.error = add_error(with_error);
  }
  return event;
}

// Who created the task and what it waits on: the edges of the task graph.
void TaskStore::add_links(uint32_t task, uint32_t scope, const RawRecord& r, int64_t time) {
  if (!r.parent.empty()) {
    uint32_t parent = task_or_new(scope, r.parent);
    tasks_[task].parent = parent;
  }
  // Waiting on itself alone (a Lock it holds; a Semaphore other tasks hold too may be released
  // by them) holds while it waits: its next step, or a wait on anything else, ends it. The
  // module's cancel record changes nothing (it was still waiting when cancelled).
  bool only_itself = !r.awaits.empty();
  for (std::string_view awaited : r.awaits) {
    uint32_t other = task_or_new(scope, awaited);
    auto& list = tasks_[task].awaits;
    if (other == task) continue;
    only_itself = false;
    if (std::find(list.begin(), list.end(), other) == list.end()) list.push_back(other);
    // The earliest record, not the first to arrive: a log out of order is sorted later.
    auto [began, added] = await_began_.emplace(uint64_t(task) << 32 | other, time);
    if (!added) began->second = std::min(began->second, time);
  }
  // What it waited on when its process stopped stands: the cancellation asyncio.run logs for
  // it afterwards ("cancelled") waited on nothing.
  if ((!r.awaits.empty() || (r.marker != "cancel" && r.marker != "cancel-at-exit")) &&
      !tasks_[task].pending_at_exit)
    tasks_[task].waits_on_itself = only_itself;
}

// The event joins the task's records, moves its summary and statistics on, and folds the task
// when it ended ok cleanly.
void TaskStore::apply_event(uint32_t index, const Event& event) {
  Task& task = tasks_[index];
  if (task.folded && task.events.empty()) {
    // It ended ok and its records were folded; now it logs again. The marker keeps that end.
    Event marker;
    marker.time = task.last_time;
    marker.stage = task.stage;
    marker.fold_marker = true;
    marker.fold_marker_at_guess = task.folded_at_guess;
    marker.fold_marker_by_stage = task.folded_by_stage;
    marker.attempt = task.attempt;
    task.events.push_back(marker);
  }
  if (!task.logged) {
    task.logged = true;
    task.first_time = task.last_time = task.stage_since = event.time;
  } else if (event.time < task.last_time) {
    if (!task.out_of_order) out_of_order_tasks_.push_back(index);
    task.out_of_order = true;
  }
  task.last_time = std::max(task.last_time, event.time);
  task.attempt = std::max(task.attempt, event.attempt);
  if (task.pending_at_exit) {
    // A record after its process's exit (asyncio.run cancelling it): kept for the timeline, and
    // nothing else, since the task is judged from the exit; its stage's time stops there too.
    task.events.push_back(event);
    if (event.text != kNone) task.has_texts = true;
    return;
  }
  Lifecycle meaning = record_meaning(*this, event);
  // An eliot action's or a span's end is a word of its format, not of the log's vocabulary: a
  // plain file beside it that has no word for a finished task still has its end stage learned.
  if (meaning == Lifecycle::ended_ok && !has_opaque_ids(event.file)) seen_ok_word_ = true;
  bool is_error = event.error != kNone || event.error_level;
  // A stage left by a failure or a timeout did not take its normal time: the hung threshold
  // learns from the stage's normal runs only.
  bool abnormal = is_error || (is_end(meaning) && meaning != Lifecycle::ended_ok);
  if (task.ended_by_word) --ended_by_word_at_[task.stage];
  if (meaning == Lifecycle::ended_cancelled && (event.stage == kNone || event.stage == task.stage))
    untime_interrupted_stage(task, event.time);
  if (event.cancel_request) task.cancel_asked = true;
  if (event.stage != kNone) {
    follow_stage(index, task, event, abnormal);
  } else if (meaning == Lifecycle::ended_ok && task.stage != kNone && !task.did_end_stage) {
    // A status "done" ends the stage the task was in (the asyncio module's records do this): that
    // stage took its time as surely as one left for another.
    time_stage(task, event.time);
    task.did_end_stage = true;
  }
  // The end stage is voted for by the tasks that did not end by a word, as in the analysis.
  task.ended_by_word = is_end(meaning) && task.stage != kNone;
  if (task.ended_by_word) ++ended_by_word_at_[task.stage];
  if (is_error && task.stage != kNone && !task.stage_errored) {
    ++stage_stats_[task.stage].errors;
    task.stage_errored = true;
  }
  // A task that said it failed or timed out keeps its records though it ends ok later: folding
  // it would drop what that record meant (a swallowed timeout).
  if (abnormal) task.had_error = true;
  bool strong_start =
      is_restart_word(event.status) || (!event.plain_stage && is_restart_word(event.stage));
  if (is_restart(meaning, strong_start, task.did_work)) task.restarted = true;
  if (meaning != Lifecycle::start && !event.wait) task.did_work = true;  // waiting is no work
  task.events.push_back(event);
  if (event.text != kNone) task.has_texts = true;

  if (!folding_) return;
  // A traced task ends by its status records: no guessed end stage folds it.
  FoldPoint point =
      fold_point(task, meaning, event.plain_stage ? kNone : event.stage, provisional_end_);
  if (point == FoldPoint::none || ran_past_declared_timeout(index, event.time)) return;
  fold(task);
  task.folded_at_guess = point == FoldPoint::guessed_end;
  task.folded_by_stage =
      point == FoldPoint::ok_word && this->meaning(event.status) != Lifecycle::ended_ok;
}

// Stage statistics as records arrive: the time in a stage ends when the task enters another.
void TaskStore::follow_stage(uint32_t task_index, Task& task, const Event& event, bool abnormal) {
  uint32_t stage = event.stage;
  int64_t time = event.time;
  // A stage left after a cancel() was cut off by it (a stuck task's silence until a shutdown
  // cancelled it): no normal run of that stage.
  bool normal = !abnormal && !task.cancel_asked;
  if (stage == task.stage) {
    // The same stage again is the same run (progress: "downloading", "downloading"), but for a
    // task the asyncio module traces: its stage() marks where a unit of work begins, and a
    // worker's `with stage("process job")` once a job is a run each. Taken as one run, a batch
    // worker's whole series made one long duration, and a stuck job looked normal beside it.
    // (Its error record, written as the block fails, is that run's end, not a new one.)
    if (!event.plain_stage || abnormal) return;
    if (normal && !task.did_end_stage && !task.encloses) time_stage(task, time, true);
    task.timed_last_stage = false;  // (untime_interrupted_stage goes back over repeats)
    ++left_[stage];
  } else if (task.stage != kNone) {
    count_move(task.stage, stage, task_index, time);
    task.timed_last_stage = normal && !task.did_end_stage && !task.encloses;
    if (task.timed_last_stage) time_stage(task, time);
    ++left_[task.stage];
  } else {
    ++first_stage_of_[stage];
  }
  task.stage = stage;
  task.stage_since = time;
  task.did_end_stage = false;
  task.cancel_asked = false;
  task.stage_errored = false;
  ++stage_stats_[stage].occurrences;
}

// The task's time in its current stage, up to `time`, joins the stage's durations.
void TaskStore::time_stage(const Task& task, int64_t time, bool repeat) {
  if (task.encloses) return;
  // A record older than the one before it would give a negative duration: count it as zero.
  int64_t spent = std::max<int64_t>(elapsed(task.stage_since, time), 0);
  stage_stats_[task.stage].durations.add(spent);
  if (repeat) stage_stats_[task.stage].repeat_runs.add(spent);
  all_stages_.add(spent);
}

// A task cancelled moments after it entered its stage was stuck in the stage before,
// and what it logged on its way out (`except CancelledError: log("shutting down")`) only ended
// that stage: the stage's time was no normal run, and is taken back from its durations.
void TaskStore::untime_interrupted_stage(Task& task, int64_t time) {
  if (!task.timed_last_stage || task.stage == kNone) return;
  task.timed_last_stage = false;
  // The previous stage's run: back over the current stage's records to the one before. Not
  // past an earlier end of the task, where its fold marker stands if it was folded.
  const EventList& events = task.events;
  auto ended_at = [&](size_t k) {
    return events[k].fold_marker || is_end(record_meaning(*this, events[k]));
  };
  size_t i = events.size();
  for (; i > 0 && (events[i - 1].stage == task.stage || events[i - 1].stage == kNone); --i)
    if (ended_at(i - 1)) return;
  if (i == 0 || ended_at(i - 1)) return;
  uint32_t previous = events[i - 1].stage;
  int64_t entered = events[i - 1].time;
  for (; i > 0 && (events[i - 1].stage == previous || events[i - 1].stage == kNone); --i) {
    if (ended_at(i - 1)) return;
    if (events[i - 1].stage == previous) entered = events[i - 1].time;
  }
  if (i > 0 && ended_at(i - 1)) return;
  int64_t spent = std::max<int64_t>(elapsed(entered, task.stage_since), 0);
  constexpr int64_t kMoment = 16;  // "moments": a sixteenth of the stage before
  // (divided, not multiplied: times centuries apart would overflow the product)
  if (elapsed(task.stage_since, time) > spent / kMoment) return;
  stage_stats_[previous].durations.remove(spent);
  all_stages_.remove(spent);
}

void TaskStore::count_move(uint32_t from, uint32_t to, uint32_t task, int64_t time) {
  if (moves_from_.size() <= from) moves_from_.resize(words_.size());
  for (uint32_t i : moves_from_[from]) {
    if (transitions_[i].to == to) {
      ++transitions_[i].count;
      return;
    }
  }
  if (transitions_.size() >= kMaxTransitions) return;
  moves_from_[from].push_back(uint32_t(transitions_.size()));
  transitions_.push_back(Transition{from, to, task, 1, time});
}

// A task that ran past a timeout its records declared (its own, or a step's) keeps them though
// it ended ok: its timeout finding names the stage the time ran out in, and that stage's record
// is the finding's evidence. Folded, the analysis had only the stage it ended in, and no record.
bool TaskStore::ran_past_declared_timeout(uint32_t task, int64_t end) const {
  if (!tasks_[task].declared_timeout) return false;  // (a flag: other tasks pay no lookup)
  int64_t limit = timeout_of(task);
  return (limit > 0 && elapsed(tasks_[task].first_time, end) > limit) || step_overrun(task);
}

// A task that ended ok with no error, no restart and its records in order has nothing left to
// tell but its summary: its records go, and memory stays bounded by the tasks still open.
void TaskStore::fold(Task& task) {
  task.folded = true;
  release_texts(task);
  task.events.release();
}

// Tasks that end at a stage with no "ended ok" word can be folded too once that stage is known:
// it is guessed every so often from the tasks sitting in each stage, by the rule the analysis
// applies for good at the end of the log (lifecycle.hpp).
void TaskStore::learn_provisional_end() {
  records_until_learning_ = kLearnEvery;
  provisional_end_ = kNone;
  if (seen_ok_word_ || !folding_) return;
  // The voters: tasks sitting in each stage whose last record did not end them by a word.
  std::vector<uint64_t> sitting(stage_stats_.size());
  uint64_t tasks_with_stages = 0;
  for (uint32_t s = 0; s < stage_stats_.size(); ++s) {
    uint64_t there = stage_stats_[s].occurrences - std::min(stage_stats_[s].occurrences, left_[s]);
    sitting[s] = there - std::min(there, ended_by_word_at_[s]);
    tasks_with_stages += sitting[s];
  }
  constexpr uint64_t kEnoughToGuess = 64;
  if (auto end = learn_end_stage(*this, sitting, tasks_with_stages, kEnoughToGuess))
    provisional_end_ = end->stage;
}

void TaskStore::finish() {
  if (finished_) return;
  release_held_untimed();  // a log without any time
  for (auto& [scope, stops] : exits_) std::sort(stops.begin(), stops.end());
  for (auto& [scope, stops] : test_ends_) std::sort(stops.begin(), stops.end());
  fold_rare_stages();
  sort_out_of_order_tasks();
  attribute_asyncio_notes();
  find_varying_scope_fields();
  find_whole_second_times();
  find_naive_times();
  find_clock_set_back();
  finished_ = true;
}

// From each file's first and last times, once. Two sets of files that do not overlap prove
// nothing alone (yesterday's log and today's): the shift must be an offset a zone has (a whole
// hour, or one and a half or three quarters, up to 14 hours), and it must lay the two over each
// other, at least half of the shorter one.
void TaskStore::find_naive_times() {
  struct Span {
    std::optional<uint32_t> first_file;
    int64_t earliest = 0, latest = 0;
    void add(uint32_t file, const TimeOrder& order) {
      if (!first_file) {
        first_file = file;
        earliest = order.earliest;
        latest = order.latest;
      }
      earliest = std::min(earliest, order.earliest);
      latest = std::max(latest, order.latest);
    }
  } naive, zoned;
  for (uint32_t f = 0; f < time_orders_.size(); ++f) {
    const TimeOrder& order = time_orders_[f];
    if (order.timed) (order.no_zone ? naive : zoned).add(f, order);
  }
  if (!naive.first_file || !zoned.first_file) return;
  if (naive.earliest <= zoned.latest && zoned.earliest <= naive.latest) return;  // they overlap
  constexpr int64_t kQuarterHour = 15 * 60 * int64_t(1'000'000'000);
  int64_t apart = elapsed(zoned.earliest, naive.earliest);
  int64_t quarters = (apart + (apart < 0 ? -kQuarterHour : kQuarterHour) / 2) / kQuarterHour;
  int64_t past_the_hour = std::abs(quarters) % 4;  // :15 is no zone's
  if (std::abs(quarters) < 2 || std::abs(quarters) > 14 * 4 || past_the_hour == 1) return;
  // A local time at offset o, read as UTC, is o later than the instant it names.
  int64_t shift = quarters * kQuarterHour;
  int64_t overlap = std::min(naive.latest - shift, zoned.latest) -
                    std::max(naive.earliest - shift, zoned.earliest);
  int64_t shorter = std::min(naive.latest - naive.earliest, zoned.latest - zoned.earliest);
  if (overlap < 0 || overlap * 2 < shorter) return;
  naive_times_ =
      NaiveTimes{*naive.first_file, *zoned.first_file, apart, int32_t(shift / 1'000'000'000)};
}

// A file in order, its times of no zone, that steps back once by about the hour (or the half
// hour, Lord Howe's) a clock is set back by: records of processes interleaved go back by
// milliseconds, a log of many hosts' clocks in every direction.
void TaskStore::find_clock_set_back() {
  constexpr int64_t kMinute = 60 * int64_t(1'000'000'000);
  auto near = [](int64_t step, int64_t minutes) {
    return std::abs(step - minutes * kMinute) <= minutes * kMinute / 12;
  };
  for (uint32_t f = 0; f < time_orders_.size(); ++f) {
    const TimeOrder& order = time_orders_[f];
    if (!order.no_zone || order.back * 20 > order.forward) continue;
    if (!near(order.largest_back, 60) && !near(order.largest_back, 30)) continue;
    clock_set_back_ = ClockSetBack{f, order.largest_back_line, order.largest_back};
    return;
  }
}

// From the tasks' summaries, once: no cost a record. A handful of tasks proves nothing.
void TaskStore::find_whole_second_times() {
  constexpr uint64_t kEnough = 10;
  constexpr int64_t kSecond = 1'000'000'000;
  uint64_t timed = 0;
  for (const Task& t : tasks_) {
    if (!t.logged) continue;
    if (t.first_time % kSecond != 0 || t.last_time % kSecond != 0) return;
    ++timed;
  }
  whole_second_times_ = timed >= kEnough && first_time() != last_time();
}

std::vector<std::pair<std::string_view, std::string_view>> scope_parts(std::string_view scope) {
  std::vector<std::pair<std::string_view, std::string_view>> parts;
  while (!scope.empty()) {
    size_t sep = scope.find('\x1f');
    std::string_view part = scope.substr(0, sep);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos) parts.emplace_back(part.substr(0, eq), part.substr(eq + 1));
    if (sep == std::string_view::npos) break;
    scope.remove_prefix(sep + 1);
  }
  return parts;
}

void TaskStore::find_varying_scope_fields() {
  // Per field: its first value, whether another came, and in how many scopes it is.
  struct Seen {
    std::string_view first;
    bool differs = false;
    size_t scopes = 0;
  };
  std::map<std::string_view, Seen> fields;
  size_t scopes = 0;
  bool unscoped = std::any_of(tasks_.begin(), tasks_.end(),
                              [](const Task& t) { return t.logged && t.scope == 0; });
  for (uint32_t s = 1; s < scopes_.size(); ++s, ++scopes) {
    for (auto [name, value] : scope_parts(scopes_.view(s))) {
      Seen& seen = fields[name];
      if (seen.scopes++ == 0)
        seen.first = value;
      else if (value != seen.first)
        seen.differs = true;
    }
  }
  varying_scope_fields_.clear();
  for (const auto& [name, seen] : fields)
    if (seen.differs || seen.scopes < scopes || unscoped) varying_scope_fields_.emplace_back(name);
}

// Only a task that logged a record older than one before it has records out of time order.
void TaskStore::sort_out_of_order_tasks() {
  auto by_time = [](const Event& a, const Event& b) { return a.time < b.time; };
  for (uint32_t index : out_of_order_tasks_) {
    Task& task = tasks_[index];
    std::stable_sort(task.events.begin(), task.events.end(), by_time);
    // Its current stage is its latest record's in time, not the last to arrive.
    uint32_t stage = kNone;
    for (const Event& e : task.events) {
      if (e.stage == kNone || e.stage == stage) continue;
      stage = e.stage;
      task.stage_since = e.time;
    }
    if (stage != kNone) task.stage = stage;
  }
}

// asyncio names the task in its repr; the record's own task field is whichever task ran when
// the garbage collector fired, so the repr wins. A name unknown in the record's scope is looked
// up in the others, and a task that never logged gets an entry of its own.
void TaskStore::attribute_asyncio_notes() {
  for (AsyncioNote& note : asyncio_notes_) {
    if (note.kind == AsyncioMessage::never_awaited || note.task_name.empty()) {
      note.task = note.record_task;
      continue;
    }
    note.task = find_task(note.scope, note.task_name);
    for (uint32_t s = 0; note.task == kNone && s < scopes_.size(); ++s)
      note.task = find_task(s, note.task_name);
    for (uint32_t s = 0; note.task == kNone && s < scopes_.size(); ++s)
      if (auto it = aliases_.find(alias_key(s, note.task_name)); it != aliases_.end())
        note.task = it->second;
    if (note.task == kNone) note.task = task_or_new(note.scope, note.task_name);
  }
}

void TaskStore::on_input_format(uint32_t file, const InputFormat& format) {
  // Before the file's records: add_file() may not have named every file (the library's users).
  if (formats_.size() <= file) formats_.resize(file + 1);
  formats_[file] = format;
}

std::string TaskStore::task_title(uint32_t task) const {
  auto own = titles_.find(task);
  if (own == titles_.end()) return {};
  if (own->second == kNone) return "no start in the log: only its children name it";
  // The topmost titled ancestor: the root action or span (a parent never exported has none).
  uint32_t root = task;
  for (uint32_t at = tasks_[task].parent, steps = 0; at != kNone && steps < 256;
       at = tasks_[at].parent, ++steps)
    if (auto it = titles_.find(at); it != titles_.end() && it->second != kNone) root = at;
  std::string title(words_.view(own->second));
  if (root != task) title += " in " + std::string(words_.view(titles_.at(root)));
  return title;
}

std::string TaskStore::unreadable_reason() const {
  if (counts_.task_records == 0 && asyncio_notes_.empty()) return "no record names a task";
  if (!has_any_time_) return "no record has a time";
  if (counts_.staged_records == 0 && asyncio_notes_.empty())
    return "no task record has a stage or a status";
  return {};
}

void TaskStore::note_untasked_error(const RawRecord& r) {
  ++counts_.untasked_errors;
  if (first_untasked_error_) return;
  ErrorNote note = error_note(r);
  std::string text = !note.text.empty() ? note.text : note.type;
  if (text.empty()) text = "a record at level " + std::string(r.level.empty() ? "error" : r.level);
  first_untasked_error_ = UntaskedError{r.file, r.line, std::move(text)};
}

bool TaskStore::on_bad_line(const BadLine& bad) {
  ++counts_.bad_lines;
  if (bad.reason == kCompressedData && !first_compressed_line_) first_compressed_line_ = bad;
  if (bad.reason == kTracebackText)
    ++counts_.traceback_lines;
  else if (!first_text_line_ && bad.reason != kJsonArrayStart)
    first_text_line_ = bad;
  if (bad_lines_.size() < kKeptBadLines) bad_lines_.push_back(bad);
  return !strict_;
}

std::string TaskStore::task_label(uint32_t task, bool every_field) const {
  std::string label(task_value(task));
  std::string shown;
  for (auto [name, value] : scope_parts(scopes_.view(tasks_[task].scope))) {
    bool varies = std::find(varying_scope_fields_.begin(), varying_scope_fields_.end(), name) !=
                  varying_scope_fields_.end();
    if (!every_field && !varies) continue;
    if (!shown.empty()) shown += ' ';
    shown.append(name).append("=").append(value);
  }
  if (!shown.empty()) label += " (" + shown + ")";
  return label;
}

}  // namespace coroner
