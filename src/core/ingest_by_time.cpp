// Several files are one log (SPEC section 1): their records reach the sink merged by time, as
// `coroner merge` merges the parts of states (state_merge.cpp), so `coroner app.log*` reads
// logs rotated by the hour in time order whatever order the shell lists them in, and the logs
// of several hosts interleave as they were written. Each file is a stream read one record at a
// time; the stream whose record comes first on (time, stream, position) hands it on. A stream
// keeps its own order: its key is its next record's time, or for a record without one the last
// time it had. The records without a time that open a stream take the first time after them
// in the stream (scouted ahead), or, in a stream without any, the next stream's first. Bad lines
// wait in their stream and go just before its next record (or at its end). Every file is opened,
// and its format told to the sink, before the first record: the same order a merge of the
// files' states gives, so `analyze` of the files and `merge` of their states agree.
#include <sys/resource.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <queue>
#include <utility>

#include "ingest_input.hpp"
#include "record_batch.hpp"
#include "record_parser.hpp"

namespace coroner {

namespace {

// The bytes every stream holds at once (its chunker's buffer and the chunks parsed ahead):
// split between the streams, within these bounds. A line longer than a chunk grows it.
constexpr size_t kBytesForAllStreams = 64 << 20;
constexpr size_t kMinChunk = 64 << 10, kMaxChunk = 1 << 20;
// A stream that opens with records without a time is read ahead this far for its first time;
// past it, it is taken for a stream without any (its records then wait for the next stream's).
constexpr size_t kMaxScoutChunks = 64;

// A chunk of lines and its records, parsed: the batch's texts point into `bytes`.
struct ParsedChunk {
  std::vector<char> bytes;
  Chunk chunk;
  RecordBatch batch;
  RecordBatch::Cursor at;
};

// One file, read a record at a time; chunks are parsed as the stream reaches them.
class FileStream {
 public:
  // `bytes_read` counts the bytes every stream has read.
  FileStream(std::string path, uint32_t file, const RoleConfig& roles, size_t chunk_size,
             uint64_t& bytes_read)
      : path_(std::move(path)),
        file_(file),
        parser_(roles),
        chunk_size_(chunk_size),
        bytes_read_(bytes_read) {}

  // Opens the file and tells the sink its format.
  std::optional<InputError> open(Dialect dialect, RecordSink& sink) {
    input_ = open_input(path_);
    if (!input_.source) return InputError{path_, 0, input_.error};
    chunker_ = std::make_unique<LineChunker>(*input_.source, chunk_size_);
    if (is_state(*chunker_)) return InputError{path_, 0, std::string(kStateNotLog)};
    format_ = read_format(*chunker_, dialect);
    sink.on_input_format(file_, format_);
    return std::nullopt;
  }

  // The time of the stream's first record that has one, read ahead without consuming anything.
  std::optional<int64_t> first_time() {
    for (size_t i = 0; i < kMaxScoutChunks; ++i) {
      if (i == chunks_.size() && !parse_next()) return std::nullopt;
      RecordBatch::Cursor at;
      RecordBatch::Entry entry;
      while (chunks_[i].batch.next(at, entry))
        if (entry.record && entry.record->has_time) return entry.record->time_ns;
    }
    return std::nullopt;
  }

  enum class Step { record, end, error };
  // Moves to the stream's next record (then record() is it until the next call), gathering the
  // bad lines before it in `waiting`; or to its end, or to a read error (error() says what).
  Step next() {
    while (true) {
      if (chunks_.empty() && !parse_next()) return error_ ? Step::error : Step::end;
      ParsedChunk& front = chunks_.front();
      RecordBatch::Entry entry;
      if (!front.batch.next(front.at, entry)) {
        spare_ = std::move(front.bytes);
        chunks_.pop_front();
        continue;
      }
      if (entry.bad_line) {
        waiting.push_back(*entry.bad_line);
        continue;
      }
      record_ = entry.record;
      return Step::record;
    }
  }

  const RawRecord& record() const { return *record_; }
  const std::optional<InputError>& error() const { return error_; }
  const std::string& path() const { return path_; }
  // A damaged tail read up to (a truncated gzip): "" when none.
  std::string damage() const { return input_.source ? input_.source->damage() : std::string(); }
  std::vector<BadLine> waiting;  // bad lines met since the stream's last record
  int64_t time = 0;              // its key (see the file's comment)
  bool ended = false;            // its next step is its end

