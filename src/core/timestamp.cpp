// Timestamps and durations: parsing runs once per log record, so the parsers work on the
// string_view in place (no allocation, no locale, no exceptions, no floating point).
//
// Decisions where the formats leave room:
// - Negative epoch numbers are accepted and exact ("-1.5" is 1.5 s before 1970).
// - Epoch numbers follow JSON's number grammar (no '+', no leading zeros, digits on both sides
//   of '.'); exponent forms are shifted exactly in decimal, never through a double.
// - A number whose value in its unit (told by magnitude) does not fit int64 nanoseconds is
//   rejected; so are seconds from 9.3e9 to 1e11, which are past the year 2262.
// - parse_time_string and parse_duration ignore ASCII whitespace around the text (a logger's
//   padding or trailing newline); whitespace inside is only allowed where the format has it.
// - A date alone ("2026-11-25") reads as midnight UTC.
// - Seconds = 60 is accepted only where a leap second can be: 23:59:60 in UTC once the offset
//   is applied. It reads as the next day's 00:00:00 (POSIX time has no leap seconds; order is
//   kept).
// - One space is allowed before a numeric offset ("2026-11-25 09:23:19 +0530", Python's
//   "%Y-%m-%d %H:%M:%S %z").
// - asctime carries no zone: it reads as UTC. Its weekday must match its date.
#include "coroner/timestamp.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstring>
#include <limits>

#include "epoch_number.hpp"

