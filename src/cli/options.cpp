#include "options.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "coroner/dialect.hpp"
#include "coroner/roles.hpp"
#include "coroner/version.hpp"

namespace coroner::cli {

namespace {

std::string joined(const auto& words, std::string_view separator) {
  std::string out;
  for (std::string_view word : words) {
    if (!out.empty()) out += separator;
    out += word;
  }
  return out;
}

// Built from the roles' own lists, so the help names every role and the attempt role's rule as
// the parser applies them.
std::string field_help() {
  std::vector<std::string_view> roles;
  for (size_t r = 0; r < kRoleCount; ++r) roles.push_back(to_string(Role(r)));
  return "ROLE=NAME: read a role from this field; dotted paths reach into objects "
         "(task=extra.task_id), a key with a dot in it goes in double quotes "
         "(task='attributes.\"asyncio.task\"'). Roles: " +
         joined(roles, " ") + ". attempt (default: " + joined(default_roles()[Role::attempt], " ") +
         ") counts from 0 when the field is named " + joined(kRetryCountNames, "/") +
         " (1 is a retry), else from 1 (2 is a retry)";
}

// A count given on the command line: digits only. CLI11 reads "-1" into an unsigned as its
// wrap-around (--top -1 would show every task) and prints the double range of NonNegativeNumber
// in its message; this says what is wrong in the user's words.
const CLI::Validator kWholeNumber(
    [](std::string& text) -> std::string {
      bool digits = !text.empty() && text.size() <= 9 &&
                    text.find_first_not_of("0123456789") == std::string::npos;
      return digits ? std::string() : "not a whole number from 0 to 999999999: '" + text + "'";
    },
    "");

// Repeatable options take one value per use, so `--field task=id app.jsonl` leaves the file
// alone (CLI11 would otherwise swallow every following word into the vector).
CLI::Option* one_each(CLI::Option* option) {
  return option->expected(1)->allow_extra_args(false)->multi_option_policy(
      CLI::MultiOptionPolicy::TakeAll);
}

void threads_option(CLI::App& cmd, Options& o) {
  // One text for every subcommand: partial and schema judge nothing, merge parses no JSON.
  cmd.add_option("-j,--threads", o.threads,
                 "Threads: 1 does everything on one; more share the parsing and the judging, "
                 "with the same result (default: all cores)")
      ->group("Input")
      ->check(CLI::Range(1u, 256u));
}

void quiet_and_progress(CLI::App& cmd, Options& o) {
  cmd.add_flag("-q,--quiet", o.quiet, "Print nothing but errors; the exit status tells")
      ->group("Output");
  cmd.add_option("--progress", o.progress,
                 "Progress on stderr for runs past a second: auto (on a terminal), always (plain "
                 "lines where stderr is no terminal), never; -q wins")
      ->group("Output")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "always", "never"}));
}

// `window`: the options that choose which records count (--since, --until, --max-stages), which
// schema, describing the log as it is written, does not take.
void input_options(CLI::App& cmd, Options& o, bool window = true) {
  cmd.add_option("files", o.files,
                 "NDJSON logs (.gz and .zst too), read as one log in time order; '-' or none: "
                 "standard input")
      ->type_name("FILE...");
  cmd.add_flag("--strict", o.strict, "Stop at the first line that is not a JSON object (exit 2)")
      ->group("Input");
  one_each(cmd.add_option("--field", o.fields, field_help()))
      ->group("Input")
      ->type_name("ROLE=NAME");
  cmd.add_option("--key", o.key,
                 "Comma-separated fields that make up a task's scope with its id "
                 "(default: hostname,host,pid,process,worker; '' for none); one the log's first "
                 "records lack is warned of")
      ->group("Input")
      ->type_name("FIELDS")
      ->each([&o](const std::string&) { o.key_given = true; });
  if (window) {
    cmd.add_option("--since", o.since, "Ignore records before this time (ISO-8601 or epoch)")
        ->group("Input")
        ->type_name("TIME");
    cmd.add_option("--until", o.until, "Ignore records after this time")
        ->group("Input")
        ->type_name("TIME");
  }
  cmd.add_option("--naive-offset", o.naive_offset,
                 "Times written with no zone are local times at this offset from UTC "
                 "(-05:00, +0530); default: UTC")
      ->group("Input")
      ->type_name("OFFSET");
  threads_option(cmd, o);
  if (window)
    cmd.add_option("--max-stages", o.max_stages,
                   "Distinct stage names kept (the most frequent); the rest fold into '(other)' "
                   "stages, one per meaning")
        ->group("Input")
        ->capture_default_str()
        ->check(kWholeNumber);
  cmd.add_option("--dialect", o.dialect,
                 "How the logs are written: auto (told per file from its first records), " +
                     dialect_names(false) +
                     " (structlog, python-json-logger and stdlib logging are json)")
      ->group("Input")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "json", "loguru", "eliot", "opentelemetry", "otel"}));
  cmd.add_option("--templates", o.templates,
                 "Free-text stages to templates ('fetched <url> in <num> ms'): auto (a stage "
                 "from a message or msg field, or with a space in it), on, off")
      ->group("Input")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "on", "off"}));
}

