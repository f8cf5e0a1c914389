// Stage templates: free-text messages with their variable parts masked. The messages are the
// shapes real programs log (stdlib logging f-strings, structlog events, asyncio's reprs).
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <string_view>

#include "stage_template.hpp"

namespace {

using coroner::mask_variable_parts;

// The template of `text`, or the text itself when nothing was masked; checks on the way that a
// template masks to itself and that "nothing masked" leaves the output empty.
std::string stage_of(std::string_view text) {
  INFO("text '" << std::string(text) << "'");
  std::string out = "junk";
  if (!mask_variable_parts(text, out)) {
    CHECK(out.empty());
    return std::string(text);
  }
  std::string again;
  CHECK_FALSE(mask_variable_parts(out, again));
  CHECK(again.empty());
  return out;
}

bool has_variable_part(std::string_view text) {
  std::string out;
  return mask_variable_parts(text, out);
}

}  // namespace

TEST_CASE("coroner::stage_template constant names are left alone") {
  for (std::string_view text : {"",
                                " ",
                                "    ",
                                "\t \n",
                                "task started",
                                "fetch_data timed out",
                                "job cancelled",
                                "save_to_db",
                                "error_budget_check",
                                "await_approval",
                                "ended ok",
                                "Task finished",
                                "request.received",
                                "user-login",
                                "std::vector",
                                "a::b",
                                "Foo::bar::baz",
                                "dead::beef",
                                "don't stop",
                                "the students' books",
                                "and/or",
                                "km/h",
                                "/health",
                                "deadbeef",
                                "defaced cafe",
                                "ABCDEF",
                                "HH:MM",
                                "naïve café",
                                "日本語のタスク",
                                "x = y",
                                "a: b",
                                "-",
                                "--",
                                "'",
                                "\"",
                                "it's 'unclosed",
                                "a -- b",
                                "::",
                                "[]",
                                "/",
                                "//",
                                "./",
                                "~/",
                                "C:",
                                "C:\\",
                                "<task>",
                                "http://",
                                "https:// x"}) {
    INFO("text '" << std::string(text) << "'");
    CHECK_FALSE(has_variable_part(text));
  }
}

TEST_CASE("coroner::stage_template stdlib logging f-strings") {
  CHECK(stage_of("fetched https://example.com/item/7 in 12 ms") == "fetched <url> in <num> ms");
  CHECK(stage_of("processing order 1234 for customer 'alice'") ==
        "processing order <num> for customer <str>");
  CHECK(stage_of("Retrying in 2.5 seconds (attempt 3/5)") ==
        "Retrying in <num> seconds (attempt <num>/<num>)");
  CHECK(stage_of("processed 1,024 items") == "processed <num> items");
  CHECK(stage_of("got -3 and +4.5e-3, 1e9") == "got <num> and <num>, <num>");
  CHECK(stage_of("wrote 12 rows to \"orders\"") == "wrote <num> rows to <str>");
}

TEST_CASE("coroner::stage_template structlog events") {
  CHECK(stage_of("event='request_finished' status=200 duration_ms=12.5") ==
        "event=<str> status=<num> duration_ms=<num>");
  CHECK(stage_of("user.login user_id=42 ip=10.0.0.7") == "user.login user_id=<num> ip=<ip>");
  CHECK(stage_of("cache_miss key=\"user:42:profile\"") == "cache_miss key=<str>");
  CHECK(stage_of("batch_done size=500 took=1.5s") == "batch_done size=<num> took=<num>s");
}

TEST_CASE("coroner::stage_template asyncio reprs") {
  CHECK(stage_of("<Task pending name='Task-7' coro=<worker() running at /app/main.py:42>>") ==
        "<Task pending name=<str> coro=<worker() running at <path>:<num>>>");
  CHECK(stage_of("Task exception was never retrieved future: <Task finished name='Task-3' "
                 "coro=<fail() done, defined at /x/y.py:5> exception=ValueError('boom')>") ==
        "Task exception was never retrieved future: <Task finished name=<str> "
        "coro=<fail() done, defined at <path>:<num>> exception=ValueError(<str>)>");
  CHECK(stage_of("<coroutine object worker at 0x7f3a2c1b0d30>") ==
        "<coroutine object worker at <hex>>");
  CHECK(stage_of("cb=[gather.<locals>._done_callback() at "
                 "/usr/lib/python3.11/asyncio/tasks.py:764]") ==
        "cb=[gather.<locals>._done_callback() at <path>:<num>]");
  CHECK(stage_of("Task-3") == "Task-<num>");
}

