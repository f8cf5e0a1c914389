#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "cli/edit_distance.hpp"

using coroner::cli::edit_distance;
using coroner::cli::nearest_word;

TEST_CASE("coroner::cli::edit_distance") {
  SUBCASE("a word is no edit from itself") {
    CHECK(edit_distance("stats", "stats") == 0);
    CHECK(edit_distance("", "") == 0);
  }

  SUBCASE("from or to nothing: one edit a character") {
    CHECK(edit_distance("", "graph") == 5);
    CHECK(edit_distance("graph", "") == 5);
  }

  SUBCASE("one insertion, deletion or replacement") {
    CHECK(edit_distance("stat", "stats") == 1);
    CHECK(edit_distance("statss", "stats") == 1);
    CHECK(edit_distance("stabs", "stats") == 1);
    CHECK(edit_distance("anlyze", "analyze") == 1);
  }

  SUBCASE("two characters swapped are two edits") {
    CHECK(edit_distance("stast", "stats") == 2);
    CHECK(edit_distance("garph", "graph") == 2);
  }

  SUBCASE("the same both ways") {
    CHECK(edit_distance("timeline", "timelines") == edit_distance("timelines", "timeline"));
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("sitting", "kitten") == 3);
  }

  SUBCASE("case counts") {
    CHECK(edit_distance("Stats", "stats") == 1);
    CHECK(edit_distance("STATS", "stats") == 5);
  }

  SUBCASE("far-off words") {
    CHECK(edit_distance("app.jsonl", "stats") > 2);
    CHECK(edit_distance("schema", "stats") > 2);
  }
}

TEST_CASE("coroner::cli::nearest_word") {
  std::vector<std::string_view> stages{"validate", "transform", "save_to_db"};

  SUBCASE("the nearest candidate within two edits") {
    CHECK(nearest_word("save_to_dbx", stages) == std::string("save_to_db"));
    CHECK(nearest_word("tranform", stages) == std::string("transform"));
  }

  SUBCASE("nothing when every candidate is further") {
    CHECK_FALSE(nearest_word("upload", stages).has_value());
    CHECK_FALSE(nearest_word("save", stages).has_value());
    CHECK_FALSE(nearest_word("stats", std::vector<std::string>{}).has_value());
  }

  SUBCASE("the first of equals") {
    CHECK(nearest_word("cat", std::vector<std::string>{"bat", "hat"}) == std::string("bat"));
  }
}
