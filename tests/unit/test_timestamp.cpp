#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "coroner/timestamp.hpp"
#include "epoch_number.hpp"

namespace {

using coroner::format_duration;
using coroner::format_time;
using coroner::parse_duration;
using coroner::parse_epoch_number;
using coroner::parse_time_string;
using coroner::TimeForm;

constexpr int64_t kSecond = 1'000'000'000;

// 2026-11-25T09:23:19Z, the instant most cases below write in different ways.
constexpr int64_t kNov25 = 1'795'598'599 * kSecond;

// The nanoseconds of a string that must parse, with the form it must be read as.
int64_t time_of(std::string_view text, TimeForm form) {
  const std::optional<coroner::ParsedTime> parsed = parse_time_string(text);
  INFO("text: '" << text << "'");
  REQUIRE(parsed.has_value());
  CHECK(parsed->form == form);
  return parsed->ns;
}

int64_t epoch_of(std::string_view text, TimeForm form) {
  const std::optional<coroner::ParsedTime> parsed = parse_epoch_number(text);
  INFO("text: '" << text << "'");
  REQUIRE(parsed.has_value());
  CHECK(parsed->form == form);
  return parsed->ns;
}

int64_t duration_of(std::string_view text) {
  const std::optional<int64_t> parsed = parse_duration(text);
  INFO("text: '" << text << "'");
  REQUIRE(parsed.has_value());
  return *parsed;
}

}  // namespace

