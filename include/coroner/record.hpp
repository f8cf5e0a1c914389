// One log record seen through the roles: views into the parser's buffers, valid only while the
// record is being handled. Whoever keeps anything interns or copies it.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "coroner/dialect.hpp"
#include "coroner/roles.hpp"
#include "coroner/timestamp.hpp"

namespace coroner {

// How an input is named to the user: "-" is "<stdin>".
inline std::string_view display_name(std::string_view path) {
  return path == "-" ? std::string_view("<stdin>") : path;
}

struct RawRecord {
  static constexpr uint8_t kNoField = 0xff;

  bool has_time = false;
  int64_t time_ns = 0;
  TimeForm time_form = TimeForm::none;
  int32_t utc_offset = 0;  // the offset the time was written in (ParsedTime::utc_offset)

  bool has_task = false;
  std::string_view task;
  // Another name of the task: the task field of an eliot action's record (its asyncio task's
  // name, which asyncio's own messages use), when the action is named by its uuid.
  std::string_view alias;
  std::string_view stage;
  bool stage_from_message = false;  // the stage came from a free-text field (`message`, `msg`)
  std::string_view status;
  std::string_view parent;
  std::vector<std::string_view> awaits;
  bool has_error = false;       // the error role held something non-empty
  std::string_view error_text;  // its text when it was a string
  std::string_view error_type;
  std::string_view level;
  bool retry = false;    // the attempt role says this record is a retry (a later try, or true)
  uint32_t attempt = 0;  // the try's number, counted from 1, when the attempt role gave one
  bool has_timeout = false;
  int64_t timeout_ns = 0;
  // The asyncio module's own fields (docs/ASYNCIO_RECORDS.md): "wait", "pending" or "exit";
  // what the task waits on; where a task pending at exit was suspended.
  std::string_view marker;
  std::string_view waiting_for;
  std::string_view suspended_at;
  // Every scope field present, as "name=value" joined by '\x1f' ("" when none).
  std::string scope;

  // Which path of the role's list filled it (kNoField when none): `coroner schema` counts them.
  std::array<uint8_t, kRoleCount> filled_by = none_filled();
  // A time field was present but its value could not be read as a time.
  bool bad_time = false;

  uint32_t file = 0;      // index into the list of inputs
  uint64_t line = 0;      // 1-based line in that file
  uint64_t sequence = 0;  // position in the whole input: keeps order stable for equal times

  // Back to what a fresh record holds, keeping the capacity of `scope` and `awaits`.
  void clear();
  bool is_error_level() const;

