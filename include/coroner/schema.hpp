// `coroner schema`: which field filled each role, how often, with sample values.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "coroner/record.hpp"
#include "coroner/roles.hpp"

namespace coroner {

struct FieldUse {
  std::string path;
  uint64_t records = 0;
  std::vector<std::string> samples;  // first distinct values, shortened
};

struct RoleUse {
  std::vector<FieldUse> fields;  // the role's paths that filled it at least once
  uint64_t records = 0;          // records where the role was filled
};

class SchemaCollector : public RecordSink {
 public:
  static constexpr size_t kSamples = 3;
  static constexpr size_t kKeptBadLines = 5;

  // `strict`: stop at the first bad line (--strict), as the other subcommands do.
  explicit SchemaCollector(const RoleConfig& roles,
                           StageTemplates templates = StageTemplates::automatic,
                           bool strict = false);
  void on_record(const RawRecord& record) override;
  bool on_bad_line(const BadLine& bad) override;
  void on_input_format(uint32_t file, const InputFormat& format) override;
  // How each file was read, with the keys of its first records, by file index.
  const std::vector<InputFormat>& formats() const { return formats_; }

  const RoleConfig& roles() const { return roles_; }
  const std::array<RoleUse, kRoleCount>& uses() const { return uses_; }
  uint64_t records() const { return records_; }
  uint64_t bad_lines() const { return bad_line_count_; }
  uint64_t bad_times() const { return bad_times_; }
  const std::vector<BadLine>& bad_line_examples() const { return bad_lines_; }
  const std::map<std::string, uint64_t>& time_forms() const { return time_forms_; }
  uint64_t distinct_tasks() const { return tasks_seen_; }
  // Stage values of free text reduced to templates, how many templates, and the commonest.
  uint64_t templated_stages() const { return templated_stages_; }
  size_t stage_templates() const { return templates_seen_.size(); }
  std::string commonest_template() const;

 private:
  void sample(FieldUse& use, std::string_view value);
  void count_template(bool from_message, std::string_view stage);
  void count_type_inside_error(const RawRecord& record);
  // Where the fields of an input's roles sit in uses_ (a field two dialects share is one): by
  // dialect, or by dialect and task field for an input read with its own (InputFormat).
  using Ranks = std::array<std::vector<size_t>, kRoleCount>;
  Ranks& add_reading(const InputFormat& format);

  RoleConfig roles_;
  std::array<RoleUse, kRoleCount> uses_;
  std::vector<InputFormat> formats_;
  // Per reading and role, the index in uses_[role].fields of each rank of the reading's list.
  std::map<std::string, Ranks> ranks_;
  Ranks* current_ = nullptr;
  // The current input's records come through the generic reader (json, loguru), not a
  // dialect's own (eliot, opentelemetry), which takes an error's type from no role's field.
  bool generic_reader_ = true;
  uint64_t records_ = 0;
  uint64_t bad_line_count_ = 0;
  uint64_t bad_times_ = 0;
  bool strict_ = false;
  std::vector<BadLine> bad_lines_;
  std::map<std::string, uint64_t> time_forms_;
  std::map<std::string, bool> task_values_;  // bounded: counting stops at kMaxDistinct
  uint64_t tasks_seen_ = 0;
  StageTemplates templates_;
  uint64_t templated_stages_ = 0;
  std::map<std::string, uint64_t> templates_seen_;  // bounded: see count_template
  std::string template_buffer_;
};

}  // namespace coroner
