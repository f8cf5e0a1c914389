// The task graph as Graphviz dot (one cluster per task tree) or JSON nodes and edges.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "common.hpp"
#include "json_writer.hpp"

namespace coroner {

namespace {

std::string dot_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string_view outcome_colour(Outcome o) {
  switch (o) {
    case Outcome::ok:
      return "#c8e6c9";
    case Outcome::failed:
      return "#ef9a9a";
    case Outcome::timed_out:
      return "#ffcc80";
    case Outcome::cancelled:
      return "#e0e0e0";
    case Outcome::open:
      return "#fff59d";
  }
  return "#ffffff";
}

// The kinds of the findings each task has, worst first: "hung", "deadlock, orphan".
std::unordered_map<uint32_t, std::string> finding_labels(const ReportInput& in) {
  std::unordered_map<uint32_t, std::string> out;
  for (const Finding* f : in.findings) {
    if (is_information(f->kind)) continue;
    std::string& label = out[f->task];
    std::string_view kind = to_string(f->kind);
    if (label.find(kind) != std::string::npos) continue;
    if (!label.empty()) label += ", ";
    label += kind;
  }
  return out;
}

// The root of a task's tree: follow parents up (guarding against a cycle of parents).
uint32_t tree_root(const TaskStore& store, uint32_t task) {
  std::unordered_set<uint32_t> seen;
  while (store.tasks()[task].parent != kNone && seen.insert(task).second)
    task = store.tasks()[task].parent;
  return task;
}

// Each task's await that ended last, the one that decided when the task could go on, as
// (waiter, awaited) keys: followed from any task, these edges are its critical path.
std::unordered_set<uint64_t> critical_edges(const ReportInput& in,
                                            const std::vector<uint32_t>& tasks) {
  const TaskGraph& graph = in.analysis.graph;
  std::unordered_set<uint64_t> edges;
  for (uint32_t t : tasks) {
    if (in.store.tasks()[t].awaits.empty()) continue;
    auto path = graph.critical_path(t, in.analysis.outcomes);
    if (path.size() > 1) edges.insert(uint64_t(path[0]) << 32 | path[1]);
  }
  return edges;
}

}  // namespace

std::string render_graph_dot(const ReportInput& in, const std::vector<uint32_t>& tasks) {
  const TaskStore& store = in.store;
  // A graph of lone tasks says nothing, and thousands of clusters keep dot busy for minutes.
  if (std::string note = report::no_edges_note(in); !note.empty())
    return fmt::format("digraph coroner {{\n  label={};\n}}\n", dot_quote(note));
  auto flagged = finding_labels(in);
  std::unordered_set<uint32_t> shown(tasks.begin(), tasks.end());
  std::map<uint32_t, std::vector<uint32_t>> trees;
  for (uint32_t t : tasks) trees[tree_root(store, t)].push_back(t);

  auto critical = critical_edges(in, tasks);
  std::string out =
      "digraph coroner {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", "
      "fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", "
      "fontsize=9];\n";
  size_t cluster = 0;
  for (const auto& [root, members] : trees) {
    out += fmt::format("  subgraph cluster_{} {{\n    label={}; style=dashed; color=\"#9e9e9e\";\n",
                       cluster++, dot_quote(fmt::format("tree of {}", store.task_label(root))));
    for (uint32_t t : members) {
      const TaskOutcome& o = in.analysis.outcomes[t];
      std::string label = fmt::format("{}\n{}", store.task_label(t), to_string(o.outcome));
      if (!store.tasks()[t].logged) label = fmt::format("{}\n(never logged)", store.task_label(t));
      std::string extra;
      if (auto it = flagged.find(t); it != flagged.end()) {
        label += fmt::format("\n[{}]", it->second);
        extra = ", penwidth=2.5, color=\"#b71c1c\", peripheries=2";
      }
      out += fmt::format("    t{} [label={}, fillcolor=\"{}\"{}];\n", t, dot_quote(label),
                         outcome_colour(o.outcome), extra);
    }
    out += "  }\n";
  }
  for (uint32_t t : tasks) {
    uint32_t parent = store.tasks()[t].parent;
    if (parent != kNone && shown.count(parent))
      out += fmt::format("  t{} -> t{} [color=\"#757575\", arrowhead=vee, label=\"spawned\"];\n",
                         parent, t);
    for (uint32_t w : store.tasks()[t].awaits) {
      if (!shown.count(w)) continue;
      bool blocking = in.analysis.outcomes[w].outcome != Outcome::ok &&
                      in.analysis.outcomes[t].outcome == Outcome::open;
      bool on_path = critical.count(uint64_t(t) << 32 | w) > 0;
      out += fmt::format("  t{} -> t{} [style=dashed, color=\"{}\", label=\"{}\"{}];\n", t, w,
                         blocking ? "#c62828" : "#1565c0",
                         on_path ? "awaits (critical path)" : "awaits",
                         on_path ? ", penwidth=2.5" : "");
    }
  }
  out += "}\n";
  return out;
}

std::string render_graph_json(const ReportInput& in, const std::vector<uint32_t>& tasks) {
  const TaskStore& store = in.store;
  std::unordered_set<uint32_t> shown(tasks.begin(), tasks.end());
  auto critical = critical_edges(in, tasks);
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("schema").value("coroner.graph/1");
  std::string note = report::no_edges_note(in);
  w.key("note");
  if (note.empty())
    w.null();
  else
    w.value(note);
  // Lone tasks say nothing: with no edge, the note is the whole graph.
  const std::vector<uint32_t> drawn = note.empty() ? tasks : std::vector<uint32_t>{};
  w.key("nodes").begin_array();
  for (uint32_t t : drawn) {
    w.begin_object();
    w.key("task").value(store.task_value(t));
    w.key("scope").begin_object();
    for (const auto& [name, value] : scope_fields(store, t)) w.key(name).value(value);
    w.end_object();
    w.key("outcome").value(to_string(in.analysis.outcomes[t].outcome));
    w.key("logged").value(store.tasks()[t].logged);
    w.key("tree").value(store.task_value(tree_root(store, t)));
    w.key("findings").begin_array();
    for (const Finding* f : in.findings)
      if (f->task == t) w.value(to_string(f->kind));
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.key("edges").begin_array();
  for (uint32_t t : drawn) {
    uint32_t parent = store.tasks()[t].parent;
    if (parent != kNone && shown.count(parent)) {
      w.begin_object()
          .key("from")
          .value(store.task_value(parent))
          .key("to")
          .value(store.task_value(t));
      w.key("kind").value("spawned").end_object();
    }
    for (uint32_t a : store.tasks()[t].awaits) {
      if (!shown.count(a)) continue;
      w.begin_object().key("from").value(store.task_value(t)).key("to").value(store.task_value(a));
      w.key("kind").value("awaits");
      w.key("critical").value(critical.count(uint64_t(t) << 32 | a) > 0).end_object();
    }
  }
  w.end_array();
  w.end_object();
  out += '\n';
  return out;
}

}  // namespace coroner
