// libFuzzer target: the whole road from bytes to report, as the CLI walks it. The input (plain,
// gzip or zstd: open_input sniffs) becomes a file, is ingested into a TaskStore, analysed, and
// rendered as text, json, ndjson, stats, a timeline and a graph. The last byte picks options
// (a small --max-stages so the folding into "(other)" is reached, --strict, --stall, colour).
#include <cstdint>
#include <string>
#include <vector>

#include "coroner/analysis.hpp"
#include "coroner/ingest.hpp"
#include "coroner/report.hpp"
#include "coroner/roles.hpp"
#include "coroner/task_graph.hpp"
#include "coroner/task_store.hpp"
#include "coroner/vocabulary.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint8_t knobs = size > 0 ? data[size - 1] : 0;
  static coroner_fuzz::MemFile file;
  const std::string& path = file.set(data, size);

  static const coroner::RoleConfig roles = coroner::default_roles();
  static const coroner::Vocabulary vocabulary;
  size_t max_stages = (knobs & 1) ? 1 + (knobs >> 5) : 10000;
  bool strict = (knobs & 2) != 0;
  coroner::TaskStore store(vocabulary, max_stages, strict);
  std::vector<std::string> files{path};
  store.add_file(path);
  coroner::IngestResult result = coroner::ingest(files, roles, store);
  if (result.error || result.stopped_by_sink || store.counts().records == 0) return 0;
  store.finish();

  coroner::AnalysisOptions options;
  if (knobs & 4) options.stall_ns = 1'000'000'000;
  if (knobs & 8) options.deadline_ns = 500'000'000;
  coroner::Analysis analysis = coroner::analyze(store, options);

  coroner::ReportInput in(analysis);
  in.options.color = (knobs & 16) != 0;
  in.options.top = (knobs & 4) ? 0 : 10;
  for (const coroner::Finding& f : analysis.findings) in.findings.push_back(&f);
  std::string out;
  out += coroner::render_text(in);
  out += coroner::render_json(in);
  out += coroner::render_ndjson(in);
  out += coroner::render_stats_text(in);
  out += coroner::render_stats_json(in);
  if (!store.tasks().empty()) {
    std::vector<uint32_t> first{0}, all(store.tasks().size());
    for (uint32_t t = 0; t < all.size(); ++t) all[t] = t;
    out += coroner::render_timeline_text(in, first);
    out += coroner::render_timeline_json(in, first);
    out += coroner::render_graph_dot(in, all);
    out += coroner::render_graph_json(in, all);
  }
  CHECK(!out.empty());
  return 0;
}
