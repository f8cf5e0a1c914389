#include "record_batch.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <tuple>
#include <type_traits>

namespace coroner {

namespace {

// Each entry of the stream starts with a Header. Bit i says that field i of kRawRecordFields
// differs from a fresh record's, and only those fields follow, in the list's order: a bool says
// all in its bit, a string is a Span, a list its size then Spans, a number or enum its bytes, and
// an array of ranks a RankMask of the entries that differ then those entries. A record sets few
// fields, so it is short.
using Header = uint32_t;
static_assert(kRawRecordFieldCount < 32, "a Header has a bit for each field and one for bad lines");
// The entry is a bad line (the next of bad_lines_) and nothing else follows.
constexpr Header kBadLine = Header(1) << kRawRecordFieldCount;

template <typename T>
constexpr bool kIsText = std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string>;
template <typename T>
constexpr bool kIsTextList = std::is_same_v<T, std::vector<std::string_view>>;
template <typename T>
constexpr bool kIsRanks = false;
template <size_t N>
constexpr bool kIsRanks<std::array<uint8_t, N>> = N <= 16;  // a bit for each in a RankMask
using RankMask = uint16_t;

template <typename T>
T take(const char*& p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  p += sizeof value;
  return value;
}

}  // namespace

void ByteStream::grow(size_t at_least) {
  size_t capacity = std::max({size_t(4096), capacity_ * 2, size_ + at_least});
  auto bytes = std::make_unique_for_overwrite<char[]>(capacity);
  if (size_ > 0) std::memcpy(bytes.get(), bytes_.get(), size_);
  bytes_ = std::move(bytes);
  capacity_ = capacity;
}

template <typename T>
void RecordBatch::put(const T& value) {
  stream_.put(value);
}

RecordBatch::Span RecordBatch::keep(std::string_view text) {
  auto at = reinterpret_cast<uintptr_t>(text.data());
  auto input = reinterpret_cast<uintptr_t>(input_);
  if (at >= input && at + text.size() <= input + input_size_)
    return Span{uint32_t(at - input), uint32_t(text.size())};
  Span span{uint32_t(input_size_ + arena_.size()), uint32_t(text.size())};
  arena_.append(text);
  return span;
}

template <typename T>
void RecordBatch::put_member(const T& member, const T& fresh) {
  if constexpr (std::is_same_v<T, bool>) {
    // The header's bit says it all.
  } else if constexpr (kIsText<T>) {
    put_text(member);
  } else if constexpr (kIsTextList<T>) {
    put(uint32_t(member.size()));
    for (std::string_view text : member) put_text(text);
  } else if constexpr (kIsRanks<T>) {
    // A bit for each entry that differs, then those entries: one append, not one per entry.
    std::array<char, sizeof(RankMask) + std::tuple_size_v<T>> bytes;
    RankMask differing = 0;
    size_t size = sizeof differing;
    for (size_t i = 0; i < member.size(); ++i)
      if (member[i] != fresh[i]) differing |= RankMask(1u << i), bytes[size++] = char(member[i]);
    std::memcpy(bytes.data(), &differing, sizeof differing);
    stream_.append(bytes.data(), size);
  } else {
    static_assert(std::is_arithmetic_v<T> || std::is_enum_v<T>, "a type the batch can carry");
    put(member);
  }
}

template <typename T>
void RecordBatch::take_member(const char*& p, T& member, const T& fresh) const {
  if constexpr (std::is_same_v<T, bool>) {
    member = !fresh;
  } else if constexpr (kIsText<T>) {
    member = view(take<Span>(p));
  } else if constexpr (kIsTextList<T>) {
    member.clear();
    for (uint32_t count = take<uint32_t>(p); count > 0; --count)
      member.push_back(view(take<Span>(p)));
  } else if constexpr (kIsRanks<T>) {
    member = fresh;
    for (auto differing = take<RankMask>(p); differing != 0; differing &= differing - 1)
      member[size_t(std::countr_zero(differing))] = take<uint8_t>(p);
  } else {
    member = take<T>(p);
  }
}

void RecordBatch::on_record(const RawRecord& r) {
  if (r.has_time && r.time_ns > latest_time_) latest_time_ = r.time_ns;
  const size_t header_at = stream_.size();
  Header present = 0;
  put(present);  // filled in below, once the fields are known
  size_t index = 0;
  // The visitor runs for every field of every record: inlined, it is the code one would write by
  // hand (GCC otherwise calls it for each string, which costs a quarter of the encoding).
  for_each_field([&](const auto& field) __attribute__((always_inline)) {
    const auto& member = r.*field.member;
    const auto& fresh = kFreshRecord.*field.member;
    const Header bit = Header(1) << index++;
    if (holds_fresh(member, fresh)) return;
    present |= bit;
    put_member(member, fresh);
  });
  std::memcpy(stream_.data() + header_at, &present, sizeof present);
}

bool RecordBatch::on_bad_line(const BadLine& bad) {
  put(kBadLine);
  bad_lines_.push_back(bad);
  return true;  // the sink that replays decides whether to stop
}

bool RecordBatch::next(Cursor& at, Entry& entry) const {
  if (at.offset >= stream_.size()) return false;
  const char* p = stream_.data() + at.offset;
  const Header present = take<Header>(p);
  if (present & kBadLine) {
    entry = Entry{nullptr, &bad_lines_[at.next_bad_line++]};
  } else {
    RawRecord& r = replayed_;
    // Only the fields the record before set need resetting: the others are fresh already.
    const Header stale = replayed_present_ & ~present;
    size_t index = 0;
    for_each_field([&](const auto& field) __attribute__((always_inline)) {
      auto& member = r.*field.member;
      const auto& fresh = kFreshRecord.*field.member;
      const Header bit = Header(1) << index++;
      if (present & bit)
        take_member(p, member, fresh);
      else if (stale & bit)
        reset_to_fresh(member, fresh);
    });
    replayed_present_ = present;
    entry = Entry{&r, nullptr};
  }
  at.offset = size_t(p - stream_.data());
  return true;
}

bool RecordBatch::replay(RecordSink& sink) const {
  Cursor at;
  Entry entry;
  while (next(at, entry)) {
    if (entry.record)
      sink.on_record(*entry.record);
    else if (!sink.on_bad_line(*entry.bad_line))
      return false;
  }
  return true;
}

void RecordBatch::clear() {
  input_ = nullptr;
  input_size_ = 0;
  arena_.clear();
  stream_.clear();
  bad_lines_.clear();
  latest_time_ = INT64_MIN;
}

}  // namespace coroner
