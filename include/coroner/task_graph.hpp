// The task graph (Boost.Graph for the cycles): who spawned whom (parent) and who waited on whom
// (awaits). It finds deadlock cycles, blame chains, critical paths and the tasks around a task.
// Built once per analysis; the graph rules and every report read the same one.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "coroner/outcome.hpp"
#include "coroner/task_store.hpp"

namespace coroner {

class TaskGraph {
 public:
  TaskGraph() = default;  // no task, no edge
  explicit TaskGraph(const TaskStore& store);

  bool has_edges() const { return edges_ > 0; }
  bool has_await_edges() const { return await_edges_ > 0; }
  // The tasks `task` spawned and the tasks that awaited it, in task order. (What it awaits and
  // its parent are in its Task.)
  std::span<const uint32_t> children(uint32_t task) const { return children_.of(task); }
  std::span<const uint32_t> awaited_by(uint32_t task) const { return awaited_by_.of(task); }

  // Strongly connected groups (two or more) of stalled tasks (unfinished and silent: not in
  // flight) over await edges, each in cycle order: members[i] waits on members[i + 1], the last
  // on the first. Two tasks that still log while waiting on each other now and then are busy,
  // not deadlocked.
  std::vector<std::vector<uint32_t>> deadlock_cycles(const std::vector<bool>& stalled) const;

  // From `task` along what it waits on, through unfinished tasks, to the root cause: a task
  // that failed or timed out, a member of a deadlock, or a task that waits on nothing further.
  // `task` first; just {task} when it waits on nothing unfinished.
  // A task still active (in flight) ends the chain too: the wait is not over.
  std::vector<uint32_t> blame_chain(uint32_t task, std::span<const TaskOutcome> outcomes,
                                    const std::vector<int32_t>& cycle_of,
                                    const std::vector<bool>& active) const;

  // The chain of awaits that decided `task`'s duration: at each step, the awaited task that
  // ended last. `task` first.
  std::vector<uint32_t> critical_path(uint32_t task, std::span<const TaskOutcome> outcomes) const;

  // Tasks within `depth` parent or await edges of `from`, in either direction, in task order.
  std::vector<uint32_t> neighbourhood(const std::vector<uint32_t>& from, int depth) const;
  // Every task connected (by any edge, either way) to a task in `seeds`.
  std::vector<uint32_t> components_of(const std::vector<uint32_t>& seeds) const;

  // The tasks to draw around `subject`, at most `max_tasks`: first the subject, then `pinned`
  // (its blame chain and cycle: the point of the picture), then a walk of up to `depth` edges.
  // How a task was reached decides where the walk goes on from it: from the subject every way;
  // along awaits, along awaits only; up to the parent, further up only; down to a child, further
  // down and along its awaits. So a task's siblings (its parent's thousand other children) stay
  // out of its picture unless an await ties them to it. `left_out` counts the edges not walked
  // for want of room.
  struct Picture {
    std::vector<uint32_t> tasks;  // in the order reached
    uint64_t left_out = 0;
  };
  Picture picture_around(uint32_t subject, const std::vector<uint32_t>& pinned, int depth,
                         size_t max_tasks) const;

 private:
  // Edges of one kind, reversed, in one array with offsets: 4 bytes a task plus 4 an edge, for
  // millions of tasks. Empty (no offsets at all) when the log has no edge of that kind.
  struct Reverse {
    std::vector<uint32_t> offsets, items;
    std::span<const uint32_t> of(uint32_t task) const {
      if (offsets.empty()) return {};
      return {items.data() + offsets[task], offsets[task + 1] - offsets[task]};
    }
  };
  template <typename EachEdge>
  static Reverse reverse_edges(size_t tasks, size_t edges, EachEdge each_edge);

  const TaskStore* store_ = nullptr;
  Reverse children_;    // parent -> the tasks it spawned
  Reverse awaited_by_;  // awaited task -> the tasks waiting on it
  size_t edges_ = 0;
  size_t await_edges_ = 0;
};

}  // namespace coroner
