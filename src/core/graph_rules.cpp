#include "graph_rules.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "lifecycle.hpp"

namespace coroner {

namespace {

bool unfinished(const Analysis& a, uint32_t task) {
  return a.outcomes[task].outcome == Outcome::open;
}

bool ended_badly(const Analysis& a, uint32_t task) {
  Outcome o = a.outcomes[task].outcome;
  return o == Outcome::failed || o == Outcome::timed_out || o == Outcome::cancelled;
}

}  // namespace

namespace {

class GraphRules {
 public:
  GraphRules(const TaskStore& store, Analysis& analysis)
      : store_(store), a_(analysis), graph_(analysis.graph), cycle_of_(store.tasks().size(), -1) {}

  void run() {
    // In-flight tasks are still at work: neither deadlocked nor a reason to be blocked.
    active_.assign(store_.tasks().size(), false);
    for (const Finding& f : a_.findings) {
      if (f.kind != FindingKind::in_flight) continue;
      active_[f.task] = true;
      if (f.subkind == "idle") idle_.insert(f.task);
    }
    std::vector<bool> stalled(store_.tasks().size(), false);
    for (uint32_t t = 0; t < stalled.size(); ++t)
      stalled[t] = unfinished(a_, t) && store_.tasks()[t].logged && !active_[t];
    cycles_ = graph_.deadlock_cycles(stalled);
    // Tasks stuck until they were cancelled (a timeout around them, a shutdown), waiting on
    // each other: a deadlock that the cancellation broke.
    stuck_.assign(store_.tasks().size(), false);
    bool any_stuck = false;
    for (const Finding& f : a_.findings)
      if (stuck_until_cancelled(f)) stuck_[f.task] = any_stuck = true;
    if (any_stuck)
      for (auto& cycle : graph_.deadlock_cycles(stuck_)) cycles_.push_back(std::move(cycle));
    for (size_t c = 0; c < cycles_.size(); ++c)
      for (uint32_t t : cycles_[c]) cycle_of_[t] = int32_t(c);
    add_cycles_pending_at_exit();
    for (Finding& f : a_.findings) {
      rewrite(f);
      if (f.kind == FindingKind::timeout && f.chain.empty()) name_what_the_timeout_cut_off(f);
    }
    clear_cancelled_waits_on_work();
    blame_stuck_on_stuck();
    clear_failures_told_of_children();
    clear_timeouts_passed_on_from_children();
    // A rewrite may have turned a hung task into an in-flight one: flagged follows the findings.
    for (TaskOutcome& o : a_.outcomes) o.flagged = false;
    for (const Finding& f : a_.findings)
      if (!is_information(f.kind)) a_.outcomes[f.task].flagged = true;
    add_orphans();
    if (graph_.has_await_edges()) add_unobserved_children();
  }

 private:
  std::string label(uint32_t t) const { return std::string(store_.task_value(t)); }
  std::string stage_of(uint32_t t) const { return quoted_stage(store_, store_.tasks()[t].stage); }
  std::string at(uint32_t t, int64_t time) const { return log_clock(a_, t, time); }
  // "in stage 'x' since 09:23:19.610115", or "since 09:23:19.610115" for a task that logged no
  // stage.
  std::string waiting_since(uint32_t t) const {
    const Task& task = store_.tasks()[t];
    if (task.stage == kNone) return fmt::format("since {}", at(t, a_.outcomes[t].end));
    return fmt::format("in stage {} since {}", stage_of(t), at(t, task.stage_since));
  }

