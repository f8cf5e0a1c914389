#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "coroner/task_store.hpp"

namespace {

coroner::RawRecord record_in(const std::string& task, const std::string& stage, int64_t time) {
  coroner::RawRecord r;
  r.has_time = true;
  r.time_ns = time;
  r.has_task = true;
  r.task = task;
  r.stage = stage;
  return r;
}

}  // namespace

TEST_CASE("coroner::TaskStore stage names: past the cap they fold into (other), every time") {
  coroner::Vocabulary vocabulary;
  coroner::TaskStore store(vocabulary, 3, false);
  // "ab" and "cb" share a length and a last byte: the same slot of the recent-stage cache.
  std::vector<std::string> stages = {"ab", "cb", "load", "late", "late", "ab", "cb", "new", "late"};
  for (size_t i = 0; i < stages.size(); ++i) {
    std::string task = std::to_string(i).append("t");
    store.on_record(record_in(task, stages[i], int64_t(i) * 1000));
    uint32_t id = store.find_task(0, task);
    REQUIRE(id != coroner::kNone);
    std::string_view seen = store.words().view(store.tasks()[id].stage);
    INFO("record " << i << " stage " << stages[i]);
    CHECK(seen == (i < 3 || stages[i] == "ab" || stages[i] == "cb" ? stages[i] : "(other)"));
  }
  CHECK(store.counts().folded_stages == 4);  // late, late, new, late
}
