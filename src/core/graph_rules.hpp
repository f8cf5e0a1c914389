// The rules that need the task graph: deadlocks, blocked tasks, orphans and unobserved children.
#pragma once

#include "coroner/analysis.hpp"
#include "coroner/task_store.hpp"

namespace coroner {

// Rewrites the per-task findings with what analysis.graph shows: deadlock members and blocked
// tasks instead of hung ones, plus orphans and unobserved children.
void apply_graph_rules(const TaskStore& store, Analysis& analysis);

}  // namespace coroner
