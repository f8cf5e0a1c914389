#include "commands.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "coroner/analysis.hpp"
#include "coroner/ingest.hpp"
#include "coroner/report.hpp"
#include "coroner/schema.hpp"
#include "coroner/state.hpp"
#include "coroner/task_store.hpp"
#include "edit_distance.hpp"
#include "progress.hpp"
#include "rerun.hpp"
#include "rotation_order.hpp"

namespace coroner::cli {

namespace {

// The one way an error reaches the user: "coroner: what went wrong", exit 2.
int fail(const std::string& message) {
  std::fprintf(stderr, "coroner: %s\n", message.c_str());
  return kExitError;
}

// After the output is written from the lines before a damaged compressed stream (a truncated
// upload, a file cut off mid-write): each damage one line on stderr, -q or not, and exit 2, as
// zcat does. A script's `coroner -q logs/*.gz || fail` must not pass on half a log.
int told_damage(const std::vector<std::string>& damage, int status) {
  for (const std::string& note : damage)
    std::fprintf(stderr, "coroner: %s: the report covers only the lines before it\n", note.c_str());
  return damage.empty() ? status : kExitError;
}

// What the options say, checked, in the library's terms.
struct Settings {
  RoleConfig roles = default_roles();
  Vocabulary vocabulary;
  AnalysisOptions analysis;
  std::optional<int64_t> since, until;
  std::vector<FindingKind> fail_on, kinds;
  bool color = false;
  size_t width = 0;  // text wraps at this many columns (0: never)
  StageTemplates templates = StageTemplates::automatic;
  Dialect dialect = Dialect::automatic;
};

// The width text wraps at: the terminal's, else $COLUMNS when set (a pager, a test), else none.
size_t text_width(bool terminal) {
  winsize size{};
  if (terminal && ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    return size.ws_col;
  const char* columns = std::getenv("COLUMNS");
  if (!columns) return 0;
  char* end = nullptr;
  unsigned long n = std::strtoul(columns, &end, 10);
  return end != columns && *end == '\0' && n >= 40 && n <= 1000 ? n : 0;
}

// A comma-separated list of finding kinds; an unknown one is named with the nearest kind and
// the list of kinds. An empty --fail-on (an unset shell variable) is an error, not "fail on
// nothing"; an empty --kind filters nothing, as when it is not given.
std::optional<std::string> kind_list(std::string_view flag, const std::string& text,
                                     std::vector<FindingKind>& out, bool empty_is_error) {
  std::string list = text;
  // Given more than once, CLI11 joined the values with newlines: one of them empty is an unset
  // variable too (--fail-on hung --fail-on "$KINDS").
  bool one_empty = false;
  for (std::string_view rest = text; !one_empty;) {
    std::string_view value = rest.substr(0, rest.find('\n'));
    one_empty = value.find_first_not_of(", ") == std::string_view::npos;
    if (value.size() == rest.size()) break;
    rest.remove_prefix(value.size() + 1);
  }
  std::replace(list.begin(), list.end(), '\n', ',');  // the option given more than once
  if (empty_is_error && one_empty)
    return fmt::format("{}: no kind given (kinds: {})", flag, fmt::join(kFindingKindNames, " "));
  auto bad = parse_kind_list(list, out);
  if (!bad) return std::nullopt;
  std::string lower = *bad;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  auto meant = nearest_word(lower, kFindingKindNames);
  return fmt::format("{}: unknown kind '{}'{} (kinds: {})", flag, *bad,
                     meant ? fmt::format("; did you mean '{}'?", *meant) : std::string(),
                     fmt::join(kFindingKindNames, " "));
}

std::optional<std::string> settle(const Options& o, Settings& s) {
  for (const auto& spec : o.fields)
    if (auto err = apply_field_override(s.roles, spec)) return "--field: " + *err;
  if (o.key_given) set_scope_fields(s.roles, o.key);
  if (!o.naive_offset.empty()) {
    s.roles.naive_offset = parse_utc_offset(o.naive_offset);
    if (!s.roles.naive_offset)
      return "--naive-offset: not an offset from UTC: '" + o.naive_offset +
             "' (e.g. -05:00, +0530, UTC)";
  }
  for (const auto& w : o.start_stages) s.vocabulary.add(Lifecycle::start, w);
  for (const auto& w : o.end_stages) s.vocabulary.add(Lifecycle::ended_ok, w);
  for (const auto& w : o.fail_stages) s.vocabulary.add(Lifecycle::ended_failed, w);
  s.analysis.threads = o.threads;
  s.analysis.user_end_words = !o.end_stages.empty();
  auto duration = [](const std::string& flag, const std::string& text,
                     std::optional<int64_t>& out) -> std::optional<std::string> {
    if (text.empty()) return std::nullopt;
    out = parse_duration(text);
    if (!out) return flag + ": not a duration: '" + text + "' (e.g. 30s, 250ms, 2m)";
    return std::nullopt;
  };
  if (auto err = duration("--stall", o.stall, s.analysis.stall_ns)) return err;
  // A silence of 0 is no threshold: the stall rules read 0 as "none learned" and would judge
  // nothing hung, the opposite of what a script passing 0 means.
  if (s.analysis.stall_ns && *s.analysis.stall_ns <= 0)
    return "--stall: must be longer than 0 (to fail on every task still open at the log's end, "
           "add in-flight to --fail-on)";
  if (auto err = duration("--deadline", o.deadline, s.analysis.deadline_ns)) return err;
  for (const auto& spec : o.stage_deadlines) {
    size_t eq = spec.rfind('=');
    std::optional<int64_t> limit;
    if (eq == std::string::npos || eq == 0)
      return "--stage-deadline: expected STAGE=DUR, got '" + spec + "'";
    if (auto err = duration("--stage-deadline", spec.substr(eq + 1), limit)) return err;
    s.analysis.stage_deadlines.emplace_back(spec.substr(0, eq), *limit);
  }
  // A time typed with no zone is read as the log's times with none are.
  auto time = [&s](const std::string& flag, const std::string& text,
                   std::optional<int64_t>& out) -> std::optional<std::string> {
    if (text.empty()) return std::nullopt;
    auto t = parse_time_string(text);
    if (!t) return flag + ": not a time: '" + text + "' (ISO-8601 or epoch seconds)";
    place_in_zone(*t, s.roles.naive_offset);
    out = t->ns;
    return std::nullopt;
  };
  if (auto err = time("--since", o.since, s.since)) return err;
  if (auto err = time("--until", o.until, s.until)) return err;
  if (auto err = time("--log-end", o.log_end, s.analysis.program_stop)) return err;
  if (s.since && s.until && *s.since > *s.until)
    return "--since " + o.since + " is after --until " + o.until + ": no record is between them";
  s.dialect = dialect_from_string(o.dialect).value_or(Dialect::automatic);
  if (auto err = kind_list("--fail-on", o.fail_on, s.fail_on, true)) return err;
  if (auto err = kind_list("--kind", o.kinds, s.kinds, false)) return err;
  if (o.max_stages == 0) return "--max-stages must be at least 1";
  s.templates = o.templates == "on"    ? StageTemplates::always
                : o.templates == "off" ? StageTemplates::never
                                       : StageTemplates::automatic;
  bool terminal = o.output.empty() && isatty(STDOUT_FILENO);
  const char* no_color = std::getenv("NO_COLOR");
  bool no_color_set = no_color != nullptr && *no_color != '\0';
  s.color = o.color == "always" || (o.color == "auto" && terminal && !no_color_set);
  s.width = text_width(terminal);
  s.analysis.utc = o.utc;
  return std::nullopt;
}

int write_output(const Options& o, const std::string& text) {
  if (o.quiet && o.output.empty()) return kExitClean;  // -q silences standard output, not -o
  FILE* out = stdout;
  if (!o.output.empty()) {
    out = std::fopen(o.output.c_str(), "w");
    if (!out) return fail(fmt::format("{}: cannot write: {}", o.output, std::strerror(errno)));
  }
  size_t written = std::fwrite(text.data(), 1, text.size(), out);
  bool ok = written == text.size() && std::fflush(out) == 0;
  if (out != stdout) ok = std::fclose(out) == 0 && ok;
  // A reader that went away (`| head -1`) is not an error worth a message.
  if (!ok && errno == EPIPE) return kExitClean;
  if (!ok)
    return fail(fmt::format("{}: cannot write: {}", o.output.empty() ? "<stdout>" : o.output,
                            std::strerror(errno)));
  return kExitClean;
}

// The files to read, a rotation set oldest first (`app.log*` lists the live file first).
std::vector<std::string> inputs(const Options& o) {
  return o.files.empty() ? std::vector<std::string>{"-"} : oldest_rotation_first(o.files);
}

// "app.jsonl", or "3 files": where a message about the whole input points.
std::string input_name(const std::vector<std::string>& files) {
  return files.size() == 1 ? std::string(display_name(files[0]))
                           : fmt::format("{} files", files.size());
}

// A file given twice (`coroner logs/*.jsonl logs/app.jsonl`, or by two names) would count each
// of its records twice: every task would start again and never end by its first records, and
// the report would be wrong without a word. One line instead; "" when every input is distinct.
std::string given_twice(const std::vector<std::string>& files) {
  std::vector<std::pair<dev_t, ino_t>> seen(files.size(), {0, 0});
  std::vector<bool> regular(files.size(), false);
  for (size_t i = 0; i < files.size(); ++i) {
    for (size_t j = 0; j < i && files[i] == "-"; ++j)
      if (files[j] == "-") return "'-' given twice: standard input can be read only once";
    struct stat st {};
    // Only regular files: a pipe or a device read twice is no repeat of the same bytes, and
    // a file that cannot be opened is reported as such when it is read.
    if (files[i] == "-" || ::stat(files[i].c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    seen[i] = {st.st_dev, st.st_ino};
    regular[i] = true;
    for (size_t j = 0; j < i; ++j) {
      if (!regular[j] || seen[j] != seen[i]) continue;
      std::string also = files[j] == files[i] ? "" : " (also as " + files[j] + ")";
      return fmt::format("{}: given twice{}: each of its records would count twice", files[i],
                         also);
    }
  }
  return {};
}

int run_schema(const Options& o, const Settings& s) {
  SchemaCollector schema(s.roles, s.templates, o.strict);
  auto files = inputs(o);
  Progress progress(progress_mode(o.progress, o.quiet, isatty(STDERR_FILENO)), input_size(files));
  auto report_progress = [&](uint64_t bytes) {
    progress.update(bytes, schema.records(), schema.distinct_tasks());
  };
  IngestResult result = ingest(files, s.roles, schema, 0, report_progress, o.threads, s.dialect);
  progress.finish();
  if (result.error) return fail(result.error->describe());
  if (result.stopped_by_sink) {
    const BadLine& b = schema.bad_line_examples().front();
    return fail(InputError{files[b.file], b.line, b.reason + " (--strict)"}.describe());
  }
  if (schema.records() == 0 && !result.damage.empty())
    return fail(result.damage.front() + ", with no valid record before the damage");
  if (schema.records() == 0)
    return fail(fmt::format("{}: no valid record (no line is a JSON object)", input_name(files)));
  std::string text = o.format == "json" ? render_schema_json(schema, files, result.damage)
                                        : render_schema_text(schema, files, result.damage);
  return told_damage(result.damage, write_output(o, text));
}

// How surely a field's last key names a unit of work: 3 a task (taskUuid), 2 a job (job_id),
// 1 some other id (request_id, correlation_id), 0 not at all.
int names_work(std::string_view path) {
  std::string key = normalise_word(path.substr(path.rfind('.') + 1));
  if (key.find("task") != std::string::npos) return 3;
  if (key.find("job") != std::string::npos) return 2;
  return key.ends_with("id") ? 1 : 0;
}

// The format whose keys say most about the log: the first that has keys.
const InputFormat* richest_format(const TaskStore& store) {
  const InputFormat* format = nullptr;
  for (const InputFormat& f : store.formats())
    if (!format || (format->keys.empty() && !f.keys.empty())) format = &f;
  return format;
}

// The keys of a log, the ones the user most likely meant first: those the program bound itself
// (loguru's record.extra.*), then those no role reads, then those another role reads (the time,
// the message, the level); the commonest first within each. `likeliest`: the first the program
// could name a task by (job_id), "" when none.
struct KeysByLikelihood {
  std::vector<const KeySeen*> keys;
  std::string likeliest;
  const KeySeen* likeliest_key = nullptr;
  int likeliest_rank = 0;  // names_work's
};

KeysByLikelihood keys_by_likelihood(const InputFormat& format, const RoleConfig& roles) {
  KeysByLikelihood out;
  std::string_view prefix = program_fields_prefix(format.dialect);
  auto likelihood = [&](const KeySeen& key) {
    if (!prefix.empty() && key.path.starts_with(prefix)) return 0;
    for (size_t r = 0; r < kRoleCount; ++r)
      for (const auto& path : roles.paths[r])
        if (path == key.path) return 2;
    return 1;
  };
  for (const KeySeen& key : format.keys) out.keys.push_back(&key);
  std::stable_sort(out.keys.begin(), out.keys.end(), [&](const KeySeen* a, const KeySeen* b) {
    return likelihood(*a) < likelihood(*b);
  });
  // Where the dialect says where the program's own fields are, only those: loguru's own
  // record.thread.id is no task.
  int likeliest_allowed = prefix.empty() ? 1 : 0;
  int best = 0;
  for (const KeySeen* key : out.keys)
    if (int work = names_work(key->path); likelihood(*key) <= likeliest_allowed && work > best) {
      out.likeliest = key->path;
      out.likeliest_key = key;
      best = work;
    }
  out.likeliest_rank = best;
  return out;
}

// A field the log's records surely name their task by, though none is read as one: a task or a
// job key (not any id: a thread_id, a user_id) whose first records hold several values.
std::string surest_task_field(const TaskStore& store, const Settings& s) {
  const InputFormat* format = richest_format(store);
  if (!format) return {};
  KeysByLikelihood seen = keys_by_likelihood(*format, roles_for(*format, s.roles));
  bool sure = seen.likeliest_rank >= 2 && seen.likeliest_key->samples.size() >= 2;
  return sure ? seen.likeliest : std::string();
}

// "app.jsonl: no record has a time coroner can read: time holds '27/Nov/2026:17:20:00 +0000' in
// 18 records": the field is there, its values are in a form coroner does not read.
std::string unreadable_times(const TaskStore& store, const std::vector<std::string>& files,
                             const InputFormat* format,
                             const std::vector<std::string_view>& looked) {
  std::string holds;
  if (format)
    for (std::string_view path : looked)
      for (const KeySeen& key : format->keys)
        if (holds.empty() && key.path == path && !key.samples.empty())
          holds = fmt::format("{} holds '{}', ", path, key.samples.front());
  uint64_t bad = store.counts().bad_times;
  return fmt::format(
      "{}: no record has a time coroner can read: {}a form it does not know, in {} record{} "
      "(it reads epoch numbers, ISO 8601 and logging's asctime; a time of day alone has no "
      "date; --field time=NAME if another field holds the time)",
      input_name(files), holds, bad, bad == 1 ? "" : "s");
}

// A dotted path as jq reads it: `.log`, `.event.original`, `.["@message"]` for a name that is no
// identifier.
std::string jq_path(std::string_view path) {
  std::string out;
  while (!path.empty()) {
    std::string_view part = path.substr(0, path.find('.'));
    path.remove_prefix(std::min(path.size(), part.size() + 1));
    bool plain = !part.empty() && !std::isdigit(static_cast<unsigned char>(part[0])) &&
                 std::all_of(part.begin(), part.end(), [](char c) {
                   return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                 });
    out += plain ? fmt::format(".{}", part) : fmt::format(".[\"{}\"]", part);
  }
  return out;
}

// The field of a wrapper's records (Docker's json-file `log`, journald's `MESSAGE`, a
// shipper's `message`) that holds the program's own record as JSON text: on most records, and
// every sample of it an object. "" when none does.
std::string wrapping_field(const InputFormat& format) {
  for (const KeySeen& key : format.keys) {
    if (key.samples.empty() || key.records * 2 < format.records_looked) continue;
    bool objects = std::all_of(key.samples.begin(), key.samples.end(), [](const std::string& v) {
      size_t first = v.find_first_not_of(" \t");
      return first != std::string::npos && v[first] == '{' && v.find('"') != std::string::npos;
    });
    if (objects) return key.path;
  }
  return {};
}

// The wrapper's own time (Docker's json-file `time`, a shipper's `@timestamp`): an ISO 8601
// time on most records, beside `wrapped`. "" when it has none.
std::string wrapper_time_field(const InputFormat& format, const std::string& wrapped) {
  for (const KeySeen& key : format.keys) {
    if (key.path == wrapped || key.path.find('.') != std::string::npos || key.samples.empty() ||
        key.records * 2 < format.records_looked)
      continue;
    bool times = std::all_of(key.samples.begin(), key.samples.end(), [](const std::string& v) {
      auto t = parse_time_string(v);
      return t && t->form == TimeForm::iso8601;
    });
    if (times) return key.path;
  }
  return {};
}

// The jq filter that unwraps the records: the wrapper's time before each, where it has one, so
// that a record without a time of its own takes it (as from a container runtime's prefix).
std::string unwrapping_filter(const InputFormat& format, const std::string& wrapped) {
  std::string time = wrapper_time_field(format, wrapped);
  if (time.empty()) return jq_path(wrapped);
  return fmt::format("{} + \" \" + {}", jq_path(time), jq_path(wrapped));
}

// "app.jsonl: no record names a task (looked for task_id, ...); its records have ts (120), ...":
// what is missing, where coroner looked, and the keys the log does have, on one line.
std::string unreadable_log(const TaskStore& store, const Settings& s,
                           const std::vector<std::string>& files, const std::string& missing) {
  constexpr size_t kKeysShown = 10;
  const InputFormat* format = richest_format(store);
  RoleConfig roles = format ? roles_for(*format, s.roles) : roles_for(Dialect::json, s.roles);
  std::vector<Role> wanted = {Role::task};
  if (missing.find("time") != std::string::npos) wanted = {Role::time};
  if (missing.find("stage") != std::string::npos) wanted = {Role::stage, Role::status};
  std::vector<std::string_view> looked;
  for (Role role : wanted)
    for (const auto& path : roles[role]) looked.push_back(path);
  std::string have, likeliest;
  if (format) {
    KeysByLikelihood seen = keys_by_likelihood(*format, roles);
    for (size_t i = 0; i < seen.keys.size() && i < kKeysShown; ++i)
      have += fmt::format("{}{} ({})", have.empty() ? "" : ", ", seen.keys[i]->path,
                          seen.keys[i]->records);
    likeliest = seen.likeliest;
    if (format->keys.size() > kKeysShown)
      have += fmt::format(" and {} more", format->keys.size() - kKeysShown);
  }
  std::string dialect = format ? fmt::format(", read as {}", to_string(format->dialect)) : "";
  if (wanted.front() == Role::time && store.counts().bad_times > 0)
    return unreadable_times(store, files, format, looked);
  // A field the program logs that looks like a task's id: say the whole option.
  std::string option =
      wanted.front() == Role::task && !likeliest.empty()
          ? fmt::format("--field task={} if that field names the task", likeliest)
          : fmt::format("--field {}=NAME names the field", to_string(wanted.front()));
  // The program's records as text in a field of a wrapper's (Docker's json-file `log`,
  // journald's `MESSAGE`): no field of the wrapper names a task, so say how to unwrap them.
  if (std::string wrapped = format ? wrapping_field(*format) : ""; !wrapped.empty()) {
    std::string source = files.size() == 1 && files[0] != "-" ? " " + files[0] : "";
    return fmt::format(
        "{}: {} (looked for {}{}); its field {} holds each record as JSON text (a container's or "
        "a log shipper's wrapper): unwrap it first, jq -r '{}'{} | coroner -",
        input_name(files), missing, fmt::join(looked, ", "), dialect, wrapped,
        unwrapping_filter(*format, wrapped), source);
  }
  return fmt::format(
      "{}: {} (looked for {}{}); the records have {} (coroner schema lists them; {})",
      input_name(files), missing, fmt::join(looked, ", "), dialect, have.empty() ? "no key" : have,
      option);
}

// A task is named by its id, or by the label the reports print for a task of a scoped log
// ("Task-23 (hostname=vm pid=5531)"), which names exactly one.
bool names_task(const TaskStore& store, uint32_t task, const std::string& name) {
  if (store.task_value(task) == name) return true;
  if (store.tasks()[task].scope == 0) return false;
  return store.task_label(task) == name || store.task_label(task, true) == name;
}

bool shown(const Finding& f, const Settings& s, const Options& o, const TaskStore& store) {
  if (!s.kinds.empty() && std::find(s.kinds.begin(), s.kinds.end(), f.kind) == s.kinds.end())
    return false;
  if (!o.task.empty() && !names_task(store, f.task, o.task)) return false;
  return true;
}

// Which tasks `coroner graph` draws: the neighbourhood of --around, else every tree (connected
// part) holding a finding, else, for a log with no finding, the whole graph.
std::optional<std::vector<uint32_t>> graph_tasks(const Options& o, const TaskStore& store,
                                                 const Analysis& analysis, std::string& missing) {
  const TaskGraph& graph = analysis.graph;
  std::vector<uint32_t> seeds;
  if (!o.around.empty()) {
    for (const auto& name : o.around) {
      size_t before = seeds.size();
      for (uint32_t t = 0; t < store.tasks().size(); ++t)
        if (names_task(store, t, name)) seeds.push_back(t);
      if (seeds.size() == before) {
        missing = name;
        return std::nullopt;
      }
    }
    return graph.neighbourhood(seeds, o.depth);
  }
  for (const Finding& f : analysis.findings)
    if (!is_information(f.kind)) seeds.push_back(f.task);
  if (!seeds.empty()) return graph.components_of(seeds);
  std::vector<uint32_t> all(store.tasks().size());
  for (uint32_t t = 0; t < all.size(); ++t) all[t] = t;
  return all;
}

// The tasks and findings of a big log are millions of small allocations. Freeing them one by one
// at exit would cost a few percent of a run, while the system takes the memory back at once: the
// command keeps them until the process ends. (Reachable from here, they are no leak to a leak
// checker.)
template <typename T, typename... Args>
T& kept_until_exit(Args&&... args) {
  static auto* kept = new std::vector<std::shared_ptr<void>>();
  auto object = std::make_shared<T>(std::forward<Args>(args)...);
  kept->push_back(object);
  return *object;
}

TaskStore& new_store(const Options& o, const Settings& s) {
  TaskStore& store = kept_until_exit<TaskStore>(s.vocabulary, o.max_stages, o.strict);
  store.set_stage_templates(s.templates);
  store.set_window(s.since, s.until);
  // timeline shows every record of its task; --stage-deadline needs every stage's duration.
  store.set_folding(o.command != "timeline" && s.analysis.stage_deadlines.empty());
  store.set_default_scope(!s.roles.named_by_user[size_t(Role::scope)]);
  return store;
}

// "app.log:12": where a bad line is, as an input error names it.
std::string place_of(const TaskStore& store, const BadLine& bad) {
  std::string where = InputError{store.files()[bad.file], bad.line, ""}.describe();
  where.resize(where.size() - 2);  // no message: the ": " before it
  return where;
}

// A log that is one JSON array of records (`gcloud logging read`, `jq -s`): its first bad line
// opens the array. Says how to make it one object a line, or "" for any other log.
std::string json_array(const TaskStore& store) {
  for (const BadLine& b : store.bad_lines()) {
    if (b.reason != kJsonArrayStart) continue;
    const auto& files = store.files();
    std::string where = place_of(store, b);
    std::string name(display_name(files[b.file]));
    return fmt::format(
        "{}: the log is a JSON array of records, not one JSON object a line (to read it: jq -c "
        "'.[]' {}| coroner -)",
        where, files[b.file] == "-" ? std::string() : name + " ");
  }
  return {};
}

// A text log with a few JSON lines (a payload logged as JSON, a stray record) is no JSON log: a
// report on its few records would pass for a clean run. A JSON log with the program's stderr
// mixed in (`2>&1`: prints, warnings, a crash's traceback, a server's access lines) is still one,
// so only a log whose JSON lines are under one in ten is refused, and a traceback's lines do not
// count. "" when it is read.
std::string mostly_text(const TaskStore& store) {
  constexpr uint64_t kTextPerRecord = 10;
  const InputCounts& c = store.counts();
  uint64_t text = c.bad_lines - c.traceback_lines;
  uint64_t json = c.records - c.text_records;  // asyncio's text lines read as records are text
  if (text <= kTextPerRecord * json) return {};
  const BadLine& first =
      store.first_text_line() ? *store.first_text_line() : store.bad_lines().front();
  const auto& files = store.files();
  std::string where = place_of(store, first);
  std::string name(display_name(files[first.file]));
  std::string filter = files.size() == 1 && files[0] != "-"
                           ? fmt::format("grep '{{' {} | coroner -", name)
                           : std::string("grep -h '{' first");
  if (json == 0)
    return fmt::format(
        "{}: {} lines of text and no JSON object: coroner reads logs of one JSON object a line "
        "(a console renderer's log? its logging library's JSON output is what coroner reads)",
        where, text);
  return fmt::format(
      "{}: {} lines of text against {} JSON record{}: coroner reads logs of one JSON object a line "
      "(to read the JSON lines alone: {})",
      where, text, json, json == 1 ? "" : "s", filter);
}

// Compressed files joined to plain ones (`cat app.log app.log.1.gz | coroner -`): the
// compressed part reads as a few lines of junk, and the report would be on what came before it
// alone. "" when no line starts a compressed stream.
std::string compressed_inside(const TaskStore& store) {
  const std::optional<BadLine>& line = store.first_compressed_line();
  if (!line) return {};
  return fmt::format(
      "{}: compressed data in the middle of the input, which no line reads (files joined by "
      "cat?): give coroner the files themselves, it reads .gz and .zst (or zcat -f them)",
      place_of(store, *line));
}

// A file listed newest first (`gcloud logging read`, a `tac` too many) reads as tasks that end
// before they start: every one would be judged wrongly, so none is. "" when every file runs
// forward.
std::string newest_first(const TaskStore& store) {
  const auto& files = store.files();
  for (uint32_t f = 0; f < files.size(); ++f) {
    TimeOrder order = store.time_order(f);
    if (!order.newest_first()) continue;
    std::string name(display_name(files[f]));
    return fmt::format(
        "{}: its records run newest first ({} of the {} steps from one record's time to the "
        "next go back): coroner reads a log oldest first ({})",
        name, order.back, order.back + order.forward,
        files[f] == "-"
            ? std::string("turn it with tac first")
            : fmt::format("one JSON object a line turns with: tac {} | coroner -", name));
  }
  return {};
}

// Why a finished store cannot be reported on, or "" when it can: no valid record, or nothing a
// task can be judged by. A log coroner cannot read is an input error, never a clean report.
std::string unusable(const TaskStore& store, const Settings& s) {
  const auto& files = store.files();
  std::string where = input_name(files);
  if (store.counts().records == 0 && !store.damage().empty())
    return store.damage().front() + ", with no valid record before the damage";
  if (std::string array = json_array(store);
      !array.empty() && (store.counts().records == 0 || !mostly_text(store).empty()))
    return array;
  if (store.counts().records == 0) {
    if (store.counts().bad_lines > 0) {
      where = place_of(store, store.bad_lines().front());
    }
    return fmt::format("{}: no valid record (no line is a JSON object)", where);
  }
  // Random bytes hold gzip's two magic bytes too: an input mostly not JSON is told as that first.
  if (std::string why = mostly_text(store); !why.empty()) return why;
  if (std::string why = compressed_inside(store); !why.empty()) return why;
  if (std::string why = newest_first(store); !why.empty()) return why;
  // --since/--until that leave nothing is no log without tasks: say which it is.
  if (store.counts().outside_window == store.counts().records)
    return fmt::format("{}: none of its {} record{} is between --since and --until",
                       input_name(files), store.counts().records,
                       store.counts().records == 1 ? "" : "s");
  if (std::string missing = store.unreadable_reason(); !missing.empty())
    return unreadable_log(store, s, files, missing);
  // Only asyncio's own messages named a task ("Task exception was never retrieved" of Task-7):
  // a program that logs a task's or a job's id (job_id, of several values) has its tasks there,
  // unread, and a report on the one task of the messages would pass over every other.
  if (store.counts().task_records == 0 && !surest_task_field(store, s).empty())
    return unreadable_log(store, s, files, "no record names a task (only asyncio's messages do)");
  return {};
}

// Reads the logs into the store; an error message, or "" once read.
std::string read_logs(const Options& o, const Settings& s, TaskStore& store) {
  auto files = inputs(o);
  for (const auto& f : files) store.add_file(f);
  Progress progress(progress_mode(o.progress, o.quiet, isatty(STDERR_FILENO)), input_size(files));
  auto report_progress = [&](uint64_t bytes) {
    progress.update(bytes, store.counts().records, store.tasks().size());
  };
  IngestResult result = ingest(files, s.roles, store, 0, report_progress, o.threads, s.dialect);
  progress.finish();  // the line is gone before any other word is written
  if (result.error) return result.error->describe();
  for (const std::string& note : result.damage) store.add_damage(note);
  if (result.stopped_by_sink) {
    const BadLine& b = store.bad_lines().front();
    return InputError{files[b.file], b.line, b.reason + " (--strict)"}.describe();
  }
  return {};
}

// Whether some value the log gave a stage or status is one that `word` alone would classify.
bool names_a_value(const TaskStore& store, const std::string& word) {
  Vocabulary alone = Vocabulary::none();
  alone.add(Lifecycle::start, word);  // any meaning: only whether it matches counts
  std::string normal = normalise_word(word);
  const Interner& values = store.words();
  for (uint32_t id = 0; id < values.size(); ++id) {
    // Every rule matches the word within the value: the others need no classifying.
    std::string_view value = values.view(id);
    if (value.size() < normal.size() || normalise_word(value).find(normal) == std::string::npos)
      continue;
    if (alone.classify(value) != Lifecycle::none) return true;
  }
  return false;
}

// A --key field that no record of the first ones has (`process.id` for loguru's
// `record.process.id`) keeps no tasks apart, silently: one warning line each, with the nearest
// field the records have.
void warn_of_keys_that_match_nothing(const Options& o, const TaskStore& store) {
  if (!o.key_given || o.quiet) return;
  std::vector<std::string_view> paths;
  for (const InputFormat& format : store.formats())
    for (const KeySeen& key : format.keys) paths.push_back(key.path);
  if (paths.empty()) return;  // (a merge of states: their formats keep no census)
  std::string_view keys = o.key;
  while (!keys.empty()) {
    std::string_view key = keys.substr(0, keys.find(','));
    keys.remove_prefix(std::min(keys.size(), key.size() + 1));
    if (key.empty() || std::find(paths.begin(), paths.end(), key) != paths.end()) continue;
    // A path the key ends (loguru's record.process.id for process.id), else the nearest.
    std::optional<std::string> meant;
    for (std::string_view path : paths)
      if (path.size() > key.size() && path.ends_with(key) &&
          path[path.size() - key.size() - 1] == '.')
        meant = std::string(path);
    if (!meant) meant = nearest_word(key, paths);
    std::fprintf(
        stderr, "coroner: warning: --key '%s' matches no field of the log's first records%s\n",
        std::string(key).c_str(), meant ? fmt::format("; did you mean '{}'?", *meant).c_str() : "");
  }
}

// A word of --start-stage, --end-stage or --fail-stage that no value of the log matches changes
// nothing, and a misspelt end word silently turns the learned end off: every task then looks
// open; a misspelt --stage-deadline stage times nothing. One warning line each, with the nearest
// value when one is a likely misspelling.
void warn_of_words_that_match_nothing(const Options& o, const Settings& s, const TaskStore& store) {
  // Stage names past --max-stages were folded while reading, never kept: they cannot be told.
  if (o.quiet || store.counts().folded_stages > 0) return;
  std::vector<std::string_view> values;
  for (uint32_t id = 0; id < store.words().size(); ++id) values.push_back(store.words().view(id));
  auto warn = [&](std::string_view option, const std::string& word) {
    std::optional<std::string> meant = nearest_word(word, values);
    std::fprintf(stderr, "coroner: warning: %s '%s' matches no stage or status of the log%s\n",
                 std::string(option).c_str(), word.c_str(),
                 meant ? fmt::format("; did you mean '{}'?", *meant).c_str() : "");
  };
  for (auto [option, words] :
       {std::pair{"--start-stage", &o.start_stages}, std::pair{"--end-stage", &o.end_stages},
        std::pair{"--fail-stage", &o.fail_stages}})
    for (const std::string& word : *words)
      if (!names_a_value(store, word)) warn(option, word);
  warn_of_keys_that_match_nothing(o, store);
  // A stage deadline names a stage whole; free text may be named as written, which only the
  // records keep: that is not looked for.
  if (store.stage_templates() > 0) return;
  for (const auto& [stage, limit] : s.analysis.stage_deadlines)
    if (!store.words().find(stage)) warn("--stage-deadline", stage);
}

// A task not found in a damaged input may be in the part lost: the error line says so.
std::string lost_to_damage(const TaskStore& store) {
  return store.damage().empty() ? std::string()
                                : fmt::format(" read before the damage ({}: the rest is lost)",
                                              store.damage().front());
}

// 1 when a shown finding is of a --fail-on kind, else 0.
int failing_status(const Settings& s, const std::vector<const Finding*>& findings) {
  auto failing = [&](FindingKind kind) {
    return std::find(s.fail_on.begin(), s.fail_on.end(), kind) != s.fail_on.end();
  };
  for (const Finding* f : findings) {
    // A blocked task is a hung one whose root cause is known: --fail-on hung covers it.
    if (failing(f->kind) || (f->kind == FindingKind::blocked && failing(FindingKind::hung)))
      return kExitFindings;
  }
  return kExitClean;
}

// The report of a store read from logs or states: its findings in the format asked, and the
// exit status they call for.
int report(const Options& o, const Settings& s, TaskStore& store) {
  store.finish();
  if (std::string why = unusable(store, s); !why.empty()) return fail(why);
  warn_of_words_that_match_nothing(o, s, store);
  Analysis& analysis = kept_until_exit<Analysis>(analyze(store, s.analysis));

  ReportInput in(analysis);
  in.options.top = o.top;
  in.options.findings_chosen = !s.kinds.empty() || !o.task.empty();
  in.options.color = s.color;
  in.options.width = s.width;
  in.options.rerun = rerun_arguments(o);
  in.options.rerun_graph = rerun_arguments(o, false);
  for (const Finding& f : analysis.findings)
    if (shown(f, s, o, store)) in.findings.push_back(&f);

  std::string text;
  if (o.command == "graph") {
    std::string missing;
    auto tasks = graph_tasks(o, store, analysis, missing);
    if (!tasks)
      return fail(fmt::format("{}: --around: no task '{}' in the log{}", input_name(store.files()),
                              missing, lost_to_damage(store)));
    text = o.graph_format == "json" ? render_graph_json(in, *tasks) : render_graph_dot(in, *tasks);
  } else if (o.command == "stats") {
    text = o.format == "json" ? render_stats_json(in) : render_stats_text(in);
  } else if (o.command == "timeline") {
    // A task that never logged has a timeline when a finding names it (asyncio destroyed it
    // while pending): the report's `next:` line offers it.
    std::vector<bool> has_finding(store.tasks().size());
    for (const Finding& f : analysis.findings) has_finding[f.task] = true;
    std::vector<uint32_t> tasks;
    for (uint32_t t = 0; t < store.tasks().size(); ++t)
      if (names_task(store, t, o.timeline_task) && (store.tasks()[t].logged || has_finding[t]))
        tasks.push_back(t);
    if (tasks.empty())
      return fail(fmt::format("{}: no task '{}' in the log{}", input_name(store.files()),
                              o.timeline_task, lost_to_damage(store)));
    text = o.format == "json" ? render_timeline_json(in, tasks) : render_timeline_text(in, tasks);
  } else if (o.format == "json") {
    text = render_json(in);
  } else if (o.format == "ndjson") {
    text = render_ndjson(in);
  } else if (o.format == "html") {
    text = render_html(in);
  } else if (o.format == "chrome") {
    text = render_chrome(in);
  } else {
    text = render_text(in);
  }
  if (int status = write_output(o, text); status != kExitClean) return status;
  if (o.command != "analyze" && o.command != "merge")
    return told_damage(store.damage(), kExitClean);
  return told_damage(store.damage(), failing_status(s, in.findings));
}

int run_analysis(const Options& o, const Settings& s) {
  TaskStore& store = new_store(o, s);
  if (std::string error = read_logs(o, s, store); !error.empty()) return fail(error);
  return report(o, s, store);
}

// A temporary beside the destination, renamed over it once complete: a state is whole or absent.
class StateFile {
 public:
  explicit StateFile(const std::string& path)
      : path_(path),
        temporary_(path == "-" ? path : path + ".partial-" + std::to_string(getpid())) {}
  ~StateFile() {
    if (file_ && file_ != stdout) std::fclose(file_);
    if (!committed_ && path_ != "-") std::remove(temporary_.c_str());
  }
  // An error message, or "" once open.
  std::string open() {
    if (path_ == "-") {
      if (isatty(STDOUT_FILENO))
        return "will not write a state (binary) to a terminal: use -o FILE";
      file_ = stdout;
      return {};
    }
    file_ = std::fopen(temporary_.c_str(), "wb");
    if (!file_) return fmt::format("{}: cannot write: {}", path_, std::strerror(errno));
    return {};
  }
  std::FILE* get() { return file_; }
  // After the writer finished: "" once the state is in place.
  std::string commit(bool written) {
    bool ok = written;
    if (file_ != stdout) ok = std::fclose(file_) == 0 && ok;
    file_ = nullptr;
    if (ok && path_ != "-") ok = std::rename(temporary_.c_str(), path_.c_str()) == 0;
    if (!ok) return fmt::format("{}: cannot write: {}", path_, std::strerror(errno));
    committed_ = true;
    return {};
  }

 private:
  std::string path_, temporary_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

int run_partial(const Options& o, const Settings& s) {
  StateFile out(o.output);
  if (std::string error = out.open(); !error.empty()) return fail(error);
  StateHeader header;
  header.reading_arguments = reading_arguments(o);
  StateWriter writer(out.get(), header, o.strict);
  auto files = inputs(o);
  for (const auto& f : files) writer.add_file(f);
  Progress progress(progress_mode(o.progress, o.quiet, isatty(STDERR_FILENO)), input_size(files));
  auto report_progress = [&](uint64_t bytes) { progress.update(bytes, writer.records(), 0); };
  IngestResult result = ingest(files, s.roles, writer, 0, report_progress, o.threads, s.dialect);
  progress.finish();
  if (result.error) return fail(result.error->describe());
  if (const auto& bad = writer.stopped_at())
    return fail(InputError{files[bad->file], bad->line, bad->reason + " (--strict)"}.describe());
  for (const std::string& note : result.damage) writer.add_damage(note);
  if (std::string error = out.commit(writer.finish()); !error.empty()) return fail(error);
  return told_damage(result.damage, kExitClean);  // the state is written, the damage kept in it
}

// The options a state was read with, as `partial` parsed them: a merge reads its states alike.
std::optional<std::string> parse_reading_arguments(const std::vector<std::string>& words,
                                                   Options& o) {
  CLI::App app{"coroner"};
  Options read;
  describe(app, read);
  std::vector<std::string> args = {"coroner", "partial", "-o", "-"};
  args.insert(args.end(), words.begin(), words.end());
  std::vector<const char*> cargs;
  for (const auto& a : args) cargs.push_back(a.c_str());
  try {
    app.parse(int(cargs.size()), cargs.data());
  } catch (const CLI::ParseError& e) {
    return std::string(e.what());
  }
  o.fields = read.fields;
  o.key = read.key;
  o.key_given = read.key_given;
  o.since = read.since;
  o.until = read.until;
  o.naive_offset = read.naive_offset;
  o.max_stages = read.max_stages;
  o.dialect = read.dialect;
  o.templates = read.templates;
  o.strict = read.strict;
  return std::nullopt;
}

// "--since 2026-11-26T10:00:00Z --strict", or "no option", for an error message.
std::string described(const std::vector<std::string>& words) {
  if (words.empty()) return "no reading option";
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + shell_quoted(w);
  return out;
}

// Opens a state and checks it was read as `first` was (the first state's header); the reader,
// or an error message.
std::optional<StateReader> open_state(const std::string& path, const StateHeader* first,
                                      const std::string& first_path, std::string& error) {
  InputError e;
  auto reader = StateReader::open(path, e);
  if (!reader) {
    error = e.describe();
    return std::nullopt;
  }
  const auto& words = reader->header().reading_arguments;
  if (first && words != first->reading_arguments) {
    error = fmt::format(
        "{}: read with {}, but {} with {}: states merge only when read with the same options",
        display_name(path), described(words), display_name(first_path),
        described(first->reading_arguments));
    return std::nullopt;
  }
  return reader;
}

// Hands the states to `use` in order, one open at a time (a merge of thousands of shards must
// not run out of file descriptors), with progress over them all; "" once all were used, else
// the error.
using UseState = std::function<std::optional<InputError>(StateReader&, const ProgressFn&)>;
std::string each_state(const Options& o, StateReader first, const UseState& use) {
  Progress progress(progress_mode(o.progress, o.quiet, isatty(STDERR_FILENO)), input_size(o.files));
  uint64_t done = 0;
  const StateHeader header = first.header();
  std::optional<StateReader> reader = std::move(first);
  for (size_t i = 0; i < o.files.size(); ++i) {
    std::string error;
    if (i > 0) reader = open_state(o.files[i], &header, o.files[0], error);
    if (!reader) return error;
    uint64_t before = done;
    auto report_progress = [&](uint64_t bytes) { progress.update(done = before + bytes, 0, 0); };
    if (auto e = use(*reader, report_progress)) return e->describe();
  }
  return {};
}

// merge --emit-state: the states' parts copied one after another behind one header, each
// block's checksum checked on the way; no record is decoded.
int emit_state(const Options& o, StateReader first) {
  StateHeader header = first.header();
  for (size_t i = 1; i < o.files.size(); ++i) {
    std::string error;
    auto reader = open_state(o.files[i], &first.header(), o.files[0], error);
    if (!reader) return fail(error);
    header.parts += reader->header().parts;
  }
  StateFile out(o.emit_state);
  if (std::string e = out.open(); !e.empty()) return fail(e);
  write_state_header(out.get(), header);
  auto copy = [&](StateReader& reader, const ProgressFn& progress) {
    return reader.copy_blocks(out.get(), progress);
  };
  if (std::string e = each_state(o, std::move(first), copy); !e.empty()) return fail(e);
  if (std::string e = out.commit(std::ferror(out.get()) == 0 && std::fflush(out.get()) == 0);
      !e.empty())
    return fail(e);
  return kExitClean;
}

int run_merge(const Options& given) {
  std::string error;
  auto first = open_state(given.files.front(), nullptr, "", error);
  if (!first) return fail(error);
  // The reading options the states were read with: the store applies some, the next commands
  // of the report read the logs with them all.
  Options o = given;
  if (auto bad = parse_reading_arguments(first->header().reading_arguments, o))
    return fail(fmt::format("{}: its reading options cannot be read: {}",
                            display_name(given.files.front()), *bad));
  Settings s;
  if (auto err = settle(o, s)) return fail(*err);
  if (!o.emit_state.empty()) return emit_state(given, std::move(*first));
  TaskStore& store = new_store(o, s);
  // Every state's parts, merged by time: each state is opened, checked and closed here, and
  // read again a block at a time while merging.
  StateMerge merge;
  const StateHeader header = first->header();
  std::optional<StateReader> reader = std::move(first);
  for (size_t i = 0; i < given.files.size(); ++i) {
    if (i > 0) reader = open_state(given.files[i], &header, given.files[0], error);
    if (!reader) return fail(error);
    if (auto e = merge.add(std::move(*reader))) return fail(e->describe());
  }
  Progress progress(progress_mode(o.progress, o.quiet, isatty(STDERR_FILENO)),
                    input_size(given.files));
  auto report_progress = [&](uint64_t bytes) {
    progress.update(bytes, store.counts().records, store.tasks().size());
  };
  if (auto e = merge.replay(store, report_progress)) return fail(e->describe());
  progress.finish();
  o.files = store.files();
  return report(o, s, store);
}

}  // namespace

int run(const Options& o) {
  Settings s;
  if (auto err = settle(o, s)) return fail(*err);
  bool reports = o.command == "analyze" || o.command == "merge";
  bool report_format = o.format == "ndjson" || o.format == "html" || o.format == "chrome";
  if (o.command != "graph" && o.format != "text" && o.format != "json" &&
      !(reports && report_format))
    return fail(fmt::format("--format: '{}' is not one of text, json{} for {}", o.format,
                            reports ? ", ndjson, html, chrome" : "", o.command));
  if (std::string twice = given_twice(o.files); !twice.empty()) return fail(twice);
  // `coroner timeline app.jsonl`: the log was taken for the TASK, and standard input for the log.
  struct stat task_file {};
  if (o.command == "timeline" && o.files.empty() &&
      ::stat(o.timeline_task.c_str(), &task_file) == 0 && S_ISREG(task_file.st_mode))
    return fail(
        fmt::format("timeline: '{}' is a file, not a task: the TASK comes first "
                    "(coroner timeline TASK {})",
                    o.timeline_task, o.timeline_task));
  if (o.files.empty() && isatty(STDIN_FILENO))
    return fail("no input: give a FILE, or pipe a log in ('-' reads standard input)");
  if (o.command == "schema") return run_schema(o, s);
  if (o.command == "partial") return run_partial(o, s);
  if (o.command == "merge") return run_merge(o);
  return run_analysis(o, s);
}

}  // namespace coroner::cli
