#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "coroner/stage_stats.hpp"

namespace {

using coroner::DurationHistogram;

// The exact percentile by the same rank rule: the smallest value with at least ceil(p*n) values
// at or below it.
int64_t exact_percentile(std::vector<int64_t> values, double p) {
  std::sort(values.begin(), values.end());
  size_t rank = size_t(std::ceil(p * double(values.size())));
  rank = std::max<size_t>(rank, 1);
  return values[rank - 1];
}

void check_within_bound(const DurationHistogram& h, const std::vector<int64_t>& values, double p) {
  int64_t exact = exact_percentile(values, p);
  int64_t got = h.percentile(p);
  double error = std::abs(double(got) - double(exact));
  INFO("p=" << p << " exact=" << exact << " got=" << got);
  CHECK(error <= DurationHistogram::kRelativeError * double(exact) + 0.5);
}

}  // namespace

TEST_CASE("coroner::DurationHistogram") {
  SUBCASE("empty: zero everywhere") {
    DurationHistogram h;
    CHECK(h.count() == 0);
    CHECK(h.percentile(0.5) == 0);
    CHECK(h.percentile(0.99) == 0);
    CHECK(h.percentile(0) == 0);
    CHECK(h.percentile(1) == 0);
    CHECK(h.bins(10).empty());
  }

  SUBCASE("percentiles of random data are within the documented error") {
    std::mt19937_64 rng(12345);
    struct Shape {
      const char* name;
      std::function<int64_t()> draw;
    };
    std::lognormal_distribution<double> lognormal(std::log(5e6), 1.5);  // around 5 ms
    std::uniform_int_distribution<int64_t> uniform(0, 2'000'000'000);
    std::exponential_distribution<double> exponential(1.0 / 3e5);
    std::uniform_int_distribution<int64_t> tiny(0, 200);
    Shape shapes[] = {
        {"lognormal", [&] { return int64_t(lognormal(rng)); }},
        {"uniform", [&] { return uniform(rng); }},
        {"exponential", [&] { return int64_t(exponential(rng)); }},
        {"tiny", [&] { return tiny(rng); }},
    };
    for (auto& shape : shapes) {
      for (size_t n : {size_t(1), size_t(7), size_t(100), size_t(10'000)}) {
        INFO(shape.name << ", n=" << n);
        DurationHistogram h;
        std::vector<int64_t> values;
        for (size_t i = 0; i < n; ++i) {
          int64_t v = shape.draw();
          values.push_back(v);
          h.add(v);
        }
        CHECK(h.count() == n);
        CHECK(h.min() == *std::min_element(values.begin(), values.end()));
        CHECK(h.max() == *std::max_element(values.begin(), values.end()));
        for (double p : {0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0})
          check_within_bound(h, values, p);
      }
    }
  }

  SUBCASE("a single value is every percentile, exactly") {
    DurationHistogram h;
    h.add(123'456'789);
    CHECK(h.percentile(0) == 123'456'789);
    CHECK(h.percentile(0.5) == 123'456'789);
    CHECK(h.percentile(1) == 123'456'789);
    CHECK(h.min() == 123'456'789);
    CHECK(h.max() == 123'456'789);
  }

  SUBCASE("percentiles never leave the observed range, and p out of [0,1] is clamped") {
    DurationHistogram h;
    for (int64_t v : {1000, 1001, 1002}) h.add(v);
    CHECK(h.percentile(-1) >= 1000);
    CHECK(h.percentile(2) <= 1002);
    CHECK(h.percentile(1) == h.percentile(2));
  }

  SUBCASE("values under 64 ns are exact") {
    DurationHistogram h;
    std::vector<int64_t> values;
    for (int64_t v = 0; v < 64; ++v) {
      h.add(v);
      values.push_back(v);
    }
    for (double p : {0.1, 0.5, 0.9, 1.0}) CHECK(h.percentile(p) == exact_percentile(values, p));
  }

  SUBCASE("a negative duration counts as 0") {
    DurationHistogram h;
    h.add(-5);
    CHECK(h.count() == 1);
    CHECK(h.min() == 0);
    CHECK(h.percentile(0.5) == 0);
  }

  SUBCASE("bucket boundaries: buckets tile the numbers without gaps or overlaps") {
    for (size_t b = 0; b < 64; ++b) {
      CHECK(DurationHistogram::bucket_low(b) == int64_t(b));
      CHECK(DurationHistogram::bucket_high(b) == int64_t(b));
      CHECK(DurationHistogram::bucket_of(int64_t(b)) == b);
    }
    CHECK(DurationHistogram::bucket_of(64) == 64);
    CHECK(DurationHistogram::bucket_low(64) == 64);
    // 32 buckets per power of two: from 64 to 127 each bucket is 2 ns wide.
    CHECK(DurationHistogram::bucket_high(64) == 65);
    CHECK(DurationHistogram::bucket_of(128) == 96);
    CHECK(DurationHistogram::bucket_low(96) == 128);
    size_t last = DurationHistogram::bucket_of(int64_t(1) << 50);
    for (size_t b = 64; b < last; ++b) {
      int64_t low = DurationHistogram::bucket_low(b);
      int64_t high = DurationHistogram::bucket_high(b);
      INFO("bucket " << b << " [" << low << ", " << high << "]");
      REQUIRE(low <= high);
      CHECK(DurationHistogram::bucket_low(b + 1) == high + 1);
      CHECK(DurationHistogram::bucket_of(low) == b);
      CHECK(DurationHistogram::bucket_of(high) == b);
      // The width bound that makes the midpoint within kRelativeError of any value inside.
      CHECK(double(high - low) / 2 <= DurationHistogram::kRelativeError * double(low) + 0.5);
    }
  }

  SUBCASE("durations of decades have a bucket") {
    DurationHistogram h;
    h.add(int64_t(1) << 61);  // 73 years
    h.add(int64_t(1) << 60);
    CHECK(h.count() == 2);
    CHECK(h.max() == int64_t(1) << 61);
    CHECK(h.percentile(1) == int64_t(1) << 61);
    check_within_bound(h, {int64_t(1) << 61, int64_t(1) << 60}, 0.5);
    CHECK(h.percentile(0.5) >= int64_t(1) << 60);
  }

  SUBCASE("bins hold every value, in increasing ranges") {
    DurationHistogram h;
    std::mt19937_64 rng(7);
    std::lognormal_distribution<double> d(std::log(1e6), 2.0);
    for (int i = 0; i < 5000; ++i) h.add(int64_t(d(rng)) + 1);
    auto bins = h.bins(20);
    REQUIRE(bins.size() == 20);
    uint64_t total = 0;
    for (size_t i = 0; i < bins.size(); ++i) {
      total += bins[i].count;
      CHECK(bins[i].low <= bins[i].high);
      if (i > 0) CHECK(bins[i].low >= bins[i - 1].low);
    }
    CHECK(total == 5000);
    CHECK(h.bins(0).empty());
  }

  SUBCASE("bins of one repeated value put them all in one bin") {
    DurationHistogram h;
    for (int i = 0; i < 10; ++i) h.add(5'000'000);
    auto bins = h.bins(4);
    uint64_t total = 0, nonempty = 0;
    for (const auto& b : bins) {
      total += b.count;
      nonempty += b.count > 0;
    }
    CHECK(total == 10);
    CHECK(nonempty == 1);
  }
}

// Past 2^62 ns (146 years: only a log with a wrong time gives it) durations are clamped, so the
// bucket arithmetic never leaves int64_t (UBSan checks it in the sanitizer pass).
TEST_CASE("coroner::DurationHistogram the largest durations") {
  DurationHistogram h;
  h.add(int64_t(1) << 62);
  CHECK(h.percentile(1) == int64_t(1) << 62);
  h.add(INT64_MAX);
  CHECK(h.count() == 2);
  CHECK(h.max() == DurationHistogram::kMaxDuration);
  CHECK(h.percentile(1) == DurationHistogram::kMaxDuration);
  CHECK(h.percentile(0.5) <= h.percentile(1));
  CHECK(DurationHistogram::bucket_high(DurationHistogram::bucket_of(INT64_MAX)) ==
        DurationHistogram::kMaxDuration);
}

TEST_CASE("coroner::DurationHistogram merge") {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> d(std::log(1e6), 2.5);
  std::vector<int64_t> values;
  DurationHistogram whole, left, right;
  for (int i = 0; i < 4000; ++i) {
    int64_t v = int64_t(d(rng));
    values.push_back(v);
    whole.add(v);
    (i % 3 == 0 ? left : right).add(v);
  }
  SUBCASE("two halves merged are the whole, whatever the order") {
    DurationHistogram a = left, b = right;
    a.merge(right);
    b.merge(left);
    for (const DurationHistogram* h : {&a, &b}) {
      CHECK(h->count() == whole.count());
      CHECK(h->min() == whole.min());
      CHECK(h->max() == whole.max());
      for (double p : {0.01, 0.5, 0.95, 0.99, 1.0}) CHECK(h->percentile(p) == whole.percentile(p));
    }
  }
  SUBCASE("a part subtracted leaves the rest, in every bucket") {
    DurationHistogram rest = whole;
    rest.subtract(left);
    CHECK(rest.count() == right.count());
    for (double p : {0.01, 0.5, 0.95, 0.99, 1.0}) CHECK(rest.percentile(p) == right.percentile(p));
    rest.subtract(right);
    CHECK(rest.count() == 0);
    CHECK(rest.percentile(0.99) == 0);
  }
  SUBCASE("merging into an empty one, and an empty one into another") {
    DurationHistogram empty, copy = whole;
    empty.merge(whole);
    copy.merge(DurationHistogram{});
    CHECK(empty.percentile(0.99) == whole.percentile(0.99));
    CHECK(copy.count() == whole.count());
  }
  SUBCASE("a histogram that grows downwards keeps its counts") {
    DurationHistogram h;
    h.add(5'000'000);
    h.add(10);
    h.add(1'000);
    CHECK(h.count() == 3);
    CHECK(h.percentile(0.0) == 10);
    CHECK(h.percentile(1.0) == 5'000'000);
    check_within_bound(h, {5'000'000, 10, 1'000}, 0.5);
  }
}

TEST_CASE("coroner::DurationHistogram remove takes back what add put in") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> ms(1, 500);
  DurationHistogram h;
  std::vector<int64_t> kept;
  for (int i = 0; i < 1000; ++i) {
    int64_t d = ms(rng) * 1'000'000;
    h.add(d);
    kept.push_back(d);
  }
  // A stuck run, added and taken back: the statistics are those of the normal runs.
  h.add(int64_t(100) * 1'000'000'000);
  h.remove(int64_t(100) * 1'000'000'000);
  CHECK(h.count() == kept.size());
  for (double p : {0.5, 0.95, 0.99}) check_within_bound(h, kept, p);
  int64_t top = *std::max_element(kept.begin(), kept.end());
  CHECK(h.max() >= top);
  CHECK(double(h.max()) <= double(top) * (1 + DurationHistogram::kRelativeError) + 1);
  // Removing what was never added changes nothing.
  h.remove(int64_t(7) * 1'000'000'000'000);
  CHECK(h.count() == kept.size());
  // Down to empty.
  for (int64_t d : kept) h.remove(d);
  CHECK(h.count() == 0);
  CHECK(h.max() == 0);
  CHECK(h.percentile(0.99) == 0);
}
