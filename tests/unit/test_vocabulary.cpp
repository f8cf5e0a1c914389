#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/vocabulary.hpp"

namespace {

using coroner::Lifecycle;
using coroner::normalise_word;
using coroner::Vocabulary;

// The man page's LIFECYCLE VOCABULARY table, written out again here on purpose: the code's table
// must agree with it.
struct Meaning {
  Lifecycle meaning;
  std::vector<std::string_view> words;
};
const std::vector<Meaning> kSpecWords = {
    {Lifecycle::start,
     {"start", "started", "starting", "begin", "began", "created", "spawned", "scheduled",
      "enqueued", "received"}},
    {Lifecycle::ended_ok,
     {"done", "finished", "finish", "complete", "completed", "success", "succeeded", "ok", "end",
      "ended"}},
    {Lifecycle::ended_failed,
     {"failed", "failure", "fail", "error", "errored", "crashed", "exception", "aborted",
      "raised_unexpected", "raised_expected", "gave_up", "given_up", "giving_up", "abandoned",
      "failed_permanently", "permanently_failed"}},
    {Lifecycle::ended_timeout,
     {"timeout", "timed_out", "timedout", "deadline_exceeded", "expired"}},
    {Lifecycle::ended_cancelled, {"cancelled", "canceled", "cancel"}},
};

}  // namespace

