#include "coroner/analysis.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "graph_rules.hpp"
#include "lifecycle.hpp"

namespace coroner {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::open:
      return "open";
    case Outcome::ok:
      return "ok";
    case Outcome::failed:
      return "failed";
    case Outcome::timed_out:
      return "timed-out";
    case Outcome::cancelled:
      return "cancelled";
  }
  return "open";
}

namespace {

// A finding is big (its text, its chains): sorting small keys and then moving each finding
// about once beats a stable_sort that moves 100,000 findings some seventeen times each.
void sort_by_kind_and_time(std::vector<Finding>& findings) {
  struct Key {
    FindingKind kind;
    int64_t time;
    uint32_t index;  // ties keep their order, as a stable sort would
    bool operator<(const Key& o) const {
      return std::tie(kind, time, index) < std::tie(o.kind, o.time, o.index);
    }
  };
  std::vector<Key> keys;
  keys.reserve(findings.size());
  for (uint32_t i = 0; i < findings.size(); ++i)
    keys.push_back(Key{findings[i].kind, findings[i].time, i});
  std::sort(keys.begin(), keys.end());
  // Position i takes the finding at keys[i].index: follow each cycle of that permutation, so no
  // second array of findings is ever held.
  std::vector<bool> placed(findings.size());
  for (size_t start = 0; start < findings.size(); ++start) {
    if (placed[start]) continue;
    Finding carried = std::move(findings[start]);
    size_t at = start;
    while (true) {
      placed[at] = true;
      size_t from = keys[at].index;
      if (from == start) break;
      findings[at] = std::move(findings[from]);
      at = from;
    }
    findings[at] = std::move(carried);
  }
}

// Everything the rules need to know about one task, computed once.
struct TaskFacts {
  std::vector<Lifecycle> meanings;  // per event
  int end_index = -1;               // the last end event; -1 when open
  // The records judged: all of them, but for a task pending when its process stopped, those up
  // to the stop (the cancellation that follows does not judge it again).
  size_t judged = 0;
  int64_t stop = 0;  // when its process stopped: its exit record, else the log's end
  // The first record of the task's last run: past an end that the task then worked after (see
  // Analyzer::reopened), 0 when it ran once. An open task is judged by its last run.
  size_t run_start = 0;
  // It started again after an end and ended again (by words): a task that works in rounds (a
  // worker named once for many jobs, "job received" ... "job complete"), whose start after its
  // last end is its next round.
  bool looped = false;
};

// The asyncio module's words for a task waiting for work (docs/ASYNCIO_RECORDS.md): "asyncio.
// Queue.get on a queue created at app.py:12" (or a subclass's name, or no site when the queue
// was made before install()), an item on an empty queue; "asyncio.Server.serve_forever on
// 127.0.0.1:8080", a server's connections; "asyncio.StreamReader.read of a connection served on
// 127.0.0.1:8080 from ...", a handler's client's next request (a read on a connection the
// program opened waits for an answer instead: no work, it may be stuck).
bool waits_for_work(std::string_view waiting_for) {
  std::string_view what = waiting_for.substr(0, waiting_for.find(' '));
  if (what == "asyncio.StreamReader.read")  // a served connection waits for its next request
    return waiting_for.find(" served on ") != std::string_view::npos;
  return what.starts_with("asyncio.") &&
         (what.ends_with(".get") || what.ends_with(".serve_forever"));
}

// Two of the asyncio module's texts of what a task waits on name the same wait: equal, or the
// same sleep at another moment ("asyncio.sleep of 1 s, 0.4 s left" and "..., 0.9 s left").
bool same_wait(std::string_view a, std::string_view b) {
  if (a.empty()) return false;
  if (a.starts_with("asyncio.sleep of ") && b.starts_with("asyncio.sleep of ")) {
    a = a.substr(0, a.find(", "));
    b = b.substr(0, b.find(", "));
  }
  return a == b;
}

// `await asyncio.Event().wait()` as a loop's keep-alive (a daemon thread's loop run forever, a
// server's main): an Event made where the task waits on it, which no other code can reach to
// set. Told by the module's pending record: the Event's creation is the task's own suspension
// point. Only of a loop's main task (no parent): a task some other one created that waits so
// is stuck for good, the same line as a bug.
bool waits_forever_on_purpose(const PendingAtExit& pending) {
  constexpr std::string_view kEvent = "asyncio.Event created at ";
  if (!pending.waiting_for.starts_with(kEvent)) return false;
  std::string_view made = std::string_view(pending.waiting_for).substr(kEvent.size());
  return !made.empty() && pending.suspended_at.starts_with(made) &&
         pending.suspended_at.substr(made.size()).starts_with(" in ");
}

// How an idle task's finding says what it waited for.
std::string_view idle_words(std::string_view waiting_for) {
  if (waiting_for.starts_with("asyncio.Event"))
    return "waiting forever on purpose, on an Event made where it waits (a loop's keep-alive)";
  if (waiting_for.starts_with("asyncio.Server.serve_forever"))
    return "serving, waiting for connections";
  if (waiting_for.starts_with("asyncio.StreamReader.read"))
    return "serving a connection, waiting for its client's next request";
  return "waiting for work on an empty queue";
}

// The middle of gaps between records (the upper one of an even count); `gaps` is reordered.
int64_t median(std::vector<int64_t>& gaps) {
  auto middle = gaps.begin() + ptrdiff_t(gaps.size() / 2);
  std::nth_element(gaps.begin(), middle, gaps.end());
  return *middle;
}

// How often a task records `stage` again, from its latest run of records in it before `last`
// ("supervise" every 100 ms): the median gap. 0 when the run has fewer than three records. A
// stage re-entered is no duration of the stage: this is the task's own rhythm.
// The run ends, looking back, at an earlier end of the task (folded or not).
int64_t stage_rhythm(const Task& t, const TaskFacts& facts, uint32_t stage, size_t last) {
  constexpr size_t kRecent = 64;
  std::vector<int64_t> gaps;
  std::optional<int64_t> later;
  for (size_t i = last; i-- > 0 && gaps.size() < kRecent;) {
    const Event& e = t.events[i];
    if (is_end(facts.meanings[i])) break;
    if (e.stage == kNone) continue;  // a status or a wait: no record of the stage
    if (e.stage != stage) break;
    if (later) gaps.push_back(elapsed(e.time, *later));
    later = e.time;
  }
  return gaps.size() < 2 ? 0 : median(gaps);
}

// The median gap between a task's consecutive records; 0 with fewer than two.
int64_t own_rhythm(const Task& t) {
  std::vector<int64_t> gaps;
  for (size_t i = 1; i < t.events.size(); ++i)
    gaps.push_back(std::max<int64_t>(elapsed(t.events[i - 1].time, t.events[i].time), 0));
  return gaps.empty() ? 0 : median(gaps);
}

// What asyncio's own messages said about each task.
struct AsyncioFacts {
  int32_t never_retrieved = -1;  // index of the note
  int32_t callback_raised = -1;
  int32_t destroyed = -1;
  std::vector<uint32_t> never_awaited;
};

class Analyzer {
 public:
  Analyzer(const TaskStore& store, const AnalysisOptions& options, Analysis& out)
      : store_(store), options_(options), out_(out) {}

  void run();

 private:
  // What one thread's share of the tasks adds up to. Shares are contiguous ranges of tasks, so
  // their findings, joined in order, are in task order, as one thread would have made them.
  struct Share {
    uint32_t begin = 0, end = 0;  // task indices
    std::vector<Finding> findings;
    std::vector<uint64_t> ended_here;  // tasks that ended in each stage, by stage id
    EndVotes end_votes;                // its tasks' last stages, for learn_end_stages
    std::array<uint64_t, 5> outcome_counts{};
  };
  std::vector<Share> make_shares() const;
  // Runs `work` on each share, one share on each thread (this one included).
  template <typename Work>
  void for_each_share(std::vector<Share>& shares, Work work);
  void count_end_votes(Share& share);
  void judge_share(Share& share);
  void join_shares(std::vector<Share>& shares);

  void attribute_asyncio_notes();
  void learn_end_stages(const std::vector<Share>& shares);
  Lifecycle meaning_of(const Event& e) const;
  bool ends_at_learned_stage(uint32_t stage) const {
    return stage < learned_end_at_.size() && learned_end_at_[stage];
  }
  void collect(uint32_t task, TaskFacts& facts);
  bool reopened(const Task& t, const TaskFacts& facts) const;
  void judge(uint32_t task, const TaskFacts& facts);
  void judge_open(uint32_t task, const TaskFacts& facts);
  void judge_ended(uint32_t task, const TaskFacts& facts);
  void judge_cancelled(uint32_t task, const TaskFacts& facts);
  int64_t timed_wait_that_cut_off(uint32_t task, int64_t cancelled_at, int64_t ended,
                                  uint32_t& waiter) const;
  void judge_deadlines(uint32_t task, const TaskFacts& facts);
  void judge_anomalies(uint32_t task, const TaskFacts& facts);
  void judge_stage_orders();
  void judge_errors_left_open();
  bool is_timeout_event(const Event& e, Lifecycle meaning) const;
  uint32_t working_stage(const Task& t, const TaskFacts& facts, size_t i) const;
  std::string error_summary(const Event& e) const;
  std::string waiting_detail(uint32_t task, const TaskFacts& facts) const;
  bool idle_on_queue(uint32_t task, const Event& last) const;
  // Tasks that, at their process's stop, held an asyncio Lock, Semaphore or Condition other
  // tasks waited for (the module's pending records: "asyncio.Lock created at app.py:9, held by
  // sender"), with the first such wait and how many waited: such a task idle on a queue is no
  // idle worker, it keeps them waiting.
  struct HeldWait {
    std::string_view what;  // the first waiter's wait, as the module wrote it
    uint32_t waiters = 0;
  };
  std::unordered_map<uint32_t, HeldWait> holders_waited_on_;
  // By scope: the task that was running, holding the event loop, when its process was stopped
  // by a signal or another thread (the module's "nothing: running" pending record), and when.
  struct LoopHolder {
    uint32_t task = kNone;
    int64_t stop = 0;
  };
  std::unordered_map<uint32_t, LoopHolder> loop_holders_;
  void find_holders_waited_on();
  void find_loop_holders();
  // The task that held the loop at the stop `index` was pending at, when another did.
  uint32_t other_loop_holder(uint32_t index, const PendingAtExit& pending) const;
  std::optional<std::pair<int64_t, uint32_t>> ignored_cancel(uint32_t task) const;
  bool group_cancelled(uint32_t waiter, const PendingAtExit& at_exit, uint32_t index,
                       int64_t asked) const;
  std::optional<std::string> clean_up_cut_short(uint32_t index, const PendingAtExit* pending,
                                                int64_t stop) const;
  std::string_view idle_wait(uint32_t task, const Event& last) const;
  bool starts_again(const Task& t, const TaskFacts& facts, size_t i) const;
  std::string stop_name(uint32_t task, const TaskFacts& facts) const;
  std::string stage_name(uint32_t stage) const { return quoted_stage(store_, stage); }
  std::string at(uint32_t task, int64_t time) const { return log_clock(out_, task, time); }
  Finding& add(FindingKind kind, uint32_t task, std::string reason, int64_t time, uint32_t stage);

