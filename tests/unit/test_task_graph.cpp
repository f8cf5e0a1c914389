// The graph rules on small hand-written logs: deadlock cycles, blocked chains, orphans,
// unobserved children, critical paths, and healthy trees that must stay quiet.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "coroner/analysis.hpp"
#include "coroner/ingest.hpp"
#include "coroner/task_graph.hpp"

using namespace coroner;

namespace {

// Ingests `lines` (one JSON object each) from a temporary file and analyses them.
struct Analysed {
  explicit Analysed(const std::string& lines) : store(vocabulary, 10000, false) {
    char path[] = "/tmp/coroner_graph_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    std::ofstream(path) << lines;
    store.add_file(path);
    IngestResult r = ingest({path}, default_roles(), store);
    std::remove(path);
    REQUIRE(!r.error);
    store.finish();
    analysis = analyze(store, options);
  }
  // Kinds found per task value: {"a": "deadlock", ...}; several joined by ','.
  std::map<std::string, std::string> kinds() const {
    std::map<std::string, std::string> out;
    for (const Finding& f : analysis.findings) {
      std::string& k = out[std::string(store.task_value(f.task))];
      if (!k.empty()) k += ',';
      k += to_string(f.kind);
    }
    return out;
  }
  const Finding* finding(std::string_view task, FindingKind kind) const {
    for (const Finding& f : analysis.findings)
      if (store.task_value(f.task) == task && f.kind == kind) return &f;
    return nullptr;
  }
  Vocabulary vocabulary;
  AnalysisOptions options;
  TaskStore store;
  Analysis analysis;
};

// A healthy tree: root awaits two children that finish, then ends; repeated so the stages have
// statistics, then the log runs on for a while (the last line) so silence can be judged.
std::string healthy_trees(int count, double start) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    double t = start + i * 0.01;
    std::string root = "root-" + std::to_string(i);
    auto line = [&](double at, const std::string& task, const std::string& phase,
                    const std::string& extra = "") {
      out += "{\"ts\": " + std::to_string(at) + ", \"task\": \"" + task + "\", \"phase\": \"" +
             phase + "\"" + extra + "}\n";
    };
    line(t, root, "started");
    line(t + 0.001, root + ":a", "started", ", \"parent_id\": \"" + root + "\"");
    line(t + 0.001, root + ":b", "started", ", \"parent_id\": \"" + root + "\"");
    line(t + 0.002, root, "waiting", ", \"awaits\": [\"" + root + ":a\", \"" + root + ":b\"]");
    line(t + 0.004, root + ":a", "done", ", \"parent_id\": \"" + root + "\"");
    line(t + 0.006, root + ":b", "done", ", \"parent_id\": \"" + root + "\"");
    line(t + 0.007, root, "done");
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

constexpr const char* kLogEnd = "{\"ts\": 1700000010.0, \"phase\": \"shutdown\"}\n";

}  // namespace