 private:
  // Reads and parses the file's next chunk; false at its end (error_ set on a read error).
  bool parse_next() {
    if (!chunker_) return false;
    ParsedChunk parsed;
    parsed.bytes = std::move(spare_);
    if (!chunker_->next_into(parsed.bytes, parsed.chunk)) {
      if (!input_.source->error().empty())
        error_ = InputError{path_, chunker_->lines_read() + 1, input_.source->error()};
      chunker_.reset();  // its buffer is freed now; the source stays for its damage()
      return false;
    }
    bytes_read_ += parsed.chunk.size;
    parsed.batch.set_input(parsed.chunk.data, parsed.chunk.size);
    parser_.parse_chunk(parsed.chunk, file_, parsed.batch, format_);
    chunks_.push_back(std::move(parsed));
    return true;
  }

  std::string path_;
  uint32_t file_;
  RecordParser parser_;
  size_t chunk_size_;
  OpenedInput input_;
  std::unique_ptr<LineChunker> chunker_;
  InputFormat format_;
  std::deque<ParsedChunk> chunks_;  // parsed, not yet all handed on (more while scouting)
  std::vector<char> spare_;         // a handed-on chunk's storage, for the next one
  const RawRecord* record_ = nullptr;
  std::optional<InputError> error_;
  uint64_t& bytes_read_;
};

// Every file is open at once: allow as many as the system lets this process have.
void allow_open_files(size_t files) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= files + 16) return;
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, files + 16);
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

class TimeMerge {
 public:
  TimeMerge(const std::vector<std::string>& paths, const RoleConfig& roles, uint32_t first_file) {
    size_t chunk_size = std::clamp(kBytesForAllStreams / (2 * paths.size()), kMinChunk, kMaxChunk);
    for (size_t i = 0; i < paths.size(); ++i)
      streams_.emplace_back(paths[i], first_file + uint32_t(i), roles, chunk_size, bytes_read_);
  }

  IngestResult run(RecordSink& sink, const ProgressFn& progress, Dialect dialect) {
    allow_open_files(streams_.size());
    for (FileStream& s : streams_)
      if (auto error = s.open(dialect, sink)) return failed(*error);
    // Scouted from the last stream back: one without any time takes the next one's first.
    int64_t next_first = std::numeric_limits<int64_t>::max();
    for (auto s = streams_.rbegin(); s != streams_.rend(); ++s)
      next_first = s->time = s->first_time().value_or(next_first);
    for (FileStream& s : streams_)
      if (!advance(s)) return failed(*s.error());
    using Key = std::pair<int64_t, size_t>;  // (time, stream); a stream's position is implicit
    std::priority_queue<Key, std::vector<Key>, std::greater<Key>> heads;
    for (size_t i = 0; i < streams_.size(); ++i) heads.emplace(streams_[i].time, i);
    uint64_t told = 0;
    while (!heads.empty()) {
      size_t i = heads.top().second;
      heads.pop();
      FileStream& s = streams_[i];
      // The same stream goes on while its records come before every other stream's.
      while (true) {
        if (!deliver(sink, s)) {
          result_.stopped_by_sink = true;
          return std::move(result_);
        }
        if (s.ended) break;
        if (!advance(s)) return failed(*s.error());
        if (progress && bytes_read_ != told) progress(told = bytes_read_);
        if (!heads.empty() && heads.top() < Key(s.time, i)) {
          heads.emplace(s.time, i);
          break;
        }
      }
    }
    result_.bytes = bytes_read_;
    // Damage in the files' order, as reading them one after another tells it.
    for (const FileStream& s : streams_)
      if (std::string damage = s.damage(); !damage.empty())
        result_.damage.push_back(damage_note(s.path(), damage));
    return std::move(result_);
  }

 private:
  // The stream's next record or its end; false on a read error.
  static bool advance(FileStream& s) {
    FileStream::Step step = s.next();
    if (step == FileStream::Step::error) return false;
    if (step == FileStream::Step::end)
      s.ended = true;
    else if (s.record().has_time)
      s.time = s.record().time_ns;
    return true;
  }

  // Hands the stream's waiting bad lines and its record to the sink; false when it asked to stop.
  static bool deliver(RecordSink& sink, FileStream& s) {
    for (const BadLine& bad : s.waiting)
      if (!sink.on_bad_line(bad)) return false;
    s.waiting.clear();
    if (!s.ended) sink.on_record(s.record());
    return true;
  }

  IngestResult failed(const InputError& error) {
    result_.error = error;
    result_.bytes = bytes_read_;
    return std::move(result_);
  }

  uint64_t bytes_read_ = 0;
  std::deque<FileStream> streams_;  // in place: a stream's record points into its own chunks
  IngestResult result_;
};

}  // namespace

IngestResult ingest_by_time(const std::vector<std::string>& paths, const RoleConfig& roles,
                            RecordSink& sink, uint32_t first_file_index, const ProgressFn& progress,
                            Dialect dialect) {
  return TimeMerge(paths, roles, first_file_index).run(sink, progress, dialect);
}

}  // namespace coroner
