#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "../common/describing_sink.hpp"
#include "coroner/record.hpp"
#include "record_batch.hpp"

namespace {

using coroner::RawRecord;
using coroner::Role;
using coroner::TimeForm;

// Every member of `got` equals the same member of `want`: walked through kRawRecordFields, so a
// member added to RawRecord is compared here with no edit.
void check_same(const RawRecord& got, const RawRecord& want) {
  INFO("got:  ", coroner_test::describe(got));
  INFO("want: ", coroner_test::describe(want));
  coroner::for_each_field([&](const auto& field) {
    INFO("member ", field.name);
    CHECK((got.*field.member == want.*field.member));
  });
}

// The chunk the records are parsed from: the batch keeps views into it as offsets.
const std::string kInput =
    R"({"task": "t-1", "stage": "fetch", "awaits": ["a", "b"], "coroner": "pending", )"
    R"("suspended_at": "app.py:4 in f"})";

std::string_view in_input(std::string_view text) {
  size_t at = kInput.find(text);
  REQUIRE(at != std::string::npos);
  return std::string_view(kInput).substr(at, text.size());
}

// A record with every member unlike a fresh record's; its strings lie partly in kInput, partly in
// `elsewhere` (as the parser's unescaped strings do), which must outlive it.
RawRecord full_record(const std::string& elsewhere) {
  RawRecord r;
  r.has_time = true;
  r.time_ns = std::numeric_limits<int64_t>::min();
  r.time_form = TimeForm::iso8601;
  r.has_task = true;
  r.task = in_input("t-1");
  r.alias = std::string_view(elsewhere).substr(7, 2);
  r.stage = in_input("fetch");
  r.stage_from_message = true;
  r.status = std::string_view(elsewhere).substr(0, 4);
  r.parent = std::string_view(elsewhere).substr(4, 3);
  r.awaits = {in_input("a"), std::string_view(elsewhere).substr(7, 0), in_input("b"),
              std::string_view(elsewhere).substr(7, 2)};
  r.has_error = true;
  r.error_text = "boom";
  r.error_type = "ValueError";
  r.level = "ERROR";
  r.retry = true;
  r.attempt = 3;
  r.has_timeout = true;
  r.timeout_ns = 2'500'000'000;
  r.marker = in_input("pending");
  r.waiting_for = std::string_view(elsewhere).substr(0, 5);
  r.suspended_at = in_input("app.py:4 in f");
  r.scope = "host=a\x1fpid=7";
  for (size_t role = 0; role < r.filled_by.size(); ++role) r.filled_by[role] = uint8_t(role);
  r.bad_time = true;
  r.utc_offset = 19800;
  r.file = 3;
  r.line = std::numeric_limits<uint64_t>::max();
  r.sequence = uint64_t(1) << 40;
  return r;
}

// Keeps what a batch replays, in order; the records' views live as long as the batch.
struct KeepingSink : coroner::RecordSink {
  void on_record(const RawRecord& record) override {
    records.push_back(record);
    order += 'r';
  }
  bool on_bad_line(const coroner::BadLine& bad) override {
    bad_lines.push_back(bad);
    order += 'b';
    return keep_going;
  }
  std::vector<RawRecord> records;
  std::vector<coroner::BadLine> bad_lines;
  std::string order;
  bool keep_going = true;
};

}  // namespace

TEST_CASE("coroner::RecordBatch replays what it was given") {
  const std::string elsewhere = "donep-0xy";
  const RawRecord full = full_record(elsewhere);
  coroner::for_each_field([&](const auto& field) {
    INFO("member ", field.name, " is set: a new member needs a value in full_record");
    CHECK_FALSE(coroner::holds_fresh(full.*field.member, coroner::kFreshRecord.*field.member));
  });

  // Empty but present, unlike absent: the flags say so and must survive.
  RawRecord empty_texts;
  empty_texts.has_task = true;
  empty_texts.task = std::string_view(elsewhere).substr(0, 0);
  empty_texts.has_error = true;
  empty_texts.has_time = true;  // at time 0
  empty_texts.awaits = {std::string_view()};
  empty_texts.filled_by[size_t(Role::task)] = 0;  // rank 0 is not the same as none
  empty_texts.line = 2;

  RawRecord one_rank;
  one_rank.filled_by.back() = RawRecord::kNoField - 1;

  std::vector<RawRecord> given = {full, RawRecord(), empty_texts, one_rank, full};

  coroner::RecordBatch batch;
  batch.set_input(kInput.data(), kInput.size());
  batch.on_record(given[0]);
  batch.on_record(given[1]);
  batch.on_bad_line({1, 7, "not a JSON object"});
  for (size_t i = 2; i < given.size(); ++i) batch.on_record(given[i]);

  KeepingSink sink;
  CHECK(batch.replay(sink));
  CHECK(sink.order == "rrbrrr");
  REQUIRE(sink.records.size() == given.size());
  for (size_t i = 0; i < given.size(); ++i) {
    INFO("record ", i);
    check_same(sink.records[i], given[i]);
  }
  REQUIRE(sink.bad_lines.size() == 1);
  CHECK(sink.bad_lines[0].file == 1);
  CHECK(sink.bad_lines[0].line == 7);
  CHECK(sink.bad_lines[0].reason == "not a JSON object");

  SUBCASE("strings in the input stay views of it; the others are copied") {
    const RawRecord& replayed = sink.records[0];
    CHECK(replayed.task.data() == full.task.data());
    CHECK(replayed.awaits[2].data() == full.awaits[2].data());
    CHECK(replayed.status.data() != full.status.data());
  }

  SUBCASE("replaying again gives the same records, and a sink can stop it") {
    KeepingSink again;
    again.keep_going = false;
    CHECK_FALSE(batch.replay(again));
    CHECK(again.order == "rrb");
    check_same(again.records[1], RawRecord());
  }

  SUBCASE("after clear() the batch holds nothing") {
    batch.clear();
    KeepingSink after;
    CHECK(batch.replay(after));
    CHECK(after.order.empty());
  }
}

TEST_CASE("coroner::RecordBatch copies strings outside the input before they die") {
  coroner::RecordBatch batch;
  batch.set_input(kInput.data(), kInput.size());
  {
    std::string unescaped = "fetch \"data\"";
    RawRecord r;
    r.stage = unescaped;
    r.awaits = {unescaped};
    batch.on_record(r);
    unescaped.assign(unescaped.size(), 'x');
  }
  KeepingSink sink;
  CHECK(batch.replay(sink));
  REQUIRE(sink.records.size() == 1);
  CHECK(sink.records[0].stage == "fetch \"data\"");
  REQUIRE(sink.records[0].awaits.size() == 1);
  CHECK(sink.records[0].awaits[0] == "fetch \"data\"");
}

TEST_CASE("coroner::RawRecord::clear makes it fresh") {
  const std::string elsewhere = "donep-0xy";
  RawRecord r = full_record(elsewhere);
  r.clear();
  check_same(r, RawRecord());
  check_same(coroner::kFreshRecord, RawRecord());

  SUBCASE("a fresh record's strings and lists are empty, as holds_fresh and clear assume") {
    coroner::for_each_field([&](const auto& field) {
      using T = typename std::decay_t<decltype(field)>::Type;
      INFO("member ", field.name);
      if constexpr (coroner::kStartsEmpty<T>) CHECK((coroner::kFreshRecord.*field.member).empty());
    });
  }
}