  const TaskStore& store_;
  const AnalysisOptions& options_;
  Analysis& out_;
  // Where add() puts findings: the judging thread's share, then the analysis itself.
  std::vector<Finding>* findings_ = &out_.findings;
  std::vector<uint64_t>* ended_here_ = nullptr;
  std::vector<bool> learned_end_at_;  // by stage id: out_.learned_ends, for a lookup per record
  // By word id: an "ended ok" word that this log's tasks move on from to more work (find_steps).
  std::vector<bool> step_word_;
  void find_steps();
  bool is_step(uint32_t word) const { return word < step_word_.size() && step_word_[word]; }
  // The record, of meaning `meaning`, ended ok only by the word of a step: it ended nothing.
  bool ends_a_step(const Event& e, Lifecycle meaning) const;
  // The stage word by which alone the record (or a fold marker) says the task ended ok; kNone.
  uint32_t ok_by_stage_word(const Event& e) const;
  // Few tasks are named by asyncio's messages: kept by task index, not for every task.
  std::unordered_map<uint32_t, AsyncioFacts> asyncio_;
  // The stall threshold of each stage and why, worked out once: thousands of open tasks may
  // sit in one stage.
  struct Threshold {
    int64_t ns = 0;
    std::string why;
  };
  struct StageThreshold {
    Threshold of_task;       // a task of the log's own words
    std::string why_traced;  // for a task the asyncio module traces: no end-stage hint
  };
  std::unordered_map<uint32_t, StageThreshold> thresholds_;
  const StageThreshold& stall_threshold(uint32_t stage) {
    auto [it, added] = thresholds_.try_emplace(stage);
    if (added) {
      StageThreshold& th = it->second;
      th.of_task.ns = out_.stall_threshold(stage, &th.of_task.why);
      out_.stall_threshold(stage, &th.why_traced, false);
    }
    return it->second;
  }
  // The stall threshold of a task in `stage`, whose records before `last` are judged: the
  // stage's, or a few times the task's own rhythm in it when it keeps re-entering the stage.
  Threshold task_threshold(const Task& t, const TaskFacts& facts, uint32_t stage, size_t last);
  // When each task created its children (the children's first records), sorted: creating a
  // child is activity of the parent (a dispatcher that logs nothing but spawns a task a job).
  std::unordered_map<uint32_t, std::vector<int64_t>> children_made_;
  void collect_children();
  // The latest child the task created after `after` and up to `until`, else `after`.
  int64_t last_child_made(uint32_t task, int64_t after, int64_t until) const;
  // How often the task creates a child, from its latest ones up to `until`: the median gap, 0
  // when it made fewer than three.
  int64_t child_rhythm(uint32_t task, int64_t until) const;
  const AsyncioFacts& asyncio_facts(uint32_t task) const {
    static const AsyncioFacts none;
    auto it = asyncio_.find(task);
    return it == asyncio_.end() ? none : it->second;
  }
};

void Analyzer::run() {
  out_.options = options_;
  out_.log_start = store_.first_time();
  out_.log_end = store_.last_time();
  // --log-end: the program ran on, silent, until it stopped (a stop before the last record is
  // wrong, and the records win).
  if (options_.program_stop) out_.log_end = std::max(out_.log_end, *options_.program_stop);
  attribute_asyncio_notes();
  collect_children();
  find_holders_waited_on();
  find_loop_holders();
  out_.outcomes.assign(store_.tasks().size(), TaskOutcome{});
  out_.stages = store_.stage_stats();
  out_.all_stages = store_.all_stage_durations();
  if (!options_.user_end_words) find_steps();
  std::vector<Share> shares = make_shares();
  for_each_share(shares, [](Analyzer& a, Share& share) { a.count_end_votes(share); });
  if (!options_.user_end_words) learn_end_stages(shares);
  // The statistics come whole from the store, so each task is judged as soon as it is read:
  // its facts never need to be kept for all tasks at once.
  for_each_share(shares, [](Analyzer& a, Share& share) { a.judge_share(share); });
  join_shares(shares);
  judge_errors_left_open();
  judge_stage_orders();
  apply_graph_rules(store_, out_);  // out_.graph was built by analyze()
  sort_by_kind_and_time(out_.findings);
}

std::vector<Analyzer::Share> Analyzer::make_shares() const {
  // A thread is worth starting for a large log only.
  constexpr uint32_t kTasksPerThread = 16384;
  auto tasks = uint32_t(store_.tasks().size());
  uint32_t count = std::clamp<uint32_t>(tasks / kTasksPerThread, 1, std::max(1u, options_.threads));
  std::vector<Share> shares(count);
  for (uint32_t i = 0; i < count; ++i) {
    shares[i].begin = uint32_t(uint64_t(tasks) * i / count);
    shares[i].end = uint32_t(uint64_t(tasks) * (i + 1) / count);
  }
  return shares;
}

template <typename Work>
void Analyzer::for_each_share(std::vector<Share>& shares, Work work) {
  // Each thread judges with its own copy: add() and the threshold cache write to the analyzer.
  std::vector<Analyzer> copies(shares.size() - 1, *this);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < shares.size(); ++i)
    threads.emplace_back([&, i] { work(copies[i - 1], shares[i]); });
  work(*this, shares[0]);
  for (auto& thread : threads) thread.join();
}

// learn_end_stages's voters: tasks that did not end by a word ("fetch_data timed out", "failed").
// On a bad day most tasks may time out; the healthy ones still show how a task ends. And the
// tasks that ended ok by a word, whose files then have that word and learn nothing.
void Analyzer::count_end_votes(Share& share) {
  EndVotes& v = share.end_votes;
  v.assign(store_.words().size());
  for (uint32_t i = share.begin; i < share.end; ++i) {
    const Task& t = store_.tasks()[i];
    if (t.stage == kNone) continue;
    if (t.ended_by_word) {  // folded at its "done" too
      bool ok = t.events.empty() ? t.folded && !t.folded_at_guess
                                 : record_meaning(store_, t.events.back()) == Lifecycle::ended_ok &&
                                       !store_.has_opaque_ids(t.events.back().file);
      v.ok_words[t.stage] += ok;
      continue;
    }
    if (t.traced) continue;  // its status records say when it ends: it needs no end stage
    if (!t.events.empty() && is_end(record_meaning(store_, t.events.back()))) continue;
    ++v.votes[t.stage];
  }
}

void Analyzer::judge_share(Share& share) {
  findings_ = &share.findings;
  share.ended_here.assign(out_.stages.size(), 0);
  ended_here_ = &share.ended_here;
  TaskFacts facts;
  const auto& tasks = store_.tasks();
  for (uint32_t i = share.begin; i < share.end; ++i) {
    facts.meanings.clear();
    facts.end_index = -1;
    facts.judged = 0;
    facts.stop = 0;
    facts.run_start = 0;
    facts.looped = false;
    collect(i, facts);
    judge(i, facts);
    // Its outcome is final now. A task only named by others (an await target that never
    // logged) has no outcome to count.
    const TaskOutcome& o = out_.outcomes[i];
    if (tasks[i].logged || o.outcome != Outcome::open) ++share.outcome_counts[size_t(o.outcome)];
  }
}

void Analyzer::join_shares(std::vector<Share>& shares) {
  findings_ = &out_.findings;
  ended_here_ = nullptr;
  // The findings are the bulk of the analysis: one share's become the whole without a copy, and
  // several are moved over one by one, each freed once moved.
  if (shares.size() == 1) {
    out_.findings.swap(shares[0].findings);
  } else {
    size_t total = 0;
    for (const Share& share : shares) total += share.findings.size();
    out_.findings.reserve(total);
  }
  for (Share& share : shares) {
    std::move(share.findings.begin(), share.findings.end(), std::back_inserter(out_.findings));
    std::vector<Finding>().swap(share.findings);
    for (size_t stage = 0; stage < share.ended_here.size(); ++stage)
      out_.stages[stage].tasks_ended_here += share.ended_here[stage];
    for (size_t o = 0; o < out_.outcome_counts.size(); ++o)
      out_.outcome_counts[o] += share.outcome_counts[o];
  }
}

// What asyncio's messages said about each task (TaskStore::finish() found the task each names).
void Analyzer::attribute_asyncio_notes() {
  const auto& notes = store_.asyncio_notes();
  for (size_t n = 0; n < notes.size(); ++n) {
    const AsyncioNote& note = notes[n];
    if (note.task == kNone) continue;
    AsyncioFacts& facts = asyncio_[note.task];
    switch (note.kind) {
      case AsyncioMessage::exception_never_retrieved:
        facts.never_retrieved = int32_t(n);
        break;
      case AsyncioMessage::destroyed_pending:
        facts.destroyed = int32_t(n);
        break;
      case AsyncioMessage::never_awaited:
        facts.never_awaited.push_back(uint32_t(n));
        break;
      case AsyncioMessage::callback_raised:
        facts.callback_raised = int32_t(n);
        break;
    }
  }
}

void Analyzer::collect_children() {
  const auto& tasks = store_.tasks();
  for (const Task& t : tasks)
    if (t.parent != kNone && t.logged) children_made_[t.parent].push_back(t.first_time);
  for (auto& [parent, times] : children_made_) std::sort(times.begin(), times.end());
}

int64_t Analyzer::last_child_made(uint32_t task, int64_t after, int64_t until) const {
  auto it = children_made_.find(task);
  if (it == children_made_.end()) return after;
  const auto& times = it->second;
  auto past = std::upper_bound(times.begin(), times.end(), until);
  if (past == times.begin()) return after;
  return std::max(after, *std::prev(past));
}