  // Tasks pending at their process's exit, each waiting on the next alone (its pending record
  // names one task: a Lock's holder, a task it awaits) and back to the first: a cycle no wait
  // ever ends, however short the silence when the process stopped (a timer task kept the log
  // going, so stage times never told them stuck).
  void add_cycles_pending_at_exit() {
    const auto& pending = store_.tasks_pending_at_exit();
    auto only_wait = [&](uint32_t task) {
      auto it = pending.find(task);
      bool one = it != pending.end() && it->second.awaits.size() == 1 && unfinished(a_, task);
      return one ? it->second.awaits.front() : kNone;
    };
    std::vector<uint32_t> starts;
    for (const auto& [task, note] : pending) starts.push_back(task);
    std::sort(starts.begin(), starts.end());  // the same cycles, in the same order, every run
    for (uint32_t start : starts) {
      if (cycle_of_[start] >= 0) continue;
      std::vector<uint32_t> path{start};
      for (uint32_t at = only_wait(start); at != kNone && cycle_of_[at] < 0; at = only_wait(at)) {
        if (at == start) {
          // Named from its lowest member, as deadlock_cycles names the others.
          std::rotate(path.begin(), std::min_element(path.begin(), path.end()), path.end());
          // Stuck, though lately heard of: a task waiting on one of them waits on no work.
          for (uint32_t t : path) {
            cycle_of_[t] = int32_t(cycles_.size());
            active_[t] = false;
          }
          cycles_.push_back(std::move(path));
          break;
        }
        if (std::find(path.begin(), path.end(), at) != path.end()) break;  // a loop not via start
        path.push_back(at);
      }
    }
  }

  // A task stuck until it was cancelled while it waited on another stuck until then (a shutdown
  // cancelling both, a parent action and the child it waits for): blocked on it, one problem,
  // told at its root. Its subkind stays. After the waits on work are cleared: a supervisor whose
  // pool was at work was not stuck, and blames nothing.
  void blame_stuck_on_stuck() {
    stuck_.assign(store_.tasks().size(), false);
    for (const Finding& f : a_.findings)
      if (stuck_until_cancelled(f)) stuck_[f.task] = true;
    for (Finding& f : a_.findings)
      if (stuck_until_cancelled(f) && cycle_of_[f.task] < 0) blame_another_stuck(f);
  }

  void blame_another_stuck(Finding& f) {
    std::vector<uint32_t> chain{f.task};
    for (uint32_t at = f.task, next = kNone;; at = next, next = kNone) {
      // Only a task still stuck when this one fell silent holds it up: `awaits` names every
      // task it ever waited on, and one cancelled before it moved on held up nothing.
      int64_t silent_since = last_own_record(at);
      for (uint32_t w : store_.tasks()[at].awaits)
        if (stuck_[w] && a_.outcomes[w].end >= silent_since &&
            std::find(chain.begin(), chain.end(), w) == chain.end()) {
          next = w;
          break;
        }
      if (next == kNone) break;
      chain.push_back(next);
    }
    if (chain.size() < 2) return;
    uint32_t root = chain.back();
    change_kind(f, FindingKind::blocked);
    f.chain = chain;
    f.reason = fmt::format("waits on {}, which hung in stage {} until it was cancelled",
                           label(root), stage_of(root));
    if (chain.size() > 2) f.reason += fmt::format(" ({} tasks deep)", chain.size() - 1);
  }

  // The time of the task's last record of its own before its cancellation: not the cancel
  // request, not the end the cancellation wrote.
  int64_t last_own_record(uint32_t task) const {
    const EventList& events = store_.tasks()[task].events;
    for (size_t i = events.size(); i-- > 0;) {
      const Event& e = events[i];
      if (!e.cancel_request && record_meaning(store_, e) != Lifecycle::ended_cancelled)
        return e.time;
    }
    return store_.tasks()[task].first_time;
  }

  // What an in-flight task waited on is doing: an idle worker is not "at work", and a task
  // waiting for its end waits for work to come to it.
  std::string_view at_work(uint32_t task) const {
    return idle_.contains(task) ? "which is idle, waiting for work to come to it"
                                : "which is still at work";
  }

  static bool stuck_until_cancelled(const Finding& f) {
    return f.kind == FindingKind::hung && f.subkind == "until-cancelled";
  }

