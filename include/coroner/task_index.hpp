// Task keys to dense task indices. Most logs number their tasks ("1042", "Task-1042",
// "job-1042") and start them in order; a hash table puts each new task on a random cache line
// of a table of millions, and at one miss per task that was a fifth of the whole analysis. Keys
// that end in a number therefore go to pages indexed by that number, so a new task lands next
// to the one before it. Other keys, and numbers too scattered to fill pages, go to a hash table.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "coroner/interner.hpp"

namespace coroner {

class TaskIndex {
 public:
  // The index of `key`, added (as size() - 1) when it is new.
  uint32_t index_or_add(std::string_view key);
  std::optional<uint32_t> find(std::string_view key) const;
  std::string_view key(uint32_t index) const { return keys_.view(index); }
  uint32_t size() const { return keys_.size(); }
  size_t page_count() const { return pages_.size(); }  // what scattered numbers may cost

 private:
  static constexpr uint32_t kPageBits = 10;
  static constexpr uint32_t kPageSize = 1u << kPageBits;
  static constexpr uint32_t kEmpty = UINT32_MAX;
  // Below this many pages any numbering is welcome; past it, pages must be at least 1/16 full on
  // average or no new page is made: scattered numbers must not cost a page each.
  static constexpr size_t kFreePages = 64;
  static constexpr size_t kMinFill = 16;

  struct Numbered {
    std::string_view prefix;  // everything before the number ("Task-"; "" for "1042")
    uint32_t number;
  };
  // The number a key ends in: 1 to 9 digits after a non-digit (or the start), no leading zero,
  // so that prefix and number give back exactly the key.
  static std::optional<Numbered> split(std::string_view key);
  // The slot of a numbered key in its page, the page made if need be; nullptr when the key
  // belongs to the hash table.
  uint32_t* page_slot(const Numbered& numbered);
  static uint64_t page_key(uint32_t prefix, uint32_t number) {
    return (uint64_t(prefix) << 32) | (number / kPageSize);
  }

  Interner keys_;      // every key, by index; only those outside the pages are hashed
  Interner prefixes_;  // the texts before the numbers
  std::unordered_map<uint64_t, std::unique_ptr<uint32_t[]>> pages_;
  // Most lookups hit the prefix and the page of the lookup before.
  std::string_view last_prefix_;
  uint32_t last_prefix_id_ = 0;
  bool has_last_prefix_ = false;
  uint64_t last_page_key_ = UINT64_MAX;
  uint32_t* last_page_ = nullptr;
  uint64_t paged_keys_ = 0;
  bool pages_closed_ = false;  // set once, forever: a key's place never changes
};

}  // namespace coroner