int64_t Analyzer::child_rhythm(uint32_t task, int64_t until) const {
  constexpr ptrdiff_t kRecent = 64;
  auto it = children_made_.find(task);
  if (it == children_made_.end()) return 0;
  const auto& times = it->second;
  auto past = std::upper_bound(times.begin(), times.end(), until);
  auto first = past - std::min(kRecent + 1, past - times.begin());
  if (past - first < 3) return 0;
  std::vector<int64_t> gaps;
  for (auto t = first + 1; t != past; ++t) gaps.push_back(elapsed(*std::prev(t), *t));
  return median(gaps);
}

void Analyzer::learn_end_stages(const std::vector<Share>& shares) {
  EndVotes votes;
  votes.assign(store_.words().size());
  for (const Share& share : shares) votes.add(share.end_votes);
  constexpr uint64_t kEnoughToLearn = 2;
  out_.learned_ends = coroner::learn_end_stages(store_, votes, kEnoughToLearn);
  learned_end_at_.assign(votes.votes.size(), false);
  for (const LearnedEnd& end : out_.learned_ends) learned_end_at_[end.stage] = true;
}

// A word that ends a task in the vocabulary ("complete", "done") may end a step in a log's own
// words: "download_complete", then "metadata_parsed", "resizing", "job_succeeded". A task went on
// from such a record when it ended later by another word; it stopped there when that was its
// last end (records after it, "closing connection" or "idle", end nothing), or when it ended
// again by the same word (a worker's rounds). A word the tasks went on from more often than
// they stopped at it is a step of this log: a task silent after it is open, not ended ok with
// records after its end. --end-stage words are the user's say, and turn this off.
void Analyzer::find_steps() {
  const size_t words = store_.words().size();
  std::vector<uint64_t> went_on(words, 0), stopped(words, 0);
  for (const Task& t : store_.tasks()) {
    if (!t.logged) continue;
    if (t.events.empty()) {  // folded with nothing after: it stopped where it was folded
      if (t.folded && t.folded_by_stage && t.stage < words) ++stopped[t.stage];
      continue;
    }
    uint32_t later_end = kNone;  // the word of the next end after the record looked at
    for (size_t i = t.events.size(); i-- > 0;) {
      const Event& e = t.events[i];
      if (uint32_t word = ok_by_stage_word(e); word < words)
        ++(later_end != kNone && later_end != word ? went_on : stopped)[word];
      if (e.fold_marker || is_end(record_meaning(store_, e)))
        later_end = e.stage != kNone ? e.stage : e.status;
    }
  }
  step_word_.assign(words, false);
  for (uint32_t w = 0; w < words; ++w) step_word_[w] = went_on[w] >= 2 && went_on[w] > stopped[w];
}

uint32_t Analyzer::ok_by_stage_word(const Event& e) const {
  if (e.fold_marker) return !e.fold_marker_at_guess && e.fold_marker_by_stage ? e.stage : kNone;
  bool by_stage = !e.plain_stage && store_.meaning(e.status) != Lifecycle::ended_ok &&
                  record_meaning(store_, e) == Lifecycle::ended_ok;
  return by_stage ? e.stage : kNone;
}

bool Analyzer::ends_a_step(const Event& e, Lifecycle meaning) const {
  return meaning == Lifecycle::ended_ok && is_step(ok_by_stage_word(e));
}

Lifecycle Analyzer::meaning_of(const Event& e) const {
  if (e.fold_marker)
    return !e.fold_marker_at_guess || ends_at_learned_stage(e.stage) ? Lifecycle::ended_ok
                                                                     : Lifecycle::none;
  Lifecycle said = record_meaning(store_, e);
  if (said != Lifecycle::none) return said;
  // A traced task ends by its status records, never at a stage.
  if (ends_at_learned_stage(e.stage) && !e.plain_stage) return Lifecycle::ended_ok;
  return Lifecycle::none;
}

// Per task: the meaning of each record kept, and how it ended. A folded task ended ok; records
// after the fold may end it again (a later "done") or are records after its end.
void Analyzer::collect(uint32_t index, TaskFacts& facts) {
  const Task& t = store_.tasks()[index];
  TaskOutcome& outcome = out_.outcomes[index];
  if (!t.logged) return;
  const PendingAtExit* pending = store_.pending_at_exit(index);
  facts.judged = t.events.size();
  if (pending && !t.out_of_order) {
    facts.judged = std::min(pending->records_before, t.events.size());
  } else if (pending) {  // sorted by time since: the records up to the pending record's time
    facts.judged = 0;
    while (facts.judged < t.events.size() && t.events[facts.judged].time <= pending->time)
      ++facts.judged;
  }
  facts.meanings.reserve(t.events.size());
  bool ended_by_word = false, started_again = false;
  for (size_t i = 0; i < t.events.size(); ++i) {
    const Event& e = t.events[i];
    Lifecycle m = i < facts.judged ? meaning_of(e) : Lifecycle::none;
    facts.meanings.push_back(m);
    // A step's ok word ends nothing; it stays an end in `meanings`, where looking back over the
    // records stops (folding may have cut them there), so analyze and timeline agree.
    if (is_end(m) && !ends_a_step(e, m)) facts.end_index = int(i);
    // Rounds count ends by a word only: an end at the learned end stage (or a fold there) is
    // known to the store while reading only from its guesses, so folding would change them.
    bool by_word = e.fold_marker ? !e.fold_marker_at_guess : record_meaning(store_, e) == m;
    if (is_end(m) && !by_word) continue;
    if (is_end(m)) {
      facts.looped = facts.looped || started_again;
      ended_by_word = true;
      started_again = false;
    } else if (m == Lifecycle::start) {
      started_again = ended_by_word;
    }
  }
  outcome.end = facts.judged > 0 ? t.events[facts.judged - 1].time : t.last_time;
  facts.stop = judged_at(store_, index, outcome.end, out_.log_end);
  if (facts.end_index >= 0 && reopened(t, facts)) {
    facts.run_start = size_t(facts.end_index) + 1;
    facts.end_index = -1;
    outcome.rerun = true;
  }
  if (facts.end_index >= 0) {
    outcome.end = t.events[size_t(facts.end_index)].time;
    switch (facts.meanings[size_t(facts.end_index)]) {
      case Lifecycle::ended_ok:
        outcome.outcome = Outcome::ok;
        break;
      case Lifecycle::ended_failed:  // of a TimeoutError: it timed out, as its finding says
        outcome.outcome =
            is_timeout_event(t.events[size_t(facts.end_index)], Lifecycle::ended_failed)
                ? Outcome::timed_out
                : Outcome::failed;
        break;
      case Lifecycle::ended_timeout:
        outcome.outcome = Outcome::timed_out;
        break;
      case Lifecycle::ended_cancelled:
        outcome.outcome = Outcome::cancelled;
        break;
      default:
        break;
    }
  } else if (t.folded && facts.run_start == 0 && t.events.empty() &&
             (t.folded_at_guess ? ends_at_learned_stage(t.stage)
                                : !(t.folded_by_stage && is_step(t.stage)))) {
    outcome.outcome = Outcome::ok;  // folded with nothing after: it ended ok at its last record
  }
  if (outcome.outcome != Outcome::open && t.stage != kNone) ++(*ended_here_)[t.stage];
}

// Records after a task's end that start it again: a new run (a strong start: a retry under the
// same id, a supervisor's restart, a step logged "upload started" after "transcode finished"),
// or the next round of a task that works in rounds (any start, "job received", in a worker
// that ended and started again before). The end was then no end of the task, whose last run is
// judged as an open task is. Records after the end with no such start ("closing connection",
// "report created" after "done") leave the end as it was: records after it, an anomaly.
bool Analyzer::reopened(const Task& t, const TaskFacts& facts) const {
  for (size_t i = size_t(facts.end_index) + 1; i < facts.judged; ++i) {
    if (facts.meanings[i] != Lifecycle::start) continue;
    const Event& e = t.events[i];
    if (facts.looped || store_.is_restart_word(e.status) ||
        (!e.plain_stage && store_.is_restart_word(e.stage)))
      return true;
    // A weaker start word that tasks of the log begin with ("job received"): after the task's
    // end it begins the task again, as a second run appended to the same file does.
    if (!e.plain_stage && e.stage != kNone && store_.tasks_starting_at(e.stage) > 0) return true;
  }
  return false;
}

Finding& Analyzer::add(FindingKind kind, uint32_t task, std::string reason, int64_t time,
                       uint32_t stage) {
  if (!is_information(kind)) out_.outcomes[task].flagged = true;
  findings_->push_back(make_finding(kind, task, std::move(reason), time, stage));
  return findings_->back();
}

std::string Analyzer::error_summary(const Event& e) const {
  if (e.error != kNone) {
    const ErrorNote& note = store_.errors()[e.error];
    if (!note.text.empty()) return note.text;
    if (!note.type.empty()) return note.type;
  }
  if (e.stage != kNone) return std::string(store_.stage_text(e));
  return "an error record";
}

bool Analyzer::is_timeout_event(const Event& e, Lifecycle meaning) const {
  if (meaning == Lifecycle::ended_timeout) return true;
  return e.error != kNone && exception_named(store_.errors()[e.error].type, "TimeoutError");
}

void Analyzer::judge(uint32_t index, const TaskFacts& facts) {
  const Task& t = store_.tasks()[index];
  const AsyncioFacts& notes = asyncio_facts(index);
  if (notes.never_retrieved >= 0) {
    const AsyncioNote& note = store_.asyncio_notes()[size_t(notes.never_retrieved)];
    bool future = !t.logged && store_.task_value(index) == kLostFutureName;
    Finding& f =
        add(FindingKind::lost_exception, index,
            fmt::format("asyncio: {} exception was never retrieved{}", future ? "Future" : "Task",
                        note.detail.empty() ? std::string() : ": " + note.detail),
            note.time, t.stage);
    f.subkind = "never-retrieved";
    if (!t.logged) {
      f.said_by = uint32_t(notes.never_retrieved);
      f.detail = "asyncio's message";
    }
    if (out_.outcomes[index].outcome == Outcome::open)
      out_.outcomes[index].outcome = Outcome::failed;
  }
  if (notes.callback_raised >= 0) {
    const AsyncioNote& note = store_.asyncio_notes()[size_t(notes.callback_raised)];
    Finding& f = add(FindingKind::lost_exception, index,
                     fmt::format("asyncio: the callback raised {}, and the loop went on",
                                 note.detail.empty() ? "an exception" : shortened(note.detail)),
                     note.time, kNone);
    f.subkind = "callback";
    f.said_by = uint32_t(notes.callback_raised);
    f.detail = "asyncio's message";
    if (out_.outcomes[index].outcome == Outcome::open)
      out_.outcomes[index].outcome = Outcome::failed;
  }
  for (uint32_t n : notes.never_awaited) {
    const AsyncioNote& note = store_.asyncio_notes()[n];
    add(FindingKind::anomaly, index,
        fmt::format("coroutine '{}' was never awaited (a missing await)", note.detail), note.time,
        kNone);
  }
  if (!t.logged) {
    if (notes.destroyed >= 0) {
      const AsyncioNote& note = store_.asyncio_notes()[size_t(notes.destroyed)];
      Finding& f =
          add(FindingKind::destroyed_pending, index,
              "asyncio destroyed the task while it was pending; it never logged", note.time, kNone);
      f.said_by = uint32_t(notes.destroyed);
      f.detail = "asyncio's message";
    }
    return;
  }
  if (t.events.empty() && out_.outcomes[index].outcome == Outcome::ok) {
    judge_deadlines(index, facts);  // folded: it ended ok cleanly, only its duration is judged
    return;
  }
  if (facts.end_index < 0 && notes.never_retrieved < 0)
    judge_open(index, facts);
  else if (facts.end_index >= 0)
    judge_ended(index, facts);
  judge_deadlines(index, facts);
  judge_anomalies(index, facts);
}

