#include "coroner/ingest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "ingest_input.hpp"
#include "reader.hpp"
#include "record_batch.hpp"
#include "state_format.hpp"

namespace coroner {

std::string InputError::describe() const {
  std::string_view where = display_name(file);
  if (line > 0) return fmt::format("{}:{}: {}", where, line, message);
  return fmt::format("{}: {}", where, message);
}

std::string damage_note(const std::string& path, const std::string& damage) {
  return fmt::format("{}: {}", display_name(path), damage);
}

namespace {
// Enough of a file's start to tell its dialect from a few dozen records.
constexpr size_t kFormatHead = 64 << 10;
}  // namespace

bool is_state(LineChunker& chunker) {
  return chunker.head(state::kMagic.size()) == state::kMagic;
}

// The first key of the input's first records that holds Python tracebacks and that no error
// field of `roles` names.
std::string unread_traceback_field(const InputFormat& format, const RoleConfig& roles) {
  for (const KeySeen& key : format.keys) {
    bool traceback = std::any_of(key.samples.begin(), key.samples.end(), [](const auto& s) {
      return s.starts_with("Traceback (most recent call last)");
    });
    const auto& read = roles[Role::error];
    if (traceback && std::find(read.begin(), read.end(), key.path) == read.end()) return key.path;
  }
  return {};
}

InputFormat read_format(LineChunker& chunker, Dialect dialect, const RoleConfig& roles) {
  InputFormat format = detect_format(chunker.head(kFormatHead), dialect);
  if (!reads_task_field(format, roles)) {
    format.task_field.clear();
    format.kind_field.clear();
    format.task_field_why.clear();
  }
  if (roles.named_by_user[size_t(Role::scope)]) {  // --key keeps the fields it names
    format.partial_scope_fields.clear();
    format.partial_scope_why.clear();
  }
  format.unread_traceback_field = unread_traceback_field(format, roles_for(format, roles));
  chunker.set_multiline_values(format.multiline);
  return format;
}

namespace {

// One file, on the calling thread.
IngestResult ingest_serial(const std::string& path, const RoleConfig& roles, RecordSink& sink,
                           uint32_t file, const ProgressFn& progress, Dialect dialect) {
  IngestResult result;
  OpenedInput input = open_input(path);
  if (!input.source) {
    result.error = InputError{path, 0, input.error};
    return result;
  }
  LineChunker chunker(*input.source);
  if (is_state(chunker)) {
    result.error = InputError{path, 0, std::string(kStateNotLog)};
    return result;
  }
  InputFormat format = read_format(chunker, dialect, roles);
  sink.on_input_format(file, format);
  RecordParser parser(roles);
  Chunk chunk;
  while (chunker.next(chunk)) {
    result.bytes += chunk.size;
    if (!parser.parse_chunk(chunk, file, sink, format)) {
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
    result.damage.push_back(damage_note(path, input.source->damage()));
  return result;
}

constexpr size_t kParallelChunkSize = 1 << 20;

// One unit of work: a chunk of whole lines, parsed into a batch by the thread that read it; or a
// notice (an error, a damaged input, the end).
struct Job {
  uint64_t sequence = 0;
  uint32_t file = 0;
  std::vector<char> bytes;  // the chunk, then simdjson's padding
  Chunk chunk;
  std::shared_ptr<const InputFormat> format;  // its file's
  bool first_of_file = false;                 // the sink hears the format before it
  RecordBatch batch;
  std::optional<InputError> error;
  std::string damage;
  bool end = false;

  void clear() {
    batch.clear();
    error.reset();
    damage.clear();
    chunk = Chunk{};
    format.reset();
    first_of_file = false;
    end = false;
  }
};

// One file read and parsed on `workers` threads, delivered in order on the caller's: the order of
// records is the input's whatever thread parsed them. There is no reader thread: a thread that
// needs work reads the next chunk itself, into a buffer that then stays warm in its own cache while
// it parses (a separate reader's copy into buffers other cores had just read cost a sixth of the
// run).
class Pipeline {
 public:
  Pipeline(const std::string& path, const RoleConfig& roles, uint32_t file, unsigned workers,
           Dialect dialect)
      : path_(path), roles_(roles), file_(file), workers_(workers), dialect_(dialect) {
    // Enough jobs to keep every thread busy while one batch is being delivered, no more: each
    // holds a chunk and its batch.
    for (unsigned i = 0; i < workers + 2; ++i) free_.push_back(std::make_unique<Job>());
  }

  IngestResult run(RecordSink& sink, const ProgressFn& progress) {
    std::vector<std::thread> parsers;
    for (unsigned i = 0; i < workers_; ++i) parsers.emplace_back([this] { parse(); });
    IngestResult result = deliver(sink, progress);
    stop();
    for (auto& t : parsers) t.join();
    return result;
  }

 private:
  // A free job, cleared; nullptr once stopping. With `wait` false, nullptr when none is free.
  std::unique_ptr<Job> take_free(bool wait = true) {
    std::unique_lock lock(mutex_);
    if (wait) free_cv_.wait(lock, [&] { return !free_.empty() || stopping_; });
    if (stopping_ || free_.empty()) return nullptr;
    auto job = std::move(free_.back());
    free_.pop_back();
    job->clear();
    return job;
  }

  void put_free(std::unique_ptr<Job> job) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(job));
    free_cv_.notify_one();
    done_cv_.notify_all();  // the delivering thread may be waiting for a job to read into
  }

  void post_done(std::unique_ptr<Job> job) {
    std::lock_guard lock(mutex_);
    uint64_t sequence = job->sequence;
    done_[sequence] = std::move(job);
    done_cv_.notify_all();
  }

  // Fills `job` with the next chunk of the input, or with the next notice, and numbers it in
  // input order. False when everything, the end included, was handed out already.
  bool read_next(Job& job) {
    std::lock_guard lock(read_mutex_);
    if (read_all_) return false;
    if (!chunker_) {
      input_ = open_input(path_);
      if (!input_.source) {
        job.error = InputError{path_, 0, input_.error};
        return number(job);
      }
      // Smaller chunks than the serial reader's: several are in flight, each with its batch.
      chunker_ = std::make_unique<LineChunker>(*input_.source, kParallelChunkSize);
      if (is_state(*chunker_)) {
        job.error = InputError{path_, 0, std::string(kStateNotLog)};
        return number(job);
      }
      format_ = std::make_shared<const InputFormat>(read_format(*chunker_, dialect_, roles_));
    }
    // Chunks change hands, not bytes: the job takes the storage holding its chunk, and the
    // job's old storage becomes the chunker's next buffer.
    if (!read_to_end_ && chunker_->next_into(job.bytes, job.chunk)) {
      job.file = file_;
      job.format = format_;
      job.first_of_file = !std::exchange(format_told_, true);
      return number(job);
    }
    read_to_end_ = true;
    // An empty file's format is told too, as the serial reader tells it: the same report for
    // every number of threads.
    if (!std::exchange(format_told_, true)) {
      job.file = file_;
      job.format = format_;
      job.first_of_file = true;
      return number(job);
    }
    // Then the file's error, else its damage, then the end.
    if (!input_.source->error().empty()) {
      job.error = InputError{path_, chunker_->lines_read() + 1, input_.source->error()};
      return number(job);
    }
    std::string damage = input_.source->damage();
    if (!damage.empty() && !std::exchange(damage_told_, true)) {
      job.damage = damage_note(path_, damage);
      return number(job);
    }
    job.end = true;
    return number(job);
  }

  // Gives the job the next number; an error or the end is the last job.
  bool number(Job& job) {
    if (job.error) job.end = true;
    read_all_ = job.end;
    job.sequence = next_sequence_++;
    return true;
  }

  static bool is_chunk(const Job& job) { return job.chunk.size > 0; }

  static void parse_into_batch(RecordParser& parser, Job& job) {
    job.batch.set_input(job.chunk.data, job.chunk.size);
    parser.parse_chunk(job.chunk, job.file, job.batch, *job.format);
  }

  void parse() {
    RecordParser parser(roles_);
    while (auto job = take_free()) {
      if (!read_next(*job)) return put_free(std::move(job));
      if (is_chunk(*job)) parse_into_batch(parser, *job);
      post_done(std::move(job));
    }
  }

  // The job whose turn it is. While it is not done yet, this thread reads and parses too rather
  // than sit idle: if what it reads is that job, it comes back unparsed (`parsed` false), to go
  // straight into the sink without a batch; a later one is parsed into its batch.
  std::unique_ptr<Job> take_next(uint64_t next, RecordParser& parser, bool& parsed) {
    while (true) {
      {
        std::unique_lock lock(mutex_);
        done_cv_.wait(lock,
                      [&] { return done_.count(next) > 0 || (!free_.empty() && !read_all_); });
        if (auto it = done_.find(next); it != done_.end()) {
          auto job = std::move(it->second);
          done_.erase(it);
          parsed = true;
          return job;
        }
      }
      auto job = take_free(false);
      if (!job) continue;
      if (!read_next(*job)) {
        put_free(std::move(job));
        continue;
      }
      if (job->sequence == next) {
        parsed = !is_chunk(*job);
        return job;
      }
      if (is_chunk(*job)) parse_into_batch(parser, *job);
      post_done(std::move(job));
    }
  }

  // Hands the jobs to the sink in order.
  IngestResult deliver(RecordSink& sink, const ProgressFn& progress) {
    IngestResult result;
    RecordParser parser(roles_);
    for (uint64_t next = 0;; ++next) {
      bool parsed = true;
      std::unique_ptr<Job> job = take_next(next, parser, parsed);
      if (job->error) result.error = job->error;
      if (!job->damage.empty()) result.damage.push_back(job->damage);
      if (job->end) return result;
      result.bytes += job->chunk.size;
      if (job->first_of_file) sink.on_input_format(job->file, *job->format);
      bool go_on = parsed ? job->batch.replay(sink)
                          : parser.parse_chunk(job->chunk, job->file, sink, *job->format);
      if (!go_on) {
        result.stopped_by_sink = true;
        return result;
      }
      if (progress) progress(result.bytes);
      put_free(std::move(job));
    }
  }

  void stop() {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    free_cv_.notify_all();
  }

  const std::string& path_;
  const RoleConfig& roles_;
  uint32_t file_;  // its index among the inputs
  unsigned workers_;
  std::mutex mutex_;  // guards the job lists and stopping_
  std::condition_variable free_cv_, done_cv_;
  std::vector<std::unique_ptr<Job>> free_;
  std::map<uint64_t, std::unique_ptr<Job>> done_;
  bool stopping_ = false;
  // The input, read by whichever thread needs a chunk, one at a time.
  std::mutex read_mutex_;
  OpenedInput input_;
  std::unique_ptr<LineChunker> chunker_;
  Dialect dialect_;
  std::shared_ptr<const InputFormat> format_;
  bool format_told_ = false;  // a job carries it already
  bool read_to_end_ = false;  // the last chunk was handed out
  bool damage_told_ = false;
  uint64_t next_sequence_ = 0;
  std::atomic<bool> read_all_ = false;  // the end (or an error) was handed out
};

}  // namespace

IngestResult ingest(const std::vector<std::string>& paths, const RoleConfig& roles,
                    RecordSink& sink, uint32_t first_file_index, const ProgressFn& progress,
                    unsigned threads, Dialect dialect) {
  if (paths.empty()) return {};
  if (paths.size() > 1)
    return ingest_by_time(paths, roles, sink, first_file_index, progress, threads, dialect);
  if (threads <= 1)
    return ingest_serial(paths[0], roles, sink, first_file_index, progress, dialect);
  return Pipeline(paths[0], roles, first_file_index, threads - 1, dialect).run(sink, progress);
}

}  // namespace coroner
