// One log record seen through the roles: views into the parser's buffers, valid only while the
// record is being handled. Whoever keeps anything interns or copies it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

  bool has_task = false;
  std::string_view task;
  std::string_view stage;
  std::string_view status;
  std::string_view parent;
  std::vector<std::string_view> awaits;
  bool has_error = false;       // the error role held something non-empty
  std::string_view error_text;  // its text when it was a string
  std::string_view error_type;
  std::string_view level;
  bool retry = false;  // the attempt role says this record is a retry
  bool has_timeout = false;
  int64_t timeout_ns = 0;
  // Every scope field present, as "name=value" joined by '\x1f' ("" when none).
  std::string scope;

  // Which path of the role's list filled it (kNoField when none): `coroner schema` counts them.
  std::array<uint8_t, kRoleCount> filled_by{};
  // A time field was present but its value could not be read as a time.
  bool bad_time = false;

  uint32_t file = 0;      // index into the list of inputs
  uint64_t line = 0;      // 1-based line in that file
  uint64_t sequence = 0;  // position in the whole input: keeps order stable for equal times

  void clear();
  bool is_error_level() const;
};

struct BadLine {
  uint32_t file = 0;
  uint64_t line = 0;
  std::string reason;
};

// Receives the records of an input in order.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void on_record(const RawRecord& record) = 0;
  // A line that is not a JSON object. Return false to stop reading (--strict).
  virtual bool on_bad_line(const BadLine& bad) = 0;
};

}  // namespace coroner