void Analyzer::judge_open(uint32_t index, const TaskFacts& facts) {
  const Task& t = store_.tasks()[index];
  // A task folded at a wrongly guessed end stage has no records left: its summary says enough.
  Event from_summary;
  from_summary.time = t.last_time;
  from_summary.stage = t.stage;
  // A cancel() called on it is no activity of its own (asyncio.run cancelling every task just
  // before the stop, when a task's sys.exit() ended the program): its last record before that.
  size_t own = facts.judged;
  while (own > 1 && t.events[own - 1].cancel_request) --own;
  const Event& last = own == 0 ? from_summary : t.events[own - 1];
  int64_t silent = elapsed(last.time, facts.stop);
  if (int32_t destroyed = asyncio_facts(index).destroyed; destroyed >= 0) {
    const AsyncioNote& note = store_.asyncio_notes()[size_t(destroyed)];
    Finding& f = add(FindingKind::destroyed_pending, index,
                     fmt::format("asyncio destroyed the task while it was pending in stage {}",
                                 stage_name(t.stage)),
                     note.time, t.stage);
    f.detail = fmt::format("entered at {}; silent {} before", at(index, t.stage_since),
                           format_duration(elapsed(last.time, note.time)));
    // Destroyed after its process stopped with the task pending: what it was at the stop (hung,
    // say) is judged too, from the stop, and the destruction does not hide it.
    const PendingAtExit* pending = store_.pending_at_exit(index);
    if (!pending || note.time <= pending->time) return;
  }
  // A TimeoutError logged by a task that then never ended (`except TimeoutError: log`, and the
  // task went quiet): the timeout is the finding, whatever came after.
  for (size_t i = facts.run_start; i < facts.judged; ++i) {
    const Event& e = t.events[i];
    if (!is_timeout_event(e, facts.meanings[i])) continue;
    Finding& f =
        add(FindingKind::timeout, index,
            fmt::format("timed out in stage {} ({}) and never ended",
                        stage_name(working_stage(t, facts, i)), shortened(error_summary(e))),
            e.time, e.stage);
    f.detail = fmt::format("timed out at {}; silent {} since its last record", at(index, e.time),
                           format_duration(silent));
    if (&e == &last) return;  // the timeout was its last word: nothing else to say
    break;
  }
  auto [threshold, why] = task_threshold(t, facts, t.stage, facts.judged);
  // Creating a child is activity of the parent (the child's record names it): its silence
  // began at its last record or at the last child it created, whichever came later, and a
  // task that creates children at a rhythm of its own is judged by that rhythm too.
  int64_t active = last_child_made(index, last.time, facts.stop);
  if (active > last.time) {
    silent = elapsed(active, facts.stop);
    int64_t rhythm = child_rhythm(index, facts.stop);
    if (!options_.stall_ns && threshold > 0 && scaled(rhythm, options_.stall_margin) > threshold) {
      threshold = scaled(rhythm, options_.stall_margin);
      why = fmt::format("the task creates a child about every {}", format_duration(rhythm));
    }
  }
  std::string made = active > last.time
                         ? fmt::format("; its last child created at {}", at(index, active))
                         : std::string();
  // Asleep as it planned when its process stopped (a scheduler between runs): the time it slept
  // is no silence. What came before the sleep is judged as any silence; a loop of sleeps that
  // logs nothing (polling that never succeeds) was silent long before its last sleep began.
  const PendingAtExit* pending = store_.pending_at_exit(index);
  int64_t slept = pending ? std::clamp<int64_t>(pending->sleep_ns - pending->sleep_left_ns, 0,
                                                pending->sleep_ns)
                          : 0;
  bool idle = idle_on_queue(index, last);
  // Idle on a queue while holding what others wait for: it keeps them waiting as long as no
  // work comes (a lock held across `await queue.get()`), no idle worker.
  auto held = idle ? holders_waited_on_.find(index) : holders_waited_on_.end();
  if (held != holders_waited_on_.end()) idle = false;
  bool at_stop = pending && pending->time >= last.time;
  // Running, holding the loop, when a signal or another thread stopped its process: a
  // synchronous call (a blocking socket read, time.sleep, CPU work) kept every other task from
  // running. Judged by its silence as any task; past it, it is what wedged the loop.
  bool holds_loop = at_stop && pending->held_the_loop();
  // Another task held the loop: this one, due to run (ready, or its sleep long over), could
  // not; the holder is the one stuck. One waiting for anything else is judged as ever, and one
  // that waits on the holder is blocked by it, as any waiter: the graph tells.
  bool due = at_stop && (pending->waiting_for.starts_with("nothing: ready to run") ||
                         (pending->sleep_ns > 0 && pending->sleep_left_ns <= 0));
  uint32_t loop_holder = due ? other_loop_holder(index, *pending) : kNone;
  // Ready to run when its process stopped (a watchdog that sends the signal, a task woken a
  // moment before): it was waiting on nothing, so its silence was no stall.
  bool runnable = at_stop && (pending->waiting_for.starts_with("nothing: ready to run") ||
                              loop_holder != kNone);
  bool stalled = threshold > 0 && silent - slept > threshold && !idle && !runnable;
  bool asleep = slept > 0 && !stalled && pending->sleep_left_ns > 0;
  std::string detail = waiting_detail(index, facts);
  // Waiting for work again after a cancel() it went on past, while the task that asked for it
  // waits for its end: the cancellation was swallowed, and the wait for it never ends.
  auto ignored = pending ? ignored_cancel(index) : std::nullopt;
  if (ignored && (idle || slept > 0 || ignored->second == kNone)) {
    auto [asked, waiter] = *ignored;
    // (asyncio.run cancels each task once, and waits for all of them: for ever)
    std::string until =
        facts.stop < asked ? fmt::format("asyncio.run waits for it for ever (the log ends at {})",
                                         at(index, out_.log_end))
        : store_.stop_ends_test(t.scope, facts.stop)
            ? "asyncio.run waited for it until a test ended at " + at(index, facts.stop)
            : "asyncio.run waited for it until its process stopped at " + at(index, facts.stop);
    std::string reason =
        waiter == kNone
            ? fmt::format(
                  "went on after asyncio.run's shutdown cancelled it at {} and waits "
                  "again as it did then: {}",
                  at(index, asked), until)
            : fmt::format(
                  "went on after cancel() at {} and {} again, while {} waits for "
                  "its end",
                  at(index, asked), idle ? "waits for work" : "sleeps", store_.task_label(waiter));
    Finding& f = add(FindingKind::hung, index, std::move(reason), last.time, t.stage);
    f.subkind = "ignored-cancel";
    f.detail = fmt::format("its cancellation swallowed; silent {} since{}", format_duration(silent),
                           detail);
    return;
  }
  // In its clean-up after asyncio.run's shutdown cancelled it, when a later stop cut it short
  // (an Event awaited in a `finally:`, a drain): told, not judged. A bounded clean-up and one
  // that would never end look the same in the log, and the stage it was in before the cancel
  // says nothing of how long a clean-up takes: an alarm would fall on every slow graceful
  // shutdown that a supervisor's stop timeout cut short.
  auto clean_up = store_.stop_ends_test(t.scope, facts.stop)
                      ? std::nullopt  // (left pending at a test's end: leaked, below)
                      : clean_up_cut_short(index, pending, facts.stop);
  if (clean_up) {
    Finding& f = add(FindingKind::in_flight, index, std::move(*clean_up), last.time, t.stage);
    f.subkind = "clean-up";
    f.detail = fmt::format("silent {} since its last record{}", format_duration(silent), detail);
    return;
  }
  // Pending when its test ended: the test left it running, however short the test's log is.
  bool leaked = pending && store_.stop_ends_test(t.scope, facts.stop);
  if (stalled && (last.error != kNone || last.error_level)) {
    Finding& f = add(FindingKind::lost_exception, index,
                     fmt::format("its last record was an error in stage {}: {}; no end after it",
                                 stage_name(last.stage), shortened(error_summary(last))),
                     last.time, last.stage);
    f.subkind = "died-silently";
    f.detail = fmt::format("the error at {}; nothing after it for {}{}", at(index, last.time),
                           format_duration(silent), detail);
  } else if (leaked) {
    Finding& f = add(FindingKind::hung, index,
                     fmt::format("still pending in stage {} when its test ended: the test left "
                                 "it running",
                                 stage_name(t.stage)),
                     last.time, t.stage);
    f.subkind = "leaked";
    f.detail = fmt::format("entered at {}, silent {} until the test's end at {}{}",
                           at(index, t.stage_since), format_duration(silent), at(index, facts.stop),
                           detail);
  } else if (stalled) {
    std::string stop = stop_name(index, facts);
    std::string reason =
        holds_loop ? fmt::format(
                         "held the event loop, running, silent for {} in stage {}: a "
                         "synchronous call kept every other task from running",
                         format_duration(silent), stage_name(t.stage))
        : held == holders_waited_on_.end()
            ? fmt::format("no end, silent for {} in stage {}", format_duration(silent),
                          stage_name(t.stage))
            : fmt::format(
                  "waits for work on an empty queue while holding the {} that {} {} for, "
                  "silent for {} in stage {}",
                  held->second.what, held->second.waiters,
                  held->second.waiters == 1 ? "task waits" : "tasks wait", format_duration(silent),
                  stage_name(t.stage));
    Finding& f = add(FindingKind::hung, index, std::move(reason), last.time, t.stage);
    f.detail = fmt::format("entered at {}{}{}; {}{}", at(index, t.stage_since), made,
                           stop.empty() ? "" : ", silent until " + stop, why, detail);
  } else if (idle) {
    std::string stop = stop_name(index, facts);
    std::string after = t.stage == kNone ? "" : " after stage " + stage_name(t.stage);
    Finding& f =
        add(FindingKind::in_flight, index,
            fmt::format("{} when {}, idle {}{}", idle_words(idle_wait(index, last)),
                        stop.empty() ? "the log ends" : stop, format_duration(silent), after),
            last.time, t.stage);
    f.subkind = "idle";
    f.detail = fmt::format("waiting since {}{}", at(index, last.time), detail);
  } else if (asleep) {
    Finding& f =
        add(FindingKind::in_flight, index,
            fmt::format("asleep in stage {} when {}, {} of its {} sleep left", stage_name(t.stage),
                        stop_name(index, facts), format_duration(pending->sleep_left_ns),
                        format_duration(pending->sleep_ns)),
            last.time, t.stage);
    f.detail =
        fmt::format("entered at {}{}; silent {}, {} of it asleep{}", at(index, t.stage_since), made,
                    format_duration(silent), format_duration(slept), detail);
  } else if (loop_holder != kNone) {
    Finding& f = add(FindingKind::in_flight, index,
                     fmt::format("could not run{} when {}: {} held the event loop",
                                 t.stage == kNone ? "" : " in stage " + stage_name(t.stage),
                                 stop_name(index, facts), store_.task_label(loop_holder)),
                     last.time, t.stage);
    f.detail = fmt::format("entered at {}{}; silent {} since{}", at(index, t.stage_since), made,
                           format_duration(silent), detail);
  } else if (runnable || holds_loop) {
    Finding& f = add(FindingKind::in_flight, index,
                     fmt::format("running or ready to run in stage {} when {}", stage_name(t.stage),
                                 stop_name(index, facts)),
                     last.time, t.stage);
    f.detail = fmt::format("entered at {}{}; silent {} since, waiting on nothing at the stop{}",
                           at(index, t.stage_since), made, format_duration(silent), detail);
  } else {
    std::string stop = stop_name(index, facts);
    Finding& f = add(FindingKind::in_flight, index,
                     fmt::format("still in stage {} when {}, silent only {}", stage_name(t.stage),
                                 stop.empty() ? "the log ends" : stop, format_duration(silent)),
                     last.time, t.stage);
    f.detail = fmt::format("entered at {}{}; {}{}", at(index, t.stage_since), made, why, detail);
  }
}