TEST_CASE("coroner::timestamp") {
  SUBCASE("to_string names every form") {
    CHECK(coroner::to_string(TimeForm::none) == "none");
    CHECK(coroner::to_string(TimeForm::epoch_seconds) == "epoch-s");
    CHECK(coroner::to_string(TimeForm::epoch_millis) == "epoch-ms");
    CHECK(coroner::to_string(TimeForm::epoch_micros) == "epoch-us");
    CHECK(coroner::to_string(TimeForm::epoch_nanos) == "epoch-ns");
    CHECK(coroner::to_string(TimeForm::iso8601) == "iso8601");
    CHECK(coroner::to_string(TimeForm::asctime) == "asctime");
    CHECK(coroner::to_string(TimeForm::iso8601_no_zone) == "iso8601 with no zone");
  }

  SUBCASE("a time with no zone is UTC, unless its offset is given") {
    auto t = parse_time_string("2026-11-25 04:23:19,610");
    REQUIRE(t);
    CHECK(t->form == TimeForm::iso8601_no_zone);
    coroner::place_in_zone(*t, std::nullopt);
    CHECK(t->ns == kNov25 - 5 * 3600 * kSecond + 610'000'000);
    coroner::place_in_zone(*t, -5 * 3600);
    CHECK(t->ns == kNov25 + 610'000'000);
    CHECK(t->utc_offset == -5 * 3600);
    CHECK(t->form == TimeForm::iso8601);  // its zone is known now
    auto zoned = parse_time_string("2026-11-25T09:23:19Z");
    REQUIRE(zoned);
    coroner::place_in_zone(*zoned, -5 * 3600);  // a zone written out stands
    CHECK(zoned->ns == kNov25);
    CHECK(zoned->utc_offset == 0);
    auto asctime = parse_time_string("Wed Nov 25 04:23:19 2026");
    REQUIRE(asctime);
    coroner::place_in_zone(*asctime, -5 * 3600);
    CHECK(asctime->ns == kNov25);
  }

  SUBCASE("an offset from UTC as --naive-offset takes it") {
    using coroner::parse_utc_offset;
    CHECK(parse_utc_offset("-05:00") == -5 * 3600);
    CHECK(parse_utc_offset("+0530") == 5 * 3600 + 30 * 60);
    CHECK(parse_utc_offset("+05") == 5 * 3600);
    CHECK(parse_utc_offset("Z") == 0);
    CHECK(parse_utc_offset("UTC") == 0);
    CHECK(parse_utc_offset(" -09:30 ") == -(9 * 3600 + 30 * 60));
    CHECK_FALSE(parse_utc_offset(""));
    CHECK_FALSE(parse_utc_offset("5h"));
    CHECK_FALSE(parse_utc_offset("-5"));
    CHECK_FALSE(parse_utc_offset("+24:00"));
    CHECK_FALSE(parse_utc_offset("-05:00x"));
    CHECK(coroner::format_utc_offset(-5 * 3600) == "-05:00");
    CHECK(coroner::format_utc_offset(5 * 3600 + 45 * 60) == "+05:45");
    CHECK(coroner::format_utc_offset(0) == "+00:00");
  }

  SUBCASE("epoch numbers in every unit") {
    CHECK(epoch_of("1700000000", TimeForm::epoch_seconds) == 1'700'000'000 * kSecond);
    CHECK(epoch_of("1700000000123", TimeForm::epoch_millis) == 1'700'000'000'123'000'000);
    CHECK(epoch_of("1700000000123456", TimeForm::epoch_micros) == 1'700'000'000'123'456'000);
    CHECK(epoch_of("1700000000123456789", TimeForm::epoch_nanos) == 1'700'000'000'123'456'789);
    CHECK(epoch_of("0", TimeForm::epoch_seconds) == 0);
  }

  SUBCASE("fraction digits are exact, never rounded through a double") {
    CHECK(epoch_of("1795578788.8227997", TimeForm::epoch_seconds) == 1'795'578'788'822'799'700);
    CHECK(epoch_of("1795578788.123456789", TimeForm::epoch_seconds) == 1'795'578'788'123'456'789);
    // Digits past the nanosecond are truncated, not rounded up.
    CHECK(epoch_of("1795578788.1234567899", TimeForm::epoch_seconds) == 1'795'578'788'123'456'789);
    CHECK(epoch_of("1700000000123.4567", TimeForm::epoch_millis) == 1'700'000'000'123'456'700);
    CHECK(epoch_of("1700000000123456.789", TimeForm::epoch_micros) == 1'700'000'000'123'456'789);
    CHECK(epoch_of("1700000000123456789.9", TimeForm::epoch_nanos) == 1'700'000'000'123'456'789);
  }

  SUBCASE("time.time()'s shape, read on its own fast path, agrees with the general one") {
    // Either side of where the fast path hands over (9e9 s) and at int64's last nanosecond.
    CHECK(epoch_of("8999999999.999999999", TimeForm::epoch_seconds) == 8'999'999'999'999'999'999);
    CHECK(epoch_of("9000000000.5", TimeForm::epoch_seconds) == 9'000'000'000'500'000'000);
    CHECK(epoch_of("9223372036.854775807", TimeForm::epoch_seconds) ==
          std::numeric_limits<int64_t>::max());
    CHECK_FALSE(parse_epoch_number("9223372036.854775808"));
    CHECK(epoch_of("0.000000001", TimeForm::epoch_seconds) == 1);
    CHECK(epoch_of("12.5", TimeForm::epoch_seconds) == 12'500'000'000);
    // Eight digits are read at once: each byte must be a digit, the neighbours of '0'..'9' not.
    CHECK(epoch_of("12345678", TimeForm::epoch_seconds) == 12'345'678 * kSecond);
    CHECK(epoch_of("123456789.5", TimeForm::epoch_seconds) == 123'456'789'500'000'000);
    CHECK(epoch_of("90000000", TimeForm::epoch_seconds) == 90'000'000 * kSecond);
    for (std::string_view text : {"1795578:88", "17955/7888", "1795578 88", "1795578:88.5"}) {
      INFO("text: '" << text << "'");
      CHECK_FALSE(parse_epoch_number(text));
    }
    CHECK(epoch_of("179557.788", TimeForm::epoch_seconds) == 179'557'788'000'000);
    // Every digit count after the point, against the digits written out by hand.
    std::string text = "1795578788.";
    int64_t expected = 1'795'578'788 * kSecond;
    int64_t place = kSecond;
    for (char digit : std::string("98765432198")) {
      text.push_back(digit);
      place /= 10;
      expected += place * (digit - '0');
      CHECK(epoch_of(text, TimeForm::epoch_seconds) == expected);
    }
  }

  SUBCASE("magnitude boundaries between units") {
    // 1e11 ms, 1e14 us and 1e17 ns are the same instant.
    CHECK(epoch_of("100000000000", TimeForm::epoch_millis) == 100'000'000'000'000'000);
    CHECK(epoch_of("100000000000000", TimeForm::epoch_micros) == 100'000'000'000'000'000);
    CHECK(epoch_of("100000000000000000", TimeForm::epoch_nanos) == 100'000'000'000'000'000);
    // Just below each boundary the smaller unit is meant, and the instant is past 2262.
    CHECK_FALSE(parse_epoch_number("99999999999"));
    CHECK_FALSE(parse_epoch_number("99999999999999"));
    CHECK_FALSE(parse_epoch_number("99999999999999999"));
    // The last second int64 nanoseconds can hold, and the next one.
    CHECK(epoch_of("9223372036", TimeForm::epoch_seconds) == 9'223'372'036 * kSecond);
    CHECK_FALSE(parse_epoch_number("9223372037"));
    CHECK(epoch_of("9223372036854775807", TimeForm::epoch_nanos) ==
          std::numeric_limits<int64_t>::max());
    CHECK_FALSE(parse_epoch_number("9223372036854775808"));
    CHECK_FALSE(parse_epoch_number("99999999999999999999999999"));
  }

  SUBCASE("negative epochs count back from 1970") {
    CHECK(epoch_of("-5", TimeForm::epoch_seconds) == -5 * kSecond);
    CHECK(epoch_of("-1.5", TimeForm::epoch_seconds) == -1'500'000'000);
    CHECK(epoch_of("-1700000000123", TimeForm::epoch_millis) == -1'700'000'000'123'000'000);
    CHECK(epoch_of("-0", TimeForm::epoch_seconds) == 0);
  }

  SUBCASE("exponent forms") {
    CHECK(epoch_of("1.7e9", TimeForm::epoch_seconds) == 1'700'000'000 * kSecond);
    CHECK(epoch_of("1795578788E0", TimeForm::epoch_seconds) == 1'795'578'788 * kSecond);
    CHECK(epoch_of("1.7E+12", TimeForm::epoch_millis) == 1'700'000'000'000'000'000);
    CHECK(epoch_of("17955787888227997e-7", TimeForm::epoch_seconds) == 1'795'578'788'822'799'700);
    CHECK(epoch_of("1e-999", TimeForm::epoch_seconds) == 0);
    CHECK_FALSE(parse_epoch_number("1e999"));
    CHECK_FALSE(parse_epoch_number("1e99999999999999999999"));
    CHECK_FALSE(parse_epoch_number("1e"));
    CHECK_FALSE(parse_epoch_number("1e+"));
  }

  SUBCASE("epoch numbers that are not numbers are rejected") {
    for (const std::string_view text :
         {"", "-", "NaN", "nan", "Infinity", "-Infinity", "inf", "+5", "01700000000", ".5", "5.",
          "1.2.3", "17e9x", "0x10", " 1700000000", "1700000000 ", "1_700_000_000", "1,5"}) {
      INFO("text: '" << text << "'");
      CHECK_FALSE(parse_epoch_number(text));
    }
  }

  SUBCASE("a number inside a string is an epoch") {
    CHECK(time_of("1795578788.82", TimeForm::epoch_seconds) == 1'795'578'788'820'000'000);
    CHECK(time_of("1700000000123", TimeForm::epoch_millis) == 1'700'000'000'123'000'000);
    CHECK(time_of(" 1700000000 ", TimeForm::epoch_seconds) == 1'700'000'000 * kSecond);
  }

  SUBCASE("ISO 8601 zones name the same instant") {
    CHECK(time_of("2026-11-25T09:23:19Z", TimeForm::iso8601) == kNov25);
    CHECK(time_of("2026-11-25T09:23:19z", TimeForm::iso8601) == kNov25);
    CHECK(time_of("2026-11-25T09:23:19", TimeForm::iso8601_no_zone) == kNov25);
    CHECK(time_of("2026-11-25T14:53:19+05:30", TimeForm::iso8601) == kNov25);
    CHECK(time_of("2026-11-25T14:53:19+0530", TimeForm::iso8601) == kNov25);
    CHECK(time_of("2026-11-25T01:23:19-08:00", TimeForm::iso8601) == kNov25);
    CHECK(time_of("2026-11-25T01:23:19-08", TimeForm::iso8601) == kNov25);
    CHECK(time_of("2026-11-25T09:23:19+00:00", TimeForm::iso8601) == kNov25);
    CHECK(time_of("2026-11-25T09:23:19-00:00", TimeForm::iso8601) == kNov25);
    // An offset that crosses midnight backwards.
    CHECK(time_of("2026-11-26T00:23:19+15:00", TimeForm::iso8601) == kNov25);
  }

  SUBCASE("ISO 8601 separators and fractions") {
    CHECK(time_of("2026-11-25t09:23:19Z", TimeForm::iso8601) == kNov25);
    CHECK(time_of("2026-11-25 09:23:19", TimeForm::iso8601_no_zone) == kNov25);
    CHECK(time_of("2026-11-25 09:23:19.610115", TimeForm::iso8601_no_zone) == kNov25 + 610'115'000);
    CHECK(time_of("2026-11-25T09:23:19.6Z", TimeForm::iso8601) == kNov25 + 600'000'000);
    CHECK(time_of("2026-11-25T09:23:19.123456789Z", TimeForm::iso8601) == kNov25 + 123'456'789);
    CHECK(time_of("2026-11-25T09:23:19.1234567899999Z", TimeForm::iso8601) == kNov25 + 123'456'789);
    CHECK(time_of("2026-11-25T14:53:19.5+05:30", TimeForm::iso8601) == kNov25 + 500'000'000);
    // Python logging's asctime: space and comma.
    CHECK(time_of("2026-11-25 09:23:19,610", TimeForm::iso8601_no_zone) == kNov25 + 610'000'000);
    // Python's "%Y-%m-%d %H:%M:%S %z".
    CHECK(time_of("2026-11-25 14:53:19 +0530", TimeForm::iso8601) == kNov25);
    // Padding around the text, as a logger may leave it.
    CHECK(time_of("  2026-11-25T09:23:19Z\n", TimeForm::iso8601) == kNov25);
  }

  SUBCASE("a date alone is midnight UTC") {
    CHECK(time_of("2026-11-25", TimeForm::iso8601_no_zone) ==
          kNov25 - (9 * 3600 + 23 * 60 + 19) * kSecond);
  }

  SUBCASE("calendar edges") {
    CHECK(time_of("2024-02-29T12:00:00Z", TimeForm::iso8601) == 1'709'208'000 * kSecond);
    CHECK(time_of("2000-02-29T00:00:00Z", TimeForm::iso8601) == 951'782'400 * kSecond);
    CHECK(time_of("1970-01-01T00:00:00Z", TimeForm::iso8601) == 0);
    CHECK(time_of("1969-12-31T23:59:59Z", TimeForm::iso8601) == -kSecond);
    CHECK(time_of("1900-01-01T00:00:00Z", TimeForm::iso8601) == -2'208'988'800 * kSecond);
    CHECK(time_of("2026-12-31T23:59:59Z", TimeForm::iso8601) + kSecond ==
          time_of("2027-01-01T00:00:00Z", TimeForm::iso8601));
    // A leap second reads as the following midnight; anywhere else :60 is wrong.
    CHECK(time_of("2016-12-31T23:59:60Z", TimeForm::iso8601) == 1'483'228'800 * kSecond);
    CHECK(time_of("2017-01-01T05:29:60+05:30", TimeForm::iso8601) == 1'483'228'800 * kSecond);
    CHECK_FALSE(parse_time_string("2026-11-25T09:23:60Z"));
    // Outside what int64 nanoseconds hold.
    CHECK_FALSE(parse_time_string("1600-01-01T00:00:00Z"));
    CHECK_FALSE(parse_time_string("2300-01-01T00:00:00Z"));
  }

  SUBCASE("time.asctime(), zero or space padded day") {
    CHECK(time_of("Wed Nov 25 09:23:19 2026", TimeForm::asctime) == kNov25);
    CHECK(time_of("Thu Nov  5 09:23:19 2026", TimeForm::asctime) == 1'793'870'599 * kSecond);
    CHECK(time_of("Thu Nov 05 09:23:19 2026", TimeForm::asctime) == 1'793'870'599 * kSecond);
    CHECK(time_of("Thu Nov 5 09:23:19 2026", TimeForm::asctime) == 1'793'870'599 * kSecond);
    CHECK(time_of("Thu Feb 29 00:00:00 2024", TimeForm::asctime) == 1'709'164'800 * kSecond);
    CHECK(time_of("Wed Dec 31 23:59:59 1969\n", TimeForm::asctime) == -kSecond);
  }

  SUBCASE("wrong asctime is rejected") {
    for (const std::string_view text :
         {"Thu Nov 25 09:23:19 2026", "Xyz Nov 25 09:23:19 2026", "Wed Foo 25 09:23:19 2026",
          "wed nov 25 09:23:19 2026", "Wed Nov 31 09:23:19 2026", "Wed Nov  0 09:23:19 2026",
          "Wed Nov 25 24:23:19 2026", "Wed Nov 25 09:23 2026", "Wed Nov 25 09:23:19",
          "Wed Nov 25 09:23:19 2026 UTC", "Wed Nov   5 09:23:19 2026", "Wed Nov  25 09:23:19 2026",
          "Wed Nov 25 09:23:19  2026", "Wed, Nov 25 09:23:19 2026"}) {
      INFO("text: '" << text << "'");
      CHECK_FALSE(parse_time_string(text));
    }
  }

  SUBCASE("wrong times are rejected, never misread") {
    for (const std::string_view text : {
             "",
             "   ",
             "yesterday",
             "now",
             "NaN",
             "Infinity",
             "1e999",
             "12:00:00",
             "2026/11/25 10:00:00",
             "25-11-2026 10:00:00",
             "2026-13-25T09:23:19Z",
             "2026-00-25T09:23:19Z",
             "2026-11-00T09:23:19Z",
             "2026-11-31T09:23:19Z",
             "2023-02-29T09:23:19Z",
             "1900-02-29T00:00:00Z",
             "2026-11-25T24:00:00Z",
             "2026-11-25T09:60:19Z",
             "2026-11-25T09:23:61Z",
             "2026-11-25T09:23",
             "2026-11-25T09:23Z",
             "2026-11-25T9:23:19Z",
             "2026-11-5T09:23:19Z",
             "26-11-25T09:23:19Z",
             "2026-11-25T",
             "2026-11-25X09:23:19",
             "2026-11-25  09:23:19",
             "2026-11-25T09:23:19.",
             "2026-11-25T09:23:19.Z",
             "2026-11-25T09:23:19,",
             "2026-11-25T09:23:19.12a",
             "2026-11-25T09:23:19 Z",
             "2026-11-25T09:23:19ZZ",
             "2026-11-25T09:23:19Z junk",
             "2026-11-25T09:23:19junk",
             "2026-11-25T09:23:19+24:00",
             "2026-11-25T09:23:19+05:60",
             "2026-11-25T09:23:19+5:30",
             "2026-11-25T09:23:19+05:3",
             "2026-11-25T09:23:19+053",
             "2026-11-25T09:23:19+05:30:00",
             "2026-11-25T09:23:19+",
             "2026-11-25T09:23:19 +05:30 x",
             "2026-11-25 junk",
             "2026-11",
             "1795578788.82s",
             "1795578788.82 UTC",
         }) {
      INFO("text: '" << text << "'");
      CHECK_FALSE(parse_time_string(text));
    }
  }

  SUBCASE("format_time writes RFC 3339 UTC with microseconds") {
    CHECK(format_time(0) == "1970-01-01T00:00:00.000000Z");
    CHECK(format_time(1'795'578'799'610'115'000) == "2026-11-25T03:53:19.610115Z");
    CHECK(format_time(1'795'578'799'610'115'999) == "2026-11-25T03:53:19.610115Z");
    CHECK(format_time(1'709'208'000 * kSecond) == "2024-02-29T12:00:00.000000Z");
    CHECK(format_time(-1) == "1969-12-31T23:59:59.999999Z");
    CHECK(format_time(-kSecond) == "1969-12-31T23:59:59.000000Z");
    CHECK(format_time(-1'500'000'000) == "1969-12-31T23:59:58.500000Z");
    CHECK(format_time(-2'208'988'800 * kSecond) == "1900-01-01T00:00:00.000000Z");
    CHECK(format_time(std::numeric_limits<int64_t>::max()) == "2262-04-11T23:47:16.854775Z");
    CHECK(format_time(std::numeric_limits<int64_t>::min()) == "1677-09-21T00:12:43.145224Z");
  }

  SUBCASE("a time is shown at the offset it was written in") {
    // The offset is kept beside the instant, so the reports can show the log's own clock.
    auto parsed = parse_time_string("2026-11-25T09:23:19.610115+05:30");
    REQUIRE(parsed);
    CHECK(parsed->utc_offset == 19800);
    CHECK(parse_time_string("2026-11-25T09:23:19-0800")->utc_offset == -28800);
    CHECK(parse_time_string("2026-11-25T09:23:19Z")->utc_offset == 0);
    CHECK(parse_time_string("1795578799.5")->utc_offset == 0);
    CHECK(format_time(parsed->ns, parsed->utc_offset) == "2026-11-25T09:23:19.610115+05:30");
    CHECK(format_time(parsed->ns) == "2026-11-25T03:53:19.610115Z");
    CHECK(coroner::format_clock(parsed->ns, parsed->utc_offset) == "09:23:19.610115");
    CHECK(coroner::format_clock(parsed->ns) == "03:53:19.610115");
    // Across midnight and to a negative offset.
    CHECK(format_time(kNov25 - 4 * 3600 * kSecond, -8 * 3600) ==
          "2026-11-24T21:23:19.000000-08:00");
    CHECK(format_time(std::numeric_limits<int64_t>::max(), 14 * 3600) ==
          "2262-04-12T13:47:16.854775+14:00");
    CHECK(time_of(format_time(kNov25, -9000), TimeForm::iso8601) == kNov25);
  }

  SUBCASE("format_time and parse_time_string round-trip") {
    for (const int64_t ns : {int64_t{0}, kNov25 + 610'115'000, int64_t{-1'000},
                             int64_t{-123'456'000}, int64_t{951'782'400'000'001'000}}) {
      INFO("ns: " << ns);
      CHECK(time_of(format_time(ns), TimeForm::iso8601) == ns);
    }
  }

  SUBCASE("parse_duration reads every unit") {
    CHECK(duration_of("250ms") == 250'000'000);
    CHECK(duration_of("30s") == 30 * kSecond);
    CHECK(duration_of("1.5m") == 90 * kSecond);
    CHECK(duration_of("2h") == 7'200 * kSecond);
    CHECK(duration_of("1d") == 86'400 * kSecond);
    CHECK(duration_of("100us") == 100'000);
    CHECK(duration_of("100\xC2\xB5s") == 100'000);
    CHECK(duration_of("100\xCE\xBCs") == 100'000);
    CHECK(duration_of("5ns") == 5);
    CHECK(duration_of("0") == 0);
    CHECK(duration_of("0s") == 0);
    CHECK(duration_of("2.5") == 2'500'000'000);
    CHECK(duration_of("30") == 30 * kSecond);
    CHECK(duration_of("0.000000001") == 1);
    CHECK(duration_of("1.5ns") == 1);
    CHECK(duration_of("0.1h") == 360 * kSecond);
    CHECK(duration_of(" 30s\n") == 30 * kSecond);
  }

  SUBCASE("parse_duration adds compound terms") {
    CHECK(duration_of("1m30s") == 90 * kSecond);
    CHECK(duration_of("2h5m") == (2 * 3600 + 5 * 60) * kSecond);
    CHECK(duration_of("1h2m3.5s") == (3600 + 120 + 3) * kSecond + 500'000'000);
    CHECK(duration_of("1s500ms") == 1'500'000'000);
  }

  SUBCASE("parse_duration rejects what is not a duration") {
    for (const std::string_view text : {"",
                                        " ",
                                        "-5s",
                                        "-1",
                                        "+5s",
                                        "s",
                                        "ms",
                                        "5x",
                                        "5 s",
                                        "5sec",
                                        "5min",
                                        "1m30",
                                        "5.s",
                                        ".5s",
                                        "1.5.5s",
                                        "1e3",
                                        "1e3s",
                                        "NaN",
                                        "inf",
                                        "30s junk",
                                        "1m-30s",
                                        "99999999999999999999s",
                                        "1000000000000d",
                                        "9223372037s"}) {
      INFO("text: '" << text << "'");
      CHECK_FALSE(parse_duration(text));
    }
  }

  SUBCASE("format_duration is short and human") {
    CHECK(format_duration(0) == "0s");
    CHECK(format_duration(5) == "5ns");
    CHECK(format_duration(840) == "840ns");
    CHECK(format_duration(999) == "999ns");
    CHECK(format_duration(1'000) == "1.00us");
    CHECK(format_duration(1'500) == "1.50us");
    CHECK(format_duration(840'000) == "840us");
    CHECK(format_duration(999'600) == "1.00ms");
    CHECK(format_duration(12'300'000) == "12.3ms");
    CHECK(format_duration(250'000'000) == "250ms");
    CHECK(format_duration(2'500'000'000) == "2.50s");
    CHECK(format_duration(12'340'000'000) == "12.3s");
    CHECK(format_duration(59'940'000'000) == "59.9s");
    CHECK(format_duration(59'960'000'000) == "1m00s");
    CHECK(format_duration(192 * kSecond) == "3m12s");
    CHECK(format_duration(3'599 * kSecond) == "59m59s");
    CHECK(format_duration(3'600 * kSecond) == "1h00m");
    CHECK(format_duration((2 * 3600 + 5 * 60) * kSecond) == "2h05m");
    CHECK(format_duration(100 * 3600 * kSecond) == "100h00m");
    CHECK(format_duration(-2'500'000'000) == "-2.50s");
    CHECK(format_duration(std::numeric_limits<int64_t>::min()) == "-2562047h47m");
  }

  SUBCASE("durations round-trip through their text") {
    for (const std::string_view text : {"250ms", "2.50s", "3m12s", "2h05m", "840us", "5ns"}) {
      INFO("text: '" << text << "'");
      CHECK(format_duration(duration_of(text)) == text);
    }
  }
}

// parse_epoch_number reads the shape of nearly every record ("1795578788.0001457") on a shortcut:
// wherever the shortcut reads a time, the full reader must read the very same time, and every
// other text must go on to the full reader.
TEST_CASE(
    "coroner::timestamp: the shortcut for time.time() numbers reads what the full reader does") {
  using coroner::parse_common_epoch_seconds;
  using coroner::parse_epoch_number_in_full;
  size_t shortcut_reads = 0;
  auto same = [&](const std::string& text) {
    INFO("text: '" << text << "'");
    const auto full = parse_epoch_number_in_full(text);
    const auto any = parse_epoch_number(text);
    REQUIRE(any.has_value() == full.has_value());
    if (full) {
      CHECK(any->ns == full->ns);
      CHECK(any->form == full->form);
      CHECK(any->utc_offset == full->utc_offset);
    }
    if (const auto common = parse_common_epoch_seconds(text)) {
      ++shortcut_reads;
      REQUIRE(full.has_value());
      CHECK(common->ns == full->ns);
      CHECK(common->form == full->form);
      CHECK(common->utc_offset == full->utc_offset);
    }
  };

  SUBCASE("the common shape is read by the shortcut, exactly") {
    auto common_ns = [](std::string_view text) {
      const auto parsed = parse_common_epoch_seconds(text);
      INFO("text: '" << text << "'");
      REQUIRE(parsed.has_value());
      CHECK(parsed->form == TimeForm::epoch_seconds);
      return parsed->ns;
    };
    CHECK(common_ns("1795578788.0001457") == 1'795'578'788'000'145'700);
    CHECK(common_ns("1795578788.8") == 1'795'578'788'800'000'000);
    CHECK(common_ns("1795578788.12345678") == 1'795'578'788'123'456'780);
    CHECK(common_ns("1795578788.123456789") == 1'795'578'788'123'456'789);
    CHECK(common_ns("1000000000.000000001") == 1'000'000'000'000'000'001);
    CHECK(common_ns("8999999999.999999999") == 8'999'999'999'999'999'999);
  }

  SUBCASE("edges: the shortcut declines, the full reader decides") {
    for (const char* text : {"",
                             "1",
                             "1795578788",
                             "1795578788.",
                             "1795578788.1234567899",
                             "0795578788.5",
                             "9000000000.5",
                             "9999999999.9",
                             "1795578788.12e3",
                             "1795578788.1234567e",
                             "-1795578788.5",
                             "179557878.85",
                             "17955787888.5",
                             "1795578788,5",
                             "1795578788.12 ",
                             " 1795578788.12",
                             "17955787a8.5",
                             "1795578788.1x",
                             "1795578788.-5",
                             "1795578788.+5",
                             "1795578788..5",
                             "1795578788.0000000000",
                             "0000000000.5",
                             "1795578788.5/",
                             "1795578788.:5",
                             "1795578788.1234567890123"})
      same(text);
  }

  SUBCASE("random texts near the shape, each byte of it bent") {
    std::mt19937 random(20261127);
    const std::string alphabet = "0123456789.-+eE x/:,\xff";
    auto digits = [&](size_t count, bool nonzero_first) {
      std::string out;
      for (size_t i = 0; i < count; ++i)
        out += char('0' + (i == 0 && nonzero_first ? 1 + random() % 9 : random() % 10));
      return out;
    };
    for (int round = 0; round < 200000; ++round) {
      // Mostly ten digits, a dot and up to ten digits; sometimes other lengths.
      size_t whole = random() % 4 == 0 ? random() % 13 : 10;
      size_t fraction = random() % 12;
      std::string text = digits(whole, random() % 8 != 0);
      if (random() % 16 != 0) text += '.';
      text += digits(fraction, false);
      // Near the end of the range the shortcut refuses: 8999999999 and up.
      if (whole == 10 && random() % 8 == 0) text[0] = random() % 2 ? '8' : '9';
      if (random() % 2 == 0 && !text.empty()) {
        size_t bends = 1 + random() % 2;
        for (size_t b = 0; b < bends; ++b)
          text[random() % text.size()] = alphabet[random() % alphabet.size()];
      }
      same(text);
    }
    // Every byte of the common shape replaced by each byte value: only digits keep it a time.
    const std::string base = "1795578788.0001457";
    for (size_t at = 0; at < base.size(); ++at)
      for (int c = 0; c < 256; ++c) {
        std::string text = base;
        text[at] = char(c);
        same(text);
      }
    for (size_t width = 0; width <= 12; ++width)
      for (int round = 0; round < 2000; ++round)
        same(digits(10, true) + "." + digits(width, false));
    // The comparisons are no comparisons if the shortcut read nothing.
    CHECK(shortcut_reads > 20000);
  }
}
