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
//
// With threads, the other threads read and parse chunks ahead for the stream that will run dry
// first (the one whose chunks read reach the earliest time); the merge itself, on the calling
// thread, parses a chunk only when none is ready. The order records are handed on in depends on
// the files alone: the report is the same for every number of threads.
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <thread>
#include <utility>

#include "ingest_input.hpp"
#include "record_batch.hpp"
#include "record_parser.hpp"

namespace coroner {

namespace {

// The bytes every stream holds at once (its chunker's buffer and a chunk in hand): split
// between the streams, within these bounds. A line longer than a chunk grows it.
constexpr size_t kBytesForAllStreams = 64 << 20;
constexpr size_t kMinChunk = 64 << 10, kMaxChunk = 1 << 20;
// A small file's buffer is its size, down to this.
constexpr size_t kSmallestBuffer = 4 << 10;
// A stream that opens with records without a time is read ahead, and held, this far for its
// first time; past it, the file is opened again and read to its first time, nothing held.
constexpr size_t kMaxScoutChunks = 64;
// The limit of a stream no other follows: its records all come first.
constexpr std::pair<int64_t, size_t> kNoLimit(std::numeric_limits<int64_t>::max(), SIZE_MAX);

// A chunk of lines and its records, parsed: the batch's texts point into `bytes`.
struct ParsedChunk {
  std::vector<char> bytes;
  Chunk chunk;
  RecordBatch batch;
  RecordBatch::Cursor at;
  bool scouted = false;  // read by the scout, not ahead by a helper
};

// One file, read a record at a time, from chunks parsed by whichever thread got to them. The
// members marked "shared" are TimeMerge::mutex_'s; the others are the merging thread's, or (the
// chunker) the one thread that has marked the stream busy.
class FileStream {
 public:
  FileStream(std::string path, uint32_t file, size_t chunk_size)
      : path_(std::move(path)), file_(file), chunk_size_(chunk_size) {}

  // Opens the file and tells the sink its format. `files`: how many are open at once.
  std::optional<InputError> open(Dialect dialect, const RoleConfig& roles, RecordSink& sink,
                                 size_t files) {
    input_ = open_input(path_);
    if (!input_.source && input_.error == std::strerror(EMFILE))
      return InputError{path_, 0,
                        fmt::format("{}: the {} files are open at once, to be read in time order; "
                                    "raise the limit (ulimit -n) or read them in groups with "
                                    "'coroner partial' and report with 'coroner merge'",
                                    input_.error, files)};
    if (!input_.source) return InputError{path_, 0, input_.error};
    // A small file needs no buffer of a full chunk: thousands of them are open at once.
    struct stat st {};
    if (input_.compression == Compression::none && path_ != "-" &&
        ::stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode))
      chunk_size_ = std::clamp<size_t>(size_t(st.st_size) + 1, kSmallestBuffer, chunk_size_);
    chunker_ = std::make_unique<LineChunker>(*input_.source, chunk_size_);
    if (is_state(*chunker_)) return InputError{path_, 0, std::string(kStateNotLog)};
    format_ = read_format(*chunker_, dialect, roles);
    sink.on_input_format(file_, format_);
    return std::nullopt;
  }

  // The file's first bytes (decompressed, up to kCopyHead), read but not consumed: what tells
  // copies apart.
  std::string_view head() { return chunker_ ? chunker_->head(kCopyHead) : std::string_view(); }

  // Reads and parses the file's next chunk into `parsed` (whose storage it reuses); false at
  // the file's end, with error() set if reading failed. By the thread that marked it busy.
  bool read_chunk(RecordParser& parser, ParsedChunk& parsed) {
    if (!read_lines(parsed)) return false;
    parse(parser, parsed, parsed.batch);
    return true;
  }

  // Reads the file's next chunk of lines into `parsed`, its batch empty, not parsed yet.
  bool read_lines(ParsedChunk& parsed) {
    if (!chunker_) return false;
    parsed.batch.clear();
    parsed.at = {};
    if (!chunker_->next_into(parsed.bytes, parsed.chunk)) {
      if (!input_.source->error().empty())
        error_ = InputError{path_, chunker_->lines_read() + 1, input_.source->error()};
      chunker_.reset();  // frees its buffer; the source stays for its damage()
      return false;
    }
    parsed.batch.set_input(parsed.chunk.data, parsed.chunk.size);
    return true;
  }

  void parse(RecordParser& parser, ParsedChunk& parsed, RecordSink& sink) {
    parser.parse_chunk(parsed.chunk, file_, sink, format_);
  }