TEST_CASE("coroner::stage_template ids embedded in words, durations") {
  CHECK(stage_of("job-07: await_approval") == "job-<num>: await_approval");
  CHECK(stage_of("took 12ms") == "took <num>ms");
  CHECK(stage_of("1.5s") == "<num>s");
  CHECK(stage_of("api v2") == "api v<num>");
  CHECK(stage_of("step 3-5") == "step <num>-<num>");
  CHECK(stage_of("worker_12 idle") == "worker_<num> idle");
}

TEST_CASE("coroner::stage_template uuids and hex ids") {
  CHECK(stage_of("request 550e8400-e29b-41d4-a716-446655440000 done") == "request <uuid> done");
  CHECK(stage_of("request 550E8400-E29B-41D4-A716-446655440000") == "request <uuid>");
  CHECK(stage_of("order-550e8400-e29b-41d4-a716-446655440000") == "order-<uuid>");
  CHECK(stage_of("span 4bf92f3577b34da6 ended") == "span <hex> ended");
  CHECK(stage_of("commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3") == "commit <hex>");
  CHECK(stage_of("trace_id=4BF92F3577B34DA6") == "trace_id=<hex>");
  CHECK(stage_of("at 0xdeadbeef, 0X1F") == "at <hex>, <hex>");
  // Too short for an id, or no digit, or mixed case: numbers in words.
  CHECK(stage_of("id a1b2c3") == "id a<num>b<num>c<num>");
  CHECK(stage_of("Decade2024") == "Decade<num>");
}

TEST_CASE("coroner::stage_template addresses") {
  CHECK(stage_of("connect 10.0.0.1:8080 refused") == "connect <ip> refused");
  CHECK(stage_of("from 192.168.1.20.") == "from <ip>.");
  CHECK(stage_of("listening on ::1") == "listening on <ip>");
  CHECK(stage_of("peer fe80::1%eth0 up") == "peer <ip> up");
  CHECK(stage_of("peer [::1]:8080 and [2001:db8::ff00:42:8329]") == "peer <ip> and <ip>");
  CHECK(stage_of("mapped ::ffff:192.0.2.128") == "mapped <ip>");
  CHECK(stage_of("full 2001:0db8:85a3:0000:0000:8a2e:0370:7334") == "full <ip>");
  // Not addresses: a version, octets out of range, C++ names.
  CHECK(stage_of("release 1.2.3.4.5") == "release <num>.<num>.<num>");
  CHECK(stage_of("bad 300.1.1.1") == "bad <num>.<num>");
  CHECK(stage_of("std::vector<int>::size") == "std::vector<int>::size");
}

TEST_CASE("coroner::stage_template paths") {
  CHECK(stage_of("reading /etc/app/config.yaml") == "reading <path>");
  CHECK(stage_of("cleaning /tmp/ now") == "cleaning <path> now");
  CHECK(stage_of("run ./scripts/go.sh.") == "run <path>.");
  CHECK(stage_of("load ../data and ~/notes") == "load <path> and <path>");
  CHECK(stage_of("file=/var/log/x.log") == "file=<path>");
  CHECK(stage_of("saved C:\\Users\\bob\\out.txt") == "saved <path>");
  CHECK(stage_of("saved D:/data/out.txt") == "saved <path>");
  CHECK(stage_of("GET /api/health") == "GET <path>");
  CHECK(stage_of("GET /health") == "GET /health");
}

TEST_CASE("coroner::stage_template urls") {
  CHECK(stage_of("see https://example.com/a?b=c.") == "see <url>.");
  CHECK(stage_of("(s3://bucket/key/7)") == "(<url>)");
  CHECK(stage_of("<https://example.com/x>") == "<<url>>");
  CHECK(stage_of("postgresql://user@db:5432/app, retrying") == "<url>, retrying");
}

TEST_CASE("coroner::stage_template timestamps") {
  CHECK(stage_of("since 2024-05-01T12:00:00Z") == "since <time>");
  CHECK(stage_of("since 2024-05-01T12:00:00.123456+02:00 ok") == "since <time> ok");
  CHECK(stage_of("at 2024-05-01 12:00:01,123 INFO") == "at <time> INFO");
  CHECK(stage_of("12:00:01,123 tick") == "<time> tick");
  CHECK(stage_of("on 2024-05-01") == "on <time>");
  CHECK(stage_of("at 12:30") == "at <num>:<num>");
  CHECK(stage_of("bad 2024-13-01") == "bad <num>-<num>-<num>");
}

