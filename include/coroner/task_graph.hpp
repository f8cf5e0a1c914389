// The task graph (Boost.Graph): who spawned whom (parent) and who waited on whom (awaits).
// It finds deadlock cycles, blame chains, orphans, unobserved children and critical paths.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "coroner/analysis.hpp"
#include "coroner/task_store.hpp"

namespace coroner {

class TaskGraph {
 public:
  TaskGraph(const TaskStore& store, const Analysis& analysis);

  // Strongly connected groups (two or more) of stalled tasks (unfinished and silent: not in
  // flight) over await edges, each in cycle order: members[i] waits on members[i + 1], the last
  // on the first. Two tasks that still log while waiting on each other now and then are busy,
  // not deadlocked.
  std::vector<std::vector<uint32_t>> deadlock_cycles(const std::vector<bool>& stalled) const;

  // From `task` along what it waits on, through unfinished tasks, to the root cause: a task
  // that failed or timed out, a member of a deadlock, or a task that waits on nothing further.
  // `task` first; just {task} when it waits on nothing unfinished.
  // A task still active (in flight) ends the chain too: the wait is not over.
  std::vector<uint32_t> blame_chain(uint32_t task, const std::vector<int32_t>& cycle_of,
                                    const std::vector<bool>& active) const;

  // The chain of awaits that decided `task`'s duration: at each step, the awaited task that
  // ended last. `task` first.
  std::vector<uint32_t> critical_path(uint32_t task) const;

  // Tasks within `depth` parent or await edges of `task`, in either direction.
  std::vector<uint32_t> neighbourhood(const std::vector<uint32_t>& from, int depth) const;
  // Every task connected (by any edge, either way) to a task in `seeds`.
  std::vector<uint32_t> components_of(const std::vector<uint32_t>& seeds) const;

  bool has_await_edges() const { return await_edges_ > 0; }

 private:
  // Every task's neighbours (parent, children, what it awaits and who awaits it), as one flat
  // array with offsets: 4 bytes a task plus 8 an edge, for millions of tasks.
  std::span<const uint32_t> neighbours(uint32_t task) const {
    return {neighbour_list_.data() + neighbour_offsets_[task],
            neighbour_offsets_[task + 1] - neighbour_offsets_[task]};
  }

  const TaskStore& store_;
  const Analysis& analysis_;
  std::vector<uint32_t> neighbour_offsets_;
  std::vector<uint32_t> neighbour_list_;
  size_t await_edges_ = 0;
};

// Rewrites the per-task findings with what the graph shows: deadlock members and blocked tasks
// instead of hung ones, plus orphans and unobserved children.
void apply_graph_rules(const TaskStore& store, Analysis& analysis);

}  // namespace coroner