  // The time of the first record in the chunks read that has one. Before other threads start.
  std::optional<int64_t> first_time_read() const {
    for (const ParsedChunk& parsed : ready) {
      RecordBatch::Cursor at;
      RecordBatch::Entry entry;
      while (parsed.batch.next(at, entry))
        if (entry.record && entry.record->has_time) return entry.record->time_ns;
    }
    return std::nullopt;
  }

  // The time of the first record that has one, read from a second opening of the file, nothing
  // kept: for a stream whose first time lies past what the scout may hold. nullopt for standard
  // input (it cannot be read twice) and for a file without any time.
  std::optional<int64_t> first_time_beyond(RecordParser& parser) const {
    if (path_ == "-") return std::nullopt;
    OpenedInput again = open_input(path_);
    if (!again.source) return std::nullopt;
    LineChunker chunker(*again.source, chunk_size_);
    chunker.set_multiline_values(format_.multiline);
    struct FirstTime : RecordSink {
      std::optional<int64_t> time;
      void on_record(const RawRecord& r) override {
        if (!time && r.has_time) time = r.time_ns;
      }
      bool on_bad_line(const BadLine&) override { return true; }
    } first;
    Chunk chunk;
    while (!first.time && chunker.next(chunk)) parser.parse_chunk(chunk, file_, first, format_);
    return first.time;
  }

  enum class Step { record, end, need_chunk };
  // Moves to the stream's next record in the chunk in hand (then record() is it until the next
  // call), gathering the bad lines before it in `waiting`; need_chunk when the chunk is used up.
  Step next() {
    if (!in_hand) return Step::need_chunk;
    RecordBatch::Entry entry;
    while (in_hand->batch.next(in_hand->at, entry)) {
      if (entry.bad_line) {
        waiting.push_back(*entry.bad_line);
        continue;
      }
      record_ = entry.record;
      return Step::record;
    }
    return Step::need_chunk;
  }

  const RawRecord& record() const { return *record_; }
  const std::optional<InputError>& error() const { return error_; }
  const std::string& path() const { return path_; }
  // A damaged tail read up to (a truncated gzip): "" when none.
  std::string damage() const { return input_.source ? input_.source->damage() : std::string(); }

  // Shared.
  std::deque<ParsedChunk> ready;                          // read ahead, in order
  bool busy = false;                                      // a thread is reading its next chunk
  bool exhausted = false;                                 // every chunk has been read
  int64_t reached = std::numeric_limits<int64_t>::min();  // the latest time of its chunks read

  // The merging thread's.
  std::optional<ParsedChunk> in_hand;  // the chunk its records come from now
  std::vector<BadLine> waiting;        // bad lines met since the stream's last record
  int64_t time = 0;                    // its key (see the file's comment)
  bool ended = false;                  // its next step is its end

 private:
  std::string path_;
  uint32_t file_;
  size_t chunk_size_;
  OpenedInput input_;
  std::unique_ptr<LineChunker> chunker_;
  InputFormat format_;
  const RawRecord* record_ = nullptr;
  std::optional<InputError> error_;
};

// Every file is open at once: allow as many as the system lets this process have.
void allow_open_files(size_t files) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= files + 16) return;
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, files + 16);
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

using Key = std::pair<int64_t, size_t>;  // (time, stream); a stream's position is implicit

// Where the merge's own thread, reading a stream alone, may hand its records on at once.
struct Direct {
  RecordSink& sink;
  size_t stream;  // its index
  Key limit;      // every other stream's first key: a record must come before it
};

// The sink a chunk read for Direct is parsed into (TimeMerge::read_directly).
class DirectSink : public RecordSink {
 public:
  DirectSink(const Direct& direct, FileStream& s, RecordBatch& rest)
      : direct_(direct), s_(s), rest_(rest) {}
  void on_record(const RawRecord& r) override {
    int64_t key = r.has_time ? r.time_ns : s_.time;
    if (!holding_ && Key(key, direct_.stream) < direct_.limit) {
      s_.time = key;
      direct_.sink.on_record(r);
      return;
    }
    holding_ = true;
    rest_.on_record(r);
  }
  bool on_bad_line(const BadLine& bad) override {
    holding_ = true;
    return rest_.on_bad_line(bad);
  }

 private:
  const Direct& direct_;
  FileStream& s_;
  RecordBatch& rest_;
  bool holding_ = false;
};

