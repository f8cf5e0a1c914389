#include "rerun.hpp"

#include <string_view>
#include <vector>

#include "coroner/report.hpp"

namespace coroner::cli {

std::vector<std::string> reading_arguments(const Options& o) {
  Options defaults;
  std::vector<std::string> words;
  auto add = [&words](const char* flag, const std::string& value) {
    words.push_back(flag);
    words.push_back(value);
  };
  for (const std::string& field : o.fields) add("--field", field);
  if (o.key_given) add("--key", o.key);
  if (!o.since.empty()) add("--since", o.since);
  if (!o.until.empty()) add("--until", o.until);
  if (!o.naive_offset.empty()) add("--naive-offset", o.naive_offset);
  if (o.max_stages != defaults.max_stages) add("--max-stages", std::to_string(o.max_stages));
  if (o.dialect != defaults.dialect) add("--dialect", o.dialect);
  if (o.templates != defaults.templates) add("--templates", o.templates);
  if (o.strict) words.push_back("--strict");
  return words;
}

std::string rerun_arguments(const Options& o, bool utc) {
  std::string out;
  auto add = [&out](std::string_view flag, std::string_view value) {
    out += ' ';
    out += flag;
    out += ' ';
    out += shell_quoted(value);
  };
  auto add_each = [&add](std::string_view flag, const std::vector<std::string>& values) {
    for (const std::string& v : values) add(flag, v);
  };
  for (const std::string& word : reading_arguments(o)) {
    if (word == "--strict") continue;  // the next command need not stop where this one did not
    out += ' ';
    out += shell_quoted(word);
  }
  add_each("--start-stage", o.start_stages);
  add_each("--end-stage", o.end_stages);
  add_each("--fail-stage", o.fail_stages);
  if (!o.stall.empty()) add("--stall", o.stall);
  if (!o.deadline.empty()) add("--deadline", o.deadline);
  if (!o.log_end.empty()) add("--log-end", o.log_end);
  add_each("--stage-deadline", o.stage_deadlines);
  if (o.utc && utc) out += " --utc";
  if (o.files.empty()) out += " -";
  for (const std::string& file : o.files) out += ' ' + shell_quoted(file);
  return out;
}

}  // namespace coroner::cli