// A task whose last record was an error, and that never ended: judged alone, its silence was
// too short to call it dead ("still in stage ... silent only 10ms"). But when every task of its
// process that logged after that error went on to end (the job loop finished, the program shut
// down), and the log went on without it for longer than its own gaps between records, the error
// was its last word. A record that says it will retry says it goes on. A log that ends on the
// error says nothing: a log cut there and a process killed there read alike.
void Analyzer::judge_errors_left_open() {
  const auto& tasks = store_.tasks();
  auto ends_on_an_error = [&](const Finding& f) {
    const Task& t = tasks[f.task];
    if (f.kind != FindingKind::in_flight || !f.subkind.empty() || t.events.empty() ||
        store_.pending_at_exit(f.task))
      return false;
    const Event& last = t.events.back();
    return (last.error != kNone || last.error_level) && !last.retry && !last.wait;
  };
  // Most logs have no such task: no pass over every task for them.
  if (std::none_of(out_.findings.begin(), out_.findings.end(), ends_on_an_error)) return;
  std::vector<bool> idle_or_candidate(tasks.size());
  for (const Finding& f : out_.findings)
    if ((f.kind == FindingKind::in_flight && f.subkind == "idle") || ends_on_an_error(f))
      idle_or_candidate[f.task] = true;
  // By scope, the latest record of a task still at work at the end; those that ended on an
  // error themselves are judged alike, whichever logged last.
  std::unordered_map<uint32_t, int64_t> latest;
  for (uint32_t i = 0; i < tasks.size(); ++i) {
    const Task& t = tasks[i];
    if (!t.logged || idle_or_candidate[i] || out_.outcomes[i].outcome != Outcome::open) continue;
    auto [it, added] = latest.try_emplace(t.scope, t.last_time);
    if (!added) it->second = std::max(it->second, t.last_time);
  }
  for (Finding& f : out_.findings) {
    if (!ends_on_an_error(f)) continue;
    const Task& t = tasks[f.task];
    const Event& last = t.events.back();
    if (auto it = latest.find(t.scope); it != latest.end() && it->second > last.time)
      continue;  // another task still at work logged after it
    int64_t stop = store_.stop_after(t.scope, last.time).value_or(out_.log_end);
    int64_t silent = elapsed(last.time, stop);
    // The log went on without it for longer than the task's own gaps between records: a poller
    // that logged a routine error moments before the log ends is no dead task.
    if (silent <= 0 || silent <= own_rhythm(t)) continue;
    change_kind(f, FindingKind::lost_exception);
    f.subkind = "died-silently";
    f.reason = fmt::format("its last record was an error in stage {}: {}; no end after it",
                           stage_name(last.stage), shortened(error_summary(last)));
    f.detail = fmt::format(
        "the error at {}; nothing after it for {}, while every task that logged after it ended",
        at(f.task, last.time), format_duration(silent));
    f.time = last.time;
    f.stage = last.stage;
    out_.outcomes[f.task].flagged = true;
  }
}

// When a task was judged, if not at the log's end: "its process stopped at 09:23:21.000000"
// (the asyncio module's exit record).
std::string Analyzer::stop_name(uint32_t index, const TaskFacts& facts) const {
  bool told = options_.program_stop.has_value();
  if (facts.stop == out_.log_end && !store_.pending_at_exit(index) && told)
    return fmt::format("the program stopped at {} (--log-end)", at(index, facts.stop));
  if (facts.stop == out_.log_end && !store_.pending_at_exit(index)) return {};
  return fmt::format("its process stopped at {}{}", at(index, facts.stop),
                     store_.pending_at_exit(index) ? " with the task pending" : "");
}

// The cancel() a task pending at its stop went on past (its records go on after the request,
// and it did not end), and a task pending then that began to wait for it after that request:
// `task.cancel(); await task` at a shutdown, on a task that catches CancelledError and loops.
// The waiter began to wait right after the cancel(), as the one who called it does: a task's
// own timeout scope cancels it too, and a main that awaits it much later asked nothing. The
// waiter is kNone when asyncio.run asked (the module's cancel-at-exit, after main returned) and
// the task, pending at a later stop, waits again as it did when cancelled: the shutdown waited
// for it, and never ended. A clean-up that takes its time waits on something else, and ends.
std::optional<std::pair<int64_t, uint32_t>> Analyzer::ignored_cancel(uint32_t index) const {
  constexpr int64_t kRightAfter = 10'000'000;  // 10 ms
  const PendingAtExit* pending = store_.pending_at_exit(index);
  if (!pending) return std::nullopt;
  int64_t asked = 0;
  bool cancelled = false, went_on = false;
  const Event* at_exit = nullptr;
  const Event* last_wait = nullptr;
  for (const Event& e : store_.tasks()[index].events) {
    // After the exit: asyncio.run's own cancellation, and what the task did after it.
    if (e.time > pending->time && !e.cancel_at_exit && !at_exit) break;
    if (e.cancel_request) {
      asked = e.time;
      cancelled = true;
      went_on = false;
      at_exit = e.cancel_at_exit ? &e : nullptr;
    } else if (is_end(store_.meaning(e.status))) {
      cancelled = went_on = false;  // that run ended (a later one under the same name is new)
      at_exit = nullptr;
    } else if (cancelled) {
      went_on = true;
      if (e.wait) last_wait = &e;
    }
  }
  if (!went_on) return std::nullopt;
  if (at_exit) {
    // Waiting again at a later stop (its pending record), or, with none (a SIGKILL once the
    // supervisor's patience ran out), in its last wait, with nothing after it.
    std::string_view now = pending->time > at_exit->time ? std::string_view(pending->waiting_for)
                           : last_wait && last_wait == &store_.tasks()[index].events.back()
                               ? store_.stage_text(*last_wait)
                               : std::string_view();
    return same_wait(store_.stage_text(*at_exit), now) ? std::optional(std::pair{asked, kNone})
                                                       : std::nullopt;
  }
  uint32_t waiter = kNone;
  for (const auto& [other, at_exit] : store_.tasks_pending_at_exit()) {
    if (other == index || (waiter != kNone && other > waiter)) continue;  // the first, by index
    for (uint32_t awaited : at_exit.awaits)
      if (awaited == index)
        if (auto began = store_.await_began(other, index);
            (began && *began >= asked && *began - asked <= kRightAfter) ||
            group_cancelled(other, at_exit, index, asked))
          waiter = other;
  }
  if (waiter == kNone) return std::nullopt;
  return std::pair{asked, waiter};
}

// The reason of a task still in its clean-up after asyncio.run's shutdown cancelled it (the
// module's cancel-at-exit, then a later stop with the task still pending), naming the stage it
// logged in that clean-up; none for any other task.
std::optional<std::string> Analyzer::clean_up_cut_short(uint32_t index,
                                                        const PendingAtExit* pending,
                                                        int64_t stop) const {
  if (!pending) return std::nullopt;
  const Event* asked = nullptr;
  uint32_t stage = kNone;
  for (const Event& e : store_.tasks()[index].events) {
    if (e.time > pending->time) break;
    if (e.cancel_at_exit) asked = &e, stage = kNone;
    if (is_end(store_.meaning(e.status))) asked = nullptr;  // that run ended
    if (asked && e.stage != kNone) stage = e.stage;
  }
  if (!asked) return std::nullopt;
  return fmt::format(
      "still in its clean-up{} when its process stopped at {}, {} after asyncio.run's shutdown "
      "cancelled it: asyncio.run waited for it meanwhile",
      stage == kNone ? "" : " (stage " + stage_name(stage) + ")", at(index, stop),
      format_duration(elapsed(asked->time, stop)));
}

