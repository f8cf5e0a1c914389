#include "coroner/ingest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "coroner/reader.hpp"
#include "coroner/record_batch.hpp"

namespace coroner {

std::string InputError::describe() const {
  std::string_view where = display_name(file);
  if (line > 0) return fmt::format("{}:{}: {}", where, line, message);
  return fmt::format("{}: {}", where, message);
}

namespace {

std::string damage_note(const std::string& path, const std::string& damage) {
  return fmt::format("{}: {}", display_name(path), damage);
}

IngestResult ingest_serial(const std::vector<std::string>& paths, const RoleConfig& roles,
                           RecordSink& sink, uint32_t first_file_index,
                           const ProgressFn& progress) {
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
      result.damage.push_back(damage_note(path, input.source->damage()));
  }
  return result;
}

constexpr size_t kParallelChunkSize = 1 << 20;

// One unit of work: a chunk of whole lines copied out of the reader's buffer, parsed into a
// batch by a worker; or a notice from the reader (an error, a damaged input, the end).
struct Job {
  uint64_t sequence = 0;
  uint32_t file = 0;
  std::vector<char> bytes;  // the chunk, then simdjson's padding
  Chunk chunk;
  RecordBatch batch;
  std::optional<InputError> error;
  std::string damage;
  bool end = false;
};

// Read on one thread, parse on `workers`, deliver in order on the caller's: the order of records
// is the input's whatever thread parsed them.
class Pipeline {
 public:
  Pipeline(const std::vector<std::string>& paths, const RoleConfig& roles, uint32_t first_file,
           unsigned workers)
      : paths_(paths), roles_(roles), first_file_(first_file), workers_(workers) {
    // Enough jobs to keep every parser busy while one batch is being delivered, no more: each
    // holds a chunk and its batch.
    for (unsigned i = 0; i < workers + 2; ++i) free_.push_back(std::make_unique<Job>());
  }

  IngestResult run(RecordSink& sink, const ProgressFn& progress) {
    std::thread reader([this] { read(); });
    std::vector<std::thread> parsers;
    for (unsigned i = 0; i < workers_; ++i) parsers.emplace_back([this] { parse(); });
    IngestResult result = deliver(sink, progress);
    stop();
    reader.join();
    for (auto& t : parsers) t.join();
    return result;
  }

 private:
  std::unique_ptr<Job> take_free() {
    std::unique_lock lock(mutex_);
    free_cv_.wait(lock, [&] { return !free_.empty() || stopping_; });
    if (stopping_) return nullptr;
    auto job = std::move(free_.back());
    free_.pop_back();
    job->batch.clear();
    job->error.reset();
    job->damage.clear();
    job->chunk = Chunk{};
    job->end = false;
    job->sequence = next_sequence_++;
    return job;
  }

  // A notice needs no parsing: straight to delivery.
  void post_done(std::unique_ptr<Job> job) {
    std::lock_guard lock(mutex_);
    uint64_t sequence = job->sequence;
    done_[sequence] = std::move(job);
    done_cv_.notify_all();
  }

  void read() {
    for (size_t i = 0; i < paths_.size(); ++i) {
      OpenedInput input = open_input(paths_[i]);
      if (!input.source) return notice([&](Job& j) { j.error = InputError{paths_[i], 0, input.error}; });
      // Smaller chunks than the serial reader's: several are in flight, each with its batch.
      LineChunker chunker(*input.source, kParallelChunkSize);
      // Chunks change hands, not bytes: the job takes the storage holding its chunk, and the
      // job's old storage becomes the chunker's next buffer.
      std::vector<char> storage;
      Chunk chunk;
      while (chunker.next_into(storage, chunk)) {
        auto job = take_free();
        if (!job) return;
        job->bytes.swap(storage);
        job->chunk = chunk;
        job->file = first_file_ + uint32_t(i);
        std::lock_guard lock(mutex_);
        work_.push_back(std::move(job));
        work_cv_.notify_one();
        done_cv_.notify_all();  // the delivering thread may parse it, if its turn comes first
      }
      if (!input.source->error().empty()) {
        std::string message = input.source->error();
        uint64_t line = chunker.lines_read() + 1;
        return notice([&](Job& j) { j.error = InputError{paths_[i], line, message}; });
      }
      if (!input.source->damage().empty()) {
        std::string note = damage_note(paths_[i], input.source->damage());
        notice([&](Job& j) { j.damage = note; });
      }
    }
    notice([](Job& j) { j.end = true; });
  }

  template <typename Fill>
  void notice(Fill fill) {
    auto job = take_free();
    if (!job) return;
    fill(*job);
    if (job->error) job->end = true;
    post_done(std::move(job));
  }

  // The job whose turn it is. While it is not parsed yet, this thread parses too rather than
  // sit idle: that job itself comes back unparsed (`parsed` false), to go straight into the
  // sink without a batch; a later one is parsed into its batch, as any parser would.
  std::unique_ptr<Job> take_next(uint64_t next, RecordParser& parser, bool& parsed) {
    while (true) {
      std::unique_lock lock(mutex_);
      done_cv_.wait(lock, [&] { return done_.count(next) > 0 || !work_.empty(); });
      if (auto it = done_.find(next); it != done_.end()) {
        auto job = std::move(it->second);
        done_.erase(it);
        parsed = true;
        return job;
      }
      auto waiting = std::move(work_.front());
      work_.pop_front();
      if (waiting->sequence == next) {
        parsed = false;
        return waiting;
      }
      lock.unlock();
      parse_into_batch(parser, *waiting);
      post_done(std::move(waiting));
    }
  }

  static void parse_into_batch(RecordParser& parser, Job& job) {
    job.batch.set_input(job.chunk.data, job.chunk.size);
    parser.parse_chunk(job.chunk, job.file, job.batch);
  }

  void parse() {
    RecordParser parser(roles_);
    while (true) {
      std::unique_ptr<Job> job;
      {
        std::unique_lock lock(mutex_);
        work_cv_.wait(lock, [&] { return !work_.empty() || stopping_; });
        if (stopping_) return;
        job = std::move(work_.front());
        work_.pop_front();
      }
      parse_into_batch(parser, *job);
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
      bool go_on =
          parsed ? job->batch.replay(sink) : parser.parse_chunk(job->chunk, job->file, sink);
      if (!go_on) {
        result.stopped_by_sink = true;
        return result;
      }
      if (progress) progress(result.bytes);
      std::lock_guard lock(mutex_);
      free_.push_back(std::move(job));
      free_cv_.notify_one();
    }
  }

  void stop() {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    free_cv_.notify_all();
    work_cv_.notify_all();
  }

  const std::vector<std::string>& paths_;
  const RoleConfig& roles_;
  uint32_t first_file_;
  unsigned workers_;
  std::mutex mutex_;
  std::condition_variable free_cv_, work_cv_, done_cv_;
  std::vector<std::unique_ptr<Job>> free_;
  std::deque<std::unique_ptr<Job>> work_;
  std::map<uint64_t, std::unique_ptr<Job>> done_;
  uint64_t next_sequence_ = 0;
  bool stopping_ = false;
};

}  // namespace

IngestResult ingest(const std::vector<std::string>& paths, const RoleConfig& roles,
                    RecordSink& sink, uint32_t first_file_index, const ProgressFn& progress,
                    unsigned threads) {
  if (threads <= 1) return ingest_serial(paths, roles, sink, first_file_index, progress);
  return Pipeline(paths, roles, first_file_index, threads - 1).run(sink, progress);
}

}  // namespace coroner
