// Timestamps and durations as the logs write them, turned into nanoseconds since the epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coroner {

// Which form a record's time had; `coroner schema` reports it.
enum class TimeForm : uint8_t {
  none,
  epoch_seconds,
  epoch_millis,
  epoch_micros,
  epoch_nanos,
  iso8601,  // 2026-11-25T09:23:19.610115+05:30, with T or space, '.' or ',' fraction
  asctime,  // time.asctime(): "Wed Nov 25 09:23:19 2026"
  // ISO-8601 with no zone ("2026-11-25 09:23:19,610", Python logging's asctime): UTC, unless
  // --naive-offset says at which offset such times were written.
  iso8601_no_zone,
};

std::string_view to_string(TimeForm form);

// A time written with a date and a clock, as a person reads it (not an epoch number).
inline bool is_written_out(TimeForm form) {
  return form == TimeForm::iso8601 || form == TimeForm::iso8601_no_zone;
}
// A time that says nothing of its zone: read as UTC unless told otherwise.
inline bool has_no_zone(TimeForm form) {
  return form == TimeForm::iso8601_no_zone || form == TimeForm::asctime;
}

struct ParsedTime {
  int64_t ns = 0;  // nanoseconds since 1970-01-01T00:00:00Z
  TimeForm form = TimeForm::none;
  // The offset from UTC the text was written in ("+05:30" is 19800), so the reports can show a
  // time as the log wrote it. 0 for UTC, for no zone, and for epoch numbers.
  int32_t utc_offset = 0;
};

// A time with no zone read as written at `offset` seconds east of UTC (--naive-offset): its
// instant moves by the offset, the reports show it as the log wrote it, and it has a zone now.
// Other times, and every time when `offset` is none, are left as they are.
inline void place_in_zone(ParsedTime& time, std::optional<int32_t> offset) {
  if (!offset || !has_no_zone(time.form)) return;
  time.ns -= int64_t(*offset) * 1'000'000'000;
  time.utc_offset = *offset;
  time.form = TimeForm::iso8601;
}

// "+05:30", "-0500", "+05", "-05:00", "Z" or "UTC" as seconds east of UTC (up to 23:59);
// nullopt when it is none of them.
std::optional<int32_t> parse_utc_offset(std::string_view text);

// A JSON number's text ("1795578788.8227997", "1700000000123", "1.7e9"). The unit is told by
// magnitude: below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds, else
// nanoseconds. Digits are read exactly (no double rounding) when the text is plain decimal.
std::optional<ParsedTime> parse_epoch_number(std::string_view text);

// A time written as a string: ISO-8601 / RFC 3339 (T or space, '.' or ',' fraction of any
// length, 'Z', '+hh:mm', '+hhmm', '+hh' or no zone = UTC), Python logging's asctime
// ("2026-11-25 09:23:19,610"), time.asctime() ("Wed Nov 25 09:23:19 2026"), or a number in a
// string ("1795578788.82"). Anything else, including impossible dates (month 13, Feb 30), is
// nullopt: a wrong time must never be misread as a right one.
std::optional<ParsedTime> parse_time_string(std::string_view text);

// RFC 3339 with microseconds, in UTC ("2026-11-25T03:53:19.610115Z") or at an offset from it in
// seconds ("2026-11-25T09:23:19.610115+05:30").
std::string format_time(int64_t ns, int32_t utc_offset = 0);
// An offset from UTC in seconds as ISO-8601 writes it: "+05:30", "-05:00", "+00:00".
std::string format_utc_offset(int32_t seconds);
// The time of day with microseconds at that offset, as timelines show it: "09:23:19.610115".
std::string format_clock(int64_t ns, int32_t utc_offset = 0);

// A duration as a user types it: "250ms", "30s", "1.5m", "2h", "100us", "5ns", or a bare
// number of seconds ("2.5"). nullopt when it is not one.
std::optional<int64_t> parse_duration(std::string_view text);

// to - from, saturated at the int64 range: times 1678..2262 apart still subtract without UB.
inline int64_t elapsed(int64_t from, int64_t to) {
  int64_t out;
  if (__builtin_sub_overflow(to, from, &out)) return to > from ? INT64_MAX : INT64_MIN;
  return out;
}

// `ns` times `factor`, saturated at the int64 range (a threshold from a huge percentile).
inline int64_t scaled(int64_t ns, double factor) {
  double x = double(ns) * factor;
  if (x >= 9.2e18) return INT64_MAX;
  if (x <= -9.2e18) return INT64_MIN;
  return int64_t(x);
}

// A short human duration: "0s", "840us", "12.3ms", "2.50s", "3m12s", "2h05m".
std::string format_duration(int64_t ns);

}  // namespace coroner