// A TaskGroup cancels its other children when one of them fails, and its owner waits in it
// for them all: `waiter`, pending in a TaskGroup, had another child that failed right before
// `index` was cancelled at `asked` (an owner that began to wait after the cancel is the other
// case, `task.cancel(); await task`).
bool Analyzer::group_cancelled(uint32_t waiter, const PendingAtExit& at_exit, uint32_t index,
                               int64_t asked) const {
  constexpr int64_t kRightBefore = 10'000'000;  // 10 ms
  if (!at_exit.waiting_for.starts_with("TaskGroup")) return false;
  // (children of the same group: the owner's wait in it began on them all at once; an earlier
  // group of the same owner, whose failure it handled, is another wait)
  auto began = store_.await_began(waiter, index);
  for (uint32_t child : store_.tasks()[waiter].awaits) {
    const EventList& events = store_.tasks()[child].events;
    if (child == index || events.empty() || store_.await_began(waiter, child) != began) continue;
    const Event& end = events.back();
    if (store_.meaning(end.status) == Lifecycle::ended_failed && end.time <= asked &&
        asked - end.time <= kRightBefore)
      return true;
  }
  return false;
}

// The task waits for work, idle: its record `last` is a wait on an empty queue, or the asyncio
// module found it waiting on one when its process stopped.
bool Analyzer::idle_on_queue(uint32_t index, const Event& last) const {
  if (const PendingAtExit* pending = store_.pending_at_exit(index);
      pending && pending->time >= last.time && store_.tasks()[index].parent == kNone &&
      waits_forever_on_purpose(*pending))
    return true;
  return waits_for_work(idle_wait(index, last));
}

void Analyzer::find_loop_holders() {
  for (const auto& [task, pending] : store_.tasks_pending_at_exit()) {
    if (!pending.held_the_loop()) continue;
    uint32_t scope = store_.tasks()[task].scope;
    auto stop = store_.stop_after(scope, pending.time);
    // One task runs at a time in a loop; two (a loop in each of two threads) name none.
    auto [it, added] = loop_holders_.try_emplace(scope, LoopHolder{task, stop.value_or(0)});
    if (!added && it->second.stop == stop.value_or(0)) it->second.task = kNone;
  }
}

// The function a pending record says a task was suspended in: "app.py:42 in fetch" -> "app.py
// fetch"; "" when it does not say.
std::string suspended_in(const PendingAtExit& pending) {
  std::string_view at = pending.suspended_at;
  size_t colon = at.find(':'), in = at.find(" in ");
  if (colon == std::string_view::npos || in == std::string_view::npos) return {};
  return std::string(at.substr(0, colon)) + ' ' + std::string(at.substr(in + 4));
}

void Analyzer::find_holders_waited_on() {
  constexpr std::string_view kHeldBy = ", held by ";
  std::unordered_map<uint32_t, uint32_t> first_waiter;  // the lowest index: the same every run
  for (const auto& [waiter, pending] : store_.tasks_pending_at_exit()) {
    std::string_view wait = pending.waiting_for;
    size_t held = wait.find(kHeldBy);
    // One holder: a Semaphore's other holders may give their permit back.
    if (!wait.starts_with("asyncio.") || held == std::string_view::npos ||
        pending.awaits.size() != 1)
      continue;
    uint32_t scope = store_.tasks()[waiter].scope;
    for (uint32_t holder : pending.awaits) {
      // Pending at the same stop (a process restarted under the scope has other tasks of the
      // same names), and not a peer waiting for the same role in the same code (standby
      // consumers: `async with leader: while True: await queue.get()`, the leader idle).
      const PendingAtExit* its = store_.pending_at_exit(holder);
      if (holder == waiter || !its ||
          store_.stop_after(scope, its->time) != store_.stop_after(scope, pending.time) ||
          (!suspended_in(pending).empty() && suspended_in(pending) == suspended_in(*its)))
        continue;
      HeldWait& h = holders_waited_on_[holder];
      ++h.waiters;
      auto [first, added] = first_waiter.try_emplace(holder, waiter);
      if (added || waiter <= first->second) {
        first->second = waiter;
        h.what = wait.substr(0, held);
      }
    }
  }
}

uint32_t Analyzer::other_loop_holder(uint32_t index, const PendingAtExit& pending) const {
  if (loop_holders_.empty()) return kNone;
  uint32_t scope = store_.tasks()[index].scope;
  auto it = loop_holders_.find(scope);
  if (it == loop_holders_.end() || it->second.task == index || it->second.task == kNone ||
      store_.stop_after(scope, pending.time).value_or(0) != it->second.stop)
    return kNone;
  return it->second.task;
}

// What the task waited on at its stop: the asyncio module's pending record, else its last
// record's wait; "" when neither says.
std::string_view Analyzer::idle_wait(uint32_t index, const Event& last) const {
  if (const PendingAtExit* pending = store_.pending_at_exit(index);
      pending && pending->time >= last.time)
    return pending->waiting_for;
  return last.wait && last.text != kNone ? store_.stage_text(last) : std::string_view();
}

// Where a task was stuck, as the asyncio module saw it: at exit, or by its last record's wait.
std::string Analyzer::waiting_detail(uint32_t index, const TaskFacts& facts) const {
  std::string out;
  if (const PendingAtExit* pending = store_.pending_at_exit(index)) {
    out = pending->where_and_what();
    if (!out.empty()) return out;
  }
  const Task& t = store_.tasks()[index];
  // A parent action or span waits on its children: the blame chain says which holds it.
  if (facts.judged == 0 || t.encloses) return out;
  const Event& last = t.events[facts.judged - 1];
  if (last.wait && last.text != kNone)
    out = fmt::format("; waiting for {} since {}", store_.stage_text(last), at(index, last.time));
  return out;
}

Analyzer::Threshold Analyzer::task_threshold(const Task& t, const TaskFacts& facts, uint32_t stage,
                                             size_t last) {
  const StageThreshold& th = stall_threshold(stage);
  // A task of the asyncio module, an eliot action or a span ends by its status, not a stage.
  bool ends_by_status =
      t.traced || (!t.events.empty() && store_.has_opaque_ids(t.events.front().file));
  const Threshold of_stage{th.of_task.ns, ends_by_status ? th.why_traced : th.of_task.why};
  if (options_.stall_ns || stage == kNone) return of_stage;
  int64_t rhythm = stage_rhythm(t, facts, stage, last);
  int64_t by_rhythm = scaled(rhythm, options_.stall_margin);
  if (rhythm == 0 || by_rhythm <= of_stage.ns) return of_stage;
  return {by_rhythm,
          fmt::format("the task repeats that stage about every {}", format_duration(rhythm))};
}

// The stage a task was working in at its record i: "fetch_data timed out" names the event, not
// the stage, so a record whose stage is itself a lifecycle word points back to the one before.
// The look back ends at an earlier end of the task: the stage it was in then, which its fold
// marker keeps when the records before it were folded, so analyze and timeline agree.
uint32_t Analyzer::working_stage(const Task& t, const TaskFacts& facts, size_t i) const {
  uint32_t stage = t.events[i].stage;
  if (stage != kNone && (t.events[i].plain_stage || !is_end(store_.meaning(stage)))) return stage;
  for (size_t j = i; j-- > 0;) {
    uint32_t before = t.events[j].stage;
    if (is_end(facts.meanings[j])) {
      for (size_t k = j + 1; k-- > 0;)
        if (t.events[k].stage != kNone) return t.events[k].stage;
      return stage;
    }
    if (before != kNone && before != stage) return before;
  }
  return stage;
}

// Whether the task's record `i` starts it again: a start of its own, by a strong start word.
bool Analyzer::starts_again(const Task& t, const TaskFacts& facts, size_t i) const {
  if (i >= t.events.size() || facts.meanings[i] != Lifecycle::start) return false;
  const Event& e = t.events[i];
  return store_.is_restart_word(e.status) || (!e.plain_stage && store_.is_restart_word(e.stage));
}

void Analyzer::judge_ended(uint32_t index, const TaskFacts& facts) {
  const Task& t = store_.tasks()[index];
  const TaskOutcome& o = out_.outcomes[index];
  size_t end = size_t(facts.end_index);
  const Event& end_event = t.events[end];
  uint32_t end_stage = end_event.stage != kNone ? end_event.stage : t.stage;
  if (o.outcome == Outcome::cancelled) judge_cancelled(index, facts);
  // An error or a timeout that a retry handled, and the task ended ok: information, once.
  bool retry_told = false;
  auto retried = [&](const Event& e, size_t i, std::string_view what) {
    if (o.outcome != Outcome::ok || i == end ||
        !error_was_retried(t.events, facts.meanings, i, end, starts_again(t, facts, i + 1)))
      return false;
    if (std::exchange(retry_told, true)) return true;
    Finding& f =
        add(FindingKind::retried, index,
            fmt::format("{} in stage {} ({}), then it was retried and ended ok", what,
                        stage_name(working_stage(t, facts, i)), shortened(error_summary(e))),
            e.time, working_stage(t, facts, i));
    f.detail = fmt::format("{} at {}; ended ok in stage {}", what, at(index, e.time),
                           stage_name(end_stage));
    return true;
  };
  // A timeout is a timeout whether it ended the task or was caught and carried on from.
  for (size_t i = 0; i <= end; ++i) {
    const Event& e = t.events[i];
    if (!is_timeout_event(e, facts.meanings[i])) continue;
    if (retried(e, i, "timed out")) continue;
    // The stage the reason names is the finding's stage, in every format.
    uint32_t working_id = working_stage(t, facts, i);
    std::string working = stage_name(working_id);
    std::string reason, detail;
    if (i == end) {
      reason =
          fmt::format("timed out in stage {} after {} of running: {}", working,
                      format_duration(elapsed(t.first_time, e.time)), shortened(error_summary(e)));
      detail = fmt::format("at {}", at(index, e.time));
    } else if (o.outcome == Outcome::ok) {
      reason = fmt::format("timed out in stage {} ({}), then ended ok: the timeout was swallowed",
                           working, shortened(error_summary(e), 40));
      detail = fmt::format("timed out at {}; ended ok in stage {}", at(index, e.time),
                           stage_name(end_stage));
    } else {
      reason = fmt::format("timed out in stage {} ({}); it ended {}", working,
                           shortened(error_summary(e)), to_string(o.outcome));
      detail = fmt::format("timed out at {}; ended at {}", at(index, e.time), at(index, o.end));
    }
    add(FindingKind::timeout, index, std::move(reason), e.time, working_id).detail =
        std::move(detail);
    return;
  }
  if (o.outcome != Outcome::ok) return;
  // Ended ok: an error recorded on the way that was never retried was swallowed.
  for (size_t i = 0; i < end; ++i) {
    const Event& e = t.events[i];
    bool is_error =
        e.error != kNone || e.error_level || facts.meanings[i] == Lifecycle::ended_failed;
    if (!is_error || is_timeout_event(e, facts.meanings[i]) || retried(e, i, "failed")) continue;
    Finding& f =
        add(FindingKind::lost_exception, index,
            fmt::format("{} in stage {}, then it carried on and ended ok",
                        shortened(error_summary(e)), stage_name(working_stage(t, facts, i))),
            e.time, working_stage(t, facts, i));
    f.subkind = "swallowed";
    f.detail = fmt::format("the error at {}; ended ok in stage {} at {}", at(index, e.time),
                           stage_name(end_stage), at(index, t.events[end].time));
    return;
  }
}