  // A hung, in-flight or silently dead task that is part of a cycle, or waits on a root cause.
  void rewrite(Finding& f) {
    // Its subkind stays: the deadlock lasted until the tasks were cancelled.
    if (stuck_until_cancelled(f) && cycle_of_[f.task] >= 0)
      return deadlock(f, cycles_[size_t(cycle_of_[f.task])]);
    bool open_kind = f.kind == FindingKind::hung || f.kind == FindingKind::in_flight;
    // A task hung until it was cancelled waits on nothing any more.
    if (!open_kind || !unfinished(a_, f.task)) return;
    if (cycle_of_[f.task] >= 0) return deadlock(f, cycles_[size_t(cycle_of_[f.task])]);
    if (uint32_t holder = holder_that_ended(f.task); holder != kNone)
      return blocked_on_ended_holder(f, holder);
    if (f.kind != FindingKind::hung) return;
    if (uint32_t holder = holder_at_work(f.task); holder != kNone) {
      // A semaphore wakes its waiter when any of its holders releases it: one still at work
      // will, whatever the others do.
      change_kind(f, FindingKind::in_flight);
      f.chain = {f.task, holder};
      f.reason = fmt::format("waits on {}, {}", label(holder), at_work(holder));
      f.detail = fmt::format("waiting {}", waiting_since(f.task));
      return;
    }
    auto chain = graph_.blame_chain(f.task, a_.outcomes, cycle_of_, active_);
    if (chain.size() < 2) return;
    uint32_t root = chain.back();
    if (active_[root]) {
      // It waits on a task that is still working: the wait is not over, so it is not hung.
      change_kind(f, FindingKind::in_flight);
      f.chain = chain;
      f.reason = fmt::format("waits on {}, {}", label(root), at_work(root));
      f.detail = fmt::format("waiting {}", waiting_since(f.task));
      return;
    }
    std::string why, when;
    if (cycle_of_[root] >= 0) {
      why = "is deadlocked";
    } else if (ended_badly(a_, root)) {
      why = a_.outcomes[root].outcome == Outcome::cancelled   ? "was cancelled"
            : a_.outcomes[root].outcome == Outcome::timed_out ? "timed out"
                                                              : "failed";
      when = fmt::format("; {} {} at {}", label(root), why, at(root, a_.outcomes[root].end));
    } else if (!store_.tasks()[root].logged) {
      why = "never logged anything";
    } else {
      why = fmt::format("hangs in stage {}", stage_of(root));
    }
    change_kind(f, FindingKind::blocked);
    f.chain = chain;
    f.reason = fmt::format("waits on {}, which {}", label(root), why);
    if (chain.size() > 2) f.reason += fmt::format(" ({} tasks deep)", chain.size() - 1);
    f.detail = fmt::format("waiting {}{}", waiting_since(f.task), when);
  }

  // What a task pending at its process's exit waited on, when it waited for an asyncio.Lock
  // whose holder had ended by an exception before the exit (`await lock.acquire()` with no
  // `finally`, then cancelled). Such a wait never ends, however short the silence (a waiter with
  // no stage is judged by the whole log's times). kNone when the wait may still end.
  uint32_t holder_that_ended(uint32_t task) const {
    const PendingAtExit* pending = store_.pending_at_exit(task);
    // Only a Lock's holder: a task awaited that ended has woken its waiter, which may not have
    // run yet, and a semaphore's permit is given back by whoever releases it (a rate limiter's
    // call_later(1, sem.release)).
    if (!pending || pending->awaits.size() != 1 ||
        !pending->waiting_for.starts_with("asyncio.Lock ") ||
        pending->waiting_for.find(", held by ") == std::string::npos)
      return kNone;
    // Ended by an exception, which skipped its release; one that ended ok may have handed the
    // lock on to be released by another.
    uint32_t holder = pending->awaits.front();
    if (!ended_badly(a_, holder) || a_.outcomes[holder].end > pending->time) return kNone;
    return holder;
  }

