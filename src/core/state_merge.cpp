// `coroner merge`: the parts of states merged by time (StateMerge, include/coroner/state.hpp).
// Each part is a stream read one record at a time; the stream whose record comes first on
// (time, stream, position) hands it to the sink. A stream keeps its own order: its key is its
// next record's time, or for a record without one the last time it had, so a record without a
// time stays after the one before it. The records without a time that open a stream take the
// first time after them in stream order (a scout reads ahead for the stream's own; a stream
// without any takes the next stream's), so they stay before the record that follows them.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <queue>
#include <variant>

#include "coroner/state.hpp"
#include "reader.hpp"
#include "state_stream.hpp"

namespace coroner {

using namespace state;

namespace {

// Hears nothing: a scout reading ahead.
class Deaf : public StateSink {
 public:
  uint32_t add_file(std::string) override { return files_++; }
  void add_damage(std::string) override {}
  void on_record(const RawRecord&) override {}
  bool on_bad_line(const BadLine&) override { return true; }

 private:
  uint32_t files_ = 0;
};

// The time of the part's first record that has one, if any has (damage is left for the
// stream's own decoder to find).
std::optional<int64_t> first_time(const StateBytes* bytes, uint64_t offset) {
  PartDecoder scout(bytes, offset);
  Deaf deaf;
  while (scout.next(deaf) == PartDecoder::Step::record)
    if (scout.record().has_time) return scout.record().time_ns;
  return std::nullopt;
}

struct Stream {
  Stream(std::string name, const StateBytes* bytes, uint64_t offset)
      : name(std::move(name)),
        decoder(std::in_place, bytes, offset),
        first(first_time(bytes, offset)) {}
  std::string name;                    // the state's, for errors
  std::optional<PartDecoder> decoder;  // gone once the part is read and handed on
  // The bad lines and damage met since the stream's last record: they go to the sink just
  // before its next record, where they were in the part.
  std::vector<std::variant<BadLine, std::string>> waiting;
  std::optional<int64_t> first;  // the time of its first record that has one
  int64_t time = 0;              // its key: see the file's comment
  bool ended = false;            // its next step is its end
  uint64_t bytes_read = 0;
};

// What a stream's decoder meets besides records: files and formats go on to the merge's sink
// at once, bad lines and damage wait for the stream's turn.
class Holder : public StateSink {
 public:
  Holder(StateSink& sink, Stream& stream) : sink_(sink), stream_(stream) {}
  uint32_t add_file(std::string name) override { return sink_.add_file(std::move(name)); }
  void on_input_format(uint32_t file, const InputFormat& format) override {
    sink_.on_input_format(file, format);
  }
  void add_damage(std::string note) override { stream_.waiting.emplace_back(std::move(note)); }
  bool on_bad_line(const BadLine& bad) override {
    stream_.waiting.emplace_back(bad);
    return true;
  }
  void on_record(const RawRecord&) override {}  // records come from next()

 private:
  StateSink& sink_;
  Stream& stream_;
};

// The temporary file that states which cannot be read at any offset are copied to, unlinked
// as soon as it is made.
int make_spool(std::string& error) {
  const char* dir = std::getenv("TMPDIR");
  std::string name = std::string(dir && *dir ? dir : "/tmp") + "/coroner-merge-XXXXXX";
  int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) {
    error = fmt::format("cannot make a temporary file in {}: {}", name.substr(0, name.rfind('/')),
                        strerror(errno));
    return -1;
  }
  ::unlink(name.c_str());
  return fd;
}

}  // namespace

struct StateMerge::Impl {
  ~Impl() {
    if (spool >= 0) ::close(spool);
  }

  std::optional<InputError> add_parts(const std::string& name, StateBytes bytes, uint64_t begin,
                                      uint64_t end, uint64_t parts) {
    const StateBytes* kept = &sources.emplace_back(std::move(bytes));
    std::vector<uint64_t> starts;
    if (std::string why = kept->find_parts(begin, end, parts, starts); !why.empty())
      return InputError{name, 0, why};
    for (uint64_t start : starts) streams.emplace_back(name, kept, start);
    return std::nullopt;
  }

  // The stream's next record or its end; false on damage (error says what).
  bool advance(StateSink& sink, Stream& s) {
    Holder holder(sink, s);
    PartDecoder& decoder = *s.decoder;
    PartDecoder::Step step = decoder.next(holder);
    bytes_read += decoder.bytes_read() - s.bytes_read;
    s.bytes_read = decoder.bytes_read();
    if (step == PartDecoder::Step::error) {
      error = InputError{s.name, 0, decoder.error()};
      return false;
    }
    if (step == PartDecoder::Step::end)
      s.ended = true;
    else if (decoder.record().has_time)
      s.time = decoder.record().time_ns;
    return true;
  }