void rule_options(CLI::App& cmd, Options& o) {
  one_each(cmd.add_option("--start-stage", o.start_stages, "Extra word that marks a task's start"))
      ->group("Rules")
      ->type_name("WORD");
  one_each(cmd.add_option("--end-stage", o.end_stages,
                          "Extra word that marks a task's successful end (stops learning it; "
                          "warns when nothing matches)"))
      ->group("Rules")
      ->type_name("WORD");
  one_each(cmd.add_option("--fail-stage", o.fail_stages, "Extra word that marks a task's failure"))
      ->group("Rules")
      ->type_name("WORD");
  cmd.add_option("--stall", o.stall,
                 "Silence (more than 0) after which an open task is hung (default: learned per "
                 "stage, 4 x p99)")
      ->group("Rules")
      ->type_name("DUR");
  cmd.add_option("--deadline", o.deadline, "Longest any task may run before it counts as timed out")
      ->group("Rules")
      ->type_name("DUR");
  cmd.add_option("--log-end", o.log_end,
                 "When the program stopped (killed, crashed): open tasks are judged against this "
                 "time, not the last record (ISO-8601 or epoch)")
      ->group("Rules")
      ->type_name("TIME");
  one_each(cmd.add_option("--stage-deadline", o.stage_deadlines,
                          "STAGE=DUR: longest one stage may take"))
      ->group("Rules")
      ->type_name("STAGE=DUR");
}

void output_options(CLI::App& cmd, Options& o, bool report) {
  std::string formats =
      report ? "text, json, ndjson, html (a self-contained page), chrome (trace-event "
               "JSON for Perfetto)"
             : "text, json";
  cmd.add_option("-f,--format", o.format, "Output format: " + formats)
      ->group("Output")
      ->capture_default_str();
  cmd.add_option("-o,--output", o.output, "Write the report to FILE instead of standard output")
      ->group("Output")
      ->type_name("FILE");
  cmd.add_option("--color", o.color, "Colour: auto (a terminal, unless NO_COLOR), always, never")
      ->group("Output")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "always", "never"}));
  quiet_and_progress(cmd, o);
  cmd.add_flag("--utc", o.utc,
               "Show times in UTC, not at the offset from UTC the log wrote them in")
      ->group("Output");
  if (!report) return;
  cmd.add_option("--top", o.top, "Example tasks shown in full per problem in text (0: all)")
      ->group("Output")
      ->capture_default_str()
      ->check(kWholeNumber);
  // Repeated, the lists add up (--fail-on hung --fail-on timeout), as a script building the
  // command one option at a time means: CLI11 joins them with a newline (kind_list splits it).
  cmd.add_option("--kind", o.kinds, "Show only findings of these kinds (comma-separated)")
      ->group("Output")
      ->type_name("KINDS")
      ->multi_option_policy(CLI::MultiOptionPolicy::Join);
  cmd.add_option("--task", o.task, "Show only findings of this task")
      ->group("Output")
      ->type_name("TASK");
  cmd.add_option(
         "--fail-on", o.fail_on,
         "Exit 1 when a finding of these kinds is shown (hung covers blocked; repeated, the "
         "lists add up)")
      ->group("Output")
      ->type_name("KINDS")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::Join);
}

}  // namespace