TEST_CASE("coroner::TaskGraph") {
  SUBCASE("healthy parent/child trees stay quiet") {
    Analysed a(healthy_trees(20, 1700000000.0) + kLogEnd);
    CHECK(a.analysis.findings.empty());
  }

  SUBCASE("a task waiting on itself (a lock it holds) is a deadlock of one") {
    Analysed a(
        healthy_trees(20, 1700000000.0) +
        "{\"ts\": 1700000001.0, \"task\": \"x\", \"phase\": \"started\"}\n"
        "{\"ts\": 1700000001.1, \"task\": \"x\", \"phase\": \"audit\", \"awaits\": \"x\"}\n"
        "{\"ts\": 1700000001.2, \"task\": \"z\", \"phase\": \"settle\", \"awaits\": \"x\"}\n" +
        kLogEnd);
    const Finding* f = a.finding("x", FindingKind::deadlock);
    REQUIRE(f);
    CHECK(f->members.size() == 1);
    CHECK(f->reason.find("waiting on itself: x -> x") != std::string::npos);
    const Finding* behind = a.finding("z", FindingKind::blocked);
    REQUIRE(behind);
    CHECK(behind->chain.back() == f->task);
    // Waiting on itself and on others in a cycle: one cycle of them all, not two.
    Analysed both(
        healthy_trees(20, 1700000000.0) +
        "{\"ts\": 1700000001.1, \"task\": \"x\", \"phase\": \"w\", \"awaits\": [\"x\", \"y\"]}\n"
        "{\"ts\": 1700000001.1, \"task\": \"y\", \"phase\": \"w\", \"awaits\": \"x\"}\n" +
        kLogEnd);
    const Finding* g = both.finding("x", FindingKind::deadlock);
    REQUIRE(g);
    CHECK(g->members.size() == 2);
    // Only its latest wait counts: one that waited on itself (a lock used as a signal another
    // task released), went on, and then hung elsewhere is hung, no cycle.
    Analysed moved(healthy_trees(20, 1700000000.0) +
                   "{\"ts\": 1700000001.1, \"task\": \"x\", \"phase\": \"w\", \"awaits\": \"x\"}\n"
                   "{\"ts\": 1700000001.2, \"task\": \"x\", \"phase\": \"poll\"}\n" +
                   kLogEnd);
    CHECK(moved.kinds()["x"] == "hung");
    // Waiting for a slot of a semaphore it holds with others: one of them may release it, so
    // no cycle of one; it is blocked on the other holder.
    Analysed pooled(
        healthy_trees(20, 1700000000.0) +
        "{\"ts\": 1700000001.0, \"task\": \"h\", \"phase\": \"holding\"}\n"
        "{\"ts\": 1700000001.1, \"task\": \"x\", \"phase\": \"w\", \"awaits\": [\"x\", \"h\"]}\n" +
        kLogEnd);
    CHECK(pooled.kinds()["x"] == "blocked");
    // A task that once waited on itself and then finished is nothing.
    Analysed done(healthy_trees(20, 1700000000.0) +
                  "{\"ts\": 1700000001.1, \"task\": \"x\", \"phase\": \"w\", \"awaits\": \"x\"}\n"
                  "{\"ts\": 1700000001.2, \"task\": \"x\", \"phase\": \"done\"}\n" +
                  kLogEnd);
    CHECK(done.kinds().count("x") == 0);
  }

  SUBCASE("a deadlock of two tasks names both, with the cycle") {
    Analysed a(
        healthy_trees(20, 1700000000.0) +
        "{\"ts\": 1700000001.0, \"task\": \"x\", \"phase\": \"started\"}\n"
        "{\"ts\": 1700000001.0, \"task\": \"y\", \"phase\": \"started\"}\n"
        "{\"ts\": 1700000001.1, \"task\": \"x\", \"phase\": \"waiting\", \"awaits\": \"y\"}\n"
        "{\"ts\": 1700000001.1, \"task\": \"y\", \"phase\": \"waiting\", \"awaits\": \"x\"}\n" +
        kLogEnd);
    auto kinds = a.kinds();
    CHECK(kinds["x"] == "deadlock");
    CHECK(kinds["y"] == "deadlock");
    const Finding* f = a.finding("x", FindingKind::deadlock);
    REQUIRE(f);
    CHECK(f->members.size() == 2);
    CHECK(f->reason.find("x -> y -> x") != std::string::npos);
    CHECK(f->detail.find("x in 'waiting'") != std::string::npos);
    CHECK(kinds.size() == 2);  // the healthy trees stay quiet
  }

  SUBCASE("a deadlock of three tasks, and a task blocked behind it") {
    Analysed a(
        healthy_trees(20, 1700000000.0) +
        "{\"ts\": 1700000001.0, \"task\": \"a\", \"phase\": \"waiting\", \"awaits\": \"b\"}\n"
        "{\"ts\": 1700000001.0, \"task\": \"b\", \"phase\": \"waiting\", \"awaits\": \"c\"}\n"
        "{\"ts\": 1700000001.0, \"task\": \"c\", \"phase\": \"waiting\", \"awaits\": [\"a\"]}\n"
        "{\"ts\": 1700000001.0, \"task\": \"w\", \"phase\": \"waiting\", \"awaits\": \"b\"}\n" +
        kLogEnd);
    auto kinds = a.kinds();
    CHECK(kinds["a"] == "deadlock");
    CHECK(kinds["b"] == "deadlock");
    CHECK(kinds["c"] == "deadlock");
    CHECK(kinds["w"] == "blocked");
    const Finding* f = a.finding("a", FindingKind::deadlock);
    REQUIRE(f);
    CHECK(f->members.size() == 3);
    const Finding* w = a.finding("w", FindingKind::blocked);
    REQUIRE(w);
    CHECK(w->chain.size() == 2);
  }

  SUBCASE("a chain of blocked tasks three deep points at the hung root") {
    Analysed a(
        healthy_trees(20, 1700000000.0) +
        "{\"ts\": 1700000001.0, \"task\": \"leaf\", \"phase\": \"loading\"}\n"
        "{\"ts\": 1700000001.0, \"task\": \"m1\", \"phase\": \"waiting\", \"awaits\": \"leaf\"}\n"
        "{\"ts\": 1700000001.0, \"task\": \"m2\", \"phase\": \"waiting\", \"awaits\": \"m1\"}\n"
        "{\"ts\": 1700000001.0, \"task\": \"m3\", \"phase\": \"waiting\", \"awaits\": \"m2\"}\n" +
        kLogEnd);
    auto kinds = a.kinds();
    CHECK(kinds["leaf"] == "hung");
    CHECK(kinds["m1"] == "blocked");
    CHECK(kinds["m3"] == "blocked");
    const Finding* f = a.finding("m3", FindingKind::blocked);
    REQUIRE(f);
    REQUIRE(f->chain.size() == 4);
    CHECK(a.store.task_value(f->chain.back()) == "leaf");
    CHECK(f->reason.find("leaf, which hangs") != std::string::npos);
  }

  SUBCASE("blocked on a failed task names the failure") {
    Analysed a(healthy_trees(20, 1700000000.0) +
               "{\"ts\": 1700000001.0, \"task\": \"producer\", \"phase\": \"failed\", \"error\": "
               "\"OSError: gone\"}\n"
               "{\"ts\": 1700000001.1, \"task\": \"consumer\", \"phase\": \"waiting\", \"awaits\": "
               "\"producer\"}\n" +
               kLogEnd);
    auto kinds = a.kinds();
    CHECK(kinds["consumer"] == "blocked");
    CHECK(kinds.count("producer") == 0);  // a failure that was reported is no finding
  }

  SUBCASE("an orphan: a child still running when its parent ended") {
    Analysed a(
        healthy_trees(20, 1700000000.0) +
        "{\"ts\": 1700000001.0, \"task\": \"p\", \"phase\": \"started\"}\n"
        "{\"ts\": 1700000001.0, \"task\": \"kid\", \"phase\": \"polling\", \"parent_id\": \"p\"}\n"
        "{\"ts\": 1700000001.0, \"task\": \"stuck\", \"phase\": \"polling\", \"parent_id\": "
        "\"p\"}\n"
        "{\"ts\": 1700000001.1, \"task\": \"p\", \"phase\": \"done\"}\n"
        "{\"ts\": 1700000009.999, \"task\": \"kid\", \"phase\": \"polling\", \"parent_id\": "
        "\"p\"}\n" +
        kLogEnd);
    // Still active at the end: in flight, and an orphan.
    CHECK(a.kinds()["kid"] == "orphan,in-flight");
    CHECK(a.finding("p", FindingKind::orphan) == nullptr);
    // Silent for 9 s: hung is the news; it is not reported again as an orphan.
    CHECK(a.kinds()["stuck"] == "hung");
  }

  SUBCASE("an unobserved child: failed while its parent ended ok without awaiting it") {
    Analysed a(
        healthy_trees(20, 1700000000.0) +
        "{\"ts\": 1700000001.0, \"task\": \"p\", \"phase\": \"started\"}\n"
        "{\"ts\": 1700000001.0, \"task\": \"seen\", \"phase\": \"started\", \"parent_id\": \"p\"}\n"
        "{\"ts\": 1700000001.0, \"task\": \"unseen\", \"phase\": \"started\", \"parent_id\": "
        "\"p\"}\n"
        "{\"ts\": 1700000001.0, \"task\": \"p\", \"phase\": \"waiting\", \"awaits\": \"seen\"}\n"
        "{\"ts\": 1700000001.1, \"task\": \"seen\", \"phase\": \"failed\", \"parent_id\": \"p\"}\n"
        "{\"ts\": 1700000001.1, \"task\": \"unseen\", \"phase\": \"failed\", \"parent_id\": "
        "\"p\"}\n"
        "{\"ts\": 1700000001.2, \"task\": \"p\", \"phase\": \"done\"}\n" +
        kLogEnd);
    const Finding* f = a.finding("unseen", FindingKind::lost_exception);
    REQUIRE(f);
    CHECK(f->subkind == "unobserved-child");
    // The parent awaited this one: its failure reached the parent.
    CHECK(a.finding("seen", FindingKind::lost_exception) == nullptr);
  }

  SUBCASE("the critical path follows the await that ended last") {
    Analysed a(healthy_trees(3, 1700000000.0) + kLogEnd);
    const TaskGraph& graph = a.analysis.graph;
    uint32_t root = a.store.find_task(0, "root-0");
    REQUIRE(root != kNone);
    auto path = graph.critical_path(root, a.analysis.outcomes);
    REQUIRE(path.size() == 2);
    CHECK(a.store.task_value(path[1]) == "root-0:b");
  }

  SUBCASE("--around cuts a neighbourhood") {
    Analysed a(healthy_trees(3, 1700000000.0) + kLogEnd);
    const TaskGraph& graph = a.analysis.graph;
    uint32_t child = a.store.find_task(0, "root-1:a");
    auto near = graph.neighbourhood({child}, 1);
    CHECK(near.size() == 2);  // itself and its parent (which also awaits it)
    auto wider = graph.neighbourhood({child}, 2);
    CHECK(wider.size() == 3);
  }
}

