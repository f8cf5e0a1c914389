// The html report: one self-contained page (inline CSS, JS and SVG, no network). The data is
// one JSON blob, {"report": <the json report>, "page": <what only the page needs>}, and the
// page's script builds the summary, the findings table, the Gantt timeline, the graphs and the
// histograms from it. The page holds the flagged tasks and the statistics, never every task.
#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "common.hpp"
// Generated from the files of src/report/assets/ by embed.py (see meson.build). They reach
// nothing on the network: no URL, no font, no CDN; the script draws its SVG inline.
#include "html_assets.hpp"
#include "json_writer.hpp"

namespace coroner {

namespace {

// Tasks drawn around each task with a finding: within this many edges, at most this many.
constexpr int kGraphDepth = 2;
constexpr size_t kGraphNodes = 36;

// The scope fields that tell the log's scopes apart, as task_label shows them.
std::string scope_label(const TaskStore& store, uint32_t task) {
  const auto& varying = store.varying_scope_fields();
  std::string out;
  for (const auto& [name, value] : scope_fields(store, task))
    if (std::find(varying.begin(), varying.end(), name) != varying.end())
      out += fmt::format("{}{}={}", out.empty() ? "" : " ", name, value);
  return out;
}

// The neighbourhood of each task with a shown finding, as nodes and edges the page lays out.
void write_graphs(JsonWriter& w, const ReportInput& in) {
  const TaskStore& store = in.store;
  const auto& tasks = store.tasks();
  const TaskGraph& graph = in.analysis.graph;

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

  w.key("subjects").begin_array();
  for (uint32_t s : subjects) {
    // The blame chain and the deadlock cycle are the point of the picture: pinned first.
    std::vector<uint32_t> pinned;
    for (const Finding* f : findings_of[s]) {
      pinned.insert(pinned.end(), f->chain.begin(), f->chain.end());
      pinned.insert(pinned.end(), f->members.begin(), f->members.end());
    }
    TaskGraph::Picture picture = graph.picture_around(s, pinned, kGraphDepth, kGraphNodes);
    w.begin_object();
    w.key("node").value(uint64_t(node(s)));
    w.key("timeline");
    if (auto it = timeline_of.find(s); it != timeline_of.end())
      w.value(uint64_t(it->second));
    else
      w.null();
    w.key("around").begin_array();
    for (uint32_t t : picture.tasks) w.value(uint64_t(node(t)));
    w.end_array();
    w.key("more").value(picture.left_out);
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
    w.key("title").value(store.task_title(t));
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
  // The scope fields the page shows: those that differ between the log's scopes.
  w.key("scope_fields").begin_array();
  for (const std::string& name : in.store.varying_scope_fields()) w.value(name);
  w.end_array();
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
