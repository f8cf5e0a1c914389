#include <doctest/doctest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "task_index.hpp"

namespace {

using coroner::TaskIndex;

// The reference: a plain map handing out dense indices in order of first sight.
struct Reference {
  std::unordered_map<std::string, uint32_t> map;
  uint32_t index_or_add(const std::string& key) {
    return map.emplace(key, uint32_t(map.size())).first->second;
  }
};

void check_same(TaskIndex& index, Reference& reference, const std::string& key) {
  INFO("key '" << key << "'");
  uint32_t expected = reference.index_or_add(key);
  REQUIRE(index.index_or_add(0, key) == expected);
  REQUIRE(index.name(expected) == key);
}

}  // namespace

TEST_CASE("task index: numbered keys get dense indices, and keys that differ stay apart") {
  TaskIndex index;
  Reference reference;
  // Same number, other prefix; leading zeros; more digits than a page number takes; no number.
  for (std::string key : {"1042", "Task-1042", "task-1042", "01042", "007", "7", "0", "00",
                          "12345678901", "x", "", "1043", "Task-1043", "1042"})
    check_same(index, reference, key);
  CHECK(index.size() == reference.map.size());
  for (const auto& [key, expected] : reference.map) {
    INFO("key '" << key << "'");
    CHECK(index.find(0, key) == expected);
  }
  CHECK_FALSE(index.find(0, "1044").has_value());
  CHECK_FALSE(index.find(0, "Task-99").has_value());
  CHECK_FALSE(index.find(0, "y").has_value());
}

TEST_CASE("task index: numbers in order fill pages; scattered numbers do not cost a page each") {
  TaskIndex in_order;
  for (uint32_t i = 0; i < 100000; ++i) in_order.index_or_add(0, std::to_string(1000 + i));
  CHECK(in_order.page_count() <= 100000 / 1024 + 2);

  TaskIndex scattered;
  Reference reference;
  std::mt19937 random(7);
  for (int i = 0; i < 50000; ++i) {
    std::string key = "job-";
    check_same(scattered, reference, key.append(std::to_string(random() % 1000000000)));
  }
  // Pages stop being made once they would be mostly empty; every key is still found.
  CHECK(scattered.page_count() < 200);
  for (const auto& [key, expected] : reference.map) REQUIRE(scattered.find(0, key) == expected);
}

TEST_CASE("task index: a mix of key shapes agrees with a plain map, whatever the order") {
  TaskIndex index;
  Reference reference;
  std::mt19937 random(11);
  // The last is how TaskStore writes a scope id in front of the value.
  const std::vector<std::string> prefixes = {"", "Task-", "host-a/", "host-b/",
                                             std::string("\x01\x00\x00\x00", 4)};
  for (int i = 0; i < 200000; ++i) {
    std::string key = prefixes[random() % prefixes.size()];
    switch (random() % 4) {
      case 0:
        key += std::to_string(random() % 5000);
        break;  // dense, revisited
      case 1:
        key += std::to_string(random());
        break;  // scattered
      case 2:
        key.append("0").append(std::to_string(random() % 100));
        break;  // a leading zero
      default:
        key.append("id").append(std::to_string(random() % 300)).append("z");
        break;
    }
    check_same(index, reference, key);
  }
  CHECK(index.size() == reference.map.size());
  for (const auto& [key, expected] : reference.map) REQUIRE(index.find(0, key) == expected);
}

TEST_CASE("task index: the same name in two scopes is two tasks") {
  TaskIndex index;
  // Numbered names (pages), their prefixes, and names of the hash table, in scopes 0, 1 and 2.
  for (uint32_t scope : {0u, 1u, 2u})
    for (const char* name : {"1042", "Task-1042", "x"}) {
      uint32_t next = index.size();
      CHECK(index.index_or_add(scope, name) == next);
    }
  CHECK(index.size() == 9);
  for (uint32_t scope : {0u, 1u, 2u}) {
    CHECK(index.find(scope, "1042") == scope * 3);
    CHECK(index.find(scope, "Task-1042") == scope * 3 + 1);
    CHECK(index.find(scope, "x") == scope * 3 + 2);
    CHECK(index.index_or_add(scope, "Task-1042") == scope * 3 + 1);
  }
  CHECK(index.name(4) == "Task-1042");
  CHECK_FALSE(index.find(3, "1042").has_value());
  // Scope 0x31 is the byte '1': a scope id and the name's first byte must not run together.
  CHECK_FALSE(index.find(0x31, "042").has_value());
}
