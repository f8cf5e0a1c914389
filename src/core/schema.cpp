#include "coroner/schema.hpp"

#include <algorithm>

#include "coroner/asyncio_messages.hpp"
#include "coroner/dialect.hpp"
#include "stage_template.hpp"

namespace coroner {

namespace {
constexpr size_t kSampleLength = 60;
constexpr size_t kMaxDistinctTasks = 1000000;
}  // namespace

SchemaCollector::SchemaCollector(const RoleConfig& roles, StageTemplates templates, bool strict)
    : roles_(roles), strict_(strict), templates_(templates) {
  current_ = &add_reading(InputFormat{});
}

SchemaCollector::Ranks& SchemaCollector::add_reading(const InputFormat& format) {
  InputFormat as_read = format;
  if (as_read.dialect == Dialect::automatic) as_read.dialect = Dialect::json;
  std::string own = own_roles_key(as_read, roles_);
  bool own_task_field = !own.empty();
  std::string key = std::to_string(size_t(as_read.dialect));
  if (own_task_field) key += '\x1f' + own;
  auto [at, added] = ranks_.try_emplace(key);
  if (!added) return at->second;
  RoleConfig paths =
      own_task_field ? roles_for(as_read, roles_) : roles_for(as_read.dialect, roles_);
  for (size_t r = 0; r < kRoleCount; ++r) {
    auto& fields = uses_[r].fields;
    for (const auto& path : paths.paths[r]) {
      auto same = std::find_if(fields.begin(), fields.end(),
                               [&](const FieldUse& f) { return f.path == path; });
      if (same == fields.end()) same = fields.insert(fields.end(), FieldUse{path, 0, {}});
      at->second[r].push_back(size_t(same - fields.begin()));
    }
  }
  return at->second;
}

void SchemaCollector::on_input_format(uint32_t file, const InputFormat& format) {
  if (formats_.size() <= file) formats_.resize(file + 1);
  formats_[file] = format;
  current_ = &add_reading(format);  // the file's records come next, in order
  generic_reader_ = format.dialect != Dialect::eliot && format.dialect != Dialect::opentelemetry;
}

namespace {
// A value as a sample shows it: one line, shortened.
std::string sample_text(std::string_view value) {
  std::string text(value.substr(0, kSampleLength));
  // Control characters would garble a terminal; the scope's separator (\x1f) is one too.
  for (char& c : text)
    if (uint8_t(c) < 0x20) c = ' ';
  if (value.size() > kSampleLength) text += "...";
  return text;
}
}  // namespace

void SchemaCollector::sample(FieldUse& use, std::string_view value) {
  if (use.samples.size() >= kSamples || value.empty()) return;
  std::string text = sample_text(value);
  if (std::find(use.samples.begin(), use.samples.end(), text) == use.samples.end())
    use.samples.push_back(std::move(text));
}

// The store reduces free-text stages the same way (TaskStore::intern_stage).
void SchemaCollector::count_template(bool from_message, std::string_view stage) {
  // Bounded apart from the tasks: free text that masks badly has as many templates as values.
  constexpr size_t kMaxTemplates = 100000;
  if (!templates_stage(templates_, from_message, stage)) return;
  if (parse_asyncio_message(stage)) return;  // asyncio speaking of a task: no stage
  if (!mask_variable_parts(stage, template_buffer_)) return;
  ++templated_stages_;
  auto it = templates_seen_.find(template_buffer_);
  if (it != templates_seen_.end())
    ++it->second;
  else if (templates_seen_.size() < kMaxTemplates)
    templates_seen_.emplace(template_buffer_, 1);
}

std::string SchemaCollector::commonest_template() const {
  auto best = templates_seen_.end();
  for (auto it = templates_seen_.begin(); it != templates_seen_.end(); ++it)
    if (best == templates_seen_.end() || it->second > best->second) best = it;
  return best == templates_seen_.end() ? std::string() : sample_text(best->first);
}

void SchemaCollector::on_record(const RawRecord& r) {
  ++records_;
  if (r.bad_time) ++bad_times_;
  if (r.has_time) ++time_forms_[std::string(to_string(r.time_form))];
  if (r.has_task && task_values_.size() < kMaxDistinctTasks) {
    std::string key = r.scope + '\x1e' + std::string(r.task);
    if (task_values_.emplace(std::move(key), true).second) ++tasks_seen_;
  }
  for (size_t role = 0; role < kRoleCount; ++role) {
    uint8_t rank = r.filled_by[role];
    const std::vector<size_t>& where = (*current_)[role];
    if (rank == RawRecord::kNoField || rank >= where.size()) continue;
    RoleUse& use = uses_[role];
    ++use.records;
    FieldUse& field = use.fields[where[rank]];
    ++field.records;
    switch (Role(role)) {
      case Role::task:
        sample(field, r.task);
        break;
      case Role::stage:
        sample(field, r.stage);
        if (r.has_task)
          count_template(r.stage_from_message, r.stage);  // as the store: a task's stages
        break;
      case Role::status:
        sample(field, r.status);
        break;
      case Role::parent:
        sample(field, r.parent);
        break;
      case Role::awaits:
        if (!r.awaits.empty()) sample(field, r.awaits.front());
        break;
      case Role::error:
        sample(field, r.error_text.empty() ? "(non-empty)" : r.error_text);
        break;
      case Role::error_type:
        sample(field, r.error_type);
        break;
      case Role::level:
        sample(field, r.level);
        break;
      case Role::scope:
        sample(field, r.scope);
        break;
      case Role::time:
        if (r.has_time) sample(field, format_time(r.time_ns));
        break;
      case Role::attempt:
        sample(field, r.retry ? "(a retry)" : "(first try)");
        break;
      case Role::timeout:
        if (r.has_timeout) sample(field, format_duration(r.timeout_ns));
        break;
      case Role::marker:
        sample(field, r.marker);
        break;
      case Role::waiting_for:
        sample(field, r.waiting_for);
        break;
      case Role::suspended_at:
        sample(field, r.suspended_at);
        break;
    }
  }
  count_type_inside_error(r);
}

// An error written as a list of exceptions (structlog's dict_tracebacks) gives its type from
// inside, from no field of the error-type role: the schema names it as a path into the error.
void SchemaCollector::count_type_inside_error(const RawRecord& r) {
  const size_t type_role = size_t(Role::error_type), error_role = size_t(Role::error);
  uint8_t rank = r.filled_by[error_role];
  const std::vector<size_t>& where = (*current_)[error_role];
  if (!generic_reader_ || r.error_type.empty() || r.filled_by[type_role] != RawRecord::kNoField ||
      rank == RawRecord::kNoField || rank >= where.size())
    return;
  std::string path = uses_[error_role].fields[where[rank]].path + "[0].exc_type";
  auto& fields = uses_[type_role].fields;
  auto field =
      std::find_if(fields.begin(), fields.end(), [&](const FieldUse& f) { return f.path == path; });
  if (field == fields.end()) field = fields.insert(fields.end(), FieldUse{path, 0, {}});
  ++uses_[type_role].records;
  ++field->records;
  sample(*field, r.error_type);
}

bool SchemaCollector::on_bad_line(const BadLine& bad) {
  ++bad_line_count_;
  if (bad_lines_.size() < kKeptBadLines) bad_lines_.push_back(bad);
  return !strict_;
}

}  // namespace coroner