  void blocked_on_ended_holder(Finding& f, uint32_t holder) {
    Outcome o = a_.outcomes[holder].outcome;
    std::string how = o == Outcome::cancelled   ? "was cancelled"
                      : o == Outcome::timed_out ? "timed out"
                      : o == Outcome::failed    ? "failed"
                                                : "ended";
    change_kind(f, FindingKind::blocked);
    f.chain = {f.task, holder};
    f.reason = fmt::format("waits on {}, which {} at {} without releasing what it held",
                           label(holder), how, at(holder, a_.outcomes[holder].end));
    f.detail = fmt::format("waiting {}; {}", waiting_since(f.task),
                           store_.pending_at_exit(f.task)->waiting_for);
  }

  // A TimeoutError that ended a wait (`wait_for(fetch_task, 0.05)`) cancelled what the task
  // waited on: the awaited task cancelled during that wait is what it timed out on, the chain's
  // root (which is not hung of its own for it: Analyzer::judge_cancelled).
  void name_what_the_timeout_cut_off(Finding& f) const {
    const Task& task = store_.tasks()[f.task];
    const EventList& events = task.events;
    size_t i = 0;
    while (i < events.size() && events[i].time < f.time) ++i;
    if (i == events.size() || events[i].time != f.time || events[i].error == kNone) return;
    size_t wait = i;
    while (wait > 0 && events[wait - 1].cancel_request) --wait;
    if (wait == 0 || !events[wait - 1].wait) return;
    int64_t began = events[wait - 1].time;
    for (uint32_t w : task.awaits) {
      const TaskOutcome& o = a_.outcomes[w];
      if (o.outcome == Outcome::cancelled && o.end >= began && o.end <= f.time) {
        f.chain = {f.task, w};
        return;
      }
    }
  }

  // What the task was waiting on at its last record: the asyncio module's pending record at its
  // stop, else its last record when that is a wait (past cancel requests).
  std::string_view last_wait(uint32_t t) const {
    const Task& task = store_.tasks()[t];
    const PendingAtExit* pending = store_.pending_at_exit(t);
    if (pending && !pending->waiting_for.empty()) return pending->waiting_for;
    size_t i = task.events.size();
    while (i > 0 && task.events[i - 1].cancel_request) --i;
    if (i == 0 || !task.events[i - 1].wait || task.events[i - 1].text == kNone) return {};
    return store_.stage_text(task.events[i - 1]);
  }

  // The asyncio module names a semaphore's holders: "asyncio.Semaphore created at app.py:9,
  // held by a, b". The waiter waits on any of them, not on all (a gather's children): one of
  // them still at work, when there is one, else kNone.
  uint32_t holder_at_work(uint32_t t) const {
    std::string_view wait = last_wait(t);
    constexpr std::string_view kHeldBy = ", held by ";
    size_t held = wait.find(kHeldBy);
    if (!wait.starts_with("asyncio.") || held == std::string_view::npos) return kNone;
    std::string_view holders = wait.substr(held + kHeldBy.size());
    for (uint32_t w : store_.tasks()[t].awaits) {
      if (!active_[w]) continue;
      std::string name = label(w);
      for (size_t at = holders.find(name); at != std::string_view::npos;
           at = holders.find(name, at + 1)) {
        size_t end = at + name.size();
        bool starts = at == 0 || (at >= 2 && holders.substr(at - 2, 2) == ", ");
        bool ends = end == holders.size() || holders.substr(end, 2) == ", ";
        if (starts && ends) return w;
      }
    }
    return kNone;
  }