TEST_CASE("coroner::TaskGraph waits that are not stuck") {
  SUBCASE("a parent waiting on a child that is still at work is in flight, not blocked") {
    std::string log;
    for (int i = 0; i < 20; ++i)  // healthy parents and children, for the stage statistics
      log += "{\"ts\": " + std::to_string(1700000000 + i) + ", \"task\": \"p" + std::to_string(i) +
             "\", \"phase\": \"gather\", \"awaits\": \"c" + std::to_string(i) +
             "\"}\n"
             "{\"ts\": " +
             std::to_string(1700000000 + i) + ".5, \"task\": \"c" + std::to_string(i) +
             "\", \"phase\": \"done\", \"parent_id\": \"p" + std::to_string(i) +
             "\"}\n"
             "{\"ts\": " +
             std::to_string(1700000000 + i) + ".6, \"task\": \"p" + std::to_string(i) +
             "\", \"phase\": \"done\"}\n";
    log += "{\"ts\": 1700000030.0, \"task\": \"pX\", \"phase\": \"gather\", \"awaits\": \"cX\"}\n";
    for (int i = 0; i < 50; ++i)  // the child reports progress up to the end of the log
      log += "{\"ts\": " + std::to_string(1700000030 + i) +
             ".1, \"task\": \"cX\", \"phase\": "
             "\"download\", \"parent_id\": \"pX\"}\n";
    Analysed a(log);
    auto kinds = a.kinds();
    CHECK(kinds["pX"] == "in-flight");
    CHECK(kinds["cX"] == "in-flight");
  }

  SUBCASE("a task waiting on an idle worker's end is in flight, and says the worker is idle") {
    // The asyncio module's records of `await shipper`, the shipper on an empty queue's get when
    // the process stopped: it is waiting for work, not "still at work".
    auto rec = [](double ts, std::string_view task, std::string_view rest) {
      return fmt::format("{{\"ts\": {:.6f}, \"task\": \"{}\", {}, \"pid\": 7}}\n", ts, task, rest);
    };
    const std::string queue = "\"waiting_for\": \"asyncio.Queue.get on a queue created at p.py:4\"";
    std::string log =
        rec(1700000000.0, "main", "\"status\": \"started\", \"coroner\": \"task\"") +
        rec(1700000000.1, "shipper", "\"status\": \"started\", \"coroner\": \"task\"") +
        rec(1700000000.2, "shipper", "\"coroner\": \"wait\", " + queue) +
        rec(1700000000.3, "main",
            "\"coroner\": \"wait\", \"waiting_for\": \"task shipper\", "
            "\"awaits\": [\"shipper\"]") +
        rec(1700000003.0, "main",
            "\"coroner\": \"pending\", \"waiting_for\": \"task shipper\", "
            "\"awaits\": [\"shipper\"]") +
        rec(1700000003.0, "shipper", "\"coroner\": \"pending\", " + queue) +
        "{\"ts\": 1700000003.0, \"coroner\": \"exit\", \"reason\": \"SIGTERM\", "
        "\"pid\": 7}\n";
    Analysed a(log);
    const Finding* waiter = a.finding("main", FindingKind::in_flight);
    REQUIRE(waiter != nullptr);
    CHECK(waiter->reason == "waits on shipper, which is idle, waiting for work to come to it");
    const Finding* worker = a.finding("shipper", FindingKind::in_flight);
    REQUIRE(worker != nullptr);
    CHECK(worker->subkind == "idle");
  }

  SUBCASE("a loop's main kept alive by `await asyncio.Event().wait()` is idle, a child is stuck") {
    // The Event is made where the task waits on it: no other code can set it. A loop's main
    // that waits so runs for ever on purpose (a daemon thread's loop); a child that does is hung.
    auto rec = [](double ts, std::string_view task, std::string_view rest) {
      return fmt::format("{{\"ts\": {:.6f}, \"task\": \"{}\", {}, \"pid\": 7}}\n", ts, task, rest);
    };
    const std::string forever =
        "\"coroner\": \"pending\", \"suspended_at\": \"io.py:19 in boot\", \"waiting_for\": "
        "\"asyncio.Event created at io.py:19\"";
    std::string log;
    for (int i = 0; i < 20; ++i)  // other tasks' runs of 'work': its normal duration
      log += rec(1700000000.0 + i * 0.01, fmt::format("w{}", i), "\"stage\": \"work\"") +
             rec(1700000000.005 + i * 0.01, fmt::format("w{}", i), "\"status\": \"done\"");
    log += rec(1700000000.0, "boot", "\"status\": \"started\", \"coroner\": \"task\"") +
           rec(1700000000.1, "child", "\"status\": \"started\", \"parent_id\": \"boot\"") +
           rec(1700000000.2, "child", "\"stage\": \"work\"") + rec(1700000003.0, "boot", forever) +
           rec(1700000003.0, "child", forever) +
           "{\"ts\": 1700000003.0, \"coroner\": \"exit\", \"reason\": \"SIGTERM\", \"pid\": 7}\n";
    Analysed a(log);
    const Finding* main = a.finding("boot", FindingKind::in_flight);
    REQUIRE(main != nullptr);
    CHECK(main->subkind == "idle");
    CHECK(a.finding("child", FindingKind::hung) != nullptr);
  }

  SUBCASE("two busy tasks that now and then wait on each other are no deadlock") {
    Analysed a(read_file(std::string(CORONER_TESTS_DIR) + "/unit/logs/busy_pair.jsonl"));
    CHECK(a.finding("producer", FindingKind::deadlock) == nullptr);
    CHECK(a.finding("consumer", FindingKind::deadlock) == nullptr);
  }

  SUBCASE("a task blocked on a failed one points at the failure") {
    Analysed a(read_file(std::string(CORONER_TESTS_DIR) + "/unit/logs/blocked_on_failed.jsonl"));
    const Finding* f = a.finding("A", FindingKind::blocked);
    REQUIRE(f);
    CHECK(f->reason.find("B, which failed") != std::string::npos);
  }
}

