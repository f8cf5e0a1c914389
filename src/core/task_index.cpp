#include "coroner/task_index.hpp"

#include <algorithm>

namespace coroner {

std::optional<TaskIndex::Numbered> TaskIndex::split(std::string_view key) {
  size_t start = key.size();
  while (start > 0 && key[start - 1] >= '0' && key[start - 1] <= '9') --start;
  size_t digits = key.size() - start;
  if (digits == 0 || digits > 9 || (digits > 1 && key[start] == '0')) return std::nullopt;
  uint32_t number = 0;
  for (size_t i = start; i < key.size(); ++i) number = number * 10 + uint32_t(key[i] - '0');
  return Numbered{key.substr(0, start), number};
}

uint32_t* TaskIndex::page_slot(const Numbered& numbered) {
  uint32_t prefix = 0;
  if (has_last_prefix_ && numbered.prefix == last_prefix_) {
    prefix = last_prefix_id_;
  } else {
    std::optional<uint32_t> known = prefixes_.find(numbered.prefix);
    if (!known && pages_closed_) return nullptr;
    prefix = known ? *known : prefixes_.intern(numbered.prefix);
    last_prefix_ = prefixes_.view(prefix);
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

uint32_t TaskIndex::index_or_add(std::string_view key) {
  if (auto numbered = split(key)) {
    if (uint32_t* slot = page_slot(*numbered)) {
      if (*slot == kEmpty) {
        *slot = keys_.add_unhashed(key);
        ++paged_keys_;
      }
      return *slot;
    }
  }
  return keys_.intern(key);
}

std::optional<uint32_t> TaskIndex::find(std::string_view key) const {
  if (auto numbered = split(key)) {
    if (auto prefix = prefixes_.find(numbered->prefix)) {
      auto it = pages_.find(page_key(*prefix, numbered->number));
      if (it != pages_.end()) {
        uint32_t index = it->second[numbered->number % kPageSize];
        if (index == kEmpty) return std::nullopt;
        return index;
      }
    }
  }
  return keys_.find(key);
}

}  // namespace coroner