  // Hands the stream's waiting entries and its record (or its end) to the sink.
  void deliver(StateSink& sink, Stream& s) {
    for (auto& entry : s.waiting) {
      if (auto* bad = std::get_if<BadLine>(&entry))
        sink.on_bad_line(*bad);
      else
        sink.add_damage(std::move(std::get<std::string>(entry)));
    }
    s.waiting.clear();
    if (s.ended)
      s.decoder.reset();
    else
      sink.on_record(s.decoder->record());
  }

  std::optional<InputError> replay(StateSink& sink, const ProgressFn& progress) {
    int64_t next = std::numeric_limits<int64_t>::max();  // after the last stream's records
    for (auto s = streams.rbegin(); s != streams.rend(); ++s)
      next = s->time = s->first.value_or(next);
    // Every stream read to its first record, in order: their files reach the sink in order.
    for (Stream& s : streams)
      if (!advance(sink, s)) return error;
    using Key = std::pair<int64_t, size_t>;  // (time, stream); a stream's position is implicit
    std::priority_queue<Key, std::vector<Key>, std::greater<Key>> heads;
    for (size_t i = 0; i < streams.size(); ++i) heads.emplace(streams[i].time, i);
    uint64_t told = 0;
    while (!heads.empty()) {
      size_t i = heads.top().second;
      heads.pop();
      Stream& s = streams[i];
      // The same stream goes on while its records come before every other stream's.
      while (true) {
        deliver(sink, s);
        if (!s.decoder) break;
        if (!advance(sink, s)) return error;
        if (progress && bytes_read != told) progress(told = bytes_read);  // once a block
        if (!heads.empty() && heads.top() < Key(s.time, i)) {
          heads.emplace(s.time, i);
          break;
        }
      }
    }
    return std::nullopt;
  }

  std::deque<StateBytes> sources;
  std::deque<Stream> streams;  // in place: a decoder's record views its own block and ring
  int spool = -1;
  uint64_t bytes_read = 0;
  InputError error;
};

StateMerge::StateMerge() : impl_(std::make_unique<Impl>()) {}
StateMerge::~StateMerge() = default;

std::optional<InputError> StateMerge::add(StateReader reader) {
  const std::string& name = reader.path_;
  if (reader.seekable_) {
    reader.source_.reset();  // read again a block at a time
    StateBytes bytes = StateBytes::file(name);
    uint64_t size = 0;
    if (std::string why = bytes.size(size); !why.empty()) return InputError{name, 0, why};
    return impl_->add_parts(name, std::move(bytes), reader.header_end_, size, reader.header_.parts);
  }
  std::string why;
  if (impl_->spool < 0 && (impl_->spool = make_spool(why)) < 0) return InputError{name, 0, why};
  off_t begin = ::lseek(impl_->spool, 0, SEEK_END);
  if (begin >= 0) why = copy_rest(*reader.source_, impl_->spool);
  reader.source_.reset();
  off_t end = ::lseek(impl_->spool, 0, SEEK_END);
  if (why.empty() && (begin < 0 || end < 0)) why = strerror(errno);
  if (!why.empty()) return InputError{name, 0, why};
  return impl_->add_parts(name, StateBytes::descriptor(impl_->spool), uint64_t(begin),
                          uint64_t(end), reader.header_.parts);
}

std::optional<InputError> StateMerge::add_bytes(std::string_view bytes, StateHeader* header) {
  class View : public ByteSource {
   public:
    explicit View(std::string_view bytes) : bytes_(bytes) {}
    size_t read(char* dest, size_t size) override {
      size_t n = std::min(size, bytes_.size());
      std::memcpy(dest, bytes_.data(), n);
      bytes_.remove_prefix(n);
      return n;
    }

   private:
    std::string_view bytes_;
  } source(bytes);
  StateHeader read;
  uint64_t begin = 0;
  std::string why = read_header(source, read, begin);
  if (header) *header = read;
  if (!why.empty()) return InputError{"<state>", 0, why};
  return impl_->add_parts("<state>", StateBytes::memory(bytes), begin, bytes.size(), read.parts);
}

std::optional<InputError> StateMerge::replay(StateSink& sink, const ProgressFn& progress) {
  return impl_->replay(sink, progress);
}

}  // namespace coroner
