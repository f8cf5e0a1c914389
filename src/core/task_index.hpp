// Task keys to dense task indices. Most logs number their tasks ("1042", "Task-1042",
// "job-1042") and start them in order; a hash table puts each new task on a random cache line
// of a table of millions, and at one miss per task that was a fifth of the whole analysis. Keys
// that end in a number therefore go to pages indexed by that number, so a new task lands next
// to the one before it. Other keys, and numbers too scattered to fill pages, go to a hash table.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "coroner/interner.hpp"

namespace coroner {

// A task is named by its value in a scope (0 when the log has no scope fields).
class TaskIndex {
 public:
  // The index of the task, added (as size() - 1) when it is new.
  uint32_t index_or_add(uint32_t scope, std::string_view name);
  std::optional<uint32_t> find(uint32_t scope, std::string_view name) const;
  std::string_view name(uint32_t index) const { return keys_.view(index).substr(sizeof(uint32_t)); }
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
    std::string_view prefix;  // the name before the number ("Task-"; "" for "1042")
    uint32_t number;
  };
  // The number a key ends in: 1 to 9 digits after a non-digit (or the start), no leading zero,
  // so that prefix and number give back exactly the key. (A bool, not an optional: GCC returns
  // an optional struct through memory, and reading it back stalls on every record.)
  [[gnu::always_inline]] static inline bool split(std::string_view key, Numbered& out);
  // The slot of a numbered name in its page, the page made if need be; nullptr when the task
  // belongs to the hash table.
  uint32_t* page_slot(uint32_t scope, const Numbered& numbered);
  uint32_t* page_slot_slowly(uint32_t scope, const Numbered& numbered);
  // A key of keys_ and prefixes_: the scope id (4 bytes), then the name or its prefix.
  static std::string_view make_key(uint32_t scope, std::string_view name, std::string& buffer);
  static uint64_t page_key(uint32_t prefix, uint32_t number) {
    return (uint64_t(prefix) << 32) | (number / kPageSize);
  }

  Interner keys_;      // every key, by index; only those outside the pages are hashed
  Interner prefixes_;  // scope and text before the number
  std::unordered_map<uint64_t, std::unique_ptr<uint32_t[]>> pages_;
  std::string key_buffer_;
  // Most lookups hit the prefix and the page of the lookup before.
  uint32_t last_scope_ = 0;
  std::string_view last_prefix_;  // without the scope
  uint32_t last_prefix_id_ = 0;
  bool has_last_prefix_ = false;
  uint64_t last_page_key_ = UINT64_MAX;
  uint32_t* last_page_ = nullptr;
  uint64_t paged_keys_ = 0;
  bool pages_closed_ = false;  // set once, forever: a key's place never changes
};

}  // namespace coroner