  // A task hung until it was cancelled while it waited on tasks still at work (a service
  // gathering its long-lived workers, cancelled by the shutdown) was not stuck: its wait was not
  // over. The same task still waiting when the log ends is in-flight (rewrite); the cancellation
  // only ended that wait. A supervisor of supervisors is cleared once those under it are.
  void clear_cancelled_waits_on_work() {
    std::vector<size_t> candidates;
    std::vector<bool> stuck(store_.tasks().size(), false), at_work(store_.tasks().size(), false);
    for (size_t i = 0; i < a_.findings.size(); ++i) {
      const Finding& f = a_.findings[i];
      if (f.kind == FindingKind::in_flight) at_work[f.task] = true;
      if (f.kind != FindingKind::hung && f.kind != FindingKind::blocked &&
          f.kind != FindingKind::deadlock)
        continue;
      stuck[f.task] = true;
      if (f.kind == FindingKind::hung && f.subkind == "until-cancelled" &&
          !store_.tasks()[f.task].awaits.empty())
        candidates.push_back(i);
    }
    std::vector<bool> drop(a_.findings.size(), false);
    for (bool changed = !candidates.empty(); changed;) {
      changed = false;
      for (size_t i : candidates) {
        const Finding& f = a_.findings[i];
        if (drop[i] || !waited_on_work(f.task, f.time, stuck, at_work)) continue;
        drop[i] = changed = true;
        stuck[f.task] = false;
      }
    }
    size_t kept = 0;
    for (size_t i = 0; i < a_.findings.size(); ++i) {
      if (drop[i]) continue;
      if (kept != i) a_.findings[kept] = std::move(a_.findings[i]);
      ++kept;
    }
    a_.findings.resize(kept);
  }

  // A supervisor that logs "batch failed" just after its child batch failed, and goes on, tells
  // of its child's failure: the child's own records and outcome say it failed, and the
  // supervisor's word is no error of its own that it swallowed. Dropped when a child (or a task
  // it awaited) ended failed or timed out after the supervisor's previous record and no later
  // than the word.
  void clear_failures_told_of_children() {
    std::erase_if(a_.findings, [&](const Finding& f) {
      return f.kind == FindingKind::lost_exception && f.subkind == "swallowed" &&
             tells_of_a_child(f.task, f.time);
    });
  }

  // An eliot action (or a span, a task awaiting its child) that fails of the TimeoutError of a
  // child that timed out just before: the exception passed through it, and the child's timeout
  // is the one problem. Dropped when the timeout of the finding ended the task, and a child (or
  // a task it awaited) timed out after the task's previous record and no later than that end.
  // A timeout of the task's own (a wait_for around the child, which cuts it off: cancelled,
  // not timed out) stays.
  void clear_timeouts_passed_on_from_children() {
    std::erase_if(a_.findings, [&](const Finding& f) {
      if (f.kind != FindingKind::timeout || a_.outcomes[f.task].outcome != Outcome::timed_out ||
          a_.outcomes[f.task].end != f.time)
        return false;
      return child_timed_out_then(f.task, f.time);
    });
  }

  bool child_timed_out_then(uint32_t t, int64_t ended_at) const {
    return child_ended_just_before(t, ended_at, [&](const TaskOutcome& o, int64_t before) {
      return o.outcome == Outcome::timed_out && o.end >= before && o.end <= ended_at;
    });
  }

  bool tells_of_a_child(uint32_t t, int64_t said_at) const {
    return child_ended_just_before(t, said_at, [&](const TaskOutcome& o, int64_t before) {
      return (o.outcome == Outcome::failed || o.outcome == Outcome::timed_out) && o.end > before &&
             o.end <= said_at;
    });
  }

  // Whether a child of `t` (or a task it awaited) ended as `ended(outcome, before)` says, where
  // `before` is the time of t's record before its record at `at`.
  template <typename Ended>
  bool child_ended_just_before(uint32_t t, int64_t at, Ended ended) const {
    const EventList& events = store_.tasks()[t].events;
    const Event* record =
        std::find_if(events.begin(), events.end(), [&](const Event& e) { return e.time == at; });
    if (record == events.end()) return false;
    int64_t before = record == events.begin() ? INT64_MIN : (record - 1)->time;
    auto ended_then = [&](uint32_t c) { return ended(a_.outcomes[c], before); };
    for (uint32_t c : graph_.children(t))
      if (store_.tasks()[c].parent == t && ended_then(c)) return true;
    const auto& awaited = store_.tasks()[t].awaits;
    return std::any_of(awaited.begin(), awaited.end(), ended_then);
  }