// A task cancelled after a silence far longer than its stage normally takes was stuck until
// then (asyncio.run cancels every pending task on its way out): the hung rule, measured at the
// cancellation. A task cancelled promptly, at work, is clean.
void Analyzer::judge_cancelled(uint32_t index, const TaskFacts& facts) {
  const Task& t = store_.tasks()[index];
  size_t end = size_t(facts.end_index);
  const Event& cancel = t.events[end];
  size_t first = end;  // the first record of the cancellation
  // The asyncio module logs when cancel() was called on the task: that is the cancellation's
  // moment, and what the task did after it (`except CancelledError:` or `finally:` cleanup that
  // logs, awaits a flush, closes a connection) is part of the cancellation, however long.
  for (size_t i = end; i-- > 0 && !is_end(facts.meanings[i]);) {
    if (!t.events[i].cancel_request) continue;
    first = i;
    while (first > 0 && t.events[first - 1].cancel_request) --first;
    break;
  }
  if (first == end) {
    // No such record: what it logged as it was cancelled (`except CancelledError:
    // log("shutting down")`) is part of the cancellation: the silence that counts is the one
    // before the records close to it.
    int64_t close = stall_threshold(working_stage(t, facts, end)).of_task.ns;
    while (first > 0 && !is_end(facts.meanings[first - 1]) &&
           elapsed(t.events[first - 1].time, cancel.time) <= close)
      --first;
  }
  // Silent since its end (a record after the end, then the cancellation): stuck in no stage.
  if (first == 0 || is_end(facts.meanings[first - 1])) return;
  const Event& before = t.events[first - 1];
  // Cancelled while it waited for work (a consumer on an empty queue, at shutdown): idle, not
  // stuck, however long it waited. The asyncio module's cancel record says what it was waiting
  // for when cancel() was called, as its pending record does at an exit: idle, or running, or
  // ready to run, it was not stuck; asleep as it planned, the time it slept is no silence.
  const Event& request = t.events[first];
  std::string_view waiting =
      request.cancel_request && request.text != kNone ? store_.stage_text(request) : "";
  if (idle_on_queue(index, before) || waits_for_work(waiting) ||
      waiting.starts_with("nothing: ready to run"))
    return;
  PlannedSleep sleep = planned_sleep(waiting);
  int64_t slept = std::clamp<int64_t>(sleep.length_ns - sleep.left_ns, 0, sleep.length_ns);
  uint32_t stage = working_stage(t, facts, first - 1);
  // The children it created up to the cancellation were activity too.
  int64_t active = last_child_made(index, before.time, request.time);
  int64_t silent = elapsed(active, request.time);
  auto [threshold, why] = task_threshold(t, facts, stage, first);
  if (active > before.time && !options_.stall_ns && threshold > 0) {
    int64_t rhythm = child_rhythm(index, request.time);
    if (scaled(rhythm, options_.stall_margin) > threshold) {
      threshold = scaled(rhythm, options_.stall_margin);
      why = fmt::format("the task creates a child about every {}", format_duration(rhythm));
    }
  }
  if (threshold <= 0 || silent - slept <= threshold) return;
  int64_t cancelled_at = request.cancel_request ? request.time : cancel.time;
  // Cut off by the timeout of the task that waited on it (`wait_for(task, 0.05)`): its silence
  // within that wait is the waiter's timeout, one problem, told there. Only a silence that
  // was already too long when the timed wait began was its own.
  uint32_t waiter = kNone;
  int64_t wait_began = timed_wait_that_cut_off(index, cancelled_at, cancel.time, waiter);
  if (waiter != kNone && elapsed(active, wait_began) <= threshold) return;
  // When it entered that stage: the first of its latest run of records in it.
  int64_t entered = before.time;
  for (size_t i = first; i-- > 0;) {
    if (t.events[i].stage != kNone && t.events[i].stage != stage) break;
    if (t.events[i].stage == stage) entered = t.events[i].time;
    if (is_end(facts.meanings[i])) break;  // an earlier end: where its fold marker would stand
  }
  Finding& f = add(FindingKind::hung, index,
                   fmt::format("silent for {} in stage {} until it was cancelled",
                               format_duration(silent), stage_name(stage)),
                   before.time, stage);
  f.subkind = "until-cancelled";
  f.detail = fmt::format(
      "entered at {}, cancelled at {}{}; {}", at(index, entered), at(index, cancelled_at),
      waiter == kNone ? std::string()
                      : fmt::format(" by {}'s timeout, which began at {}",
                                    store_.task_value(waiter), at(waiter, wait_began)),
      why);
}

// When a task that waited on `index` was waiting for it, blocked, at its cancellation
// (`cancelled_at`) and took a TimeoutError as its next record, at or after `index` ended
// (`ended`): the timeout of that wait cancelled it (wait_for cancels the task it waits on;
// before 3.12 it calls cancel(), since then the caller's cancellation reaches it). Returns
// when that wait began, and the waiter in `waiter` (kNone when there is none).
int64_t Analyzer::timed_wait_that_cut_off(uint32_t index, int64_t cancelled_at, int64_t ended,
                                          uint32_t& waiter) const {
  waiter = kNone;
  for (uint32_t w : out_.graph.awaited_by(index)) {
    const EventList& events = store_.tasks()[w].events;
    // Its last record up to the cancellation, past the cancel requests (its own, on 3.12+:
    // the timeout scope cancels the waiter first).
    auto next = std::upper_bound(events.begin(), events.end(), cancelled_at,
                                 [](int64_t time, const Event& e) { return time < e.time; });
    auto wait = next;
    while (wait != events.begin() && std::prev(wait)->cancel_request) --wait;
    if (wait == events.begin() || !std::prev(wait)->wait) continue;
    while (next != events.end() && (next->cancel_request || next->wait)) ++next;
    if (next == events.end() || next->time < ended || !is_timeout_event(*next, meaning_of(*next)))
      continue;
    waiter = w;
    return std::prev(wait)->time;
  }
  return 0;
}

void Analyzer::judge_deadlines(uint32_t index, const TaskFacts& facts) {
  const Task& t = store_.tasks()[index];
  const TaskOutcome& o = out_.outcomes[index];
  // This task's findings are the last ones added: one timeout is enough.
  for (auto f = findings_->rbegin(); f != findings_->rend() && f->task == index; ++f)
    if (f->kind == FindingKind::timeout) return;
  bool ended = o.outcome != Outcome::open;
  int64_t ran = elapsed(t.first_time, ended ? o.end : facts.stop);
  auto over = [&](int64_t limit, std::string_view what) {
    // The stage it was in when its time ran out, not the one it ended in: it may have gone on
    // to others past it. (A folded task has only its summary's stage.)
    int64_t deadline = t.first_time + limit;
    uint32_t stage = t.stage;
    for (const Event& e : t.events) {
      if (e.time > deadline) break;
      if (e.stage != kNone) stage = e.stage;
    }
    add(FindingKind::timeout, index,
        fmt::format("ran {} {}, past its {} of {}", format_duration(ran),
                    ended ? "until it ended" : "without ending", what, format_duration(limit)),
        deadline, stage);
  };
  int64_t declared = store_.timeout_of(index);
  if (declared > 0 && ran > declared) return over(declared, "declared timeout");
  if (const TaskStore::StepOverrun* step = store_.step_overrun(index)) {
    add(FindingKind::timeout, index,
        fmt::format("stage {} took {}, past the timeout of {} its record declared",
                    stage_name(step->stage), format_duration(step->took),
                    format_duration(step->limit)),
        step->began + step->limit, step->stage);
    return;
  }
  if (options_.deadline_ns && ran > *options_.deadline_ns)
    return over(*options_.deadline_ns, "--deadline");
  if (options_.stage_deadlines.empty()) return;
  for (size_t i = 0; i < t.events.size(); ++i) {
    const Event& e = t.events[i];
    if (e.stage == kNone || (i > 0 && t.events[i - 1].stage == e.stage)) continue;
    // A free-text stage answers to its template and to its text as written.
    std::string_view name = store_.words().view(e.stage), text = store_.stage_text(e);
    for (const auto& [stage, limit] : options_.stage_deadlines) {
      if (stage != name && stage != text) continue;
      int64_t until = facts.stop;
      for (size_t j = i + 1; j < t.events.size(); ++j) {
        if (t.events[j].stage != kNone && t.events[j].stage != e.stage) {
          until = t.events[j].time;
          break;
        }
      }
      if (elapsed(e.time, until) > limit) {
        add(FindingKind::timeout, index,
            fmt::format("stage {} took {}, past its --stage-deadline of {}", stage_name(e.stage),
                        format_duration(elapsed(e.time, until)), format_duration(limit)),
            e.time + limit, e.stage);
        return;
      }
    }
  }
}

