#include "coroner/stage_stats.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace coroner {

namespace {
constexpr int kSubBits = 5;  // 32 buckets per power of two
constexpr int64_t kExact = 64;

// bucket_of, inlined into add(): two calls for every stage a task leaves were 1-2% of a run.
[[gnu::always_inline]] inline size_t bucket_index(int64_t ns) {
  ns = std::min(ns, DurationHistogram::kMaxDuration);
  if (ns < kExact) return size_t(std::max<int64_t>(ns, 0));
  int exponent = 63 - std::countl_zero(uint64_t(ns));  // >= 6
  size_t sub = size_t(ns >> (exponent - kSubBits)) & ((1u << kSubBits) - 1);
  return size_t(kExact) + size_t(exponent - 6) * (1u << kSubBits) + sub;
}

}  // namespace

size_t DurationHistogram::bucket_of(int64_t ns) {
  return bucket_index(ns);
}

int64_t DurationHistogram::bucket_low(size_t bucket) {
  if (bucket < size_t(kExact)) return int64_t(bucket);
  size_t rest = bucket - size_t(kExact);
  int exponent = int(rest >> kSubBits) + 6;
  int64_t sub = int64_t(rest & ((1u << kSubBits) - 1));
  return (int64_t(1) << exponent) + (sub << (exponent - kSubBits));
}

int64_t DurationHistogram::bucket_high(size_t bucket) {
  if (bucket < size_t(kExact)) return int64_t(bucket);
  // The top bucket holds only the clamped maximum; above it bucket_low would pass 2^63.
  if (bucket >= bucket_of(kMaxDuration)) return kMaxDuration;
  return bucket_low(bucket + 1) - 1;
}

void DurationHistogram::add(int64_t ns) {
  // Past 2^62 ns (146 years) a duration is a broken timestamp; clamping keeps the arithmetic of
  // the buckets inside int64.
  ns = std::clamp<int64_t>(ns, 0, kMaxDuration);
  size_t b = bucket_index(ns);
  // Most durations fall in buckets a stage already has: only the others grow the counters.
  if (b < first_bucket_ || b - first_bucket_ >= buckets_.size()) cover(b);
  ++buckets_[b - first_bucket_];
  if (count_ == 0 || ns > max_) max_ = ns;
  if (count_ == 0 || ns < min_) min_ = ns;
  ++count_;
}

void DurationHistogram::remove(int64_t ns) {
  ns = std::clamp<int64_t>(ns, 0, kMaxDuration);
  size_t b = bucket_of(ns);
  if (b < first_bucket_ || b - first_bucket_ >= buckets_.size() || buckets_[b - first_bucket_] == 0)
    return;
  --buckets_[b - first_bucket_];
  --count_;
  narrow_extremes();
}

// After durations were taken back: the extremes within the buckets still counted (a bucket's
// width off at most), or 0 when none is.
void DurationHistogram::narrow_extremes() {
  if (count_ == 0) {
    max_ = min_ = 0;
    return;
  }
  size_t top = buckets_.size(), bottom = 0;
  while (buckets_[top - 1] == 0) --top;
  while (buckets_[bottom] == 0) ++bottom;
  max_ = std::min(max_, bucket_high(first_bucket_ + top - 1));
  min_ = std::max(min_, bucket_low(first_bucket_ + bottom));
}

void DurationHistogram::cover(size_t bucket) {
  if (buckets_.empty()) {
    first_bucket_ = bucket;
    buckets_.assign(1, 0);
  } else if (bucket < first_bucket_) {
    buckets_.insert(buckets_.begin(), first_bucket_ - bucket, 0);
    first_bucket_ = bucket;
  } else if (bucket >= first_bucket_ + buckets_.size()) {
    buckets_.resize(bucket - first_bucket_ + 1, 0);
  }
}

void DurationHistogram::subtract(const DurationHistogram& other) {
  for (size_t i = 0; i < other.buckets_.size(); ++i) {
    size_t b = other.first_bucket_ + i;
    if (b < first_bucket_ || b - first_bucket_ >= buckets_.size()) continue;
    uint32_t& mine = buckets_[b - first_bucket_];
    uint32_t taken = std::min(mine, other.buckets_[i]);
    mine -= taken;
    count_ -= taken;
  }
  narrow_extremes();
}

void DurationHistogram::merge(const DurationHistogram& other) {
  if (other.count_ == 0) return;
  cover(other.first_bucket_);
  cover(other.first_bucket_ + other.buckets_.size() - 1);
  for (size_t i = 0; i < other.buckets_.size(); ++i)
    buckets_[other.first_bucket_ + i - first_bucket_] += other.buckets_[i];
  max_ = count_ == 0 ? other.max_ : std::max(max_, other.max_);
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  count_ += other.count_;
}

int64_t DurationHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  uint64_t rank = uint64_t(std::ceil(std::clamp(p, 0.0, 1.0) * double(count_)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    size_t b = first_bucket_ + i;
    if (seen >= rank) {
      int64_t mid = bucket_low(b) + (bucket_high(b) - bucket_low(b)) / 2;
      // The true value lies in the bucket and within the observed range.
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

std::vector<DurationHistogram::Bin> DurationHistogram::bins(size_t n) const {
  std::vector<Bin> out;
  if (count_ == 0 || n == 0) return out;
  double lo = std::log(double(std::max<int64_t>(min_, 1)));
  double hi = std::log(double(std::max<int64_t>(max_, 1))) + 1e-9;
  double width = (hi - lo) / double(n);
  out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].low = int64_t(std::exp(lo + width * double(i)));
    out[i].high = int64_t(std::exp(lo + width * double(i + 1)));
  }
  for (size_t k = 0; k < buckets_.size(); ++k) {
    if (buckets_[k] == 0) continue;
    size_t b = first_bucket_ + k;
    int64_t mid = std::clamp(bucket_low(b) + (bucket_high(b) - bucket_low(b)) / 2, min_, max_);
    double x = std::log(double(std::max<int64_t>(mid, 1)));
    size_t i = width > 0 ? size_t(std::clamp((x - lo) / width, 0.0, double(n - 1))) : 0;
    out[i].count += buckets_[k];
  }
  return out;
}

}  // namespace coroner
