#include "progress.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "coroner/timestamp.hpp"

namespace coroner::cli {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kQuietStart = std::chrono::seconds(1);  // a short run shows nothing
constexpr auto kRedraw = std::chrono::milliseconds(500);

// "5.4M", "812.0k", "93": a count at a glance.
std::string count(uint64_t n) {
  if (n >= 1'000'000) return fmt::format("{:.1f}M", double(n) / 1e6);
  if (n >= 10'000) return fmt::format("{:.1f}k", double(n) / 1e3);
  return std::to_string(n);
}

// Gzip and zstd streams start with these bytes: their size says nothing of what they hold.
bool is_compressed(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char magic[4] = {};
  in.read(reinterpret_cast<char*>(magic), sizeof magic);
  if (in.gcount() >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return true;
  return in.gcount() == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f &&
         magic[3] == 0xfd;
}

}  // namespace

ProgressMode progress_mode(const std::string& option, bool quiet, bool stderr_is_terminal) {
  if (quiet || option == "never") return ProgressMode::off;
  if (stderr_is_terminal) return ProgressMode::in_place;
  return option == "always" ? ProgressMode::lines : ProgressMode::off;
}

std::optional<uint64_t> input_size(const std::vector<std::string>& paths) {
  uint64_t total = 0;
  for (const std::string& path : paths) {
    struct stat st {};
    if (path == "-" || stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || is_compressed(path))
      return std::nullopt;
    total += uint64_t(st.st_size);
  }
  return total;
}

Progress::Progress(ProgressMode mode, std::optional<uint64_t> total)
    : mode_(mode), total_(total), start_(Clock::now()) {
  if (mode_ != ProgressMode::off) drawer_ = std::thread([this] { draw_until_finished(); });
}

Progress::~Progress() {
  finish();
}

void Progress::update(uint64_t bytes, uint64_t records, uint64_t tasks) {
  bytes_.store(bytes, std::memory_order_relaxed);
  records_.store(records, std::memory_order_relaxed);
  tasks_.store(tasks, std::memory_order_relaxed);
}

void Progress::finish() {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = true;
  }
  wake_.notify_all();
  if (drawer_.joinable()) drawer_.join();
  if (shown_ && mode_ == ProgressMode::in_place) std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
}

void Progress::draw_until_finished() {
  std::unique_lock lock(mutex_);
  if (wake_.wait_for(lock, kQuietStart, [this] { return finished_; })) return;
  do {
    double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    std::string line = describe(bytes_.load(std::memory_order_relaxed), total_,
                                records_.load(std::memory_order_relaxed),
                                tasks_.load(std::memory_order_relaxed), seconds);
    if (mode_ == ProgressMode::in_place)
      std::fprintf(stderr, "\r\x1b[K%s", line.c_str());
    else
      std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
    shown_ = true;
  } while (!wake_.wait_for(lock, kRedraw, [this] { return finished_; }));
}

std::string Progress::describe(uint64_t bytes, std::optional<uint64_t> total, uint64_t records,
                               uint64_t tasks, double seconds) {
  double mb = double(bytes) / 1e6;
  std::string read = total && *total > 0
                         ? fmt::format("{:.1f} of {:.1f} MB ({}%)", mb, double(*total) / 1e6,
                                       std::min<uint64_t>(100, bytes * 100 / *total))
                         : fmt::format("{:.1f} MB", mb);
  std::string line =
      fmt::format("coroner: read {}, {} records, {} tasks", read, count(records), count(tasks));
  if (seconds <= 0) return line;
  double rate = mb / seconds;
  line += fmt::format(", {:.1f} MB/s", rate);
  if (total && bytes > 0 && bytes < *total && rate > 0) {
    double left = double(*total - bytes) / 1e6 / rate;
    line += ", " + format_duration(int64_t(left * 1e9)) + " left";
  }
  return line;
}

}  // namespace coroner::cli