class TimeMerge {
 public:
  TimeMerge(const std::vector<std::string>& paths, const RoleConfig& roles, uint32_t first_file,
            unsigned helpers)
      : roles_(roles), parser_(roles), helpers_(helpers), most_ahead_(2 * helpers + 2) {
    size_t chunk_size = std::clamp(kBytesForAllStreams / (2 * paths.size()), kMinChunk, kMaxChunk);
    for (size_t i = 0; i < paths.size(); ++i)
      streams_.emplace_back(paths[i], first_file + uint32_t(i), chunk_size);
  }
  ~TimeMerge() { stop_helpers(); }

  IngestResult run(RecordSink& sink, const ProgressFn& progress, Dialect dialect) {
    allow_open_files(streams_.size());
    for (FileStream& s : streams_)
      if (auto error = s.open(dialect, roles_, sink, streams_.size())) return failed(*error);
    if (auto error = copies()) return failed(*error);
    // Scouted from the last stream back: one without any time takes the next one's first.
    int64_t next_first = std::numeric_limits<int64_t>::max();
    for (auto s = streams_.rbegin(); s != streams_.rend(); ++s)
      next_first = s->time = scout(*s).value_or(next_first);
    // A stream is not needed before its key: one without a time read yet is not the neediest.
    for (FileStream& s : streams_) s.reached = std::max(s.reached, s.time);
    start_helpers();
    for (FileStream& s : streams_)
      if (!advance(s)) return failed(*s.error());
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
          return finish();
        }
        if (s.ended) {
          if (std::string damage = s.damage(); !damage.empty())
            result_.damage.push_back(damage_note(s.path(), damage));
          break;
        }
        Direct direct{sink, i, heads.empty() ? kNoLimit : heads.top()};
        if (!advance(s, &direct)) return failed(*s.error());
        if (progress && bytes_read_ != told) progress(told = bytes_read_);
        if (!heads.empty() && heads.top() < Key(s.time, i)) {
          heads.emplace(s.time, i);
          break;
        }
      }
    }
    return finish();
  }

 private:
  // A file that holds the same log as one before it, by their first bytes (same_log.cpp).
  std::optional<InputError> copies() {
    std::vector<std::string_view> heads;
    std::vector<std::string> paths;
    for (FileStream& s : streams_) {
      heads.push_back(s.head());
      paths.push_back(s.path());
    }
    return same_log_among(heads, paths);
  }

  // The stream's first time, reading chunks ahead until one has it. Before the helpers start.
  std::optional<int64_t> scout(FileStream& s) {
    if (auto time = s.first_time_read()) return time;
    for (size_t i = 0; i < kMaxScoutChunks; ++i) {
      ParsedChunk parsed;
      if (!s.read_chunk(parser_, parsed)) {
        s.exhausted = true;
        return std::nullopt;
      }
      int64_t latest = parsed.batch.latest_time();
      parsed.scouted = true;
      took_chunk(s, std::move(parsed));
      if (latest != std::numeric_limits<int64_t>::min()) return s.first_time_read();
    }
    return s.first_time_beyond(parser_);
  }

  // A chunk read for `s`, kept until the merge reaches it. Under the lock once helpers run.
  void took_chunk(FileStream& s, ParsedChunk parsed) {
    counted(s, parsed);
    s.ready.push_back(std::move(parsed));
  }

  // The bytes of a chunk read for `s`, and how far in time its records reach.
  void counted(FileStream& s, const ParsedChunk& parsed) {
    bytes_read_ += parsed.chunk.size;
    s.reached = std::max(s.reached, parsed.batch.latest_time());
  }

  // The stream's next record or its end; false on a read error. With `direct` (the merge's
  // own thread reading alone), a chunk it reads hands its records straight to the sink while
  // they come before every other stream's.
  bool advance(FileStream& s, const Direct* direct = nullptr) {
    while (true) {
      FileStream::Step step = s.next();
      if (step == FileStream::Step::record) {
        if (s.record().has_time) s.time = s.record().time_ns;
        return true;
      }
      bool more =
          direct && helpers_ == 0 && s.ready.empty() ? read_directly(s, *direct) : take_chunk(s);
      if (!more) {
        if (s.error()) return false;
        s.ended = true;
        return true;
      }
    }
  }

  // Reads the stream's next chunk, its records going to the sink as they are parsed while
  // they come before `direct.limit`; from the first that does not (or a bad line, which waits
  // for its stream's next record), the rest of the chunk goes into the batch, to wait as any
  // read chunk does. A file read alone, or the stretch of a file no other overlaps, so costs
  // no batch. False at the stream's end.
  bool read_directly(FileStream& s, const Direct& direct) {
    ParsedChunk parsed = s.in_hand ? std::move(*s.in_hand) : ParsedChunk{};  // its storage
    s.in_hand.reset();
    if (!s.read_lines(parsed)) {
      s.exhausted = true;
      return false;
    }
    bytes_read_ += parsed.chunk.size;
    DirectSink sink(direct, s, parsed.batch);
    s.parse(parser_, parsed, sink);
    s.in_hand = std::move(parsed);
    return true;
  }

  // Puts the stream's next chunk in hand: one read ahead, or one read now if no thread is at
  // it; false at the stream's end.
  bool take_chunk(FileStream& s) {
    std::unique_lock lock(mutex_);
    while (true) {
      if (!s.ready.empty()) {
        if (s.in_hand) spares_.push_back(std::move(s.in_hand->bytes));
        s.in_hand = std::move(s.ready.front());
        s.ready.pop_front();
        changed_.notify_all();  // one chunk fewer ahead: a helper may read another
        return true;
      }
      if (s.exhausted) {
        s.in_hand.reset();
        return false;
      }
      if (!s.busy) {
        s.busy = true;
        ParsedChunk parsed = s.in_hand ? std::move(*s.in_hand) : ParsedChunk{};  // its storage
        lock.unlock();
        bool read = s.read_chunk(parser_, parsed);
        lock.lock();
        s.busy = false;
        changed_.notify_all();
        if (!read) {
          s.exhausted = true;
          continue;
        }
        counted(s, parsed);
        s.in_hand = std::move(parsed);
        return true;
      }
      changed_.wait(lock);  // a helper is reading this stream's next chunk
    }
  }

  // Hands the stream's waiting bad lines and its record to the sink; false when it asked to stop.
  static bool deliver(RecordSink& sink, FileStream& s) {
    for (const BadLine& bad : s.waiting)
      if (!sink.on_bad_line(bad)) return false;
    s.waiting.clear();
    if (!s.ended) sink.on_record(s.record());
    return true;
  }

  // The stream a helper should read for: the one whose chunks read reach the earliest time, so
  // the merge, which goes in time order, will run out of it first. Under the lock.
  FileStream* neediest() {
    if (ahead() >= most_ahead_) return nullptr;
    FileStream* best = nullptr;
    for (FileStream& s : streams_)
      if (!s.busy && !s.exhausted && (!best || s.reached < best->reached)) best = &s;
    return best;
  }

  size_t ahead() const {
    size_t chunks = 0;
    for (const FileStream& s : streams_) {
      chunks += s.busy;
      for (const ParsedChunk& parsed : s.ready) chunks += !parsed.scouted;
    }
    return chunks;
  }

  void help() {
    RecordParser parser(roles_);
    std::unique_lock lock(mutex_);
    while (true) {
      FileStream* s = nullptr;
      changed_.wait(lock, [&] { return stopping_ || (s = neediest()) != nullptr; });
      if (stopping_) return;
      s->busy = true;
      ParsedChunk parsed;
      if (!spares_.empty()) {
        parsed.bytes = std::move(spares_.back());
        spares_.pop_back();
      }
      lock.unlock();
      bool read = s->read_chunk(parser, parsed);
      lock.lock();
      s->busy = false;
      if (read)
        took_chunk(*s, std::move(parsed));
      else
        s->exhausted = true;
      changed_.notify_all();
    }
  }

  void start_helpers() {
    for (unsigned i = 0; i < helpers_; ++i) threads_.emplace_back([this] { help(); });
  }

  void stop_helpers() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  IngestResult finish() {
    stop_helpers();
    result_.bytes = bytes_read_;
    return std::move(result_);
  }

  IngestResult failed(const InputError& error) {
    result_.error = error;
    return finish();
  }

  const RoleConfig& roles_;
  RecordParser parser_;  // the merging thread's
  unsigned helpers_;
  size_t most_ahead_;               // chunks read ahead at most, over all streams
  std::deque<FileStream> streams_;  // in place: a stream's record points into its own chunks
  std::mutex mutex_;
  std::condition_variable changed_;        // a chunk was read or taken, or the helpers must stop
  std::vector<std::vector<char>> spares_;  // storage of chunks used up, for helpers to reuse
  std::vector<std::thread> threads_;
  bool stopping_ = false;
  std::atomic<uint64_t> bytes_read_ = 0;
  IngestResult result_;
};

}  // namespace

IngestResult ingest_by_time(const std::vector<std::string>& paths, const RoleConfig& roles,
                            RecordSink& sink, uint32_t first_file_index, const ProgressFn& progress,
                            unsigned threads, Dialect dialect) {
  unsigned helpers = threads > 1 ? threads - 1 : 0;
  return TimeMerge(paths, roles, first_file_index, helpers).run(sink, progress, dialect);
}

}  // namespace coroner
