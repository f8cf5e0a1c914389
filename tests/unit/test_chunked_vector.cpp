#include <doctest/doctest.h>

#include <memory>
#include <numeric>
#include <vector>

#include "coroner/chunked_vector.hpp"

TEST_CASE("coroner::ChunkedVector keeps elements in place across chunks") {
  coroner::ChunkedVector<std::unique_ptr<int>, 4> v;  // chunks of 16: growth is exercised
  CHECK(v.empty());
  std::vector<int*> addresses;
  for (int i = 0; i < 1000; ++i) {
    v.push_back(std::make_unique<int>(i));
    addresses.push_back(v.back().get());
  }
  REQUIRE(v.size() == 1000);
  const int* first_slot = reinterpret_cast<const int*>(&v[0]);
  for (int i = 0; i < 1000; ++i) {
    CHECK(*v[size_t(i)] == i);
    CHECK(v[size_t(i)].get() == addresses[size_t(i)]);
  }
  CHECK(reinterpret_cast<const int*>(&v[0]) == first_slot);  // growing moved nothing
  int expected = 0;
  const auto& constant = v;
  for (const auto& p : constant) CHECK(*p == expected++);
  CHECK(expected == 1000);
}
