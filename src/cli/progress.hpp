// Progress of a long run on stderr: bytes read (of the total where known), records, tasks, rate
// and time left, redrawn in place on a terminal about twice a second after the first second,
// and erased before the report is written.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace coroner::cli {

enum class ProgressMode { off, in_place, lines };

// --progress auto|always|never with -q and whether stderr is a terminal: what to show. -q wins;
// auto shows it on a terminal only; always shows it elsewhere as plain lines.
ProgressMode progress_mode(const std::string& option, bool quiet, bool stderr_is_terminal);

// The bytes the inputs will give when read, or none when one of them cannot tell (a pipe, a
// compressed file, whose size is not what it decompresses to).
std::optional<uint64_t> input_size(const std::vector<std::string>& paths);

class Progress {
 public:
  Progress(ProgressMode mode, std::optional<uint64_t> total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // From the thread that reads: how far it got. Cheap: the drawing happens on a thread of its own,
  // so a pipe that stalls still shows the progress so far.
  void update(uint64_t bytes, uint64_t records, uint64_t tasks);
  // Stops drawing and erases the line: call before anything else is written.
  void finish();

  // One line of progress ("312.4 of 658.5 MB (47%), 5.4M records, 1.8M tasks, 210.3 MB/s, 2s
  // left"): a pure function of the numbers, for the tests.
  static std::string describe(uint64_t bytes, std::optional<uint64_t> total, uint64_t records,
                              uint64_t tasks, double seconds);

 private:
  void draw_until_finished();

  ProgressMode mode_;
  std::optional<uint64_t> total_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<uint64_t> bytes_{0}, records_{0}, tasks_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
  bool shown_ = false;
  std::thread drawer_;
};

}  // namespace coroner::cli