void Analyzer::judge_anomalies(uint32_t index, const TaskFacts& facts) {
  const Task& t = store_.tasks()[index];
  // Ok ends one after the other in the same stage ("done", "done") are told; "upload finished"
  // then "job finished" is no anomaly. (A fold marker keeps the stage its task ended in.)
  int ok_in_a_row = 0, most_ok_in_a_row = 0;
  uint32_t stage = kNone, ended_in = kNone;
  for (size_t i = 0; i < facts.meanings.size(); ++i) {
    if (t.events[i].stage != kNone) stage = t.events[i].stage;
    // An "(other …)" stage names many: folded past --max-stages, two ends in it may differ.
    bool again = ok_in_a_row > 0 && stage == ended_in && !store_.is_other_stage(stage);
    ok_in_a_row = facts.meanings[i] != Lifecycle::ended_ok ? 0 : again ? ok_in_a_row + 1 : 1;
    ended_in = stage;
    most_ok_in_a_row = std::max(most_ok_in_a_row, ok_in_a_row);
  }
  // Records after the end: unless they began a new run (reopened: judged as the task's last
  // run) or the task's next round.
  int last_end = facts.end_index;
  if (last_end >= 0) {
    // A parent action or span told of a child that began after it ended (a fire-and-forget
    // child in a thread pool): the child's own record, not one of the parent's.
    auto its_own = [&](const Event& e) { return !(t.encloses && e.wait); };
    size_t after = size_t(std::count_if(t.events.begin() + last_end + 1, t.events.end(), its_own));
    if (after > 0 && !facts.looped) {
      const Event& next = *std::find_if(t.events.begin() + last_end + 1, t.events.end(), its_own);
      add(FindingKind::anomaly, index,
          fmt::format("{} record(s) after the task ended, the first in stage {}", after,
                      stage_name(next.stage)),
          next.time, next.stage)
          .detail = fmt::format("the first at {}", at(index, next.time));
    } else if (after == 0 && most_ok_in_a_row > 1 && out_.learned_ends.empty()) {
      add(FindingKind::anomaly, index, fmt::format("ended ok {} times", most_ok_in_a_row),
          t.events[size_t(last_end)].time, kNone);
    }
  }
  // A start after the task had done other things: the same id was reused, or it restarted. A
  // folded task's work is where its fold marker stands: a record older than the marker (one that
  // arrived late, out of order) sorts before it, among the records the marker stands for. A
  // retry (its attempt grew, or a retry word) is no anomaly, nor a start that names a step
  // ("upload started", "job started": a task's steps, or its next job): "started" alone is.
  bool did_work = false;
  uint8_t attempt = 0;
  for (size_t i = 0; i < t.events.size(); ++i) {
    const Event& e = t.events[i];
    bool strong_start =
        store_.is_restart_word(e.status) || (!e.plain_stage && store_.is_restart_word(e.stage));
    uint32_t word = e.status != kNone ? e.status : e.stage;
    bool retry = e.retry || e.attempt > attempt;
    attempt = std::max(attempt, e.attempt);
    if (is_restart(facts.meanings[i], strong_start, did_work) && !retry &&
        !store_.is_other_stage(word) && !names_a_step(store_.words().view(word))) {
      add(FindingKind::anomaly, index,
          fmt::format("started again in stage {} after it had already run",
                      stage_name(t.events[i].stage)),
          t.events[i].time, t.events[i].stage)
          .detail = fmt::format("at {}", at(index, t.events[i].time));
      return;
    }
    if (facts.meanings[i] != Lifecycle::start && !e.wait) did_work = true;
  }
}

// A move between two well-trodden stages that no other task made: task 7 went from 'save_to_db'
// back to 'validate' while a thousand others went validate, transform, save_to_db. Both stages
// must be common, so free-text stage names (an id in the message) do not make noise.
// One finding a task, at its first such move.
void Analyzer::judge_stage_orders() {
  constexpr uint64_t kCommon = 20;
  const auto& stats = store_.stage_stats();
  struct Unusual {
    uint32_t from, to;
    int64_t time;
    size_t more = 0;
  };
  std::map<uint32_t, Unusual> first_by_task;  // ordered: the findings come out in task order
  for (const auto& move : store_.transitions()) {
    if (move.count != 1 || move.first_task == kNone) continue;
    uint32_t from = move.from, to = move.to;
    if (stats[from].occurrences < kCommon || stats[to].occurrences < kCommon) continue;
    // An "(other)" stage is common only as the sum of rare names: no order to follow.
    if (store_.is_other_stage(from) || store_.is_other_stage(to)) continue;
    if (store_.times_left(from) < kCommon) continue;
    auto [it, fresh] =
        first_by_task.try_emplace(move.first_task, Unusual{from, to, move.first_time});
    if (fresh) continue;
    ++it->second.more;
    if (move.first_time < it->second.time)
      it->second = Unusual{from, to, move.first_time, it->second.more};
  }
  for (const auto& [task, u] : first_by_task) {
    uint32_t from = u.from, to = u.to;
    std::string more = u.more == 0 ? "" : fmt::format("; {} more such move(s)", u.more);
    add(FindingKind::anomaly, task,
        fmt::format("went from stage {} to {}, an order no other task follows", stage_name(from),
                    stage_name(to)),
        u.time, to)
        .detail = fmt::format("at {}; {} other moves out of {}{}", at(task, u.time),
                              store_.times_left(from) - 1, stage_name(from), more);
  }
}

}  // namespace

namespace {

// Whether a stage's name says something is under way ("waiting for config", "fetching"): a word
// of it ends in "ing". Such a stage is where a task was stuck, not where it ended. Not so a word
// that ends so and says nothing goes on ("checksums match, nothing to copy", "config missing"),
// one said done ("logging configured", "caching done"), nor one denied ("no pending work").
bool describes_ongoing(std::string_view stage) {
  static constexpr std::string_view kNotUnderWay[] = {
      "nothing", "something", "anything", "everything", "during",  "missing",
      "warning", "string",    "morning",  "evening",    "ceiling", "sibling"};
  static constexpr std::string_view kDone[] = {"done", "ready", "complete", "ok", "over"};
  static constexpr std::string_view kDenied[] = {"no", "not", "without"};
  auto among = [](const auto& words, std::string_view word) {
    return std::find(std::begin(words), std::end(words), word) != std::end(words);
  };
  std::vector<std::string_view> words;
  std::string normal = normalise_word(stage) + '_';  // every word ends with '_'
  for (size_t start = 0, end; (end = normal.find('_', start)) != std::string::npos; start = end + 1)
    words.emplace_back(normal.data() + start, end - start);
  for (size_t i = 0; i < words.size(); ++i) {
    std::string_view word = words[i];
    if (word.size() <= 4 || !word.ends_with("ing") || among(kNotUnderWay, word)) continue;
    std::string_view next = i + 1 < words.size() ? words[i + 1] : "";
    if (next.ends_with("ed") || among(kDone, next)) continue;
    if (i > 0 && among(kDenied, words[i - 1])) continue;
    return true;
  }
  return false;
}

}  // namespace

int64_t Analysis::stall_threshold(uint32_t stage, std::string* why, bool end_hint) const {
  auto say = [&](std::string text) {
    if (why) *why = std::move(text);
  };
  if (options.stall_ns) {
    say(fmt::format("--stall is {}", format_duration(*options.stall_ns)));
    return *options.stall_ns;
  }
  double margin = options.stall_margin;
  if (stage < stages.size() && stages[stage].durations.count() > 0) {
    const DurationHistogram& h = stages[stage].durations;
    // A traced task's repeats of the stage are runs of their own; the last run of a stay may be
    // longer (the work after its last progress record), and is as normal.
    int64_t p99 = h.percentile(0.99);
    if (const DurationHistogram& repeats = stages[stage].repeat_runs; repeats.count() > 0) {
      DurationHistogram stays = h;
      stays.subtract(repeats);
      p99 = std::max(p99, stays.percentile(0.99));
    }
    int64_t threshold = std::max<int64_t>(scaled(p99, margin), 1);
    say(fmt::format("that stage normally takes up to {} (p99 of {} runs)", format_duration(p99),
                    h.count()));
    return threshold;
  }
  if (all_stages.count() > 0) {
    int64_t p99 = all_stages.percentile(0.99);
    // A stage nobody ever left is where tasks stick, or where they end without a word for it
    // ("cache ready"): only the user can tell, so say how to tell coroner. Not of a stage whose
    // name says something is under way ("waiting for config").
    // The ends learned are given too: --end-stage turns learning off.
    std::string hint;
    if (end_hint && !options.user_end_words && store && stage < store->words().size() &&
        !store->is_other_stage(stage) && store->meaning(stage) == Lifecycle::none &&
        !describes_ongoing(store->words().view(stage))) {
      for (const LearnedEnd& end : learned_ends)
        hint += fmt::format("--end-stage {} ", shell_quoted(store->words().view(end.stage)));
      hint = fmt::format(" (if tasks end there, {}--end-stage {} says so)", hint,
                         shell_quoted(store->words().view(stage)));
    }
    say(fmt::format("no task ever finished that stage{}; stages normally take up to {} (p99)", hint,
                    format_duration(p99)));
    return std::max<int64_t>(scaled(p99, margin), 1);
  }
  // Nothing to learn from: silent for more than half of the log is hung.
  say("nothing in the log to compare with, so half the log's span is the limit");
  return elapsed(log_start, log_end) / 2;
}

int64_t judged_at(const TaskStore& store, uint32_t task, int64_t last_seen, int64_t log_end) {
  uint32_t scope = store.tasks()[task].scope;
  if (const PendingAtExit* pending = store.pending_at_exit(task))
    return store.stop_after(scope, pending->time).value_or(pending->time);
  return store.stop_after(scope, last_seen).value_or(log_end);
}

std::string shell_quoted(std::string_view word) {
  bool plain = !word.empty() && word.find_first_not_of(
                                    "abcdefghijklmnopqrstuvwxyz"
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                    "_-./:=,+@%") == std::string_view::npos;
  if (plain) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string quoted_stage(const TaskStore& store, uint32_t stage) {
  if (stage == kNone) return "(no stage)";
  // A message logged whole as a stage may be a request's body: a line of a report, not a page.
  constexpr size_t kLongest = 120;
  std::string_view name = store.words().view(stage);
  if (name.size() <= kLongest) return fmt::format("'{}'", name);
  return fmt::format("'{}'", shortened(name, kLongest));
}

std::string log_clock(const Analysis& analysis, uint32_t task, int64_t time) {
  int32_t offset = analysis.options.utc ? 0 : analysis.store->task_utc_offset(task);
  return format_clock(time, offset);
}

std::string shortened(std::string_view text, size_t limit) {
  text = text.substr(0, text.find('\n'));
  if (text.size() <= limit) return std::string(text);
  size_t cut = text.rfind(' ', limit);
  if (cut == std::string_view::npos || cut < limit / 2) cut = limit;
  // Never cut inside a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

Analysis analyze(const TaskStore& store, const AnalysisOptions& options) {
  if (!store.finished()) throw std::logic_error("analyze: TaskStore::finish() was not called");
  Analysis analysis;
  analysis.store = &store;
  analysis.graph = TaskGraph(store);
  Analyzer(store, options, analysis).run();
  return analysis;
}

}  // namespace coroner
