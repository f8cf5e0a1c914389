// A shard's partial state (`coroner partial`): everything reading its logs told the analysis
// (each file's name and format, every record as parsed, every bad line, damaged inputs), in a
// compact binary form that is the same bytes on every machine. States merge by time, each
// shard's records kept in their order (StateMerge); a merged state (`merge --emit-state`) keeps
// its inputs' parts apart, so merging is associative and can be a tree.
// docs/STATE_FORMAT.md documents the bytes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/ingest.hpp"
#include "coroner/record.hpp"
#include "coroner/version.hpp"

namespace coroner {

// Bumped whenever the bytes or the meaning of a state change.
inline constexpr uint32_t kStateFormatVersion = 5;

struct StateHeader {
  uint32_t format_version = kStateFormatVersion;
  std::string coroner_version{
      kVersion};  // the writer's: records mean what that version's parser read
  // The options that acted while reading, as command-line words ("--field", "task=id"): states
  // read with different ones do not merge.
  std::vector<std::string> reading_arguments;
  // The shards' states it holds, one after another: 1 as `partial` writes it, more once merged.
  uint64_t parts = 1;
};

// Writes a state's first line and its header block.
void write_state_header(std::FILE* out, const StateHeader& header);

// What a state's contents are handed to: each part's in the order written, parts merged by time.
class StateSink : public RecordSink {
 public:
  // A new input file; the records and bad lines that follow name it by the index returned.
  virtual uint32_t add_file(std::string name) = 0;
  // A note about an input that was damaged but read (a truncated gzip).
  virtual void add_damage(std::string note) = 0;
};

// Writes a state. Give it the files, then use it as the sink of ingest(), then finish().
class StateWriter : public StateSink {
 public:
  // `out` stays open; the writer flushes it at finish().
  StateWriter(std::FILE* out, const StateHeader& header, bool strict);
  ~StateWriter() override;
  StateWriter(const StateWriter&) = delete;
  StateWriter& operator=(const StateWriter&) = delete;

  uint32_t add_file(std::string name) override;
  void add_damage(std::string note) override;
  void on_input_format(uint32_t file, const InputFormat& format) override;
  void on_record(const RawRecord& record) override;
  bool on_bad_line(const BadLine& bad) override;
  // Ends the state. False when it could not be written (errno tells why).
  bool finish();
  uint64_t records() const;
  // The first bad line once a strict writer stopped on it.
  const std::optional<BadLine>& stopped_at() const { return stopped_at_; }

 private:
  class Encoder;
  std::unique_ptr<Encoder> encoder_;
  bool strict_;
  uint32_t files_ = 0;
  uint64_t bad_lines_ = 0;
  std::optional<BadLine> stopped_at_;
};

class ByteSource;
class StateMerge;

// Opens a state and reads its header; its contents go to a sink (replay(), or several states
// through one StateMerge) or are copied into a merged state (copy_blocks()).
class StateReader {
 public:
  // An error is "FILE: why" (its line is 0): not a state, another version, damaged. A state
  // written by another version of coroner is an error too: its records are what that version's
  // parser read, and merged with this one's they could give a report that neither would.
  static std::optional<StateReader> open(const std::string& path, InputError& error);
  ~StateReader();
  StateReader(StateReader&&) noexcept;
  StateReader& operator=(StateReader&&) noexcept;

  const StateHeader& header() const { return header_; }
  // Hands the contents to `sink`, its parts merged by time as StateMerge does (the reader is
  // used up). A damaged state is an error, told before or after some contents reached the
  // sink: a caller reports nothing built from a state that failed. `progress` hears the bytes
  // read so far.
  std::optional<InputError> replay(StateSink& sink, const ProgressFn& progress = nullptr);
  // Copies its parts, as they are, behind a header written with write_state_header() whose
  // `parts` counts them: merging states into one costs a copy. Each block's checksum is checked;
  // the records are read (and a damaged entry found) when the merged state is.
  std::optional<InputError> copy_blocks(std::FILE* out, const ProgressFn& progress = nullptr);

 private:
  friend class StateMerge;
  StateReader(std::string path, std::unique_ptr<ByteSource> source);
  std::string path_;
  std::unique_ptr<ByteSource> source_;  // after the header
  uint64_t header_end_ = 0;             // the offset of the first block after the header
  bool seekable_ = false;               // a plain file, read again at any offset
  StateHeader header_;
};

// States merged by time: every part of every state added is a stream (in the order added, then
// the order of the parts), and their records go to the sink merged on (time, stream, position
// in the stream); a record without a time stays right after the one before it in its stream
// (or, before its stream's first time, right before the first time after it in stream order).
// Each stream's files and the formats met before its first record go to the sink first, in
// stream order; its bad lines and damage go just before its next record (or after its last).
// So shards that follow each other in time are read exactly as their logs one after another.
class StateMerge {
 public:
  StateMerge();
  ~StateMerge();
  StateMerge(const StateMerge&) = delete;
  StateMerge& operator=(const StateMerge&) = delete;

  // Takes the state's parts as the next streams and closes it: a stream opens its file only
  // to read a block. A state that cannot be read at any offset (compressed, standard input) is
  // first copied to a temporary file, unlinked, one for all of them.
  std::optional<InputError> add(StateReader reader);
  std::optional<InputError> replay(StateSink& sink, const ProgressFn& progress = nullptr);
  // For the fuzz target and the tests: a state in memory, which must outlive the merge.
  std::optional<InputError> add_bytes(std::string_view bytes, StateHeader* header);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The same state, decoded from bytes in memory: what the fuzz target and the tests feed.
std::optional<InputError> replay_state_bytes(std::string_view bytes, StateSink& sink,
                                             StateHeader* header = nullptr);

}  // namespace coroner
