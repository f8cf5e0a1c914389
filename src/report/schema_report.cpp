#include <fmt/format.h>

#include <algorithm>

#include "common.hpp"
#include "coroner/report.hpp"
#include "json_writer.hpp"

namespace coroner {

namespace {
std::string file_name(const std::vector<std::string>& files, uint32_t i) {
  return std::string(display_name(files[i]));
}

std::string joined_samples(const std::vector<std::string>& samples) {
  std::string out;
  for (const auto& s : samples) out += (out.empty() ? "" : " | ") + s;
  return out;
}

// How each file was read, and every key of its first records (nested ones by path): what a log
// whose roles coroner could not find does have.
std::string formats_text(const SchemaCollector& schema, const std::vector<std::string>& files) {
  std::string out;
  for (uint32_t f = 0; f < schema.formats().size() && f < files.size(); ++f) {
    const InputFormat& format = schema.formats()[f];
    out += fmt::format("\n{}: read as {}{} ({})\n", file_name(files, f), to_string(format.dialect),
                       format.multiline ? ", values over several lines" : "", format.why);
    if (!format.task_field.empty())
      out += fmt::format(
          "task read from {}: {}, the kind of work, not one task (--field task={} reads it as "
          "the task)\n",
          format.task_field, format.task_field_why, format.kind_field);
    if (!format.partial_scope_why.empty())
      out += fmt::format("not read as the scope: {} ({})\n",
                         fmt::join(format.partial_scope_fields, ", "), format.partial_scope_why);
    if (format.keys.empty()) continue;
    out += fmt::format("keys of its first {} records:\n", format.records_looked);
    for (const KeySeen& key : format.keys)
      out +=
          fmt::format("  {:<32} {:>7}  {}\n", key.path, key.records, joined_samples(key.samples));
  }
  return out;
}
}  // namespace

std::string render_schema_text(const SchemaCollector& schema, const std::vector<std::string>& files,
                               const std::vector<std::string>& damage) {
  std::string out;
  out += fmt::format("records: {}  distinct tasks: {}  bad lines: {}\n", schema.records(),
                     schema.distinct_tasks(), schema.bad_lines());
  for (const BadLine& b : schema.bad_line_examples())
    out += fmt::format("  bad line {}:{}: {}\n", file_name(files, b.file), b.line, b.reason);
  for (const std::string& d : damage) out += fmt::format("damaged input: {}\n", d);
  std::string forms;
  for (const auto& [form, n] : schema.time_forms())
    forms += fmt::format("{}{} ({})", forms.empty() ? "" : ", ", form, n);
  // Times but no time field: they came from the lines' prefix (a container runtime's stamp).
  const auto& time_fields = schema.uses()[size_t(Role::time)].fields;
  bool from_prefix =
      !forms.empty() && std::none_of(time_fields.begin(), time_fields.end(),
                                     [](const FieldUse& f) { return f.records > 0; });
  bool no_zone =
      std::any_of(schema.time_forms().begin(), schema.time_forms().end(), [](const auto& form) {
        return form.first == to_string(TimeForm::iso8601_no_zone) ||
               form.first == to_string(TimeForm::asctime);
      });
  out += fmt::format(
      "time form: {}{}{}{}\n", forms.empty() ? "none" : forms,
      from_prefix ? ", from the time each line starts with (a container runtime's)" : "",
      schema.bad_times() ? fmt::format(", unreadable in {} records", schema.bad_times()) : "",
      no_zone ? "; times with no zone are read as UTC (--naive-offset gives their zone)" : "");
  if (schema.templated_stages() > 0)
    out += fmt::format(
        "stage templates: {} stage values of free text became {} templates (the commonest: "
        "'{}'; --templates off keeps them as written)\n",
        schema.templated_stages(), schema.stage_templates(), schema.commonest_template());
  out += "\nrole         field                records  samples\n";
  for (size_t r = 0; r < kRoleCount; ++r) {
    const RoleUse& use = schema.uses()[r];
    bool any = false;
    for (const FieldUse& f : use.fields) {
      if (f.records == 0) continue;
      out += fmt::format("{:<12} {:<20} {:>7}  {}\n", any ? "" : std::string(to_string(Role(r))),
                         f.path, f.records, joined_samples(f.samples));
      any = true;
    }
    if (!any) {
      std::string names;
      for (const FieldUse& f : use.fields) names += (names.empty() ? "" : ", ") + f.path;
      out +=
          fmt::format("{:<12} {:<20} {:>7}  (looked for: {})\n", to_string(Role(r)), "-", 0, names);
    }
  }
  return out + formats_text(schema, files);
}

std::string render_schema_json(const SchemaCollector& schema, const std::vector<std::string>& files,
                               const std::vector<std::string>& damage) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("schema").value("coroner.schema/1");
  w.key("records").value(schema.records());
  w.key("distinct_tasks").value(schema.distinct_tasks());
  w.key("templated_stages").value(schema.templated_stages());
  w.key("stage_templates").value(uint64_t(schema.stage_templates()));
  w.key("bad_lines").value(schema.bad_lines());
  w.key("bad_line_examples").begin_array();
  for (const BadLine& b : schema.bad_line_examples()) {
    w.begin_object();
    w.key("file").value(file_name(files, b.file));
    w.key("line").value(b.line);
    w.key("reason").value(b.reason);
    w.end_object();
  }
  w.end_array();
  w.key("damage").begin_array();
  for (const std::string& d : damage) w.value(d);
  w.end_array();
  w.key("time_forms").begin_object();
  for (const auto& [form, n] : schema.time_forms()) w.key(form).value(n);
  w.end_object();
  w.key("bad_times").value(schema.bad_times());
  w.key("roles").begin_object();
  for (size_t r = 0; r < kRoleCount; ++r) {
    const RoleUse& use = schema.uses()[r];
    w.key(to_string(Role(r))).begin_object();
    w.key("records").value(use.records);
    w.key("fields").begin_array();
    for (const FieldUse& f : use.fields) {
      if (f.records == 0) continue;
      w.begin_object();
      w.key("field").value(f.path);
      w.key("records").value(f.records);
      w.key("samples").begin_array();
      for (const auto& s : f.samples) w.value(s);
      w.end_array();
      w.end_object();
    }
    w.end_array();
    w.key("looked_for").begin_array();
    for (const FieldUse& f : use.fields) w.value(f.path);
    w.end_array();
    w.end_object();
  }
  w.end_object();
  w.key("files").begin_array();
  for (uint32_t f = 0; f < schema.formats().size() && f < files.size(); ++f) {
    const InputFormat& format = schema.formats()[f];
    report::begin_format_object(w, file_name(files, f), format);
    w.key("records_looked").value(format.records_looked);
    w.key("keys").begin_array();
    for (const KeySeen& key : format.keys) {
      w.begin_object();
      w.key("key").value(key.path);
      w.key("records").value(key.records);
      w.key("samples").begin_array();
      for (const auto& s : key.samples) w.value(s);
      w.end_array();
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  out += '\n';
  return out;
}

}  // namespace coroner
