// Findings to words: the text, json and ndjson reports, and the timeline and stats views.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "coroner/analysis.hpp"
#include "coroner/schema.hpp"
#include "coroner/task_store.hpp"
#include "coroner/version.hpp"

namespace coroner {

inline constexpr std::string_view kReportSchema = "coroner.report/1";

struct ReportOptions {
  size_t top = 3;  // example tasks shown in full per problem in text; 0 = all
  bool color = false;
  size_t timeline_events = 12;  // records shown per flagged task in text; the rest summarised
  size_t width = 0;             // text lines wrap at this many columns; 0: never
  // What makes a next command read the same input the same way: the reading options and the
  // files, shell-quoted, each after a space (" --field task=job app.jsonl").
  std::string rerun;
  // The same for `coroner graph`, which shows no time and takes no --utc.
  std::string rerun_graph;
  // --kind or --task chose the findings shown: the failed tasks no finding tells of are not
  // listed either, as the report is about what was chosen.
  bool findings_chosen = false;
};

// What a report is made of: the analysis alone (and through it the store it judged, read-only).
// `findings` are the ones to show, after --kind and --task.
struct ReportInput {
  explicit ReportInput(const Analysis& analysis) : store(*analysis.store), analysis(analysis) {}
  const TaskStore& store;
  const Analysis& analysis;
  std::vector<const Finding*> findings;
  ReportOptions options;
};

std::string render_text(const ReportInput& in);
std::string render_json(const ReportInput& in);
std::string render_ndjson(const ReportInput& in);
// One self-contained html page (inline CSS, JS and SVG; no network): the summary, a findings
// table to sort and filter, a Gantt timeline of the flagged tasks, the graph around each and
// per-stage histograms, drawn by the page from render_json's document embedded in it.
std::string render_html(const ReportInput& in);
// Chrome trace-event JSON (Perfetto, chrome://tracing): a track per task, a process per scope,
// a complete event per stage and per unfinished task's silence, flows for awaits (from the
// waiter's record naming the await) and spawns. Every task when the log has at most
// 5000, else the flagged ones; "otherData" says which.
std::string render_chrome(const ReportInput& in);

// One task: its records with durations, what it awaited and spawned, its findings.
std::string render_timeline_text(const ReportInput& in, const std::vector<uint32_t>& tasks);
std::string render_timeline_json(const ReportInput& in, const std::vector<uint32_t>& tasks);

// `coroner schema`: which field filled each role, as text or JSON. `damage` lists the inputs that
// were damaged but read.
std::string render_schema_text(const SchemaCollector& schema, const std::vector<std::string>& files,
                               const std::vector<std::string>& damage);
std::string render_schema_json(const SchemaCollector& schema, const std::vector<std::string>& files,
                               const std::vector<std::string>& damage);

// Per stage: count, p50/p95/p99/max, error rate, and a small histogram on the terminal.
std::string render_stats_text(const ReportInput& in);
std::string render_stats_json(const ReportInput& in);

// The task graph of `tasks`: Graphviz dot with one cluster per tree, or JSON nodes and edges.
std::string render_graph_dot(const ReportInput& in, const std::vector<uint32_t>& tasks);
std::string render_graph_json(const ReportInput& in, const std::vector<uint32_t>& tasks);

// The scope of a task as (field, value) pairs, in the order the log gave them.
std::vector<std::pair<std::string, std::string>> scope_fields(const TaskStore& store,
                                                              uint32_t task);

}  // namespace coroner
