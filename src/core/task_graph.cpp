#include "coroner/task_graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/strong_components.hpp>
#include <deque>
#include <unordered_map>
#include <unordered_set>

namespace coroner {

namespace {

using Digraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;

bool ended_badly(Outcome o) {
  return o == Outcome::failed || o == Outcome::timed_out || o == Outcome::cancelled;
}

}  // namespace

template <typename EachEdge>
TaskGraph::Reverse TaskGraph::reverse_edges(size_t tasks, size_t edges, EachEdge each_edge) {
  Reverse r;
  if (edges == 0) return r;
  r.offsets.assign(tasks + 1, 0);
  each_edge([&](uint32_t from, uint32_t) { ++r.offsets[from + 1]; });
  for (size_t t = 0; t < tasks; ++t) r.offsets[t + 1] += r.offsets[t];
  r.items.resize(r.offsets[tasks]);
  std::vector<uint32_t> filled(r.offsets.begin(), r.offsets.end() - 1);
  each_edge([&](uint32_t from, uint32_t to) { r.items[filled[from]++] = to; });
  return r;
}

TaskGraph::TaskGraph(const TaskStore& store) : store_(&store) {
  const auto& tasks = store.tasks();
  size_t spawns = 0;
  for (const Task& t : tasks) {
    spawns += t.parent != kNone;
    await_edges_ += t.awaits.size();
  }
  edges_ = spawns + await_edges_;
  auto n = uint32_t(tasks.size());
  children_ = reverse_edges(n, spawns, [&](auto add) {
    for (uint32_t t = 0; t < n; ++t)
      if (tasks[t].parent != kNone) add(tasks[t].parent, t);
  });
  awaited_by_ = reverse_edges(n, await_edges_, [&](auto add) {
    for (uint32_t t = 0; t < n; ++t)
      for (uint32_t a : tasks[t].awaits) add(a, t);
  });
}

std::vector<std::vector<uint32_t>> TaskGraph::deadlock_cycles(
    const std::vector<bool>& stalled) const {
  if (store_ == nullptr) return {};
  const auto& tasks = store_->tasks();
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
  // A stuck task that waits on itself (a Lock it holds) and on no cycle of others: a cycle of one.
  for (uint32_t t = 0; t < tasks.size(); ++t) {
    bool in_bigger = vertex_of[t] != kNone && groups[size_t(component_of(t))].size() > 1;
    if (stalled[t] && tasks[t].waits_on_itself && !in_bigger) cycles.push_back({t});
  }
  return cycles;
}

std::vector<uint32_t> TaskGraph::blame_chain(uint32_t task, std::span<const TaskOutcome> outcomes,
                                             const std::vector<int32_t>& cycle_of,
                                             const std::vector<bool>& active) const {
  std::vector<uint32_t> chain{task};
  if (store_ == nullptr) return chain;  // a graph of no task
  std::unordered_set<uint32_t> seen{task};
  uint32_t at = task;
  while (true) {
    // Prefer what is worst: a failed task or a deadlock explains a wait better than one more
    // waiting task. But when it waited on several (a parent on its child spans or actions), or
    // started again since (its last run is judged), a failure it logged past was handled, and
    // explains nothing.
    uint32_t next = kNone;
    int next_rank = -1;
    const Task& waiter = store_->tasks()[at];
    std::span<const uint32_t> awaits(waiter.awaits.begin(), waiter.awaits.size());
    // Pending at its process's stop, it waited on what the asyncio module named then: a child
    // of its gather that failed before is not among them (the gather keeps its exception for
    // later), the one still running is.
    if (const PendingAtExit* pending = store_->pending_at_exit(at);
        pending && pending->time >= waiter.last_time && !pending->awaits.empty())
      awaits = pending->awaits;
    for (uint32_t w : awaits) {
      Outcome o = outcomes[w].outcome;
      if (seen.count(w) || o == Outcome::ok) continue;
      bool outlived = ended_badly(o) && outcomes[w].end < waiter.last_time;
      if (outlived && (awaits.size() > 1 || outcomes[at].rerun)) continue;
      int rank = ended_badly(o)       ? 4
                 : cycle_of[w] >= 0   ? 3
                 : active[w]          ? 1
                 : o == Outcome::open ? 2
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

std::vector<uint32_t> TaskGraph::critical_path(uint32_t task,
                                               std::span<const TaskOutcome> outcomes) const {
  std::vector<uint32_t> path{task};
  if (store_ == nullptr) return path;
  std::unordered_set<uint32_t> seen{task};
  for (uint32_t at = task;;) {
    uint32_t latest = kNone;
    for (uint32_t w : store_->tasks()[at].awaits) {
      if (seen.count(w) || !store_->tasks()[w].logged) continue;
      if (latest == kNone || outcomes[w].end > outcomes[latest].end) latest = w;
    }
    if (latest == kNone) break;
    path.push_back(latest);
    seen.insert(latest);
    at = latest;
  }
  return path;
}

std::vector<uint32_t> TaskGraph::neighbourhood(const std::vector<uint32_t>& from, int depth) const {
  if (store_ == nullptr) return {};
  const auto& tasks = store_->tasks();
  std::vector<int> distance(tasks.size(), -1);
  std::deque<uint32_t> queue;
  for (uint32_t t : from) {
    distance[t] = 0;
    queue.push_back(t);
  }
  std::vector<uint32_t> out;
  auto reach = [&](uint32_t next, int d) {
    if (distance[next] >= 0) return;
    distance[next] = d;
    queue.push_back(next);
  };
  while (!queue.empty()) {
    uint32_t t = queue.front();
    queue.pop_front();
    out.push_back(t);
    int d = distance[t];
    if (d >= depth) continue;
    if (tasks[t].parent != kNone) reach(tasks[t].parent, d + 1);
    for (uint32_t n : tasks[t].awaits) reach(n, d + 1);
    for (uint32_t n : children(t)) reach(n, d + 1);
    for (uint32_t n : awaited_by(t)) reach(n, d + 1);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint32_t> TaskGraph::components_of(const std::vector<uint32_t>& seeds) const {
  // A neighbourhood without a depth limit is the seeds' connected components.
  return neighbourhood(seeds, INT32_MAX);
}

TaskGraph::Picture TaskGraph::picture_around(uint32_t subject, const std::vector<uint32_t>& pinned,
                                             int depth, size_t max_tasks) const {
  enum Via : uint8_t { focus, await_edge, up, down };
  struct Reached {
    int depth;
    Via via;
  };
  Picture picture;
  if (store_ == nullptr) return picture;
  std::unordered_map<uint32_t, Reached> reached;
  std::deque<uint32_t> queue;
  auto visit = [&](uint32_t t, int d, Via via) {
    if (reached.count(t)) return true;
    if (picture.tasks.size() >= max_tasks) {
      ++picture.left_out;
      return false;
    }
    reached.emplace(t, Reached{d, via});
    picture.tasks.push_back(t);
    queue.push_back(t);
    return true;
  };
  visit(subject, 0, focus);
  for (uint32_t t : pinned) visit(t, depth, await_edge);
  const auto& tasks = store_->tasks();
  while (!queue.empty()) {
    uint32_t t = queue.front();
    queue.pop_front();
    int d = reached.at(t).depth;
    Via via = reached.at(t).via;
    if (d >= depth) continue;
    const Task& task = tasks[t];
    bool awaits = via != up, parent = via == focus || via == up;
    bool kids = via == focus || via == down;
    size_t degree = (awaits ? task.awaits.size() + awaited_by(t).size() : 0) +
                    (parent && task.parent != kNone ? 1 : 0) + (kids ? children(t).size() : 0);
    size_t seen = 0;
    bool room = true;
    auto each = [&](uint32_t u, Via how) {
      ++seen;
      if (room)
        room = visit(u, d + 1, how);
      else
        ++picture.left_out;
    };
    if (awaits) {
      for (uint32_t a : task.awaits) each(a, await_edge);
      for (uint32_t u : awaited_by(t)) {
        if (!room) break;
        each(u, await_edge);
      }
    }
    if (parent && task.parent != kNone && room) each(task.parent, up);
    if (kids) {
      for (uint32_t u : children(t)) {
        if (!room) break;
        each(u, down);
      }
    }
    if (!room) picture.left_out += degree - seen;  // not walked: a parent of a thousand children
  }
  return picture;
}

}  // namespace coroner