 private:
  static constexpr std::array<uint8_t, kRoleCount> none_filled() {
    std::array<uint8_t, kRoleCount> ranks{};
    ranks.fill(kNoField);
    return ranks;
  }
};

// A member of RawRecord and the name it goes by.
template <typename T>
struct RecordField {
  using Type = T;
  std::string_view name;
  T RawRecord::*member;
};

template <typename T>
constexpr RecordField<T> record_field(std::string_view name, T RawRecord::*member) {
  return {name, member};
}

// Every member of RawRecord, in the order declared: the one list that clear(), the batch's
// encoding (record_batch.cpp) and the tests walk, so a member added to RawRecord and here is
// reset, carried across threads and compared with no other edit. The static_assert below
// catches a member missing from the list.
inline constexpr std::tuple kRawRecordFields{
    record_field("has_time", &RawRecord::has_time),
    record_field("time_ns", &RawRecord::time_ns),
    record_field("time_form", &RawRecord::time_form),
    record_field("utc_offset", &RawRecord::utc_offset),
    record_field("has_task", &RawRecord::has_task),
    record_field("task", &RawRecord::task),
    record_field("alias", &RawRecord::alias),
    record_field("stage", &RawRecord::stage),
    record_field("stage_from_message", &RawRecord::stage_from_message),
    record_field("status", &RawRecord::status),
    record_field("parent", &RawRecord::parent),
    record_field("awaits", &RawRecord::awaits),
    record_field("has_error", &RawRecord::has_error),
    record_field("error_text", &RawRecord::error_text),
    record_field("error_type", &RawRecord::error_type),
    record_field("level", &RawRecord::level),
    record_field("retry", &RawRecord::retry),
    record_field("attempt", &RawRecord::attempt),
    record_field("has_timeout", &RawRecord::has_timeout),
    record_field("timeout_ns", &RawRecord::timeout_ns),
    record_field("marker", &RawRecord::marker),
    record_field("waiting_for", &RawRecord::waiting_for),
    record_field("suspended_at", &RawRecord::suspended_at),
    record_field("scope", &RawRecord::scope),
    record_field("filled_by", &RawRecord::filled_by),
    record_field("bad_time", &RawRecord::bad_time),
    record_field("file", &RawRecord::file),
    record_field("line", &RawRecord::line),
    record_field("sequence", &RawRecord::sequence),
};

inline constexpr size_t kRawRecordFieldCount = std::tuple_size_v<decltype(kRawRecordFields)>;

// Calls visit(field) for each entry of kRawRecordFields, in order, unrolled at compile time.
template <typename Visitor>
constexpr void for_each_field(Visitor&& visit) {
  std::apply([&](const auto&... fields) { (visit(fields), ...); }, kRawRecordFields);
}

// Calls visit(name, member) for each member of `record` (a RawRecord, const or not).
template <typename Record, typename Visitor>
constexpr void for_each_field(Record& record, Visitor&& visit) {
  for_each_field([&](const auto& field) { visit(field.name, record.*field.member); });
}

namespace detail {
// How many members an aggregate has: the most initialisers that `T{...}` accepts, each of them
// convertible to any type (so a std::array member takes one, not one per element).
struct AnyMember {
  template <typename T>
  operator T() const;
};
template <typename T, typename... Members>
constexpr size_t member_count() {
  if constexpr (requires { T{Members{}..., AnyMember{}}; })
    return member_count<T, Members..., AnyMember>();
  else
    return sizeof...(Members);
}
}  // namespace detail

static_assert(detail::member_count<RawRecord>() == kRawRecordFieldCount,
              "every member of RawRecord has its entry in kRawRecordFields");

// What each member of a fresh record holds: clear() and the batch's replay reset to it.
inline const RawRecord kFreshRecord{};

// The members that a fresh record holds empty (test_record_batch.cpp checks it): asking them
// empty() is cheaper than comparing, and clearing them keeps their capacity for the next record.
template <typename T>
constexpr bool kStartsEmpty =
    std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string> ||
    std::is_same_v<T, std::vector<std::string_view>>;

template <typename T>
bool holds_fresh(const T& member, const T& fresh) {
  if constexpr (kStartsEmpty<T>)
    return member.empty();
  else if constexpr (std::has_unique_object_representations_v<T>)
    return std::memcmp(&member, &fresh, sizeof member) == 0;  // inlined, unlike array's ==
  else
    return member == fresh;
}

// Numbers, flags and views start at zero in a fresh record (the same test checks it): writing
// the constant spares a load on the path of every record.
template <typename T>
void reset_to_fresh(T& member, const T& fresh) {
  if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_same_v<T, std::string_view>)
    member = T{};
  else if constexpr (kStartsEmpty<T>)
    member.clear();
  else
    member = fresh;
}

struct BadLine {
  uint32_t file = 0;
  uint64_t line = 0;
  std::string reason;
};

// The reason of a bad line that is a Python traceback's text (an uncaught exception, asyncio's
// "Task exception was never retrieved", written to stderr between the JSON lines). Partial
// states keep reasons, so a state counts these lines as the log it came from did.
inline constexpr std::string_view kTracebackText = "text of a Python traceback";
// The reason of a bad line that opens a JSON array (`[{...}, {...}]`, `gcloud logging read`'s
// output, `jq -s`): the log is one array, not one object a line.
inline constexpr std::string_view kJsonArrayStart = "the start of a JSON array";
// The reason of a bad line that starts with a gzip or zstd stream's magic bytes: compressed data
// in the middle of the input (`cat app.log app.log.1.gz | coroner -`), which no line reads.
inline constexpr std::string_view kCompressedData = "compressed data";

// Receives the records of an input in order.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void on_record(const RawRecord& record) = 0;
  // A line that is not a JSON object. Return false to stop reading (--strict).
  virtual bool on_bad_line(const BadLine& bad) = 0;
  // How input `file` is read (its dialect and why), told before its first record.
  virtual void on_input_format(uint32_t /*file*/, const InputFormat& /*format*/) {}
};

}  // namespace coroner
