// Per-stage duration statistics in log-scale buckets: bounded memory, whatever the record count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace coroner {

// Durations in nanoseconds, bucketed with 32 buckets per power of two (values under 64 ns are
// exact). A reported percentile is the midpoint of its bucket: within 1.6% of the true value.
class DurationHistogram {
 public:
  static constexpr double kRelativeError = 1.0 / 64;
  static constexpr int64_t kMaxDuration = int64_t(1) << 62;

  void add(int64_t ns);
  // Takes back a duration added before; the extremes then hold to within a bucket's width.
  void remove(int64_t ns);
  // Adds every duration of `other`: the histogram of both logs' durations.
  void merge(const DurationHistogram& other);
  // Takes back every duration of `other`, which were all added before (its buckets are a part
  // of these); the extremes then hold to within a bucket's width.
  void subtract(const DurationHistogram& other);
  uint64_t count() const { return count_; }
  int64_t max() const { return max_; }
  int64_t min() const { return min_; }
  // p in [0, 1]; 0 when empty.
  int64_t percentile(double p) const;
  // Counts per log bucket merged into `n` equal-width bins of log(duration), for histograms.
  struct Bin {
    int64_t low = 0, high = 0;
    uint64_t count = 0;
  };
  std::vector<Bin> bins(size_t n) const;

  static size_t bucket_of(int64_t ns);
  static int64_t bucket_low(size_t bucket);
  static int64_t bucket_high(size_t bucket);

 private:
  // Counts of buckets first_bucket_ onwards: a stage seen a few times costs a few counters, so
  // every stage name of a log can have one until the rarest fold (TaskStore::finish()).
  void cover(size_t bucket);
  void narrow_extremes();
  std::vector<uint32_t> buckets_;
  size_t first_bucket_ = 0;
  uint64_t count_ = 0;
  int64_t max_ = 0;
  int64_t min_ = 0;
};

struct StageStats {
  uint64_t records = 0;      // records logged with this stage name
  uint64_t occurrences = 0;  // times a task entered the stage
  uint64_t errors = 0;       // runs of the stage that logged an error (at most `occurrences`)
  uint64_t tasks_ended_here = 0;
  // The files its records came from, a bit each (the 64th and later files share the last bit):
  // stages of files read together that share none are judged as if read alone (lifecycle.hpp).
  uint64_t files = 0;
  DurationHistogram durations;  // entering the stage to entering the next one
  // Of those, the runs a task the asyncio module traces ended by entering the stage again (each
  // of its stage() records begins a run). The others end a stay in the stage, and its last run
  // may be of another length (the work after its last progress record). Empty in most logs:
  // the path of a record pays nothing for it.
  DurationHistogram repeat_runs;
};

}  // namespace coroner