void describe(CLI::App& app, Options& o) {
  app.description(
      "coroner: the post-mortem of async task pipelines. Reads JSON-lines logs and tells which "
      "tasks hung, timed out, lost their exceptions or deadlocked, and what each one did.");
  const std::string rest =
      "\nKinds: deadlock hung blocked timeout lost-exception orphan destroyed-pending anomaly "
      "retried in-flight.\n'coroner FILE' means 'coroner analyze FILE'. Environment: NO_COLOR, "
      "COLUMNS, GLIBC_TUNABLES (glibc.malloc.hugetlb=0: no huge pages). See coroner(1).";
  app.footer(
      "Exit status: 0 no finding of a --fail-on kind, 1 at least one, 2 usage or input "
      "error." +
      rest);
  app.set_version_flag("-V,--version", "coroner " + std::string(kVersion));
  app.require_subcommand(1, 1);

  auto* analyze = app.add_subcommand("analyze", "Find what went wrong (the default command)");
  input_options(*analyze, o);
  rule_options(*analyze, o);
  output_options(*analyze, o, true);

  auto* timeline =
      app.add_subcommand("timeline", "One task's records, what it awaited and spawned");
  timeline
      ->add_option("task", o.timeline_task,
                   "The task: its id, or the name a report prints for it "
                   "('Task-23 (hostname=vm pid=5531)'); one that never logged is shown when a "
                   "finding names it")
      ->required()
      ->type_name("TASK");
  input_options(*timeline, o);
  rule_options(*timeline, o);
  output_options(*timeline, o, false);

  auto* stats = app.add_subcommand("stats", "Per-stage count, p50/p95/p99/max and error rate");
  input_options(*stats, o);
  rule_options(*stats, o);
  output_options(*stats, o, false);

  auto* schema = app.add_subcommand("schema", "Which field filled each role, with samples");
  input_options(*schema, o, false);
  output_options(*schema, o, false);

  auto* graph = app.add_subcommand(
      "graph", "The task graph: who spawned and awaited whom (trees with a finding, by default)");
  input_options(*graph, o);
  rule_options(*graph, o);
  graph->add_option("-f,--format", o.graph_format, "Output format: dot (Graphviz), json")
      ->group("Output")
      ->capture_default_str()
      ->check(CLI::IsMember({"dot", "json"}));
  graph->add_option("-o,--output", o.output, "Write the graph to FILE instead of standard output")
      ->group("Output")
      ->type_name("FILE");
  graph->add_flag("-q,--quiet", o.quiet, "Print nothing but errors")->group("Output");
  one_each(graph->add_option("--around", o.around,
                             "Only the tasks within --depth edges of TASK (repeatable)"))
      ->group("Output")
      ->type_name("TASK");
  graph->add_option("--depth", o.depth, "Edges to follow from --around")
      ->group("Output")
      ->capture_default_str()
      ->check(kWholeNumber);

  auto* partial = app.add_subcommand(
      "partial", "Read logs into a partial state, to report on with others (coroner merge)");
  input_options(*partial, o);
  partial->add_option("-o,--output", o.output, "Write the state to FILE ('-': standard output)")
      ->required()
      ->group("Output")
      ->type_name("FILE");
  quiet_and_progress(*partial, o);

  auto* merge = app.add_subcommand(
      "merge", "Report on partial states as analyze would on all their logs, read in time order");
  merge->add_option("files", o.files, "States written by coroner partial or merge --emit-state")
      ->required()
      ->type_name("STATE...");
  threads_option(*merge, o);
  rule_options(*merge, o);
  output_options(*merge, o, true);
  merge
      ->add_option("--emit-state", o.emit_state,
                   "Write the merged state to FILE instead of a report: merging in a tree")
      ->group("Output")
      ->type_name("FILE");

  // A subcommand's help ends with its own exit statuses (CLI11 copied the app's footer into
  // each): only a report has findings to fail on.
  for (auto* cmd : {timeline, stats, schema, graph})
    cmd->footer("Exit status: 0 success, 2 usage or input error." + rest);
  partial->footer("Exit status: 0 the state is written, 2 usage or input error." + rest);
  merge->footer(
      "Exit status: 0 no finding of a --fail-on kind (or, with --emit-state, the state is "
      "written), 1 at least one, 2 usage or input error." +
      rest);

  for (auto* cmd : {analyze, timeline, stats, schema, graph, partial, merge}) {
    cmd->callback([&o, cmd] { o.command = cmd->get_name(); });
  }
}

}  // namespace coroner::cli