TEST_CASE("coroner::stage_template quoted strings") {
  CHECK(stage_of("ValueError('it\\'s bad')") == "ValueError(<str>)");
  CHECK(stage_of("'a' 'b'") == "<str> <str>");
  CHECK(stage_of("rock 'n' roll") == "rock <str> roll");
  CHECK(stage_of("'unclosed\n'other'") == "'unclosed\n<str>");
  CHECK(stage_of("\"say 'hi'\"") == "<str>");
  CHECK(stage_of("''") == "<str>");
}

TEST_CASE("coroner::stage_template messages that differ in their variable parts share one") {
  std::string a, b;
  auto same = [&](std::string_view x, std::string_view y) {
    INFO(std::string(x) << " | " << std::string(y));
    REQUIRE(mask_variable_parts(x, a));
    REQUIRE(mask_variable_parts(y, b));
    CHECK(a == b);
  };
  same("fetched https://example.com/item/7 in 12 ms", "fetched https://example.com/item/8 in 9 ms");
  same("job-07: await_approval", "job-1234: await_approval");
  same("processing order 1234 for customer 'alice'", "processing order 9 for customer 'bob'");
  same("took 12ms", "took 1.5ms");
  same("connect 10.0.0.1:8080", "connect [::1]:443");
  same("request 550e8400-e29b-41d4-a716-446655440000",
       "request 6ba7b810-9dad-11d1-80b4-00c04fd430c8");
  same("<Task pending name='Task-7' coro=<worker() running at /app/main.py:42>>",
       "<Task pending name='Task-12' coro=<worker() running at /app/worker.py:7>>");
}

TEST_CASE("coroner::stage_template output is reused and cleared") {
  std::string out;
  REQUIRE(mask_variable_parts("took 12ms", out));
  CHECK(out == "took <num>ms");
  CHECK_FALSE(mask_variable_parts("task started", out));
  CHECK(out.empty());
}

TEST_CASE("coroner::stage_template any bytes: no crash, a bounded template that masks to itself") {
  std::mt19937 random(20240501);
  const std::string alphabet = "0123456789abcdefxXT:/.-+'\"\\ \n[]%<>=~eE,Z_C\x80\xff";
  std::string text, out, again;
  for (int round = 0; round < 20000; ++round) {
    text.clear();
    const size_t size = random() % 40;
    for (size_t k = 0; k < size; ++k) text += alphabet[random() % alphabet.size()];
    INFO("text '" << text << "'");
    if (!mask_variable_parts(text, out)) continue;
    REQUIRE(out.size() <= 5 * text.size());
    REQUIRE_FALSE(mask_variable_parts(out, again));
  }
}

// Sentences of letters, digits and spaces take a shortcut past the scanner; it must give the
// scanner's answer, here on texts made of the bytes its rules stop at, next to one another.
TEST_CASE("coroner::stage_template the plain-sentence shortcut agrees with the scanner") {
  std::mt19937 random(20261126);
  const std::string alphabets[] = {"0123456789 abcdefxXeEgz.,-_!:/", "0123456789 abc.,-",
                                   "01 aAfFeExXg", "05 afgz_-", "9 z.-,/'\"<>~[:+"};
  std::string text, fast, slow;
  for (const std::string& alphabet : alphabets) {
    for (int round = 0; round < 50000; ++round) {
      text.clear();
      const size_t size = random() % 70;
      for (size_t k = 0; k < size; ++k) text += alphabet[random() % alphabet.size()];
      INFO("text '" << text << "'");
      const bool masked = mask_variable_parts(text, fast);
      REQUIRE(masked == coroner::mask_variable_parts_by_scanner(text, slow));
      REQUIRE(fast == slow);
    }
  }
  for (std::string_view text :
       {"validated order 1047 in 11 ms", "transformed 12 rows of order 1047", "attempt 3!",
        "saved order 1047 to db shard 7", "deadbeef1 x", "abc1234 done", "12e5 items", "0x1f",
        "job-07 done", "done.", "a.b-c,d", "took 1,234 ms", "v2.1 started", "1 - 2", "..", ""}) {
    INFO("text '" << std::string(text) << "'");
    CHECK(mask_variable_parts(text, fast) == coroner::mask_variable_parts_by_scanner(text, slow));
    CHECK(fast == slow);
  }
}