TEST_CASE("coroner::Vocabulary") {
  SUBCASE("normalise_word lower-cases and joins separators into one '_'") {
    CHECK(normalise_word("fetch_data timed out") == "fetch_data_timed_out");
    CHECK(normalise_word("Task Started") == "task_started");
    CHECK(normalise_word("DONE") == "done");
    CHECK(normalise_word("a.b-c:d/e f") == "a_b_c_d_e_f");
    CHECK(normalise_word("a -- b") == "a_b");
    CHECK(normalise_word("a . / b") == "a_b");
    CHECK(normalise_word("  done  ") == "done");
    CHECK(normalise_word("--done.") == "done");
    CHECK(normalise_word("") == "");
    CHECK(normalise_word(" - ") == "");
    CHECK(normalise_word("save_to_db") == "save_to_db");
  }

  SUBCASE("an HTTP status of a server error is a failure, other statuses mean nothing") {
    coroner::Vocabulary v;
    CHECK(v.classify("500") == Lifecycle::ended_failed);
    CHECK(v.classify("503") == Lifecycle::ended_failed);
    CHECK(v.classify("200") == Lifecycle::none);
    CHECK(v.classify("404") == Lifecycle::none);
    CHECK(v.classify("5000") == Lifecycle::none);
    CHECK(v.classify("5xx") == Lifecycle::none);
  }

  SUBCASE("to_string names every meaning") {
    CHECK(coroner::to_string(Lifecycle::none) == "none");
    CHECK(coroner::to_string(Lifecycle::start) == "start");
    CHECK(coroner::to_string(Lifecycle::ended_ok) == "ok");
    CHECK(coroner::to_string(Lifecycle::ended_failed) == "failed");
    CHECK(coroner::to_string(Lifecycle::ended_timeout) == "timed-out");
    CHECK(coroner::to_string(Lifecycle::ended_cancelled) == "cancelled");
  }

  SUBCASE("is_end is true for the four endings only") {
    CHECK_FALSE(coroner::is_end(Lifecycle::none));
    CHECK_FALSE(coroner::is_end(Lifecycle::start));
    CHECK(coroner::is_end(Lifecycle::ended_ok));
    CHECK(coroner::is_end(Lifecycle::ended_failed));
    CHECK(coroner::is_end(Lifecycle::ended_timeout));
    CHECK(coroner::is_end(Lifecycle::ended_cancelled));
  }

  const Vocabulary vocabulary;

  SUBCASE("every documented default word classifies as its meaning") {
    for (const Meaning& m : kSpecWords) {
      for (std::string_view word : m.words) {
        INFO("word: " << word);
        CHECK(vocabulary.classify(word) == m.meaning);
        // As the last part of a longer value, and in upper case.
        CHECK(vocabulary.classify("task_" + std::string(word)) == m.meaning);
        std::string upper(word);
        for (char& c : upper) c = char(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        CHECK(vocabulary.classify(upper) == m.meaning);
      }
    }
  }

  SUBCASE("words() lists exactly the documented words, sorted") {
    for (const Meaning& m : kSpecWords) {
      std::vector<std::string> expected(m.words.begin(), m.words.end());
      std::sort(expected.begin(), expected.end());
      CHECK(vocabulary.words(m.meaning) == expected);
    }
    CHECK(vocabulary.words(Lifecycle::none).empty());
  }

  SUBCASE("a word counts as the value's last part, whatever the separators") {
    CHECK(vocabulary.classify("task_started") == Lifecycle::start);
    CHECK(vocabulary.classify("task started") == Lifecycle::start);
    CHECK(vocabulary.classify("job.done") == Lifecycle::ended_ok);
    CHECK(vocabulary.classify("job-done") == Lifecycle::ended_ok);
    CHECK(vocabulary.classify("pipeline finished") == Lifecycle::ended_ok);
    CHECK(vocabulary.classify("job done") == Lifecycle::ended_ok);
    CHECK(vocabulary.classify("job started") == Lifecycle::start);
    CHECK(vocabulary.classify("fetch_data timed out") == Lifecycle::ended_timeout);
    CHECK(vocabulary.classify("fetch_data timed-out") == Lifecycle::ended_timeout);
    CHECK(vocabulary.classify("Timed Out") == Lifecycle::ended_timeout);
    CHECK(vocabulary.classify("rpc deadline exceeded") == Lifecycle::ended_timeout);
    CHECK(vocabulary.classify("request: cancelled") == Lifecycle::ended_cancelled);
    CHECK(vocabulary.classify("worker/crashed") == Lifecycle::ended_failed);
    CHECK(vocabulary.classify("  done  ") == Lifecycle::ended_ok);
  }

  SUBCASE("a word before how long it took counts") {
    CHECK(vocabulary.classify("item 42 done in 0.31s") == Lifecycle::ended_ok);
    // Celery's wording, as a template masks it.
    CHECK(vocabulary.classify("Task tasks.add[<uuid>] succeeded in <num>s: <num>") ==
          Lifecycle::ended_ok);
    CHECK(vocabulary.classify("fetch failed in 3 attempts") == Lifecycle::ended_failed);
    // Only before a number: "in" and a word is no duration.
    CHECK(vocabulary.classify("job done in queue") == Lifecycle::none);
    CHECK(vocabulary.classify("logged in 3 users") == Lifecycle::none);
    CHECK(vocabulary.classify("waiting in line 3") == Lifecycle::none);
  }

  SUBCASE("a word before 'after' and a duration, or a duration in parentheses, counts") {
    CHECK(vocabulary.classify("pull timed out after 0.08s") == Lifecycle::ended_timeout);
    CHECK(vocabulary.classify("fetch timeout after 30 seconds") == Lifecycle::ended_timeout);
    CHECK(vocabulary.classify("pull timed out after <num>s") == Lifecycle::ended_timeout);
    CHECK(vocabulary.classify("job failed after 3") == Lifecycle::ended_failed);
    CHECK(vocabulary.classify("pull timed out (0.08s)") == Lifecycle::ended_timeout);
    CHECK(vocabulary.classify("sync done (after 1.5 min)") == Lifecycle::ended_ok);
    CHECK(vocabulary.classify("upload finished (<num>ms)") == Lifecycle::ended_ok);
    // Anything after the duration, or no duration, and the word ends nothing.
    CHECK(vocabulary.classify("timeout after 3s, retrying") == Lifecycle::none);
    CHECK(vocabulary.classify("retry after 2s") == Lifecycle::none);
    CHECK(vocabulary.classify("done (see 3s)") == Lifecycle::none);
    CHECK(vocabulary.classify("failed (3 attempts)") == Lifecycle::none);
    // In parentheses, only an ok end or a timeout: a failure with a delay is a retry's wait.
    CHECK(vocabulary.classify("retrying after error (2s)") == Lifecycle::none);
    CHECK(vocabulary.classify("attempt 2 failed (1.5s)") == Lifecycle::none);
    CHECK(vocabulary.classify("timed out after 0.08 parsecs") == Lifecycle::none);
  }

  SUBCASE("a retry loop that gives up fails its task, after how many tries it made") {
    CHECK(vocabulary.classify("upload to s3 failed permanently") == Lifecycle::ended_failed);
    CHECK(vocabulary.classify("receipt email abandoned after 3 attempts") ==
          Lifecycle::ended_failed);
    CHECK(vocabulary.classify("publish gave up after <num> attempts") == Lifecycle::ended_failed);
    // The backoff library's give-up line, and its like: what was given up follows the words.
    CHECK(vocabulary.classify("Giving up fetch_feed(...) after 3 tries (ConnectionError)") ==
          Lifecycle::ended_failed);
    CHECK(vocabulary.classify("Giving up fetch_feed(...) after 3 tries") ==
          Lifecycle::ended_failed);
    CHECK(vocabulary.classify("request failed after 2 tries, retrying") == Lifecycle::none);
    CHECK(vocabulary.classify("giving up on t-<num> after <num> attempts") ==
          Lifecycle::ended_failed);
    // Without the tries, giving up something is no end: what follows is not the task.
    CHECK(vocabulary.classify("giving up the lock") == Lifecycle::none);
    CHECK(vocabulary.classify("retrying after 3 attempts") == Lifecycle::none);
  }

  SUBCASE("an ok end with warnings is an ok end; with errors it is left unread") {
    CHECK(vocabulary.classify("request completed with warnings") == Lifecycle::ended_ok);
    CHECK(vocabulary.classify("import done with 3 warnings") == Lifecycle::ended_ok);
    CHECK(vocabulary.classify("finished with <num> warning") == Lifecycle::ended_ok);
    CHECK(vocabulary.classify("finished with errors") == Lifecycle::none);
    CHECK(vocabulary.classify("started with warnings") == Lifecycle::none);
    CHECK(vocabulary.classify("replied with warnings") == Lifecycle::none);
  }

  SUBCASE("Celery's failure line: what the task raised follows its word and a colon") {
    CHECK(vocabulary.classify("Task tasks.fetch[3f2e9c1a-6b1d-4c55-9e0b-0c3f5d1e2a77] raised "
                              "unexpected: ValueError('bad feed')") == Lifecycle::ended_failed);
    // As a template masks it, and for an exception the task declares it throws.
    CHECK(
        vocabulary.classify("Task tasks.fetch_feed[<uuid>] raised unexpected: ValueError(<str>)") ==
        Lifecycle::ended_failed);
    CHECK(vocabulary.classify("Task tasks.charge[<uuid>] raised expected: CardDeclined(<str>)") ==
          Lifecycle::ended_failed);
    CHECK(vocabulary.classify("job raised unexpected") == Lifecycle::ended_failed);
    // Only those words before a colon: other text before one ends nothing.
    CHECK(vocabulary.classify("error: could not parse payload") == Lifecycle::none);
    CHECK(vocabulary.classify("fetch timed out: retrying in 5s") == Lifecycle::none);
    CHECK(vocabulary.classify("Task tasks.add[<uuid>] received") == Lifecycle::start);
    CHECK(vocabulary.classify("Task tasks.add[<uuid>] retry: Retry in 5s: "
                              "ConnectionError(<str>)") == Lifecycle::none);
    CHECK(vocabulary.classify("praised unexpected: guest") == Lifecycle::none);
    CHECK(vocabulary.classify("raised unexpectedly: x") == Lifecycle::none);
  }

  SUBCASE("a word elsewhere than at the end does not count") {
    CHECK(vocabulary.classify("start_upload") == Lifecycle::none);
    CHECK(vocabulary.classify("error_budget_check") == Lifecycle::none);
    CHECK(vocabulary.classify("done_callbacks") == Lifecycle::none);
    CHECK(vocabulary.classify("timeout_handler") == Lifecycle::none);
    CHECK(vocabulary.classify("could not parse payload") == Lifecycle::none);
    CHECK(vocabulary.classify("cancel requested") == Lifecycle::none);
  }

  SUBCASE("a word inside a longer last part does not count") {
    CHECK(vocabulary.classify("restart") == Lifecycle::none);
    CHECK(vocabulary.classify("weekend") == Lifecycle::none);
    CHECK(vocabulary.classify("undone") == Lifecycle::none);
    CHECK(vocabulary.classify("terror") == Lifecycle::none);
    CHECK(vocabulary.classify("timeouts") == Lifecycle::none);
    CHECK(vocabulary.classify("okay") == Lifecycle::none);
  }

  SUBCASE("the seed's and fixtures' plain stages have no meaning") {
    for (std::string_view stage :
         {"validate", "transform", "save_to_db", "fetching", "parsing", "storing", "download",
          "parse", "load", "compute", "waiting for lock", "transforming"}) {
      INFO("stage: " << stage);
      CHECK(vocabulary.classify(stage) == Lifecycle::none);
    }
  }

  SUBCASE("empty and separator-only values have no meaning") {
    CHECK(vocabulary.classify("") == Lifecycle::none);
    CHECK(vocabulary.classify("_") == Lifecycle::none);
    CHECK(vocabulary.classify(" / ") == Lifecycle::none);
  }
}

TEST_CASE("coroner::Vocabulary user words") {
  Vocabulary vocabulary;

  SUBCASE("an added end word is recognised, alone and as a last part") {
    CHECK(vocabulary.classify("save_to_db") == Lifecycle::none);
    vocabulary.add(Lifecycle::ended_ok, "save_to_db");
    CHECK(vocabulary.classify("save_to_db") == Lifecycle::ended_ok);
    CHECK(vocabulary.classify("Save To DB") == Lifecycle::ended_ok);
    CHECK(vocabulary.classify("then save_to_db") == Lifecycle::ended_ok);
    CHECK(vocabulary.classify("save_to_db_retry") == Lifecycle::none);
    auto ok = vocabulary.words(Lifecycle::ended_ok);
    CHECK(std::find(ok.begin(), ok.end(), "save_to_db") != ok.end());
  }

  SUBCASE("an added word is stored normalised") {
    vocabulary.add(Lifecycle::start, "Kick Off");
    CHECK(vocabulary.classify("kick_off") == Lifecycle::start);
    CHECK(vocabulary.classify("job kick-off") == Lifecycle::start);
  }

  SUBCASE("an added start and fail word") {
    vocabulary.add(Lifecycle::start, "accepted");
    vocabulary.add(Lifecycle::ended_failed, "gave_up");
    CHECK(vocabulary.classify("order accepted") == Lifecycle::start);
    CHECK(vocabulary.classify("worker gave up") == Lifecycle::ended_failed);
  }

  SUBCASE("a user word wins over a default word of another meaning") {
    CHECK(vocabulary.classify("error") == Lifecycle::ended_failed);
    vocabulary.add(Lifecycle::ended_ok, "error");
    CHECK(vocabulary.classify("error") == Lifecycle::ended_ok);
    auto failed = vocabulary.words(Lifecycle::ended_failed);
    CHECK(std::find(failed.begin(), failed.end(), "error") == failed.end());
  }

  SUBCASE("a vocabulary of no word classifies only the words added to it") {
    Vocabulary alone = Vocabulary::none();
    CHECK(alone.classify("done") == Lifecycle::none);
    CHECK(alone.classify("fetch failed") == Lifecycle::none);
    alone.add(Lifecycle::ended_ok, "save_to_db");
    CHECK(alone.classify("save_to_db") == Lifecycle::ended_ok);
    CHECK(alone.classify("then save to db") == Lifecycle::ended_ok);
    CHECK(alone.classify("done") == Lifecycle::none);
  }

  SUBCASE("an empty word adds nothing") {
    vocabulary.add(Lifecycle::ended_ok, "");
    vocabulary.add(Lifecycle::ended_ok, " - ");
    CHECK(vocabulary.words(Lifecycle::ended_ok).size() == 10);
    CHECK(vocabulary.classify("") == Lifecycle::none);
  }

  SUBCASE("adding words leaves other instances alone") {
    vocabulary.add(Lifecycle::ended_ok, "save_to_db");
    const Vocabulary fresh;
    CHECK(fresh.classify("save_to_db") == Lifecycle::none);
  }
}