  // Whether what `t` awaited, silent since `silent_since` and then cancelled, was at work: none
  // of it stuck (a finding that says so, a failure or a timeout while it waited, a task only
  // named), and some of it cancelled with `t` without being stuck, or still in flight. A task
  // that ended ok holds no wait: it woke `t`, or `t` waited on others.
  bool waited_on_work(uint32_t t, int64_t silent_since, const std::vector<bool>& stuck,
                      const std::vector<bool>& at_work) const {
    bool work = false;
    for (uint32_t w : store_.tasks()[t].awaits) {
      const TaskOutcome& o = a_.outcomes[w];
      if (!store_.tasks()[w].logged) return false;
      if (o.outcome == Outcome::ok || (o.outcome != Outcome::open && o.end < silent_since))
        continue;
      if (stuck[w] || o.outcome == Outcome::failed || o.outcome == Outcome::timed_out) return false;
      if (o.outcome == Outcome::open && !at_work[w]) return false;
      work = true;
    }
    return work;
  }

  void deadlock(Finding& f, const std::vector<uint32_t>& cycle) {
    std::string members;
    for (uint32_t t : cycle)
      members += fmt::format("{}{} in {}", members.empty() ? "" : " -> ", label(t), stage_of(t));
    change_kind(f, FindingKind::deadlock);
    f.members = cycle;
    f.chain.clear();
    std::string names;
    for (uint32_t t : cycle) names += label(t) + " -> ";
    std::string_view until = f.subkind == "until-cancelled" ? ", until cancelled" : "";
    if (cycle.size() == 1)
      f.reason = fmt::format("waiting on itself: {}{} (it holds what it waits for, a lock say){}",
                             names, label(cycle.front()), until);
    else
      f.reason = fmt::format("a cycle of {} tasks waiting on each other: {}{}{}", cycle.size(),
                             names, label(cycle.front()),
                             f.subkind == "until-cancelled" ? ", until they were cancelled" : "");
    f.detail = members;
  }

  bool is_eliot_action(uint32_t task) const {
    const EventList& events = store_.tasks()[task].events;
    if (events.empty()) return false;
    uint32_t file = events.front().file;
    return file < store_.formats().size() && store_.formats()[file].dialect == Dialect::eliot;
  }

  // The program's main task, or a task that stands for it: the one task main awaited alone
  // (wait_for(main(), ...) before 3.12 runs main in a task of its own; main gathering one
  // serve()), and so on down.
  bool stands_for_main(uint32_t task) const {
    const auto& tasks = store_.tasks();
    constexpr int kDeepest = 64;  // a log's parents may form a cycle
    uint32_t at = task;
    for (int depth = 0; tasks[at].parent != kNone; ++depth, at = tasks[at].parent) {
      const TaskList& awaited = tasks[tasks[at].parent].awaits;
      if (depth == kDeepest || awaited.size() != 1 || awaited[0] != at) return false;
    }
    return true;
  }

