#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cli/rotation_order.hpp"

using Files = std::vector<std::string>;
using coroner::oldest_rotation_first;

TEST_CASE("oldest_rotation_first: a rotation set as the shell lists it, oldest first") {
  // `app.log*`: the live file first, then .1 (newer) to .10 (older), .10 before .2 by the glob.
  CHECK(oldest_rotation_first({"app.log", "app.log.1", "app.log.10", "app.log.2.gz"}) ==
        Files{"app.log.10", "app.log.2.gz", "app.log.1", "app.log"});
  // Python's TimedRotatingFileHandler: app.log.2026-11-26 (and with hours).
  CHECK(oldest_rotation_first({"app.log", "app.log.2026-11-26", "app.log.2026-11-25_23"}) ==
        Files{"app.log.2026-11-25_23", "app.log.2026-11-26", "app.log"});
  // logrotate's dateext: dates ascending, the live file last.
  CHECK(oldest_rotation_first(
            {"logs/app.log", "logs/app.log-20261126.zst", "logs/app.log-20261125"}) ==
        Files{"logs/app.log-20261125", "logs/app.log-20261126.zst", "logs/app.log"});
}

TEST_CASE("oldest_rotation_first: files of no set, and each set in its own places") {
  Files hosts = {"web1.jsonl", "web2.jsonl", "db.jsonl"};
  CHECK(oldest_rotation_first(hosts) == hosts);
  CHECK(oldest_rotation_first({"a.log", "b.jsonl", "a.log.1", "c.log.3"}) ==
        Files{"a.log.1", "b.jsonl", "a.log", "c.log.3"});
  CHECK(oldest_rotation_first({"app.log.2", "app.log.1", "app.log"}) ==
        Files{"app.log.2", "app.log.1", "app.log"});
  // A dot in a directory's name is no suffix; "-" alone is standard input.
  CHECK(oldest_rotation_first({"v.1/app.log", "v.2/app.log"}) ==
        Files{"v.1/app.log", "v.2/app.log"});
  CHECK(oldest_rotation_first({"-"}) == Files{"-"});
  // A number inside the name is no suffix.
  CHECK(oldest_rotation_first({"host-2.log", "host-1.log", "trace.2.jsonl", "trace.1.jsonl"}) ==
        Files{"host-2.log", "host-1.log", "trace.2.jsonl", "trace.1.jsonl"});
}
