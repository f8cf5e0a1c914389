#include "task_index.hpp"

#include <algorithm>
#include <cstring>

namespace coroner {

namespace {

// Equal texts. A prefix is short (a scope id, then "Task-" or nothing): compared without a call.
[[gnu::always_inline]] inline bool same_text(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.size() < 4 || a.size() > 8) return a == b;
  // Two four-byte words that overlap cover any size from 4 to 8.
  uint32_t a_head, b_head, a_tail, b_tail;
  std::memcpy(&a_head, a.data(), 4);
  std::memcpy(&b_head, b.data(), 4);
  std::memcpy(&a_tail, a.data() + a.size() - 4, 4);
  std::memcpy(&b_tail, b.data() + b.size() - 4, 4);
  return a_head == b_head && a_tail == b_tail;
}

}  // namespace

bool TaskIndex::split(std::string_view key, Numbered& out) {
  size_t start = key.size();
  uint32_t number = 0;
  uint32_t scale = 1;
  while (start > 0 && key[start - 1] >= '0' && key[start - 1] <= '9' && key.size() - start < 10) {
    --start;
    number += uint32_t(key[start] - '0') * scale;
    scale *= 10;
  }
  size_t digits = key.size() - start;
  if (digits == 0 || digits > 9 || (digits > 1 && key[start] == '0')) return false;
  out = Numbered{key.substr(0, start), number};
  return true;
}

std::string_view TaskIndex::make_key(uint32_t scope, std::string_view name, std::string& buffer) {
  buffer.assign(reinterpret_cast<const char*>(&scope), sizeof scope);
  buffer.append(name);
  return buffer;
}

uint32_t* TaskIndex::page_slot_slowly(uint32_t scope, const Numbered& numbered) {
  uint32_t prefix = 0;
  if (has_last_prefix_ && scope == last_scope_ && same_text(numbered.prefix, last_prefix_)) {
    prefix = last_prefix_id_;
  } else {
    std::string_view key = make_key(scope, numbered.prefix, key_buffer_);
    std::optional<uint32_t> known = prefixes_.find(key);
    if (!known && pages_closed_) return nullptr;
    prefix = known ? *known : prefixes_.intern(key);
    last_prefix_ = prefixes_.view(prefix).substr(sizeof scope);
    last_scope_ = scope;
    last_prefix_id_ = prefix;
    has_last_prefix_ = true;
  }
  uint64_t key = page_key(prefix, numbered.number);
  if (key != last_page_key_) {
    auto it = pages_.find(key);
    if (it == pages_.end()) {
      if (pages_closed_) return nullptr;
      if (pages_.size() >= kFreePages && paged_keys_ * kMinFill < pages_.size() * kPageSize) {
        pages_closed_ = true;
        return nullptr;
      }
      auto page = std::make_unique<uint32_t[]>(kPageSize);
      std::fill_n(page.get(), kPageSize, kEmpty);
      it = pages_.emplace(key, std::move(page)).first;
    }
    last_page_key_ = key;
    last_page_ = it->second.get();
  }
  return &last_page_[numbered.number % kPageSize];
}

// Most keys fall in the page of the key before, under its prefix: that is answered inline, the
// rest by page_slot_slowly (a call and split's for each record were some 3% of a run).
[[gnu::always_inline]] inline uint32_t* TaskIndex::page_slot(uint32_t scope,
                                                             const Numbered& numbered) {
  if (has_last_prefix_ && scope == last_scope_ && same_text(numbered.prefix, last_prefix_) &&
      page_key(last_prefix_id_, numbered.number) == last_page_key_)
    return &last_page_[numbered.number % kPageSize];
  return page_slot_slowly(scope, numbered);
}

uint32_t TaskIndex::index_or_add(uint32_t scope, std::string_view name) {
  // The name is split where the parser left it: the key built below is read only for a new task.
  Numbered numbered;
  if (split(name, numbered)) {
    if (uint32_t* slot = page_slot(scope, numbered)) {
      if (*slot == kEmpty) {
        *slot = keys_.add_unhashed(make_key(scope, name, key_buffer_));
        ++paged_keys_;
      }
      return *slot;
    }
  }
  return keys_.intern(make_key(scope, name, key_buffer_));
}

std::optional<uint32_t> TaskIndex::find(uint32_t scope, std::string_view name) const {
  std::string buffer;
  Numbered numbered;
  if (split(name, numbered)) {
    if (auto prefix = prefixes_.find(make_key(scope, numbered.prefix, buffer))) {
      auto it = pages_.find(page_key(*prefix, numbered.number));
      if (it != pages_.end()) {
        uint32_t index = it->second[numbered.number % kPageSize];
        if (index == kEmpty) return std::nullopt;
        return index;
      }
    }
  }
  return keys_.find(make_key(scope, name, buffer));
}

}  // namespace coroner
