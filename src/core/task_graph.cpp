#include "coroner/task_graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/strong_components.hpp>
#include <deque>
#include <unordered_set>

namespace coroner {

namespace {

using Digraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;

bool unfinished(const Analysis& a, uint32_t task) {
  return a.outcomes[task].outcome == Outcome::open;
}

bool ended_badly(const Analysis& a, uint32_t task) {
  Outcome o = a.outcomes[task].outcome;
  return o == Outcome::failed || o == Outcome::timed_out || o == Outcome::cancelled;
}

}  // namespace

TaskGraph::TaskGraph(const TaskStore& store, const Analysis& analysis)
    : store_(store), analysis_(analysis) {
  const auto& tasks = store.tasks();
  // Two passes: count each task's edges, then place them.
  neighbour_offsets_.assign(tasks.size() + 1, 0);
  auto each_edge = [&](auto&& visit) {
    for (uint32_t t = 0; t < tasks.size(); ++t) {
      if (tasks[t].parent != kNone && tasks[t].parent != t) visit(t, tasks[t].parent);
      for (uint32_t w : tasks[t].awaits) visit(t, w);
    }
  };
  each_edge([&](uint32_t a, uint32_t b) {
    ++neighbour_offsets_[a + 1];
    ++neighbour_offsets_[b + 1];
  });
  for (size_t t = 0; t < tasks.size(); ++t) neighbour_offsets_[t + 1] += neighbour_offsets_[t];
  neighbour_list_.resize(neighbour_offsets_.back());
  std::vector<uint32_t> filled(neighbour_offsets_.begin(), neighbour_offsets_.end() - 1);
  each_edge([&](uint32_t a, uint32_t b) {
    neighbour_list_[filled[a]++] = b;
    neighbour_list_[filled[b]++] = a;
  });
  for (const Task& t : tasks) await_edges_ += t.awaits.size();
}

std::vector<std::vector<uint32_t>> TaskGraph::deadlock_cycles(
    const std::vector<bool>& stalled) const {
  const auto& tasks = store_.tasks();
  // Only waits between unfinished tasks can still hold anything up: the Boost graph holds just
  // those tasks, renumbered, so a log of millions of finished tasks costs nothing here.
  std::vector<uint32_t> vertex_of(tasks.size(), kNone);
  std::vector<uint32_t> task_of;
  for (uint32_t t = 0; t < tasks.size(); ++t) {
    if (!stalled[t]) continue;
    for (uint32_t w : tasks[t].awaits) {
      if (!stalled[w]) continue;
      for (uint32_t v : {t, w}) {
        if (vertex_of[v] != kNone) continue;
        vertex_of[v] = uint32_t(task_of.size());
        task_of.push_back(v);
      }
    }
  }
  Digraph g(task_of.size());
  for (uint32_t t : task_of)
    for (uint32_t w : tasks[t].awaits)
      if (vertex_of[w] != kNone) boost::add_edge(vertex_of[t], vertex_of[w], g);
  std::vector<int> component(task_of.size());
  int count = task_of.empty() ? 0 : boost::strong_components(g, component.data());
  std::vector<std::vector<uint32_t>> groups(static_cast<size_t>(count));
  for (uint32_t v = 0; v < task_of.size(); ++v) groups[size_t(component[v])].push_back(task_of[v]);
  auto component_of = [&](uint32_t task) {
    return vertex_of[task] == kNone ? -1 : component[vertex_of[task]];
  };
  std::vector<std::vector<uint32_t>> cycles;
  for (auto& group : groups) {
    if (group.size() < 2) continue;
    std::sort(group.begin(), group.end());
    // Walk the cycle from its first member so every report names it in the same order.
    std::vector<uint32_t> order{group.front()};
    std::unordered_set<uint32_t> seen{group.front()};
    int id = component_of(group.front());
    for (uint32_t at = group.front();;) {
      uint32_t next = kNone;
      for (uint32_t w : tasks[at].awaits)
        if (component_of(w) == id && !seen.count(w)) {
          next = w;
          break;
        }
      if (next == kNone) break;
      order.push_back(next);
      seen.insert(next);
      at = next;
    }
    for (uint32_t t : group)
      if (!seen.count(t)) order.push_back(t);  // members off the main loop of a bigger knot
    cycles.push_back(std::move(order));
  }
  return cycles;
}

std::vector<uint32_t> TaskGraph::blame_chain(uint32_t task, const std::vector<int32_t>& cycle_of,
                                             const std::vector<bool>& active) const {
  std::vector<uint32_t> chain{task};
  std::unordered_set<uint32_t> seen{task};
  uint32_t at = task;
  while (true) {
    // Prefer what is worst: a failed task or a deadlock explains a wait better than one more
    // waiting task.
    uint32_t next = kNone;
    int next_rank = -1;
    for (uint32_t w : store_.tasks()[at].awaits) {
      if (seen.count(w) || analysis_.outcomes[w].outcome == Outcome::ok) continue;
      int rank = ended_badly(analysis_, w)  ? 4
                 : cycle_of[w] >= 0         ? 3
                 : active[w]                ? 1
                 : unfinished(analysis_, w) ? 2
                                            : 0;
      if (rank > next_rank) next = w, next_rank = rank;
    }
    if (next == kNone) break;
    chain.push_back(next);
    seen.insert(next);
    if (next_rank >= 3 || next_rank == 1) break;  // the root cause, or a task still at work
    at = next;
  }
  return chain;
}

std::vector<uint32_t> TaskGraph::critical_path(uint32_t task) const {
  std::vector<uint32_t> path{task};
  std::unordered_set<uint32_t> seen{task};
  for (uint32_t at = task;;) {
    uint32_t latest = kNone;
    for (uint32_t w : store_.tasks()[at].awaits) {
      if (seen.count(w) || !store_.tasks()[w].logged) continue;
      if (latest == kNone || analysis_.outcomes[w].end > analysis_.outcomes[latest].end) latest = w;
    }
    if (latest == kNone) break;
    path.push_back(latest);
    seen.insert(latest);
    at = latest;
  }
  return path;
}

std::vector<uint32_t> TaskGraph::neighbourhood(const std::vector<uint32_t>& from, int depth) const {
  std::vector<int> distance(neighbour_offsets_.size() - 1, -1);
  std::deque<uint32_t> queue;
  for (uint32_t t : from) {
    distance[t] = 0;
    queue.push_back(t);
  }
  std::vector<uint32_t> out;
  while (!queue.empty()) {
    uint32_t t = queue.front();
    queue.pop_front();
    out.push_back(t);
    if (distance[t] >= depth) continue;
    for (uint32_t n : neighbours(t)) {
      if (distance[n] >= 0) continue;
      distance[n] = distance[t] + 1;
      queue.push_back(n);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint32_t> TaskGraph::components_of(const std::vector<uint32_t>& seeds) const {
  // A neighbourhood without a depth limit is the seeds' connected components.
  return neighbourhood(seeds, INT32_MAX);
}

namespace {

class GraphRules {
 public:
  GraphRules(const TaskStore& store, Analysis& analysis)
      : store_(store), a_(analysis), graph_(store, analysis), cycle_of_(store.tasks().size(), -1) {}

  void run() {
    // In-flight tasks are still at work: neither deadlocked nor a reason to be blocked.
    active_.assign(store_.tasks().size(), false);
    for (const Finding& f : a_.findings)
      if (f.kind == FindingKind::in_flight) active_[f.task] = true;
    std::vector<bool> stalled(store_.tasks().size(), false);
    for (uint32_t t = 0; t < stalled.size(); ++t)
      stalled[t] = unfinished(a_, t) && store_.tasks()[t].logged && !active_[t];
    cycles_ = graph_.deadlock_cycles(stalled);
    for (size_t c = 0; c < cycles_.size(); ++c)
      for (uint32_t t : cycles_[c]) cycle_of_[t] = int32_t(c);
    for (Finding& f : a_.findings) rewrite(f);
    // A rewrite may have turned a hung task into an in-flight one: flagged follows the findings.
    for (TaskOutcome& o : a_.outcomes) o.flagged = false;
    for (const Finding& f : a_.findings)
      if (f.kind != FindingKind::in_flight) a_.outcomes[f.task].flagged = true;
    add_orphans();
    if (graph_.has_await_edges()) add_unobserved_children();
  }

 private:
  std::string label(uint32_t t) const { return std::string(store_.task_value(t)); }
  std::string stage_of(uint32_t t) const { return quoted_stage(store_, store_.tasks()[t].stage); }
  std::string at(int64_t time) const { return since_log_start(a_, time); }

  // A hung, in-flight or silently dead task that is part of a cycle, or waits on a root cause.
  void rewrite(Finding& f) {
    bool open_kind = f.kind == FindingKind::hung || f.kind == FindingKind::in_flight;
    if (!open_kind) return;
    if (cycle_of_[f.task] >= 0) return deadlock(f, cycles_[size_t(cycle_of_[f.task])]);
    if (f.kind != FindingKind::hung) return;
    auto chain = graph_.blame_chain(f.task, cycle_of_, active_);
    if (chain.size() < 2) return;
    uint32_t root = chain.back();
    if (active_[root]) {
      // It waits on a task that is still working: the wait is not over, so it is not hung.
      f.kind = FindingKind::in_flight;
      f.severity = default_severity(f.kind);
      f.chain = chain;
      f.reason = fmt::format("waits in stage {} since {} on {}, which is still at work",
                             stage_of(f.task), at(store_.tasks()[f.task].stage_since), label(root));
      return;
    }
    std::string why;
    if (cycle_of_[root] >= 0) {
      why = fmt::format("{}, which is deadlocked", label(root));
    } else if (ended_badly(a_, root)) {
      why = fmt::format("{}, which {} at {}", label(root),
                        a_.outcomes[root].outcome == Outcome::cancelled   ? "was cancelled"
                        : a_.outcomes[root].outcome == Outcome::timed_out ? "timed out"
                                                                          : "failed",
                        at(a_.outcomes[root].end));
    } else if (!store_.tasks()[root].logged) {
      why = fmt::format("{}, which never logged anything", label(root));
    } else {
      why = fmt::format("{}, which hangs in stage {}", label(root), stage_of(root));
    }
    f.kind = FindingKind::blocked;
    f.severity = default_severity(f.kind);
    f.chain = chain;
    f.reason = fmt::format("waits in stage {} since {} on {}", stage_of(f.task),
                           at(store_.tasks()[f.task].stage_since), why);
    if (chain.size() > 2) f.reason += fmt::format(" ({} tasks deep)", chain.size() - 1);
  }

  void deadlock(Finding& f, const std::vector<uint32_t>& cycle) {
    std::string members;
    for (uint32_t t : cycle)
      members += fmt::format("{}{} in {}", members.empty() ? "" : " -> ", label(t), stage_of(t));
    f.kind = FindingKind::deadlock;
    f.severity = default_severity(f.kind);
    f.members = cycle;
    f.chain.clear();
    f.reason = fmt::format("a cycle of {} unfinished tasks waiting on each other: {} -> {}",
                           cycle.size(), members, label(cycle.front()));
  }

  // A child still running after its parent ended. A child already flagged (hung, deadlocked,
  // blocked) is not reported again as an orphan: its own finding is the news.
  void add_orphans() {
    const auto& tasks = store_.tasks();
    for (uint32_t t = 0; t < tasks.size(); ++t) {
      uint32_t parent = tasks[t].parent;
      if (parent == kNone || !unfinished(a_, t) || !tasks[t].logged) continue;
      if (a_.outcomes[t].flagged) continue;
      if (unfinished(a_, parent) || !tasks[parent].logged) continue;
      Finding f;
      f.kind = FindingKind::orphan;
      f.task = t;
      f.severity = default_severity(f.kind);
      f.time = a_.outcomes[parent].end;
      f.stage = store_.tasks()[t].stage;
      f.chain = {t, parent};
      f.reason = fmt::format(
          "still unfinished in stage {} (last record at {}) though its parent {} "
          "ended {} at {}",
          stage_of(t), at(a_.outcomes[t].end), label(parent),
          to_string(a_.outcomes[parent].outcome), at(a_.outcomes[parent].end));
      a_.outcomes[t].flagged = true;
      a_.findings.push_back(std::move(f));
    }
  }

  void add_unobserved_children() {
    const auto& tasks = store_.tasks();
    std::unordered_set<uint32_t> already_lost;
    for (const Finding& f : a_.findings)
      if (f.kind == FindingKind::lost_exception) already_lost.insert(f.task);
    for (uint32_t t = 0; t < tasks.size(); ++t) {
      uint32_t parent = tasks[t].parent;
      if (parent == kNone || already_lost.count(t)) continue;
      Outcome o = a_.outcomes[t].outcome;
      if (o != Outcome::failed && o != Outcome::timed_out) continue;
      if (a_.outcomes[parent].outcome != Outcome::ok) continue;
      const auto& awaited = tasks[parent].awaits;
      if (std::find(awaited.begin(), awaited.end(), t) != awaited.end()) continue;
      Finding f;
      f.kind = FindingKind::lost_exception;
      f.subkind = "unobserved-child";
      f.task = t;
      f.severity = default_severity(f.kind);
      f.time = a_.outcomes[t].end;
      f.stage = store_.tasks()[t].stage;
      f.chain = {t, parent};
      f.reason =
          fmt::format("{} at {} in stage {}; its parent {} ended ok at {} and never awaited it",
                      o == Outcome::failed ? "failed" : "timed out", at(a_.outcomes[t].end),
                      stage_of(t), label(parent), at(a_.outcomes[parent].end));
      a_.outcomes[t].flagged = true;
      a_.findings.push_back(std::move(f));
    }
  }

  const TaskStore& store_;
  Analysis& a_;
  TaskGraph graph_;
  std::vector<std::vector<uint32_t>> cycles_;
  std::vector<int32_t> cycle_of_;
  std::vector<bool> active_;
};

}  // namespace

void apply_graph_rules(const TaskStore& store, Analysis& analysis) {
  // A log with neither parents nor awaits (the seed's) has no graph: spend nothing on one.
  bool any_edge = false;
  for (const Task& t : store.tasks()) {
    if (t.parent != kNone || !t.awaits.empty()) {
      any_edge = true;
      break;
    }
  }
  if (any_edge) GraphRules(store, analysis).run();
}

}  // namespace coroner