TEST_CASE("coroner::TaskGraph the picture around a task") {
  std::string log = R"({"timestamp": 1700000000.0, "task_id": "p", "stage": "start"}
)";
  for (int i = 1; i <= 5; ++i)
    log += R"({"timestamp": 1700000000.1, "task_id": "c)" + std::to_string(i) +
           R"(", "stage": "start", "parent_id": "p"})" + "\n";
  log += R"({"timestamp": 1700000000.2, "task_id": "c1", "stage": "wait", "awaits": "d"}
{"timestamp": 1700000000.3, "task_id": "d", "stage": "start"}
)";
  Analysed a(log);
  const TaskGraph& graph = a.analysis.graph;
  auto names = [&](const std::vector<uint32_t>& tasks) {
    std::vector<std::string> out;
    for (uint32_t t : tasks) out.emplace_back(a.store.task_value(t));
    return out;
  };
  uint32_t c1 = a.store.find_task(0, "c1");
  REQUIRE(c1 != kNone);
  CHECK(graph.children(a.store.find_task(0, "p")).size() == 5);
  CHECK(names({graph.awaited_by(a.store.find_task(0, "d")).begin(),
               graph.awaited_by(a.store.find_task(0, "d")).end()}) ==
        std::vector<std::string>{"c1"});

  SUBCASE("what it awaits and its parent, not its parent's other children") {
    auto picture = graph.picture_around(c1, {}, 2, 36);
    CHECK(names(picture.tasks) == std::vector<std::string>{"c1", "d", "p"});
    CHECK(picture.left_out == 0);
  }
  SUBCASE("pinned tasks come first; what does not fit is counted") {
    uint32_t c5 = a.store.find_task(0, "c5");
    auto picture = graph.picture_around(c1, {c5}, 2, 2);
    CHECK(names(picture.tasks) == std::vector<std::string>{"c1", "c5"});
    CHECK(picture.left_out == 2);  // d and p
  }
}
