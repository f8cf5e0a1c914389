// Interned strings: each distinct string gets a dense uint32_t id, stored once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "coroner/chunked_vector.hpp"

namespace coroner {

// Open-addressing hash table over strings kept in an append-only arena. Ids are dense
// (0, 1, 2, ...) so callers use them as vector indices; views stay valid for the interner's life.
class Interner {
 public:
  Interner();
  uint32_t intern(std::string_view text);
  std::optional<uint32_t> find(std::string_view text) const;
  // Keeps `text` under the next id without hashing it: find() will not see it. For a caller
  // that indexes some of its strings itself (TaskIndex).
  uint32_t add_unhashed(std::string_view text);
  std::string_view view(uint32_t id) const { return strings_[id]; }
  uint32_t size() const { return static_cast<uint32_t>(strings_.size()); }

 private:
  // 8 bytes a slot: the table of ten million task keys stays small. The tag is the hash's high
  // half; its top bits pick the slot, so growing the table never hashes a string again.
  struct Slot {
    uint32_t tag = 0;
    uint32_t id = kEmpty;
  };
  static constexpr uint32_t kEmpty = UINT32_MAX;

  std::string_view store(std::string_view text);
  size_t probe(std::string_view text, uint32_t tag) const;
  size_t home(uint32_t tag) const { return tag >> shift_; }
  void grow();

  std::vector<Slot> slots_;
  // Strings in the table: the load that sizes it. Those added unhashed do not count.
  size_t hashed_ = 0;
  int shift_ = 22;                           // 32 - log2(slots_.size())
  ChunkedVector<std::string_view> strings_;  // growing never copies (nor doubles) it
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* current_block_ = nullptr;  // the shared block small strings are appended to
  size_t block_used_ = 0;
};

uint64_t hash_bytes(std::string_view text);

}  // namespace coroner
