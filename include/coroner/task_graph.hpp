// The task graph (Boost.Graph): who spawned whom (parent) and who waited on whom (awaits).
// It finds deadlock cycles, blame chains, orphans, unobserved children and critical paths.
#pragma once

#include <cstdint>
#include <vector>

#include "coroner/analysis.hpp"
#include "coroner/task_store.hpp"

namespace coroner {

class TaskGraph {
 public:
  TaskGraph(const TaskStore& store, const Analysis& analysis);

  // Strongly connected groups (two or more) of unfinished tasks over await edges, each in cycle
  // order: members[i] waits on members[i + 1], the last on the first.
  std::vector<std::vector<uint32_t>> deadlock_cycles() const;

  // From `task` along what it waits on, through unfinished tasks, to the root cause: a task
  // that failed or timed out, a member of a deadlock, or a task that waits on nothing further.
  // `task` first; just {task} when it waits on nothing unfinished.
  std::vector<uint32_t> blame_chain(uint32_t task, const std::vector<int32_t>& cycle_of) const;

  // The chain of awaits that decided `task`'s duration: at each step, the awaited task that
  // ended last. `task` first.
  std::vector<uint32_t> critical_path(uint32_t task) const;

  // Tasks within `depth` parent or await edges of `task`, in either direction.
  std::vector<uint32_t> neighbourhood(const std::vector<uint32_t>& from, int depth) const;
  // Every task connected (by any edge, either way) to a task in `seeds`.
  std::vector<uint32_t> components_of(const std::vector<uint32_t>& seeds) const;

  const std::vector<uint32_t>& children(uint32_t task) const { return children_[task]; }
  bool has_await_edges() const { return await_edges_ > 0; }

 private:
  const TaskStore& store_;
  const Analysis& analysis_;
  std::vector<std::vector<uint32_t>> children_;
  std::vector<std::vector<uint32_t>> neighbours_;  // undirected: parent, children, awaits both ways
  size_t await_edges_ = 0;
};

// Rewrites the per-task findings with what the graph shows: deadlock members and blocked tasks
// instead of hung ones, plus orphans and unobserved children.
void apply_graph_rules(const TaskStore& store, Analysis& analysis);

}  // namespace coroner