  // A child still running after its parent ended. A child already flagged (hung, deadlocked,
  // blocked) is not reported again as an orphan: its own finding is the news.
  void add_orphans() {
    const auto& tasks = store_.tasks();
    for (uint32_t t = 0; t < tasks.size(); ++t) {
      uint32_t parent = tasks[t].parent;
      if (parent == kNone || !unfinished(a_, t) || !tasks[t].logged) continue;
      if (a_.outcomes[t].flagged) continue;
      if (unfinished(a_, parent) || !tasks[parent].logged) continue;
      // Pending when its process stopped, under the program's main task (or one that stands
      // for it): the program's own background work, whenever main ended (asyncio.run writes
      // main's end just before the pending tasks; a Runner's first run() or an init coroutine
      // before run_forever() ends long before, and the task lives on by design). A parent that
      // some task created (a request's handler) ended when its work did, however close to the
      // stop: what it left running is as orphaned as the ones it left earlier. One cancelled
      // then (within 100 ms of that stop) was cut off by the shutdown, with what it had started.
      constexpr int64_t kWithTheStop = 100'000'000;  // 100 ms
      // (A clean-up that hung after main returned is stopped later, and the task is pending
      // then too: the stop that the parent's end was is what counts.)
      if (const PendingAtExit* pending = store_.pending_at_exit(t)) {
        if (stands_for_main(parent)) continue;
        int64_t parent_end = a_.outcomes[parent].end;
        int64_t stop = std::min(
            pending->time, store_.stop_after(tasks[t].scope, parent_end).value_or(pending->time));
        if (a_.outcomes[parent].outcome == Outcome::cancelled && parent_end + kWithTheStop >= stop)
          continue;
      }
      std::string reason =
          fmt::format("still unfinished in stage {} though its parent {} ended {}", stage_of(t),
                      label(parent), to_string(a_.outcomes[parent].outcome));
      Finding f = make_finding(FindingKind::orphan, t, std::move(reason), a_.outcomes[parent].end,
                               tasks[t].stage);
      f.detail = fmt::format("its last record at {}; the parent ended at {}",
                             at(t, a_.outcomes[t].end), at(parent, a_.outcomes[parent].end));
      f.chain = {t, parent};
      a_.outcomes[t].flagged = true;
      a_.findings.push_back(std::move(f));
    }
  }

  void add_unobserved_children() {
    const auto& tasks = store_.tasks();
    std::unordered_set<uint32_t> already_lost;
    for (const Finding& f : a_.findings)
      if (f.kind == FindingKind::lost_exception) already_lost.insert(f.task);
    for (uint32_t t = 0; t < tasks.size(); ++t) {
      uint32_t parent = tasks[t].parent;
      if (parent == kNone || already_lost.count(t)) continue;
      Outcome o = a_.outcomes[t].outcome;
      if (o != Outcome::failed && o != Outcome::timed_out) continue;
      if (a_.outcomes[parent].outcome != Outcome::ok) continue;
      // An eliot action that began after its parent ended (preserve_context handing it to a
      // thread pool): the parent's enclosing it waited on nothing. (A span's parent ending
      // first is a message's producer and its consumer: the reader's edge stands.)
      const auto& awaited = tasks[parent].awaits;
      bool began_after = tasks[t].first_time > a_.outcomes[parent].end && is_eliot_action(t);
      if (!began_after && std::find(awaited.begin(), awaited.end(), t) != awaited.end()) continue;
      std::string reason =
          fmt::format("{} in stage {}; its parent {} ended ok and never awaited it",
                      o == Outcome::failed ? "failed" : "timed out", stage_of(t), label(parent));
      Finding f = make_finding(FindingKind::lost_exception, t, std::move(reason),
                               a_.outcomes[t].end, tasks[t].stage, "unobserved-child");
      f.detail = fmt::format("{} at {}; the parent ended at {}",
                             o == Outcome::failed ? "failed" : "timed out",
                             at(t, a_.outcomes[t].end), at(parent, a_.outcomes[parent].end));
      f.chain = {t, parent};
      a_.outcomes[t].flagged = true;
      a_.findings.push_back(std::move(f));
    }
  }

  const TaskStore& store_;
  Analysis& a_;
  const TaskGraph& graph_;
  std::vector<std::vector<uint32_t>> cycles_;
  std::vector<int32_t> cycle_of_;
  std::vector<bool> stuck_;  // by task: hung until it was cancelled
  std::vector<bool> active_;
  std::unordered_set<uint32_t> idle_;  // in-flight tasks idle, waiting for work (few)
};

}  // namespace

void apply_graph_rules(const TaskStore& store, Analysis& analysis) {
  // A log with neither parents nor awaits (the seed's) has no graph: spend nothing on one.
  if (analysis.graph.has_edges()) GraphRules(store, analysis).run();
}

}  // namespace coroner