namespace coroner {

namespace {

constexpr int64_t kNanosPerMicro = 1'000;
constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kSecondsPerDay = 86'400;
constexpr int64_t kMaxNanos = std::numeric_limits<int64_t>::max();

// ---------------------------------------------------------------------------------------------
// Calendar (Howard Hinnant's days_from_civil / civil_from_days, proleptic Gregorian).

struct CivilDate {
  int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

constexpr int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;  // the computational year starts in March: leap day last
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

constexpr CivilDate civil_from_days(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned shifted_month = (5 * day_of_year + 2) / 153;  // 0 = March
  const unsigned day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  const unsigned month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  return {static_cast<int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert(civil_from_days(-1).year == 1969 && civil_from_days(-1).day == 31);

constexpr bool is_leap_year(int64_t year) {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

constexpr unsigned days_in_month(int64_t year, unsigned month) {
  constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : kDays[month - 1];
}

// 1970-01-01 was a Thursday; 0 = Sunday.
constexpr unsigned weekday_from_days(int64_t days) {
  return static_cast<unsigned>(((days + 4) % 7 + 7) % 7);
}

static_assert(weekday_from_days(0) == 4 && weekday_from_days(-1) == 3 &&
              weekday_from_days(-4) == 0);
static_assert(weekday_from_days(-5) == 6 && weekday_from_days(3) == 0);

constexpr int64_t floor_div(int64_t value, int64_t divisor) {
  return value >= 0 ? value / divisor : -((-(value + 1)) / divisor) - 1;
}

// ---------------------------------------------------------------------------------------------
// Character helpers (ASCII only: the C <cctype> functions depend on the locale).

constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
constexpr unsigned digit_value(char c) {
  return static_cast<unsigned>(c - '0');
}
constexpr bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

size_t count_digits(std::string_view text, size_t pos) {
  size_t end = pos;
  while (end < text.size() && is_digit(text[end])) ++end;
  return end - pos;
}

// Checked arithmetic: a time that does not fit must be rejected, not wrapped.
bool checked_mul_add(int64_t value, int64_t factor, int64_t addend, int64_t* out) {
  int64_t product = 0;
  return !__builtin_mul_overflow(value, factor, &product) &&
         !__builtin_add_overflow(product, addend, out);
}

// Reads the text left to right; every read either advances past what it matched or fails
// without moving.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ == text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  char peek_next() const { return pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0'; }
  void skip() { ++pos_; }

  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  bool eat(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  // Exactly `count` digits.
  bool fixed_digits(size_t count, unsigned* value) {
    if (text_.size() - pos_ < count) return false;
    unsigned result = 0;
    for (size_t i = 0; i < count; ++i) {
      const char c = text_[pos_ + i];
      if (!is_digit(c)) return false;
      result = result * 10 + digit_value(c);
    }
    pos_ += count;
    *value = result;
    return true;
  }

  // One or more digits, returned as text.
  std::string_view digit_run() {
    const size_t count = count_digits(text_, pos_);
    const std::string_view run = text_.substr(pos_, count);
    pos_ += count;
    return run;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// The first `width` digits of a fraction as an integer, padded with zeros on the right; later
// digits are truncated (a timestamp is never rounded into the next unit).
int64_t leading_fraction_digits(std::string_view digits, int width) {
  int64_t value = 0;
  for (int i = 0; i < width; ++i) {
    const size_t index = static_cast<size_t>(i);
    value = value * 10 + (index < digits.size() ? digit_value(digits[index]) : 0);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Epoch numbers.

// A JSON number split into its parts; the value is 0.<int_digits frac_digits> shifted so that
// the decimal point sits `point` digits from the left.
struct DecimalText {
  bool negative = false;
  std::string_view int_digits;
  std::string_view frac_digits;
  int64_t point = 0;

  size_t digit_count() const { return int_digits.size() + frac_digits.size(); }

  // Digit `index` counted from the first integer digit; zeros beyond either end.
  unsigned digit_at(int64_t index) const {
    if (index < 0) return 0;
    const auto i = static_cast<size_t>(index);
    if (i < int_digits.size()) return digit_value(int_digits[i]);
    if (i - int_digits.size() < frac_digits.size()) {
      return digit_value(frac_digits[i - int_digits.size()]);
    }
    return 0;
  }
};

// Exponents beyond this only make the value overflow or vanish; clamping keeps the arithmetic
// on `point` safe.
constexpr int64_t kExponentClamp = 100'000;

bool scan_exponent(Scanner& scanner, int64_t* exponent) {
  const bool negative = scanner.eat('-');
  if (!negative) scanner.eat('+');
  const std::string_view digits = scanner.digit_run();
  if (digits.empty()) return false;
  int64_t value = 0;
  for (const char c : digits) {
    value = value * 10 + digit_value(c);
    if (value > kExponentClamp) value = kExponentClamp;
  }
  *exponent = negative ? -value : value;
  return true;
}

// JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
std::optional<DecimalText> scan_json_number(std::string_view text) {
  Scanner scanner(text);
  DecimalText number;
  number.negative = scanner.eat('-');
  number.int_digits = scanner.digit_run();
  if (number.int_digits.empty()) return std::nullopt;
  if (number.int_digits.size() > 1 && number.int_digits[0] == '0') return std::nullopt;
  if (scanner.eat('.')) {
    number.frac_digits = scanner.digit_run();
    if (number.frac_digits.empty()) return std::nullopt;
  }
  int64_t exponent = 0;
  if ((scanner.eat('e') || scanner.eat('E')) && !scan_exponent(scanner, &exponent)) {
    return std::nullopt;
  }
  if (!scanner.at_end()) return std::nullopt;
  number.point = static_cast<int64_t>(number.int_digits.size()) + exponent;
  return number;
}

// The digits left of the decimal point; nullopt past int64 (no unit could hold it).
std::optional<uint64_t> integer_part(const DecimalText& number) {
  constexpr auto kLimit = static_cast<uint64_t>(kMaxNanos);
  uint64_t value = 0;
  for (int64_t i = 0; i < number.point; ++i) {
    // Past the written digits only zeros follow: zero stays zero, anything else soon overflows.
    if (value == 0 && i >= static_cast<int64_t>(number.digit_count())) break;
    const unsigned digit = number.digit_at(i);
    if (value > (kLimit - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

// The first `width` digits right of the decimal point.
int64_t fraction_part(const DecimalText& number, int width) {
  int64_t value = 0;
  for (int i = 0; i < width; ++i) value = value * 10 + number.digit_at(number.point + i);
  return value;
}

struct EpochUnit {
  TimeForm form;
  int64_t nanos;
  int fraction_width;  // how many fraction digits are still whole nanoseconds
};

EpochUnit unit_for_magnitude(uint64_t integer) {
  if (integer < 100'000'000'000ULL) return {TimeForm::epoch_seconds, kNanosPerSecond, 9};
  if (integer < 100'000'000'000'000ULL) return {TimeForm::epoch_millis, kNanosPerMilli, 6};
  if (integer < 100'000'000'000'000'000ULL) return {TimeForm::epoch_micros, kNanosPerMicro, 3};
  return {TimeForm::epoch_nanos, 1, 0};
}

// ---------------------------------------------------------------------------------------------
// ISO 8601 / RFC 3339.

struct ClockTime {
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
  int64_t nanos = 0;
};

bool scan_date(Scanner& scanner, CivilDate* date) {
  unsigned year = 0;
  if (!scanner.fixed_digits(4, &year) || !scanner.eat('-')) return false;
  if (!scanner.fixed_digits(2, &date->month) || !scanner.eat('-')) return false;
  if (!scanner.fixed_digits(2, &date->day)) return false;
  date->year = year;
  return date->month >= 1 && date->month <= 12 && date->day >= 1 &&
         date->day <= days_in_month(date->year, date->month);
}

bool scan_clock(Scanner& scanner, ClockTime* clock) {
  if (!scanner.fixed_digits(2, &clock->hour) || !scanner.eat(':')) return false;
  if (!scanner.fixed_digits(2, &clock->minute) || !scanner.eat(':')) return false;
  if (!scanner.fixed_digits(2, &clock->second)) return false;
  return clock->hour <= 23 && clock->minute <= 59 && clock->second <= 60;
}

// '.' or ',' and at least one digit; absent is zero.
bool scan_fraction(Scanner& scanner, int64_t* nanos) {
  if (!scanner.eat('.') && !scanner.eat(',')) return true;
  const std::string_view digits = scanner.digit_run();
  *nanos = leading_fraction_digits(digits, 9);
  return !digits.empty();
}

// Z, ±hh:mm, ±hhmm, ±hh, or nothing (UTC). The offset is local time minus UTC, in seconds.
bool scan_zone(Scanner& scanner, int64_t* offset_seconds) {
  if (scanner.at_end()) return true;
  if (scanner.eat('Z') || scanner.eat('z')) return true;
  if (scanner.peek() == ' ' && (scanner.peek_next() == '+' || scanner.peek_next() == '-')) {
    scanner.skip();
  }
  const bool negative = scanner.eat('-');
  if (!negative && !scanner.eat('+')) return false;
  unsigned hours = 0;
  unsigned minutes = 0;
  if (!scanner.fixed_digits(2, &hours)) return false;
  const bool colon = scanner.eat(':');
  if ((colon || !scanner.at_end()) && !scanner.fixed_digits(2, &minutes)) return false;
  if (hours > 23 || minutes > 59) return false;
  const int64_t seconds = static_cast<int64_t>(hours) * 3600 + minutes * 60;
  *offset_seconds = negative ? -seconds : seconds;
  return true;
}

// Seconds since the epoch of a UTC wall-clock time; a leap second (:60) must be 23:59:60 UTC.
std::optional<int64_t> utc_seconds(const CivilDate& date, const ClockTime& clock,
                                   int64_t offset_seconds) {
  const bool leap_second = clock.second == 60;
  const int64_t seconds = days_from_civil(date.year, date.month, date.day) * kSecondsPerDay +
                          clock.hour * 3600 + clock.minute * 60 +
                          (leap_second ? 59 : clock.second) - offset_seconds;
  if (!leap_second) return seconds;
  const int64_t second_of_day = seconds - floor_div(seconds, kSecondsPerDay) * kSecondsPerDay;
  if (second_of_day != kSecondsPerDay - 1) return std::nullopt;
  return seconds + 1;
}

std::optional<ParsedTime> to_parsed_time(std::optional<int64_t> seconds, int64_t nanos,
                                         TimeForm form) {
  ParsedTime parsed{0, form};
  if (!seconds || !checked_mul_add(*seconds, kNanosPerSecond, nanos, &parsed.ns)) {
    return std::nullopt;
  }
  return parsed;
}

std::optional<ParsedTime> parse_iso8601(std::string_view text) {
  Scanner scanner(text);
  CivilDate date{};
  if (!scan_date(scanner, &date)) return std::nullopt;
  ClockTime clock;
  int64_t offset_seconds = 0;
  bool zoned = false;
  if (!scanner.at_end()) {
    if (!scanner.eat('T') && !scanner.eat('t') && !scanner.eat(' ')) return std::nullopt;
    if (!scan_clock(scanner, &clock) || !scan_fraction(scanner, &clock.nanos)) return std::nullopt;
    zoned = !scanner.at_end();
    if (!scan_zone(scanner, &offset_seconds) || !scanner.at_end()) return std::nullopt;
  }
  TimeForm form = zoned ? TimeForm::iso8601 : TimeForm::iso8601_no_zone;
  auto parsed = to_parsed_time(utc_seconds(date, clock, offset_seconds), clock.nanos, form);
  if (parsed) parsed->utc_offset = int32_t(offset_seconds);
  return parsed;
}

// Four digits and a dash: the only way an ISO date can start (a number never has '-' there).
bool looks_like_iso_date(std::string_view text) {
  return text.size() >= 5 && count_digits(text, 0) == 4 && text[4] == '-';
}

// ---------------------------------------------------------------------------------------------
// time.asctime(): "Wed Nov  5 09:23:19 2026".

constexpr std::array<std::string_view, 7> kWeekdayNames = {"Sun", "Mon", "Tue", "Wed",
                                                           "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Index of the three-letter name at the scanner, or nullopt.
template <size_t N>
std::optional<unsigned> scan_name(Scanner& scanner, const std::array<std::string_view, N>& names) {
  for (size_t i = 0; i < N; ++i) {
    if (scanner.eat(names[i])) return static_cast<unsigned>(i);
  }
  return std::nullopt;
}

// C's asctime pads the day with a space ("Nov  5"); "Nov 05" and "Nov 5" are accepted too.
bool scan_asctime_day(Scanner& scanner, unsigned* day) {
  if (!scanner.eat(' ')) return false;
  if (scanner.eat(' ') || !is_digit(scanner.peek_next())) return scanner.fixed_digits(1, day);
  return scanner.fixed_digits(2, day);
}

std::optional<ParsedTime> parse_asctime(std::string_view text) {
  Scanner scanner(text);
  const std::optional<unsigned> weekday = scan_name(scanner, kWeekdayNames);
  if (!weekday || !scanner.eat(' ')) return std::nullopt;
  const std::optional<unsigned> month = scan_name(scanner, kMonthNames);
  CivilDate date{0, month.value_or(0) + 1, 0};
  ClockTime clock;
  unsigned year = 0;
  if (!month || !scan_asctime_day(scanner, &date.day) || !scanner.eat(' ')) return std::nullopt;
  if (!scan_clock(scanner, &clock) || !scanner.eat(' ')) return std::nullopt;
  if (!scanner.fixed_digits(4, &year) || !scanner.at_end()) return std::nullopt;
  date.year = year;
  if (date.day < 1 || date.day > days_in_month(date.year, date.month)) return std::nullopt;
  const int64_t days = days_from_civil(date.year, date.month, date.day);
  if (weekday_from_days(days) != *weekday) return std::nullopt;
  return to_parsed_time(utc_seconds(date, clock, 0), 0, TimeForm::asctime);
}

// ---------------------------------------------------------------------------------------------
// Durations.

struct DurationUnit {
  std::string_view suffix;
  int64_t nanos;
};

// Longer suffixes first so "ms" is not read as "m" followed by "s".
constexpr std::array<DurationUnit, 10> kDurationUnits = {{
    {"\xC2\xB5s", 1'000},  // micro sign
    {"\xCE\xBCs", 1'000},  // Greek mu
    {"ns", 1},
    {"us", 1'000},
    {"ms", 1'000'000},
    {"s", kNanosPerSecond},
    {"m", 60 * kNanosPerSecond},
    {"h", 3'600 * kNanosPerSecond},
    {"d", 86'400 * kNanosPerSecond},
    {"", 0},  // sentinel: no unit
}};

DurationUnit scan_duration_unit(Scanner& scanner) {
  for (const DurationUnit& unit : kDurationUnits) {
    if (!unit.suffix.empty() && scanner.eat(unit.suffix)) return unit;
  }
  return kDurationUnits.back();
}

__extension__ using uint128 = unsigned __int128;

// digits[.digits] times the unit, exact to the nanosecond (fraction truncated past 18 digits).
std::optional<int64_t> scale_decimal(std::string_view int_digits, std::string_view frac_digits,
                                     int64_t unit_nanos) {
  if (int_digits.size() > 19) return std::nullopt;
  uint128 integer = 0;
  for (const char c : int_digits) integer = integer * 10 + digit_value(c);
  const int frac_width = static_cast<int>(std::min<size_t>(frac_digits.size(), 18));
  uint128 fraction = static_cast<uint64_t>(leading_fraction_digits(frac_digits, frac_width));
  uint128 frac_scale = 1;
  for (int i = 0; i < frac_width; ++i) frac_scale *= 10;
  const auto unit = static_cast<uint128>(unit_nanos);
  const uint128 nanos = integer * unit + fraction * unit / frac_scale;
  if (nanos > static_cast<uint128>(kMaxNanos)) return std::nullopt;
  return static_cast<int64_t>(nanos);
}

struct DurationTerm {
  std::string_view int_digits;
  std::string_view frac_digits;
  DurationUnit unit;
};

std::optional<DurationTerm> scan_duration_term(Scanner& scanner) {
  DurationTerm term;
  term.int_digits = scanner.digit_run();
  if (term.int_digits.empty()) return std::nullopt;
  if (scanner.eat('.')) {
    term.frac_digits = scanner.digit_run();
    if (term.frac_digits.empty()) return std::nullopt;
  }
  term.unit = scan_duration_unit(scanner);
  return term;
}

// ---------------------------------------------------------------------------------------------
// Formatting.

// Writes `value` as exactly `width` digits, zero padded.
char* put_digits(char* out, uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

char* put_number(char* out, uint64_t value) {
  int width = 1;
  for (uint64_t rest = value / 10; rest != 0; rest /= 10) ++width;
  return put_digits(out, value, width);
}

char* put_text(char* out, std::string_view text) {
  for (const char c : text) *out++ = c;
  return out;
}

uint64_t divide_rounded(uint64_t value, uint64_t divisor) {
  return (value + divisor / 2) / divisor;
}

// The value in `unit_nanos` with three significant digits ("2.50", "12.3", "840"), or nullptr
// when it rounds to `limit` units or more and belongs to the next unit.
char* put_three_significant(char* out, uint64_t nanos, uint64_t unit_nanos, uint64_t limit) {
  const uint64_t hundredths = divide_rounded(nanos * 100, unit_nanos);
  if (hundredths < 1000 && hundredths < limit * 100) {
    out = put_number(out, hundredths / 100);
    *out++ = '.';
    return put_digits(out, hundredths % 100, 2);
  }
  const uint64_t tenths = divide_rounded(nanos * 10, unit_nanos);
  if (tenths < 1000 && tenths < limit * 10) {
    out = put_number(out, tenths / 10);
    *out++ = '.';
    return put_digits(out, tenths % 10, 1);
  }
  const uint64_t whole = divide_rounded(nanos, unit_nanos);
  if (whole < limit) return put_number(out, whole);
  return nullptr;
}

// Two units, the second zero padded: "3m05s", "2h05m".
char* put_two_units(char* out, uint64_t total, uint64_t per_major, char major, char minor) {
  out = put_number(out, total / per_major);
  *out++ = major;
  out = put_digits(out, total % per_major, 2);
  *out++ = minor;
  return out;
}

char* put_duration_magnitude(char* out, uint64_t nanos) {
  if (nanos < 1000) return put_text(put_number(out, nanos), "ns");
  struct Scale {
    uint64_t unit_nanos;
    uint64_t limit;
    std::string_view suffix;
  };
  constexpr std::array<Scale, 3> kScales = {
      {{1'000, 1000, "us"}, {1'000'000, 1000, "ms"}, {1'000'000'000, 60, "s"}}};
  for (const Scale& scale : kScales) {
    if (nanos >= scale.unit_nanos * scale.limit) continue;
    if (char* end = put_three_significant(out, nanos, scale.unit_nanos, scale.limit)) {
      return put_text(end, scale.suffix);
    }
  }
  const uint64_t seconds = divide_rounded(nanos, 1'000'000'000);
  if (seconds < 3600) return put_two_units(out, seconds, 60, 'm', 's');
  return put_two_units(out, divide_rounded(nanos, 60'000'000'000), 60, 'h', 'm');
}

}  // namespace

std::string_view to_string(TimeForm form) {
  switch (form) {
    case TimeForm::none:
      return "none";
    case TimeForm::epoch_seconds:
      return "epoch-s";
    case TimeForm::epoch_millis:
      return "epoch-ms";
    case TimeForm::epoch_micros:
      return "epoch-us";
    case TimeForm::epoch_nanos:
      return "epoch-ns";
    case TimeForm::iso8601:
      return "iso8601";
    case TimeForm::asctime:
      return "asctime";
    case TimeForm::iso8601_no_zone:
      return "iso8601 with no zone";
  }
  return "none";
}

namespace {

// Eight ASCII digits as a number, or nullopt if one of the bytes is no digit: one multiply per
// halving instead of a chain of eight multiply-adds (the usual SWAR reading, as in simdjson).
static_assert(std::endian::native == std::endian::little, "eight_digits reads the first byte low");
std::optional<uint32_t> eight_digits_word(uint64_t v) {
  constexpr uint64_t kHigh = 0xF0F0F0F0F0F0F0F0ull, kZeros = 0x3030303030303030ull;
  // Every byte 0x30..0x39: its high nibble is 3, and adding 6 does not carry out of the nibble.
  if ((v & kHigh) != kZeros || ((v + 0x0606060606060606ull) & kHigh) != kZeros) return std::nullopt;
  v -= kZeros;
  v = v * 10 + (v >> 8);  // pairs of digits, in every other byte
  v = (((v & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
       (((v >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >>
      32;
  return uint32_t(v);
}

std::optional<uint32_t> eight_digits(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return eight_digits_word(v);
}

}  // namespace

// time.time() as Python prints it, "1795578788.0001457": ten digits of seconds, a dot and one to
// nine digits, read without a loop (a chain of multiply-adds per digit was most of the cost).
// Any other shape is nullopt, for parse_plain_epoch_seconds; where this one reads a time, that
// one reads the same (test_timestamp.cpp compares them).
std::optional<ParsedTime> parse_common_epoch_seconds(std::string_view text) {
  const char* p = text.data();
  const size_t n = text.size();
  if (n < 12 || n > 20 || p[10] != '.' || p[0] == '0' || !is_digit(p[8]) || !is_digit(p[9]))
    return std::nullopt;
  const std::optional<uint32_t> high = eight_digits(p);
  if (!high) return std::nullopt;
  const int64_t seconds = int64_t(*high) * 100 + digit_value(p[8]) * 10 + digit_value(p[9]);
  // As in parse_plain_epoch_seconds: the nanoseconds of larger ones overflow near int64's end.
  if (seconds >= 9'000'000'000) return std::nullopt;
  const size_t width = n - 11;  // 1 to 9 digits after the dot
  int64_t nanos = 0;
  if (width >= 8) {
    const std::optional<uint32_t> first = eight_digits(p + 11);
    if (!first) return std::nullopt;
    nanos = int64_t(*first) * 10;
    if (width == 9) {
      if (!is_digit(p[19])) return std::nullopt;
      nanos += digit_value(p[19]);
    }
  } else {
    // The last eight bytes (inside the text: n >= 12) hold the digits in their high bytes;
    // shifted down to the low ones, the bytes above become '0': "0001457" reads as 00014570.
    uint64_t v;
    std::memcpy(&v, p + n - 8, 8);
    const unsigned shift = unsigned(8 - width) * 8;  // 8 to 56: never 0 nor 64
    v = (v >> shift) | (0x3030303030303030ull << (64 - shift));
    const std::optional<uint32_t> fraction = eight_digits_word(v);
    if (!fraction) return std::nullopt;
    nanos = int64_t(*fraction) * 10;
  }
  return ParsedTime{seconds * kNanosPerSecond + nanos, TimeForm::epoch_seconds};
}

namespace {

// Up to ten digits of seconds, and a dot and digits or nothing ("12.5", "1700000000"): read in one
// pass, as the general path would; nullopt sends any other shape to that path.
std::optional<ParsedTime> parse_plain_epoch_seconds(std::string_view text) {
  const char* p = text.data();
  const char* end = p + text.size();
  int64_t seconds = 0;
  const char* digits = p;
  if (end - p >= 8) {
    if (auto first = eight_digits(p)) seconds = *first, p += 8;
  }
  while (p < end && is_digit(*p) && p - digits < 10) seconds = seconds * 10 + (*p++ - '0');
  const size_t int_digits = size_t(p - digits);
  if (int_digits == 0 || (int_digits > 1 && *digits == '0')) return std::nullopt;
  // Ten digits reach 9999999999 s, whose nanoseconds overflow int64: the general path says no.
  if (seconds >= 9'000'000'000) return std::nullopt;
  int64_t nanos = 0;
  if (p < end) {
    if (*p++ != '.' || p == end) return std::nullopt;
    int width = 0;
    for (; p < end && is_digit(*p); ++p)
      if (width < 9) nanos = nanos * 10 + (*p - '0'), ++width;  // later digits are truncated
    if (p != end) return std::nullopt;                          // an exponent, or anything else
    for (; width < 9; ++width) nanos *= 10;
  }
  return ParsedTime{seconds * kNanosPerSecond + nanos, TimeForm::epoch_seconds};
}

}  // namespace

std::optional<ParsedTime> parse_epoch_number(std::string_view text) {
  if (auto common = parse_common_epoch_seconds(text)) return common;
  return parse_epoch_number_in_full(text);
}

std::optional<ParsedTime> parse_epoch_number_in_full(std::string_view text) {
  if (auto plain = parse_plain_epoch_seconds(text)) return plain;
  const std::optional<DecimalText> number = scan_json_number(text);
  if (!number) return std::nullopt;
  const std::optional<uint64_t> integer = integer_part(*number);
  if (!integer) return std::nullopt;
  const EpochUnit unit = unit_for_magnitude(*integer);
  ParsedTime parsed{0, unit.form};
  const int64_t fraction = fraction_part(*number, unit.fraction_width);
  if (!checked_mul_add(static_cast<int64_t>(*integer), unit.nanos, fraction, &parsed.ns)) {
    return std::nullopt;
  }
  if (number->negative) parsed.ns = -parsed.ns;
  return parsed;
}

std::optional<int32_t> parse_utc_offset(std::string_view text) {
  text = trim_spaces(text);
  if (text == "UTC" || text == "utc") return 0;
  if (text.empty()) return std::nullopt;
  Scanner scanner(text);
  int64_t seconds = 0;
  if (!scan_zone(scanner, &seconds) || !scanner.at_end()) return std::nullopt;
  return int32_t(seconds);
}

std::optional<ParsedTime> parse_time_string(std::string_view text) {
  text = trim_spaces(text);
  if (text.empty()) return std::nullopt;
  if (looks_like_iso_date(text)) return parse_iso8601(text);
  if (is_digit(text.front()) || text.front() == '-') return parse_epoch_number(text);
  return parse_asctime(text);
}

namespace {

// The local date and time at `utc_offset` of `ns`, as numbers.
struct WallClock {
  CivilDate date;
  int64_t second_of_day = 0;
  int64_t micros = 0;
};

WallClock wall_clock(int64_t ns, int32_t utc_offset) {
  // Seconds are far from the int64 ends (ns / 1e9), so adding an offset of hours cannot overflow.
  const int64_t seconds = floor_div(ns, kNanosPerSecond) + utc_offset;
  // The remainder, not ns - seconds * 1e9: that product overflows near INT64_MIN.
  const int64_t nanos = (ns % kNanosPerSecond + kNanosPerSecond) % kNanosPerSecond;
  const int64_t days = floor_div(seconds, kSecondsPerDay);
  return {civil_from_days(days), seconds - days * kSecondsPerDay, nanos / kNanosPerMicro};
}

char* put_clock(char* out, const WallClock& wall) {
  out = put_digits(out, static_cast<uint64_t>(wall.second_of_day / 3600), 2);
  *out++ = ':';
  out = put_digits(out, static_cast<uint64_t>(wall.second_of_day / 60 % 60), 2);
  *out++ = ':';
  out = put_digits(out, static_cast<uint64_t>(wall.second_of_day % 60), 2);
  *out++ = '.';
  return put_digits(out, static_cast<uint64_t>(wall.micros), 6);
}

}  // namespace

std::string format_time(int64_t ns, int32_t utc_offset) {
  const WallClock wall = wall_clock(ns, utc_offset);
  // int64 nanoseconds span the years 1677..2262: always four digits.
  std::array<char, 40> buffer{};
  char* out = put_digits(buffer.data(), static_cast<uint64_t>(wall.date.year), 4);
  *out++ = '-';
  out = put_digits(out, wall.date.month, 2);
  *out++ = '-';
  out = put_digits(out, wall.date.day, 2);
  *out++ = 'T';
  out = put_clock(out, wall);
  if (utc_offset == 0) return std::string(buffer.data(), out) + 'Z';
  return std::string(buffer.data(), out) + format_utc_offset(utc_offset);
}

std::string format_utc_offset(int32_t seconds) {
  std::array<char, 8> buffer{};
  const uint32_t magnitude = static_cast<uint32_t>(seconds < 0 ? -int64_t(seconds) : seconds);
  char* out = buffer.data();
  *out++ = seconds < 0 ? '-' : '+';
  out = put_digits(out, magnitude / 3600, 2);
  *out++ = ':';
  out = put_digits(out, magnitude / 60 % 60, 2);
  return std::string(buffer.data(), out);
}

std::string format_clock(int64_t ns, int32_t utc_offset) {
  std::array<char, 24> buffer{};
  char* out = put_clock(buffer.data(), wall_clock(ns, utc_offset));
  return std::string(buffer.data(), out);
}

std::optional<int64_t> parse_duration(std::string_view text) {
  Scanner scanner(trim_spaces(text));
  int64_t total = 0;
  bool first = true;
  do {
    const std::optional<DurationTerm> term = scan_duration_term(scanner);
    if (!term) return std::nullopt;
    // A bare number is seconds, but only alone: "1m30" is ambiguous.
    const bool bare = term->unit.suffix.empty();
    if (bare && !(first && scanner.at_end())) return std::nullopt;
    const int64_t unit_nanos = bare ? kNanosPerSecond : term->unit.nanos;
    const std::optional<int64_t> nanos =
        scale_decimal(term->int_digits, term->frac_digits, unit_nanos);
    if (!nanos || __builtin_add_overflow(total, *nanos, &total)) return std::nullopt;
    first = false;
  } while (!scanner.at_end());
  return total;
}

std::string format_duration(int64_t ns) {
  if (ns == 0) return "0s";
  std::array<char, 40> buffer{};
  char* out = buffer.data();
  if (ns < 0) *out++ = '-';
  // Negate in unsigned arithmetic so INT64_MIN has a magnitude too.
  const uint64_t magnitude = ns < 0 ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  out = put_duration_magnitude(out, magnitude);
  return std::string(buffer.data(), out);
}

}  // namespace coroner
