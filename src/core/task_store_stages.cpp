// TaskStore: stage names and their cap. Every name is kept while reading (up to
// kStagesHeldWhileReading); when the log is finished, the --max-stages most frequent names of the
// whole log stay and the rest fold into "(other)" stages, one for each meaning a name can carry,
// so the cap neither depends on the order of the input nor loses what a name meant
// (docs/DESIGN.md, "Stage names").
#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "coroner/task_store.hpp"
#include "lifecycle.hpp"
#include "stage_template.hpp"

namespace coroner {

namespace {

std::string other_stage_name(Lifecycle meaning, bool retry, bool strong_start) {
  std::string name = "(other";
  if (meaning == Lifecycle::start) {
    name += strong_start ? " begin" : " start";
  } else if (meaning != Lifecycle::none) {
    name += ' ';
    name += to_string(meaning);
  }
  if (retry) name += " retry";
  return name + ")";
}

// The slot of a value in a cache of recent ones: by its length and last byte.
size_t slot_of(std::string_view value, size_t slots) {
  return (value.size() * 31 + (value.empty() ? 0 : uint8_t(value.back()))) % slots;
}

}  // namespace

size_t TaskStore::stage_templates() const {
  size_t count = 0;
  for (size_t id = 0; id < is_template_.size(); ++id) count += is_template_[id] && is_stage_[id];
  return count;
}

// The stage a value of the stage role names: the value itself, or its
// template when it is free text with a variable part (then `text` keeps the value as written).
// Most logs use a handful of stage values, or of templates: two small caches answer before the
// mask and the hash table. Names folded into "(other)" are not cached: each is counted.
uint32_t TaskStore::intern_stage(std::string_view stage, bool from_message, uint32_t& text) {
  RecentStage& recent = recent_values_[slot_of(stage, kRecentStages)];
  bool hit = recent.id != kNone && recent.from_message == from_message && recent.text == stage;
  bool masked = hit ? recent.masked
                    : templates_stage(templates_, from_message, stage) &&
                          mask_variable_parts(stage, template_buffer_);
  uint32_t id = hit      ? recent.id
                : masked ? template_named(template_buffer_)
                         : intern_stage_slowly(stage);
  if (masked) {
    ++counts_.templated_stages;
    text = keep_text(stage);
  }
  if (!hit && !is_other_stage(id)) {
    recent.text.assign(stage);
    recent.id = id;
    recent.from_message = from_message;
    recent.masked = masked;
  }
  return id;
}

uint32_t TaskStore::template_named(std::string_view name) {
  RecentStage& recent = recent_templates_[slot_of(name, kRecentStages)];
  if (recent.id != kNone && recent.text == name) return recent.id;
  uint32_t id = intern_stage_slowly(name);
  if (is_other_stage(id)) return id;
  is_template_[id] = true;
  recent.text.assign(name);
  recent.id = id;
  return id;
}

uint32_t TaskStore::keep_text(std::string_view text) {
  if (free_texts_.empty()) {
    stage_texts_.emplace_back(text);
    return uint32_t(stage_texts_.size() - 1);
  }
  uint32_t slot = free_texts_.back();
  free_texts_.pop_back();
  stage_texts_[slot].assign(text);
  return slot;
}

void TaskStore::release_texts(Task& task) {
  if (!task.has_texts) return;
  task.has_texts = false;
  for (Event& e : task.events)
    if (e.text != kNone) free_texts_.push_back(std::exchange(e.text, kNone));
}

std::string_view TaskStore::stage_text(const Event& event) const {
  if (event.text != kNone) return stage_texts_[event.text];
  return event.stage == kNone ? std::string_view() : words_.view(event.stage);
}

uint32_t TaskStore::intern_stage_slowly(std::string_view stage) {
  if (auto id = words_.find(stage); id && is_stage_[*id]) return *id;
  if (distinct_stages_ >= std::max(max_stages_, kStagesHeldWhileReading)) {
    ++counts_.folded_stages;
    return other_stage_for(stage);
  }
  uint32_t id = intern_word(stage);
  if (!is_stage_[id]) {
    is_stage_[id] = true;
    ++distinct_stages_;
  }
  return id;
}

uint32_t TaskStore::other_stage(Lifecycle meaning, bool retry, bool strong_start) {
  size_t key = size_t(meaning) * 4 + size_t(retry) * 2 + size_t(strong_start);
  uint32_t& id = other_stages_[key];
  if (id != kNone) return id;
  id = intern_word(other_stage_name(meaning, retry, strong_start));
  if (is_other_.size() <= id) is_other_.resize(id + 1);
  is_other_[id] = true;
  // Its meaning is the folded names', not what its own name would classify as.
  meanings_[id] = meaning;
  is_retry_word_[id] = retry;
  restart_word_[id] = strong_start;
  is_stage_[id] = true;
  return id;
}

uint32_t TaskStore::other_stage_for(std::string_view stage) {
  Lifecycle meaning = vocabulary_.classify(stage);
  return other_stage(meaning, mentions_retry(stage),
                     meaning == Lifecycle::start && is_strong_start(stage));
}

bool TaskStore::is_other_stage(uint32_t word) const {
  return word < is_other_.size() && is_other_[word];
}

void TaskStore::fold_rare_stages() {
  std::vector<uint32_t> stages;
  for (uint32_t id = 0; id < is_stage_.size(); ++id)
    if (is_stage_[id] && !is_other_stage(id)) stages.push_back(id);
  if (stages.size() <= max_stages_) return;
  // The most frequent names stay; ties go by name, so no order of the input changes which.
  std::sort(stages.begin(), stages.end(), [&](uint32_t a, uint32_t b) {
    if (stage_stats_[a].records != stage_stats_[b].records)
      return stage_stats_[a].records > stage_stats_[b].records;
    return words_.view(a) < words_.view(b);
  });
  std::vector<uint32_t> into(stages.size(), kNone);
  for (size_t i = max_stages_; i < stages.size(); ++i) {
    uint32_t id = stages[i];
    into[i] = other_stage(meanings_[id], is_retry_word_[id], restart_word_[id]);
  }
  std::vector<uint32_t> remap(words_.size());
  std::iota(remap.begin(), remap.end(), 0u);
  for (size_t i = max_stages_; i < stages.size(); ++i) {
    if (into[i] == stages[i]) continue;  // the log's own "(other)": it is the fold already
    merge_stage_into(stages[i], into[i]);
    remap[stages[i]] = into[i];
  }
  remap_stages(remap);
}

// The statistics of `stage` join those of `into`, and `stage` is no stage any more.
void TaskStore::merge_stage_into(uint32_t stage, uint32_t into) {
  StageStats& from = stage_stats_[stage];
  StageStats& to = stage_stats_[into];
  counts_.folded_stages += from.records;
  to.records += from.records;
  to.occurrences += from.occurrences;
  to.errors += from.errors;
  to.tasks_ended_here += from.tasks_ended_here;
  to.files |= from.files;
  to.durations.merge(from.durations);
  to.repeat_runs.merge(from.repeat_runs);
  from = StageStats{};
  left_[into] += std::exchange(left_[stage], 0);
  first_stage_of_[into] += std::exchange(first_stage_of_[stage], 0);
  is_stage_[stage] = false;
  --distinct_stages_;
}

// Every stage id the store holds, through `remap`: the tasks' current stages, their records,
// and the moves between stages (moves that fold into one, and moves within one folded stage,
// are joined or dropped).
void TaskStore::remap_stages(const std::vector<uint32_t>& remap) {
  auto map = [&](uint32_t& stage) {
    if (stage != kNone) stage = remap[stage];
  };
  for (Task& task : tasks_) {
    map(task.stage);
    for (Event& e : task.events) {
      // A record of a folded name keeps the name as written, for its timeline and
      // --stage-deadline.
      if (e.stage != kNone && remap[e.stage] != e.stage && e.text == kNone) {
        e.text = keep_text(words_.view(e.stage));
        task.has_texts = true;
      }
      map(e.stage);
    }
  }
  if (provisional_end_ != kNone) map(provisional_end_);
  std::vector<Transition> joined;
  std::unordered_map<uint64_t, size_t> index;  // (from, to) -> position in joined
  for (Transition t : transitions_) {
    map(t.from);
    map(t.to);
    if (t.from == t.to) continue;
    auto [it, fresh] = index.try_emplace(uint64_t(t.from) << 32 | t.to, joined.size());
    if (fresh) {
      joined.push_back(t);
      continue;
    }
    Transition& kept = joined[it->second];
    kept.count += t.count;
    if (t.first_time < kept.first_time) {
      kept.first_time = t.first_time;
      kept.first_task = t.first_task;
    }
  }
  transitions_ = std::move(joined);
  moves_from_.clear();  // only reading needs it
  recent_values_.fill(RecentStage{});
  recent_templates_.fill(RecentStage{});
}

}  // namespace coroner
