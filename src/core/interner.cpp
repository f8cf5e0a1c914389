#include "coroner/interner.hpp"

#include <cstring>

namespace coroner {

namespace {
constexpr size_t kBlockSize = 64 * 1024;
}

// FNV-1a over 8-byte words, then a final mix: fast on the short keys of logs (task ids,
// stage names) and good enough spread for linear probing.
uint64_t hash_bytes(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull ^ text.size();
  const char* p = text.data();
  size_t n = text.size();
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = (h ^ word) * 0x100000001b3ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  h = (h ^ tail) * 0x100000001b3ull;
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h;
}

Interner::Interner() : slots_(1024) {}

size_t Interner::probe(std::string_view text, uint32_t tag) const {
  size_t mask = slots_.size() - 1;
  size_t i = home(tag);
  while (true) {
    const Slot& slot = slots_[i];
    if (slot.id == kEmpty) return i;
    if (slot.tag == tag && strings_[slot.id] == text) return i;
    i = (i + 1) & mask;
  }
}

namespace {
uint32_t tag_of(std::string_view text) {
  return uint32_t(hash_bytes(text) >> 32);
}
}  // namespace

std::optional<uint32_t> Interner::find(std::string_view text) const {
  const Slot& slot = slots_[probe(text, tag_of(text))];
  if (slot.id == kEmpty) return std::nullopt;
  return slot.id;
}

uint32_t Interner::intern(std::string_view text) {
  uint32_t tag = tag_of(text);
  size_t i = probe(text, tag);
  if (slots_[i].id != kEmpty) return slots_[i].id;
  uint32_t id = size();
  strings_.push_back(store(text));
  slots_[i] = Slot{tag, id};
  // Keep the load under 0.7: probes stay short and the table stays small.
  ++hashed_;
  if (hashed_ * 10 > slots_.size() * 7) grow();
  return id;
}

uint32_t Interner::add_unhashed(std::string_view text) {
  strings_.push_back(store(text));
  return size() - 1;
}

std::string_view Interner::store(std::string_view text) {
  if (text.empty()) return {};
  if (text.size() > kBlockSize / 4) {
    // A huge key gets a block of its own so it does not waste the rest of a shared block.
    blocks_.emplace_back(new char[text.size()]);
    std::memcpy(blocks_.back().get(), text.data(), text.size());
    return {blocks_.back().get(), text.size()};
  }
  if (current_block_ == nullptr || block_used_ + text.size() > kBlockSize) {
    blocks_.emplace_back(new char[kBlockSize]);
    current_block_ = blocks_.back().get();
    block_used_ = 0;
  }
  char* dest = current_block_ + block_used_;
  std::memcpy(dest, text.data(), text.size());
  block_used_ += text.size();
  return {dest, text.size()};
}

void Interner::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  --shift_;
  size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.id == kEmpty) continue;
    size_t i = home(slot.tag);
    while (slots_[i].id != kEmpty) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

}  // namespace coroner
