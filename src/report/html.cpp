// The html report: one self-contained page (inline CSS, JS and SVG, no network). The data is
// one JSON blob, {"report": <the json report>, "page": <what only the page needs>}, and the
// page's script builds the summary, the findings table, the Gantt timeline, the graphs and the
// histograms from it. The page holds the flagged tasks and the statistics, never every task.
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "common.hpp"
#include "coroner/json_writer.hpp"
// Generated from the files of src/report/assets/ by embed.py (see meson.build). They reach
// nothing on the network: no URL, no font, no CDN; the script draws its SVG inline.
#include "html_assets.hpp"

namespace coroner {

namespace {

// Tasks drawn around each task with a finding: within this many edges, at most this many.
constexpr int kGraphDepth = 2;
constexpr size_t kGraphNodes = 36;

// Adjacency lists in one array each (a million tasks cost two arrays, not a million vectors).
struct Adjacency {
  std::vector<uint32_t> offset, items;
  const uint32_t* begin(uint32_t t) const { return items.data() + offset[t]; }
  const uint32_t* end(uint32_t t) const { return items.data() + offset[t + 1]; }
  size_t size(uint32_t t) const { return offset[t + 1] - offset[t]; }
};

template <typename EachEdge>
Adjacency build_adjacency(size_t n, EachEdge each_edge) {
  Adjacency a;
  a.offset.assign(n + 1, 0);
  each_edge([&](uint32_t from, uint32_t) { ++a.offset[from + 1]; });
  for (size_t i = 0; i < n; ++i) a.offset[i + 1] += a.offset[i];
  a.items.resize(a.offset[n]);
  std::vector<uint32_t> fill(a.offset.begin(), a.offset.end() - 1);
  each_edge([&](uint32_t from, uint32_t to) { a.items[fill[from]++] = to; });
  return a;
}

std::string scope_label(const TaskStore& store, uint32_t task) {
  std::string out;
  for (const auto& [name, value] : scope_fields(store, task))
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", name, value);
  return out;
}

// The neighbourhood of each task with a shown finding, as nodes and edges the page lays out.
void write_graphs(JsonWriter& w, const ReportInput& in) {
  const TaskStore& store = in.store;
  const auto& tasks = store.tasks();
  const size_t n = tasks.size();
  Adjacency children = build_adjacency(n, [&](auto add) {
    for (uint32_t t = 0; t < n; ++t)
      if (tasks[t].parent != kNone) add(tasks[t].parent, t);
  });
  Adjacency awaited_by = build_adjacency(n, [&](auto add) {
    for (uint32_t t = 0; t < n; ++t)
      for (uint32_t a : tasks[t].awaits) add(a, t);
  });

  // The subjects: each task with a shown finding, once, in finding order.
  std::vector<uint32_t> subjects;
  std::unordered_map<uint32_t, uint32_t> subject_of;
  std::unordered_map<uint32_t, std::vector<const Finding*>> findings_of;
  for (const Finding* f : in.findings) {
    if (subject_of.emplace(f->task, uint32_t(subjects.size())).second) subjects.push_back(f->task);
    findings_of[f->task].push_back(f);
  }
  std::unordered_map<uint32_t, uint32_t> timeline_of;  // task -> index in report.tasks
  {
    auto flagged = report::flagged_tasks(in);
    for (uint32_t i = 0; i < flagged.size(); ++i) timeline_of.emplace(flagged[i], i);
  }

  std::vector<uint32_t> nodes;  // node id -> task
  std::unordered_map<uint32_t, uint32_t> node_of;
  auto node = [&](uint32_t t) {
    auto [it, added] = node_of.emplace(t, uint32_t(nodes.size()));
    if (added) nodes.push_back(t);
    return it->second;
  };

  // How a task was reached decides where the walk goes on from it: from the task itself every
  // way; along awaits, along awaits only; up to the parent, further up only; down to a child,
  // further down and along its awaits. So the siblings of a task (its parent's thousand other
  // children) stay out of its picture unless an await ties them to it.
  enum Via : uint8_t { focus, await_edge, up, down };
  w.key("subjects").begin_array();
  for (uint32_t s : subjects) {
    std::vector<uint32_t> around;
    struct Reached {
      int depth;
      Via via;
    };
    std::unordered_map<uint32_t, Reached> reached;
    std::deque<uint32_t> queue;
    uint64_t more = 0;
    auto visit = [&](uint32_t t, int d, Via via) {
      if (reached.count(t)) return true;
      if (around.size() >= kGraphNodes) {
        ++more;
        return false;
      }
      reached.emplace(t, Reached{d, via});
      around.push_back(t);
      queue.push_back(t);
      return true;
    };
    visit(s, 0, focus);
    // The blame chain and the deadlock cycle first: they are the point of the picture.
    for (const Finding* f : findings_of[s]) {
      for (uint32_t c : f->chain) visit(c, kGraphDepth, await_edge);
      for (uint32_t m : f->members) visit(m, kGraphDepth, await_edge);
    }
    while (!queue.empty()) {
      uint32_t t = queue.front();
      queue.pop_front();
      // Plain variables, not a structured binding: clang 14 cannot capture those in a lambda.
      int d = reached.at(t).depth;
      Via via = reached.at(t).via;
      if (d >= kGraphDepth) continue;
      const Task& task = tasks[t];
      bool awaits = via != up, parent = via == focus || via == up;
      bool kids = via == focus || via == down;
      size_t degree = (awaits ? task.awaits.size() + awaited_by.size(t) : 0) +
                      (parent && task.parent != kNone ? 1 : 0) + (kids ? children.size(t) : 0);
      size_t seen = 0;
      bool room = true;
      auto each = [&](uint32_t u, Via how) {
        ++seen;
        if (room)
          room = visit(u, d + 1, how);
        else
          ++more;
      };
      if (awaits) {
        for (uint32_t a : task.awaits) each(a, await_edge);
        for (const uint32_t* u = awaited_by.begin(t); u != awaited_by.end(t) && room; ++u)
          each(*u, await_edge);
      }
      if (parent && task.parent != kNone && room) each(task.parent, up);
      if (kids)
        for (const uint32_t* u = children.begin(t); u != children.end(t) && room; ++u)
          each(*u, down);
      if (!room) more += degree - seen;  // not walked: a parent of a thousand children
    }
    w.begin_object();
    w.key("node").value(uint64_t(node(s)));
    w.key("timeline");
    if (auto it = timeline_of.find(s); it != timeline_of.end())
      w.value(uint64_t(it->second));
    else
      w.null();
    w.key("around").begin_array();
    for (uint32_t t : around) w.value(uint64_t(node(t)));
    w.end_array();
    w.key("more").value(more);
    w.end_object();
  }
  w.end_array();

  w.key("finding_subject").begin_array();
  for (const Finding* f : in.findings) w.value(uint64_t(subject_of.at(f->task)));
  w.end_array();

  w.key("nodes").begin_array();
  for (uint32_t t : nodes) {
    w.begin_object();
    w.key("task").value(store.task_value(t));
    w.key("scope").value(scope_label(store, t));
    w.key("outcome").value(to_string(in.analysis.outcomes[t].outcome));
    w.key("logged").value(bool(tasks[t].logged));
    w.key("kinds").begin_array();
    if (auto it = findings_of.find(t); it != findings_of.end()) {
      std::vector<std::string_view> kinds;
      for (const Finding* f : it->second)
        if (std::find(kinds.begin(), kinds.end(), to_string(f->kind)) == kinds.end())
          kinds.push_back(to_string(f->kind));
      for (auto k : kinds) w.value(k);
    }
    w.end_array();
    w.key("subject");
    if (auto it = subject_of.find(t); it != subject_of.end())
      w.value(uint64_t(it->second));
    else
      w.null();
    w.end_object();
  }
  w.end_array();

  // [from, to, kind]: "spawned" from parent to child, "awaits" from the waiter to the awaited.
  w.key("edges").begin_array();
  for (uint32_t id = 0; id < nodes.size(); ++id) {
    const Task& task = tasks[nodes[id]];
    if (task.parent != kNone)
      if (auto it = node_of.find(task.parent); it != node_of.end())
        w.begin_array()
            .value(uint64_t(it->second))
            .value(uint64_t(id))
            .value("spawned")
            .end_array();
    for (uint32_t a : task.awaits)
      if (auto it = node_of.find(a); it != node_of.end())
        w.begin_array().value(uint64_t(id)).value(uint64_t(it->second)).value("awaits").end_array();
  }
  w.end_array();
}

std::string page_data(const ReportInput& in) {
  std::string out;
  JsonWriter w(out);
  uint64_t tasks = 0;
  for (uint64_t c : in.analysis.outcome_counts) tasks += c;
  w.begin_object();
  w.key("generator").value(fmt::format("coroner {}", kVersion));
  w.key("tasks_in_log").value(tasks);
  w.key("tasks_on_page").value(uint64_t(report::flagged_tasks(in).size()));
  w.key("graph_depth").value(kGraphDepth);
  w.key("graph_nodes").value(uint64_t(kGraphNodes));
  write_graphs(w, in);
  w.end_object();
  return out;
}

// Data inside <script type="application/json">: "</" would end the element early and "<!--"
// would change how the parser reads it; JSON lets both be written another way.
void append_script_data(std::string& out, std::string_view json) {
  out.reserve(out.size() + json.size() + json.size() / 64);
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (c == '<' && i + 1 < json.size() && json[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else if (c == '<' && json.substr(i, 4) == "<!--") {
      out += "\\u003c";
    } else {
      out.push_back(c);
    }
  }
}

void append_html_text(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
}

}  // namespace

std::string render_html(const ReportInput& in) {
  std::string report = render_json(in);
  while (!report.empty() && report.back() == '\n') report.pop_back();
  std::string blob = "{\"report\":";
  blob += report;
  blob += ",\"page\":";
  blob += page_data(in);
  blob += "}";

  std::string files;
  for (const auto& f : in.store.files()) {
    if (!files.empty()) files += ", ";
    files += display_name(f);
  }

  std::string out;
  out.reserve(blob.size() + 64 * 1024);
  out +=
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"color-scheme\" content=\"light dark\">\n";
  out += fmt::format("<meta name=\"generator\" content=\"coroner {}\">\n", kVersion);
  out += "<link rel=\"icon\" href=\"data:,\">\n<title>coroner: ";
  append_html_text(out, files);
  // A blank line opens the style sheet and the script, as in every earlier page.
  out += "</title>\n<style>\n\n";
  out += html_assets::kStyle;
  out += "</style>\n</head>\n<body>\n";
  out += html_assets::kBody;
  out += "<script type=\"application/json\" id=\"coroner-data\">";
  append_script_data(out, blob);
  out += "</script>\n<script>\n\n";
  out += html_assets::kScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace coroner
