(function () {
'use strict';
var SVGNS = document.getElementById('logo').namespaceURI;  /* the inline svg's own namespace */
var DATA = JSON.parse(document.getElementById('coroner-data').textContent);
var R = DATA.report, P = DATA.page;

var KINDS = ['deadlock', 'hung', 'blocked', 'timeout', 'lost-exception', 'orphan',
  'destroyed-pending', 'anomaly', 'retried', 'in-flight'];
var KIND_TEXT = {
  'deadlock': 'tasks waiting on each other in a cycle',
  'hung': 'started, never ended, silent far longer than their stage takes',
  'blocked': 'waiting on a task that hung or failed',
  'timeout': 'timed out or ran past a deadline',
  'lost-exception': 'an exception that never reached the outcome',
  'orphan': 'still running after the parent ended',
  'destroyed-pending': 'destroyed by asyncio while pending',
  'anomaly': 'records out of the usual order',
  'retried': 'an error or timeout that a retry handled (information)',
  'in-flight': 'still working when the log ends (information)'
};
var SEV_RANK = { error: 0, warning: 1, info: 2 };
var OUTCOMES = ['ok', 'failed', 'timed-out', 'cancelled', 'open'];
var PALETTE = ['#4c78a8', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d',
  '#79706e', '#f58518', '#bab0ac', '#5e60ce', '#2a9d8f'];
var PAGE_ROWS = 300, GANTT_ROWS = 400, HISTOGRAMS = 48;
var TABLE_ID = 32;  /* characters of a task id in the findings table; the whole id on hover */

/* ---------- small helpers ---------- */
function el(tag, attrs, children) {
  var e = document.createElement(tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}
function sv(tag, attrs, children) {
  var e = document.createElementNS(SVGNS, tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}
function setAttrs(e, attrs) {
  if (!attrs) return;
  for (var k in attrs) {
    var v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.setAttribute('class', v);
    else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
}
function append(e, children) {
  if (children === null || children === undefined) return;
  if (!Array.isArray(children)) children = [children];
  children.forEach(function (c) {
    if (c === null || c === undefined || c === false) return;
    e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  });
}
function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
function num(n) { return Number(n).toLocaleString('en-US'); }
/* "2026-11-25T12:46:33.952902Z" -> microseconds since the epoch, without losing the micros. */
function usOf(iso) {
  var m = /^(.*?)(?:\.(\d+))?Z$/.exec(iso || '');
  if (!m) return NaN;
  var frac = m[2] ? Number((m[2] + '000000').slice(0, 6)) : 0;
  return Date.parse(m[1] + 'Z') * 1000 + frac;
}
function clock(iso) { return iso ? iso.slice(11, 26) : ''; }
// Where the asyncio module saw a pending task at its process's stop: suspended at a line and
// waiting for something, or running at a line, holding the loop.
function pendingWhere(pending) {
  var running = pending.running;
  return (pending.suspended_at ? (running ? ', running at ' : ', suspended at ') + pending.suspended_at : '') +
    (pending.waiting_for && !running ? ', waiting for ' + pending.waiting_for : '');
}
function sig(x) { return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2); }
function dur(us) {  /* a duration in microseconds, the way coroner's text report writes it */
  if (!isFinite(us)) return '-';
  var a = Math.abs(us);
  if (a < 1) return (us * 1000).toFixed(0) + 'ns';
  if (a < 1e3) return sig(us) + '\u00b5s';
  if (a < 1e6) return sig(us / 1e3) + 'ms';
  if (a < 60e6) return sig(us / 1e6) + 's';
  var m = Math.floor(us / 60e6);
  if (m < 60) return m + 'm' + Math.round((us - m * 60e6) / 1e6) + 's';
  return Math.floor(m / 60) + 'h' + (m % 60) + 'm';
}
/* A long id cut in the middle, where ids of one program differ least ('ingest.pipeline.cust…r-7f3a'):
   both ends stay readable; the whole id is on hover. */
function shortId(id, max) {
  if (id.length <= max) return id;
  var head = Math.ceil((max - 1) / 2), tail = Math.floor((max - 1) / 2);
  return id.slice(0, head) + '\u2026' + id.slice(id.length - tail);
}
/* The scope fields that tell the log's scopes apart; hostname=vm on every record tells nothing. */
function scopeText(scope) {
  var parts = [];
  for (var k in scope) if (!P.scope_fields || P.scope_fields.indexOf(k) >= 0) parts.push(k + '=' + scope[k]);
  return parts.join(' ');
}
function stageOf(ev) {
  if (ev.stage !== null && ev.stage !== undefined) return ev.stage;
  if (ev.waiting_for) return '(waits on ' + ev.waiting_for + ')';
  return ev.status ? 'status=' + ev.status : '(record)';
}
var stageColour = (function () {
  var map = {}, i = 0;
  (R.stages || []).forEach(function (s) { map[s.stage] = PALETTE[i++ % PALETTE.length]; });
  return function (name) {
    if (!(name in map)) map[name] = PALETTE[i++ % PALETTE.length];
    return map[name];
  };
})();
function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

/* ---------- tooltip ---------- */
var tip = document.getElementById('tooltip');
function showTip(text, ev) {
  tip.textContent = text;
  tip.hidden = false;
  var x = ev.clientX + 14, y = ev.clientY + 14;
  var r = tip.getBoundingClientRect();
  if (x + r.width > window.innerWidth - 8) x = ev.clientX - r.width - 14;
  if (y + r.height > window.innerHeight - 8) y = ev.clientY - r.height - 14;
  tip.style.left = Math.max(4, x) + 'px';
  tip.style.top = Math.max(4, y) + 'px';
}
function hideTip() { tip.hidden = true; }
function tipOn(node, textFn) {
  node.addEventListener('mousemove', function (ev) { showTip(textFn(), ev); });
  node.addEventListener('mouseleave', hideTip);
}

/* ---------- the model ---------- */
var LOG_START = usOf(R.input.start), LOG_END = usOf(R.input.end);
var tasks = R.tasks.map(function (t, i) {
  var evs = t.events.map(function (e) { return usOf(e.time); });
  var start = usOf(t.start), end = usOf(t.end);
  var open = t.outcome === 'open';
  return { i: i, t: t, times: evs, start: start, end: open ? Math.max(end, LOG_END) : end, open: open,
    findings: [] };
});
var findings = R.findings.map(function (f, i) {
  var subject = P.subjects[P.finding_subject[i]];
  return {
    i: i, f: f, subject: subject,
    task: subject.timeline === null ? null : tasks[subject.timeline],
    scope: scopeText(f.scope), timeUs: usOf(f.time)
  };
});
findings.forEach(function (x) { if (x.task) x.task.findings.push(x); });
/* A task that never logged (asyncio destroyed it, others only named it) has no start or end:
   it stands at its first finding, with no span. */
tasks.forEach(function (x) {
  if (!isNaN(x.start)) return;
  x.start = x.end = x.findings.length ? x.findings[0].timeUs : LOG_START;
  x.open = false;
});
/* A scope column only when the findings are in more than one scope; else the header says it. */
var scopes = {};
findings.forEach(function (x) { scopes[x.scope] = true; });
var hasScope = Object.keys(scopes).length > 1;
var onlyScope = Object.keys(scopes).length === 1 ? Object.keys(scopes)[0] : '';

/* ---------- header, summary cards, notes ---------- */
function renderHeader() {
  var files = R.input.files.join(', ');
  document.getElementById('title').textContent = 'Post-mortem of ' + files;
  var meta = document.getElementById('meta');
  append(meta, [
    el('span', { text: num(R.input.records) + ' records' }),
    el('span', { text: num(R.summary.tasks) + ' tasks' }),
    el('span', { text: dur(LOG_END - LOG_START) + ' of log' }),
    onlyScope ? el('span', { text: 'findings in ' + onlyScope }) : null,
    el('span', { class: 'mono', text: R.input.start.replace('T', ' ') + ' \u2192 ' + R.input.end.replace('T', ' ') })
  ]);
  document.getElementById('footer').textContent = 'Generated by ' + P.generator + ' (report schema ' +
    R.schema + '). Self-contained: this file loads nothing from the network.';
}

var kindFilter = document.getElementById('kind-filter');
var taskFilter = document.getElementById('task-filter');

function renderSummary() {
  var box = document.getElementById('summary');
  var oc = R.summary.outcomes, total = R.summary.tasks;
  var bar = el('div', { class: 'outcome-bar' });
  OUTCOMES.forEach(function (o) {
    if (!oc[o]) return;
    bar.appendChild(el('span', { title: o + ': ' + num(oc[o]), style: 'width:' + (100 * oc[o] / total) + '%;background:var(--' + o + ')' }));
  });
  var parts = OUTCOMES.filter(function (o) { return oc[o]; }).map(function (o) { return num(oc[o]) + ' ' + o; });
  box.appendChild(el('div', { class: 'card', style: 'grid-column: span 2' }, [
    el('div', { class: 'n', text: num(total) }), el('div', { class: 'label', text: 'tasks' }),
    el('div', { class: 'sub', text: parts.join(' \u00b7 ') }), bar]));
  var shown = findings.length;
  var failing = findings.filter(function (x) { return x.f.severity === 'error'; }).length;
  box.appendChild(el('div', { class: 'card ' + (failing ? 'sev-error' : shown ? 'sev-warning' : 'sev-clean') }, [
    el('div', { class: 'n', text: num(shown) }), el('div', { class: 'label', text: shown === 1 ? 'finding' : 'findings' }),
    el('div', { class: 'sub', text: shown ? num(P.tasks_on_page) + ' flagged tasks' : 'nothing went wrong' })]));
  KINDS.forEach(function (k) {
    var n = R.summary.findings[k];
    if (!n) return;
    var sev = 'info';
    findings.forEach(function (x) { if (x.f.kind === k && SEV_RANK[x.f.severity] < SEV_RANK[sev]) sev = x.f.severity; });
    box.appendChild(el('button', { type: 'button', class: 'card sev-' + sev, 'data-kind': k, 'aria-pressed': 'false',
      title: 'Show only ' + k + ' findings', onclick: function () {
        kindFilter.value = kindFilter.value === k ? '' : k;
        applyFilter();
      } }, [
      el('div', { class: 'n', text: num(n) }), el('div', { class: 'label', text: k }),
      el('div', { class: 'sub', text: KIND_TEXT[k] })]));
  });
}

function renderNotes() {
  var box = document.getElementById('notes');
  var clean = R.summary.tasks - P.tasks_on_page;
  box.appendChild(el('div', { class: 'note', id: 'kept-note' }, [
    'This page holds ', el('b', { text: num(P.tasks_on_page) + ' flagged tasks' }),
    ' (their timelines and the tasks around them) and the statistics of all ', el('b', { text: num(R.summary.tasks) + ' tasks' }),
    clean > 0 ? '; the other ' + num(clean) + ' tasks are counted, not listed (coroner timeline TASK, or --format chrome, shows any of them).' : '.']));
  if (R.summary.note) box.appendChild(el('div', { class: 'note', id: 'edges-note' }, ['Note: ' + R.summary.note + '.']));
  if (R.learned) {
    // One end per group of files that share no stage, the one most tasks end at first.
    var ends = R.learned.end_stages || [R.learned];
    var said = ['Learned: ' + (ends.length > 1 ? ends.length + ' groups of files that share no stage have' : 'the log has') +
      ' no word for a finished task; a task ends ok at stage '];
    ends.forEach(function (end, i) {
      if (i > 0) said.push(', at ');
      said.push(el('b', { text: '\u2018' + end.end_stage + '\u2019' }));
      said.push(i === 0 ? ' (the last stage of ' + num(end.tasks_ending_there) + ' of ' + num(end.tasks) + ' tasks)'
                        : ' in another group (' + num(end.tasks_ending_there) + ' of ' + num(end.tasks) + ')');
    });
    said.push('; --end-stage overrides.');
    box.appendChild(el('div', { class: 'note' }, said));
  }
  if (R.input.bad_lines) {
    var where = R.input.bad_line_examples.map(function (b) { return b.file + ':' + b.line; }).join(', ');
    box.appendChild(el('div', { class: 'note warn' }, [el('b', { text: num(R.input.bad_lines) + ' lines' }),
      ' were not JSON objects and were skipped' +
      (R.input.traceback_lines ? ', ' + num(R.input.traceback_lines) + ' of them a Python traceback\'s text' : '') +
      ' (' + where + ').']));
  }
  var untasked = R.input.first_untasked_error;
  if (untasked) {
    box.appendChild(el('div', { class: 'note warn' }, [el('b', { text: num(R.input.untasked_errors) + ' errors' }),
      ' were logged by records of no task (' + (R.input.untasked_errors > 1 ? 'the first: ' : '') +
      untasked.error + ', at ' + untasked.file + ':' + untasked.line + ').']));
  }
  R.input.damage.forEach(function (d) { box.appendChild(el('div', { class: 'note warn', text: d })); });
}

/* ---------- the problems: findings grouped, waiters under their root cause, the next step ---------- */
/* What a person acts on comes first: 2,460 tasks hung in one stage are one card, a cycle is one
   card naming its members, and a blocked task sits under the task it waits on. Each card is a
   few dozen nodes whatever its count: examples, tree lines and listed ids are capped. */
var PROBLEMS_SHOWN = 20, PROBLEM_EXAMPLES = 5, TREE_LINES = 12, MORE_IDS = 200;
var problems = R.problems || [];

/* A task as the reports print it, its id and the scope fields that differ: what the problems,
   the root causes and `coroner timeline` name it by ('Task-23 (pid=5531)'). */
function labelOf(x) { return x.f.task + (x.scope ? ' (' + x.scope + ')' : ''); }
/* A chain's or a cycle's task, named by its id alone: an await does not leave its process. */
function labelNear(x, id) { return id + (x.scope ? ' (' + x.scope + ')' : ''); }
var findingOfLabel = {};  /* 'kind:label' -> its finding */
findings.forEach(function (x) {
  var key = x.f.kind + ':' + labelOf(x);
  if (!(key in findingOfLabel)) findingOfLabel[key] = x;
});
function problemFinding(p, label) {
  return findingOfLabel[(p.root_cause ? 'blocked' : p.kind) + ':' + label] || null;
}

/* "deadlock.jsonl:63", the whole path on hover: where to open the log. */
function whereText(w) {
  if (!w) return null;
  return el('span', { class: 'where', text: w.file.split('/').pop() + ':' + w.line, title: w.file + ':' + w.line });
}

/* A task's name that opens its finding's detail, as a table row does. */
function taskLink(x, label) {
  if (!x) return el('span', { class: 'pb-task', text: label });
  return el('a', { class: 'pb-task', href: '#' + anchorOf(x), title: label, text: shortId(label, 48), onclick: function (ev) {
    ev.preventDefault();
    select(x);
    var row = tbody.querySelector('tr[data-index="' + x.i + '"]');
    if (row) row.scrollIntoView({ block: 'nearest' });
    document.getElementById('findings-panel').scrollIntoView({ block: 'start' });
  } });
}

/* The evidence that ends a blame chain: how the root cause ended, its last stage, its error or
   its silence, and where that record is. */
function rootEvidence(rc) {
  var parts = [outcomePill(rc.outcome)];
  if (rc.stage !== null) parts.push(' in stage \u2018' + rc.stage + '\u2019');
  parts.push(rc.outcome === 'open' ? ', silent ' + dur(rc.silent_s * 1e6) : ' at ' + clock(rc.last_record));
  if (rc.error) parts.push(': ', el('span', { class: 'err', text: rc.error }));
  if (rc.where) parts.push(' \u00b7 ', whereText(rc.where));
  return el('span', { class: 'pb-evidence' }, parts);
}

/* A finding's verdict, and under it, dim, the numbers it rests on. */
function reasonView(f) {
  return el('div', { class: 'reason' }, [el('div', { class: 'verdict', text: f.reason }),
    f.detail ? el('div', { class: 'reason-detail', text: f.detail }) : null]);
}
/* Where a blocked finding's chain ends, with that task's own evidence. */
function rootCauseView(rc) {
  return el('div', { class: 'pb-rootcause small' }, [el('span', { class: 'pb-label', text: 'root cause' }), ' ',
    el('span', { class: 'pb-task', text: rc.task }), ' ', rootEvidence(rc)]);
}

/* The range of a problem: when its evidence was first and last seen, and its longest silence. */
function problemRange(p) {
  var text = p.count === 1 ? 'at ' + clock(p.first)
    : 'first at ' + clock(p.first) + ', last at ' + clock(p.last) + ' (' + dur(usOf(p.last) - usOf(p.first)) + ' apart)';
  if (p.longest_silence_s > 0) text += (p.count === 1 ? '; silent ' : '; silent up to ') + dur(p.longest_silence_s * 1e6);
  return text;
}

/* Blocked findings as a tree: each waiter under the task it waits on, down to the root cause. */
function waitTree(labels, kind) {
  var nodes = {}, roots = [];
  function node(label) { return nodes[label] || (nodes[label] = { label: label, kids: [], x: null, rc: null, placed: false }); }
  labels.forEach(function (label) {
    var x = findingOfLabel['blocked:' + label];
    if (!x || !x.f.chain.length) return;
    var chain = x.f.chain, names = chain.map(function (id, i) {
      return i === 0 ? label : i === chain.length - 1 && x.f.root_cause ? x.f.root_cause.task : labelNear(x, id);
    });
    var root = node(names[names.length - 1]);
    if (!root.rc) { root.rc = x.f.root_cause; root.x = findingOfLabel[kind + ':' + root.label] || null; roots.push(root); }
    for (var i = names.length - 1; i > 0; --i) {
      var child = node(names[i - 1]);
      if (!child.placed) { child.placed = true; node(names[i]).kids.push(child); }
    }
    node(label).x = x;
  });
  return roots;
}

/* `named`: the roots have no finding of their own (a failed task), so the tree names them. */
function treeView(roots, total, named) {
  var lines = 0;
  function waiters(n) {
    var ul = el('ul');
    n.kids.forEach(function (k) {
      if (lines >= TREE_LINES) return;
      ++lines;
      var since = k.x ? (k.x.f.stage ? 'waits in stage \u2018' + k.x.f.stage + '\u2019 since ' : 'waits since ') + clock(k.x.f.time) : '';
      ul.appendChild(el('li', { 'data-task': k.label }, [el('div', { class: 'pb-line' }, [taskLink(k.x, k.label),
        since ? el('span', { class: 'muted small', text: ' ' + since }) : null]), k.kids.length ? waiters(k) : null]));
    });
    return ul;
  }
  var box = el('ul', { class: 'pb-tree' });
  roots.forEach(function (r) {
    if (lines >= TREE_LINES) return;
    box.appendChild(el('li', { class: 'pb-root', 'data-task': r.label }, [
      el('div', { class: 'pb-line' }, [named ? el('span', { class: 'pb-label', text: 'root cause' }) : null, named ? ' ' : null,
        taskLink(r.x, r.label), ' ', r.rc ? rootEvidence(r.rc) : null]), waiters(r)]));
  });
  var out = [box];
  if (total > lines) out.push(el('div', { class: 'muted small', text: '\u2026 and ' + num(total - lines) + ' more blocked (filter the table by kind \u2018blocked\u2019)' }));
  return out;
}

/* "... and N more", whose ids show when opened: one text node, however many. */
function moreIds(labels) {
  var box = el('details', { class: 'pb-more' }, el('summary', { text: '\u2026 and ' + num(labels.length) + ' more' }));
  box.addEventListener('toggle', function () {
    if (!box.open || box.childNodes.length > 1) return;
    var shown = labels.slice(0, MORE_IDS).join(', ');
    box.appendChild(el('div', { class: 'pb-ids', text: shown + (labels.length > MORE_IDS ? ', \u2026 (' + num(labels.length - MORE_IDS) + ' more in the table)' : '') }));
  });
  return box;
}

/* A command to paste, with a button that copies it; the text stays selectable. */
function commandLine(command) {
  var code = el('code', { class: 'pb-command', text: command });
  var status = el('span', { class: 'pb-copied small', role: 'status' });
  function selectIt() {
    var range = document.createRange();
    range.selectNodeContents(code);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  function say(text) {
    status.textContent = text;
    setTimeout(function () { if (status.textContent === text) status.textContent = ''; }, 2500);
  }
  var button = el('button', { type: 'button', class: 'pb-copy', 'aria-label': 'Copy the command ' + command, text: 'Copy', onclick: function () {
    var fallback = function () { selectIt(); say('selected: press Ctrl+C'); };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(command).then(function () { say('copied'); }, fallback);
    else fallback();
  } });
  return el('div', { class: 'pb-next' }, [code, button, status]);
}

function problemCard(p, n) {
  var first = problemFinding(p, p.tasks[0]);
  var sev = first ? first.f.severity : 'info';
  var card = el('article', { class: 'problem sev-' + sev, id: 'problem=' + n, tabindex: '-1', 'data-kind': p.kind, 'aria-labelledby': 'problem-title-' + n });
  var title;
  if (p.kind === 'deadlock' && first && first.f.members.length) {
    /* The cycle, once: each member opens its own finding. */
    var members = first.f.members.concat([first.f.members[0]]);
    title = el('span', { class: 'pb-title pb-cycle', id: 'problem-title-' + n }, members.map(function (id, i) {
      var label = labelNear(first, id);
      return [i ? el('span', { class: 'arrow', text: ' \u2192 ' }) : null, taskLink(findingOfLabel['deadlock:' + label] || null, label)];
    }).reduce(function (a, b) { return a.concat(b); }, []));
  } else {
    title = el('span', { class: 'pb-title', id: 'problem-title-' + n, text: p.title });
  }
  var count = p.kind === 'deadlock' ? num(p.count) + ' tasks in a cycle' : num(p.count) + (p.count === 1 ? ' task' : ' tasks');
  card.appendChild(el('div', { class: 'pb-head' }, [el('span', { class: 'badge sev-' + sev, text: p.kind + (p.subkind ? ' \u00b7 ' + p.subkind : '') }),
    title, el('span', { class: 'pb-count', text: count }),
    el('a', { class: 'permalink small', href: '#problem=' + n, title: 'link to this problem', 'aria-label': 'link to problem ' + n, text: '#' + n })]));
  card.appendChild(el('div', { class: 'pb-range muted small', text: problemRange(p) }));
  if (p.root_cause) {
    /* Its tasks wait on one with no finding of its own (it failed): the tree is the problem. */
    append(card, treeView(waitTree(p.tasks, 'blocked'), p.count, true));
  } else {
    var roots = waitTree(p.blocked, p.kind), inTree = {};
    roots.forEach(function (r) { inTree[r.label] = true; });
    /* The tasks the tree does not show already, a few of them. */
    var others = p.tasks.filter(function (label) { return !inTree[label]; });
    if (p.kind !== 'deadlock' && others.length) {
      var examples = el('div', { class: 'pb-examples' });
      others.slice(0, PROBLEM_EXAMPLES).forEach(function (label, i) {
        var x = problemFinding(p, label);
        append(examples, [i ? ', ' : null, taskLink(x, label)]);
        if (x && x.f.where) append(examples, [' (', whereText(x.f.where), ')']);
      });
      if (others.length > PROBLEM_EXAMPLES) examples.appendChild(moreIds(others.slice(PROBLEM_EXAMPLES)));
      card.appendChild(examples);
    }
    if (p.blocked.length) {
      card.appendChild(el('div', { class: 'pb-sub', text: 'blocked on ' + (roots.length === 1 ? 'it' : 'them') + ' (' + num(p.blocked.length) + '):' }));
      append(card, treeView(roots, p.blocked.length));
    }
  }
  if (p.next.length) {
    card.appendChild(el('div', { class: 'pb-nexts' }, [el('span', { class: 'pb-label', text: 'next' }),
      el('div', null, p.next.map(commandLine))]));
  }
  return card;
}

/* The first `upTo` problems' cards, and a button for the rest. */
function renderProblems(upTo) {
  var panel = document.getElementById('problems-panel');
  if (!problems.length) { panel.hidden = true; return; }
  var list = clear(document.getElementById('problems'));
  var shown = findings.length === 1 ? '1 finding' : num(findings.length) + ' findings';
  document.getElementById('problems-count').textContent = shown + ' in ' + num(problems.length) +
    (problems.length === 1 ? ' problem' : ' problems') + ', worst first; the table below lists each finding';
  problems.slice(0, upTo).forEach(function (p, i) { list.appendChild(problemCard(p, i + 1)); });
  if (problems.length > upTo) {
    list.appendChild(el('button', { type: 'button', class: 'more', text: 'Show all ' + num(problems.length) + ' problems',
      onclick: function () { renderProblems(problems.length); } }));
  }
}

/* #problem=N: the page opened at a problem shows it. */
function showLinkedProblem() {
  var m = /^#problem=(\d+)$/.exec(location.hash);
  if (!m) return;
  var n = Number(m[1]);
  if (n < 1 || n > problems.length) return;
  if (!document.getElementById('problem=' + n)) renderProblems(problems.length);
  var card = document.getElementById('problem=' + n);
  document.querySelectorAll('.problem.linked').forEach(function (c) { c.classList.remove('linked'); });
  card.classList.add('linked');
  card.scrollIntoView({ block: 'start' });
  card.focus({ preventScroll: true });
}

/* ---------- the findings table: sort, filter, select ---------- */
var tbody = document.querySelector('#findings tbody');
var sortKey = null, sortDir = 1, visible = [], shownRows = PAGE_ROWS, selected = null, pageReady = false;
var KEYS = {
  severity: function (x) { return SEV_RANK[x.f.severity]; },
  kind: function (x) { return KINDS.indexOf(x.f.kind); },
  task: function (x) { return x.f.task; },
  scope: function (x) { return x.scope; },
  stage: function (x) { return x.f.stage || ''; },
  time: function (x) { return x.timeUs; },
  outcome: function (x) { return OUTCOMES.indexOf(x.f.outcome); },
  reason: function (x) { return x.f.reason; }
};
var collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
function compare(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  return collator.compare(String(a), String(b));
}

function renderKindOptions() {
  KINDS.forEach(function (k) {
    var n = findings.filter(function (x) { return x.f.kind === k; }).length;
    if (n) kindFilter.appendChild(el('option', { value: k, text: k + ' (' + n + ')' }));
  });
}

function matches(x, kind, needle) {
  if (kind && x.f.kind !== kind) return false;
  if (needle && x.f.task.toLowerCase().indexOf(needle) < 0) return false;
  return true;
}

function applyFilter() {
  var kind = kindFilter.value, needle = taskFilter.value.trim().toLowerCase();
  visible = findings.filter(function (x) { return matches(x, kind, needle); });
  if (sortKey) {
    var key = KEYS[sortKey];
    visible.sort(function (a, b) { return sortDir * compare(key(a), key(b)) || a.i - b.i; });
  }
  document.querySelectorAll('#summary button.card').forEach(function (c) {
    c.setAttribute('aria-pressed', String(c.getAttribute('data-kind') === kind));
  });
  shownRows = PAGE_ROWS;
  renderRows();
  renderGantt();
}

function severityCell(sev) {
  return el('span', { class: 'sevtext sev-' + sev }, [el('span', { class: 'dot' }), sev]);
}
function kindBadge(f) {
  return el('span', { class: 'badge sev-' + f.severity }, f.kind + (f.subkind ? ' \u00b7 ' + f.subkind : ''));
}
function kindCell(f) {
  return [el('span', { class: 'badge sev-' + f.severity, text: f.kind }),
    f.subkind ? el('div', { class: 'subkind', text: f.subkind }) : null];
}
function outcomePill(o) { return el('span', { class: 'pill o-' + o, text: o }); }

function renderRows() {
  clear(tbody);
  var frag = document.createDocumentFragment();
  visible.slice(0, shownRows).forEach(function (x) {
    var f = x.f;
    var tr = el('tr', { tabindex: '-1', 'data-index': x.i, 'data-kind': f.kind, 'data-task': f.task,
      'aria-selected': String(selected === x) }, [
      el('td', { class: 'c-severity' }, severityCell(f.severity)),
      el('td', { class: 'c-kind' }, kindCell(f)),
      el('td', { class: 'c-task', text: shortId(f.task, TABLE_ID), title: f.task + (f.title ? ' (' + f.title + ')' : '') }),
      el('td', { class: 'c-scope', text: x.scope }),
      el('td', { class: 'c-stage', text: f.stage || '' }),
      el('td', { class: 'c-time', text: clock(f.time) }),
      el('td', { class: 'c-outcome' }, outcomePill(f.outcome)),
      el('td', { class: 'c-reason', title: f.reason }, el('div', { text: f.reason }))
    ]);
    frag.appendChild(tr);
  });
  tbody.appendChild(frag);
  rovingStop();
  var more = document.getElementById('more-rows');
  var rest = visible.length - Math.min(shownRows, visible.length);
  more.hidden = rest <= 0;
  more.textContent = 'Show ' + num(Math.min(rest, PAGE_ROWS)) + ' more (' + num(rest) + ' not shown)';
  document.getElementById('table-empty').hidden = visible.length > 0;
  document.getElementById('row-count').textContent = visible.length === findings.length
    ? num(findings.length) + ' findings' : num(visible.length) + ' of ' + num(findings.length) + ' findings';
}

function setupTable() {
  if (!hasScope) document.getElementById('findings').classList.add('no-scope');
  document.querySelectorAll('#findings th').forEach(function (th) {
    th.querySelector('button').addEventListener('click', function () {
      var key = th.getAttribute('data-key');
      if (sortKey === key) sortDir = -sortDir; else { sortKey = key; sortDir = 1; }
      document.querySelectorAll('#findings th').forEach(function (o) {
        o.setAttribute('aria-sort', o === th ? (sortDir > 0 ? 'ascending' : 'descending') : 'none');
      });
      applyFilter();
    });
  });
  kindFilter.addEventListener('change', applyFilter);
  taskFilter.addEventListener('input', applyFilter);
  tbody.addEventListener('click', function (ev) {
    var tr = ev.target.closest('tr');
    if (tr) select(findings[Number(tr.getAttribute('data-index'))]);
  });
  /* The rows are one Tab stop: the arrows, Home and End move the selection and the focus. */
  tbody.addEventListener('keydown', function (ev) {
    var tr = ev.target.closest('tr');
    if (!tr || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var next = null;
    if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); select(findings[Number(tr.getAttribute('data-index'))]); return; }
    if (ev.key === 'ArrowDown') next = tr.nextElementSibling;
    else if (ev.key === 'ArrowUp') next = tr.previousElementSibling;
    else if (ev.key === 'Home') next = tbody.firstElementChild;
    else if (ev.key === 'End') next = tbody.lastElementChild;
    else return;
    ev.preventDefault();
    if (next && next !== tr) {
      select(findings[Number(next.getAttribute('data-index'))]);
      next.focus();
    }
  });
  document.getElementById('more-rows').addEventListener('click', function () {
    shownRows += PAGE_ROWS;
    renderRows();
  });
}

/* The page's address of a finding, to send a colleague: #finding=KIND:TASK, with the scope. */
function anchorOf(x) {
  return 'finding=' + encodeURIComponent(x.f.kind + ':' + x.f.task + (x.scope ? ' (' + x.scope + ')' : ''));
}
function findingAt(hash) {
  var want = hash.replace(/^#/, '');
  for (var i = 0; i < findings.length; ++i) if (anchorOf(findings[i]) === want) return findings[i];
  return null;
}

/* Roving tabindex: the selected row, or the first when it is not shown, is the table's Tab stop. */
function rovingStop() {
  var stop = selected ? tbody.querySelector('tr[data-index="' + selected.i + '"]') : null;
  if (!stop) stop = tbody.firstElementChild;
  tbody.querySelectorAll('tr[tabindex="0"]').forEach(function (tr) { if (tr !== stop) tr.setAttribute('tabindex', '-1'); });
  if (stop) stop.setAttribute('tabindex', '0');
}

function select(x) {
  selected = x;
  if (pageReady && history.replaceState) history.replaceState(null, '', '#' + anchorOf(x));
  tbody.querySelectorAll('tr[aria-selected="true"]').forEach(function (tr) { tr.setAttribute('aria-selected', 'false'); });
  var tr = tbody.querySelector('tr[data-index="' + x.i + '"]');
  if (tr) tr.setAttribute('aria-selected', 'true');
  rovingStop();
  document.querySelectorAll('#gantt .gantt-row').forEach(function (g) {
    g.classList.toggle('selected', x.task !== null && Number(g.getAttribute('data-task-index')) === x.task.i);
  });
  renderDetail(x);
}

/* Finds the finding to show for a task value, from a chain chip or a graph node. */
function selectSubject(subjectIndex) {
  for (var i = 0; i < findings.length; ++i) {
    if (P.finding_subject[i] === subjectIndex) { select(findings[i]); return true; }
  }
  return false;
}

/* ---------- the detail pane ---------- */
function renderDetail(x) {
  var box = clear(document.getElementById('detail'));
  var f = x.f, t = x.task;
  box.appendChild(el('div', { class: 'head' }, [kindBadge(f), outcomePill(f.outcome), severityCell(f.severity)]));
  box.appendChild(el('div', { class: 'task-name', id: 'detail-task', text: f.task }));
  box.appendChild(el('a', { class: 'permalink small', id: 'detail-link', href: '#' + anchorOf(x), text: 'link to this finding' }));
  // An eliot action's or a span's id says nothing: what it is (its type, and its root's).
  if (f.title) box.appendChild(el('div', { class: 'task-title muted', text: f.title }));
  if (x.scope) box.appendChild(el('div', { class: 'scope', text: x.scope }));
  box.appendChild(reasonView(f));
  var facts = [];
  if (f.stage) facts.push('stage \u2018' + f.stage + '\u2019');
  facts.push('evidence at ' + clock(f.time) + ' (+' + dur(x.timeUs - LOG_START) + ' into the log)');
  if (t) facts.push('ran ' + dur(t.end - t.start) + (t.open ? ' until the log ended' : ''));
  box.appendChild(el('div', { class: 'muted small', style: 'margin-top:6px' }, [facts.join(' \u00b7 '),
    f.where ? ' \u00b7 ' : null, whereText(f.where)]));

  if (f.members.length) {
    box.appendChild(el('h3', { text: 'Deadlock cycle' }));
    box.appendChild(chainView(f.members.concat([f.members[0]]), false));
  }
  // An orphan's or an unobserved child's chain is its parent: a spawn, not a wait to blame.
  var spawn = f.kind === 'orphan' || f.subkind === 'unobserved-child';
  if (f.chain.length > 1 && spawn) {
    box.appendChild(el('h3', { text: 'Spawned by' }));
    box.appendChild(chainView(f.chain.slice(1), false));
  } else if (f.chain.length > 1) {
    box.appendChild(el('h3', { text: 'Blame chain' }));
    box.appendChild(chainView(f.chain, true));
    if (f.root_cause) box.appendChild(rootCauseView(f.root_cause));
  }
  // What decided when a task finished: a stuck task has none, and it would repeat the chain.
  if (t && !t.open && t.t.critical_path.length > 1) {
    box.appendChild(el('h3', { text: 'Critical path' }));
    box.appendChild(chainView(t.t.critical_path, false));
  }
  box.appendChild(el('h3', { text: 'Timeline' }));
  if (t) {
    box.appendChild(taskBar(t));
    box.appendChild(eventsTable(t));
  } else {
    box.appendChild(el('div', { class: 'muted small', text: 'In-flight tasks are information: their records are not kept on this page (coroner timeline ' + f.task + ' shows them).' }));
  }
  box.appendChild(el('h3', { text: 'Tasks around it' }));
  box.appendChild(graphView(x.subject));
  /* A picture wider than the pane opens on the task itself. */
  var wrap = box.querySelector('.graph-wrap');
  wrap.scrollLeft = Math.max(0, Number(wrap.getAttribute('data-focus-x')) - wrap.clientWidth / 3);
}

function chainView(list, rootLast) {
  var box = el('div', { class: 'chain' });
  list.forEach(function (name, i) {
    if (i) box.appendChild(el('span', { class: 'arrow', text: '\u2192' }));
    var chip = el('button', { type: 'button', class: 'chip' + (rootLast && i === list.length - 1 ? ' root' : ''), text: name,
      title: rootLast && i === list.length - 1 ? 'root cause' : 'show this task' });
    chip.addEventListener('click', function () {
      for (var s = 0; s < P.subjects.length; ++s) {
        if (P.nodes[P.subjects[s].node].task === name && selectSubject(s)) return;
      }
    });
    box.appendChild(chip);
  });
  return box;
}

/* One task's stages as a bar, for the detail pane. */
function taskBar(t) {
  var W = 420, H = 26, span = Math.max(t.end - t.start, 1);
  var svg = sv('svg', { width: '100%', height: H, viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', 'aria-label': 'stages of ' + t.t.task });
  svg.appendChild(sv('defs', null, hatchPattern('bar-hatch')));
  segments(t).forEach(function (s) {
    var x = (s.from - t.start) / span * W, w = Math.max((s.to - s.from) / span * W, 1.5);
    var tip = function () { return segText(t, s); };
    if (s.silent) { silenceBar(svg, x, 0, w, H, s, 'bar-hatch', tip); return; }
    var r = sv('rect', { class: 'seg', x: x, y: 3, width: w, height: H - 6, rx: 2, fill: s.colour });
    tipOn(r, tip);
    svg.appendChild(r);
  });
  return svg;
}

function eventsTable(t) {
  var table = el('table', { class: 'events' });
  t.t.events.forEach(function (e, i) {
    table.appendChild(el('tr', null, [
      el('td', { class: 't', text: clock(e.time) }),
      el('td', { class: 'g', text: i ? '+' + dur(e.since_previous_s * 1e6) : '' }),
      el('td', { class: 's' }, [el('i', { class: 'dot', style: 'color:' + stageColour(stageOf(e)) }), ' ', stageOf(e),
        e.status && e.stage !== null ? el('span', { class: 'muted', text: ' status=' + e.status }) : null,
        e.error ? el('div', { class: 'err', text: e.error }) : null,
        /* Where the record is, to open the log there: the file's name, its path on hover. */
        el('div', { class: 'where', text: e.file.split('/').pop() + ':' + e.line, title: e.file + ':' + e.line })])
    ]));
  });
  var pending = t.t.pending_at_exit;
  if (pending) {
    /* The asyncio module saw it pending when its process stopped: where it was suspended. */
    table.appendChild(el('tr', { class: 'silent' }, [el('td', { class: 't', text: clock(pending.time) }),
      el('td', { class: 'g', text: '' }),
      el('td', { text: '(its process stopped; pending' + pendingWhere(pending) + ')' })]));
  } else if (t.open) {
    var last = t.times[t.times.length - 1];
    table.appendChild(el('tr', { class: 'silent' }, [el('td', { class: 't', text: clock(R.input.end) }),
      el('td', { class: 'g', text: '+' + dur(LOG_END - last) }), el('td', { text: '(log ends, silent)' })]));
  }
  return table;
}

/* ---------- the Gantt timeline ---------- */
function segments(t) {
  var out = [], ev = t.t.events;
  for (var i = 0; i < ev.length; ++i) {
    var from = t.times[i];
    var last = i + 1 === ev.length;
    var to = last ? (t.open ? LOG_END : from) : t.times[i + 1];
    var name = stageOf(ev[i]);
    out.push({ name: name, from: from, to: to, silent: last && t.open, colour: stageColour(name), event: ev[i], end: last && !t.open });
  }
  return out;
}
function segText(t, s) {
  var lines = [t.t.task + ' \u00b7 ' + s.name,
    'start ' + clock(s.event.time) + ' (+' + dur(s.from - LOG_START) + ')'];
  if (s.end) lines.push('the task\u2019s last record (' + t.t.outcome + ')');
  else lines.push('duration ' + dur(s.to - s.from) + (s.silent ? ', silent until the log ends' : ''));
  if (s.event.error) lines.push(s.event.error);
  return lines.join('\n');
}

function niceStep(span, target) {
  var raw = span / target, p = Math.pow(10, Math.floor(Math.log10(raw)));
  var steps = [1, 2, 5, 10];
  for (var i = 0; i < steps.length; ++i) if (steps[i] * p >= raw) return steps[i] * p;
  return 10 * p;
}

function renderLegend() {
  var box = document.getElementById('gantt-legend');
  var names = {};
  tasks.forEach(function (t) { t.t.events.forEach(function (e) { var n = stageOf(e); names[n] = (names[n] || 0) + 1; }); });
  Object.keys(names).sort(function (a, b) { return names[b] - names[a]; }).slice(0, 12).forEach(function (n) {
    box.appendChild(el('span', null, [el('i', { style: 'background:' + stageColour(n) }), n]));
  });
  box.appendChild(el('span', { id: 'legend-silence' }, [el('i', { class: 'swatch-silence' }), 'silent until the log ends']));
}

/* The Gantt shows its rows over a visible range of time, [from, to], inside the whole [t0, t1]:
   the wheel, a drag, the keys and the buttons move that range; the rows stay. */
var gantt = { items: [], tasks: 0, t0: 0, t1: 1, from: 0, to: 1, plot: 1 };
var GANTT_LABEL = 190, GANTT_PAD = 16, GANTT_ROW = 24, GANTT_HEAD = 22, GANTT_TOP = 26;

/* The flagged tasks that match the filter, by start; under a header per scope when the log's
   scopes differ (as Perfetto puts a process's tracks under it), so Task-23 of two processes is
   two rows in two groups, not one name twice. */
function ganttItems(rows) {
  if (!(P.scope_fields && P.scope_fields.length)) return rows.map(function (t) { return { task: t }; });
  var groups = {}, order = [];
  rows.forEach(function (t) {
    var key = scopeText(t.t.scope);
    if (!(key in groups)) { groups[key] = []; order.push(key); }
    groups[key].push(t);
  });
  var items = [];
  order.forEach(function (key) {
    var first = groups[key][0].t.scope, every = [];
    for (var k in first) every.push(k + '=' + first[k]);
    items.push({ group: key || '(no scope)', whole: every.join(' '), count: groups[key].length });
    groups[key].forEach(function (t) { items.push({ task: t, group: key }); });
  });
  return items;
}

function renderGantt() {
  var note = document.getElementById('gantt-note');
  var kind = kindFilter.value, needle = taskFilter.value.trim().toLowerCase();
  var rows = tasks.filter(function (t) {
    return t.findings.some(function (x) { return matches(x, kind, needle); });
  });
  rows.sort(function (a, b) { return a.start - b.start || a.i - b.i; });
  var total = rows.length;
  rows = rows.slice(0, GANTT_ROWS);
  note.textContent = total > GANTT_ROWS ? 'The first ' + num(GANTT_ROWS) + ' of ' + num(total) + ' flagged tasks, by start; filter the table to see others.' : '';
  var t0 = Infinity, t1 = -Infinity;
  rows.forEach(function (t) { t0 = Math.min(t0, t.start); t1 = Math.max(t1, t.end); });
  if (!rows.length) { t0 = 0; t1 = 1; }
  if (t1 <= t0) t1 = t0 + 1;
  gantt.items = ganttItems(rows);
  gantt.tasks = rows.length;
  gantt.t0 = gantt.from = t0;
  gantt.t1 = gantt.to = t1;
  drawGantt();
}

/* An axis label precise enough that two ticks `step` apart read differently. */
function tickLabel(v, step) {
  if (v < 100 * step) return '+' + dur(v);
  var digits = Math.max(0, Math.ceil(-Math.log10(step / 1e6) - 1e-9));
  var m = Math.floor(v / 60e6);
  return '+' + (m ? m + 'm' : '') + ((v - m * 60e6) / 1e6).toFixed(digits) + 's';
}

function drawGantt() {
  var box = document.getElementById('gantt');
  updateZoomControls();
  if (!gantt.tasks) {
    clear(box).appendChild(el('div', { class: 'empty', text: tasks.length ? 'No flagged task matches the filter.' : 'No flagged task: nothing to draw.' }));
    return;
  }
  var from = gantt.from, to = gantt.to;
  var W = Math.max(box.clientWidth, 640), LABEL = GANTT_LABEL, ROW = GANTT_ROW, TOP = GANTT_TOP;
  var plot = gantt.plot = W - LABEL - GANTT_PAD;
  var X = function (u) { return LABEL + (u - from) / (to - from) * plot; };
  /* Far outside the view a bar is cut: the clip hides it, and huge coordinates draw badly. */
  var clampX = function (x) { return Math.min(Math.max(x, LABEL - 8), LABEL + plot + 8); };
  var H = TOP + 6;
  gantt.items.forEach(function (item) { H += item.task ? ROW : GANTT_HEAD; });
  var svg = sv('svg', { width: W, height: H, id: 'gantt-svg', role: 'img', 'aria-label': 'Gantt timeline of ' + gantt.tasks + ' flagged tasks',
    'data-view-from': from - LOG_START, 'data-view-to': to - LOG_START });
  svg.appendChild(sv('defs', null, [
    sv('clipPath', { id: 'gantt-clip' }, sv('rect', { x: LABEL, y: 0, width: plot, height: H })),
    hatchPattern('gantt-hatch')]));
  var axis = sv('g', { class: 'axis' });
  var step = niceStep(to - from, Math.max(2, Math.floor(plot / 110)));
  var first = Math.ceil((from - LOG_START) / step);
  for (var k = first; LOG_START + k * step <= to; ++k) {
    var v = k * step, x = X(LOG_START + v);
    axis.appendChild(sv('line', { x1: x, x2: x, y1: TOP - 6, y2: H }));
    if (x + 50 < W) axis.appendChild(sv('text', { x: x + 3, y: TOP - 10, text: tickLabel(v, step) }));
  }
  svg.appendChild(axis);
  var y = TOP;
  gantt.items.forEach(function (item) {
    if (!item.task) {
      var head = sv('g', { class: 'gantt-group', 'data-scope': item.group });
      head.appendChild(sv('rect', { class: 'group-bg', x: 0, y: y, width: W, height: GANTT_HEAD }));
      var name = sv('text', { class: 'group-name', x: 6, y: y + 15, text: item.group + ' \u00b7 ' + num(item.count) + (item.count === 1 ? ' task' : ' tasks') });
      name.appendChild(sv('title', { text: item.whole }));
      head.appendChild(name);
      svg.appendChild(head);
      y += GANTT_HEAD;
      return;
    }
    var t = item.task;
    var worst = t.findings.slice().sort(function (a, b) { return SEV_RANK[a.f.severity] - SEV_RANK[b.f.severity]; })[0];
    var g = sv('g', { class: 'gantt-row' + (selected && selected.task === t ? ' selected' : ''), 'data-task-index': t.i, 'data-task': t.t.task,
      'data-scope': item.group === undefined ? null : item.group });
    g.appendChild(sv('rect', { class: 'row-bg', x: 0, y: y, width: W, height: ROW }));
    g.appendChild(sv('circle', { cx: 8, cy: y + ROW / 2, r: 4, fill: cssVar('--' + (worst ? worst.f.severity : 'info')) }));
    var label = sv('text', { class: 'label-task', x: 18, y: y + ROW / 2 + 4, text: shortId(t.t.task, 22) });
    label.appendChild(sv('title', { text: t.t.task }));
    g.appendChild(label);
    var bars = sv('g', { 'clip-path': 'url(#gantt-clip)' });
    segments(t).forEach(function (s) {
      if (s.to < from || s.from > to) return;
      var x0 = clampX(X(s.from)), w = Math.max(clampX(X(s.to)) - x0, s.end ? 2 : 1.5);
      var tip = function () { return segText(t, s); };
      if (s.silent) {
        silenceBar(bars, x0, y, w, ROW, s, 'gantt-hatch', tip);
      } else {
        var rect = sv('rect', { class: 'seg', x: x0, y: y + 4, width: w, height: ROW - 8, rx: 2,
          fill: s.end ? cssVar('--' + t.t.outcome) : s.colour, 'data-stage': s.name });
        tipOn(rect, tip);
        bars.appendChild(rect);
      }
      if (s.event.error) bars.appendChild(sv('line', { class: 'tick-err', x1: x0, x2: x0, y1: y + 2, y2: y + ROW - 2 }));
    });
    g.appendChild(bars);
    g.addEventListener('click', function () { if (t.findings.length) select(t.findings[0]); });
    svg.appendChild(g);
    y += ROW;
  });
  /* Replaced in place: the rows keep their scroll position while the view moves. */
  var old = box.querySelector('svg');
  if (old) box.replaceChild(svg, old);
  else clear(box).appendChild(svg);
}

/* Diagonal stripes: the look of "nothing was logged here" in the Gantt, the bar and the legend. */
function hatchPattern(id) {
  return sv('pattern', { id: id, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
    sv('rect', { width: 1.5, height: 6, fill: cssVar('--faint'), 'fill-opacity': 0.7 }));
}

/* A task's time after its last record: a tick of the stage it fell silent in, then a thin striped
   band, unlike any stage's solid bar. */
function silenceBar(parent, x0, y, w, rowHeight, s, hatch, tip) {
  var band = sv('rect', { class: 'seg silent', x: x0, y: y + rowHeight / 2 - 4, width: w, height: 8,
    fill: 'url(#' + hatch + ')', 'data-stage': s.name });
  var mark = sv('rect', { class: 'silent-mark', x: x0, y: y + 4, width: 3, height: rowHeight - 8, fill: s.colour });
  tipOn(band, tip);
  tipOn(mark, tip);
  parent.appendChild(band);
  parent.appendChild(mark);
}

/* ---------- zoom and pan of the Gantt ---------- */
function setView(from, to) {
  var full = gantt.t1 - gantt.t0;
  /* Down to a hundred-thousandth of the whole, and at least a microsecond. */
  var span = Math.min(Math.max(to - from, full / 1e5, 1), full);
  from = Math.min(Math.max(from, gantt.t0), gantt.t1 - span);
  if (from === gantt.from && from + span === gantt.to) return;
  gantt.from = from;
  gantt.to = from + span;
  scheduleGantt();
}
/* factor < 1 zooms in; the moment `at` stays where it is on the screen. */
function zoomAt(factor, at) { setView(at - (at - gantt.from) * factor, at + (gantt.to - at) * factor); }
function zoomCentre(factor) { zoomAt(factor, (gantt.from + gantt.to) / 2); }
function panBy(us) { setView(gantt.from + us, gantt.to + us); }
function resetView() { setView(gantt.t0, gantt.t1); }
var ganttFrame = null;
function scheduleGantt() {
  if (ganttFrame === null) ganttFrame = requestAnimationFrame(function () { ganttFrame = null; drawGantt(); });
}

function updateZoomControls() {
  var whole = gantt.from <= gantt.t0 && gantt.to >= gantt.t1;
  document.getElementById('zoom-reset').disabled = whole;
  document.getElementById('zoom-out').disabled = whole;
  document.getElementById('gantt-range').textContent = whole ? 'the whole timeline (' + dur(gantt.t1 - gantt.t0) + ')'
    : tickLabel(gantt.from - LOG_START, gantt.to - gantt.from) + ' to ' + tickLabel(gantt.to - LOG_START, gantt.to - gantt.from) +
      ' (' + dur(gantt.to - gantt.from) + ' of ' + dur(gantt.t1 - gantt.t0) + ')';
}

function setupZoom() {
  var box = document.getElementById('gantt');
  var drag = null, swallowClick = false;
  /* The pointer's x in the plot, or null over the names column (the wheel scrolls the rows there). */
  function plotX(ev) {
    var svg = box.querySelector('svg');
    if (!svg) return null;
    var x = ev.clientX - svg.getBoundingClientRect().left - GANTT_LABEL;
    return x >= 0 ? x : null;
  }
  function timeAt(x) { return gantt.from + x / gantt.plot * (gantt.to - gantt.from); }
  box.addEventListener('wheel', function (ev) {
    var x = plotX(ev);
    if (x === null || !gantt.tasks) return;
    var unit = ev.deltaMode === 1 ? 16 : ev.deltaMode === 2 ? box.clientHeight : 1;
    var dx = ev.deltaX * unit, dy = ev.deltaY * unit;
    if (ev.shiftKey && !dx) { dx = dy; dy = 0; }
    /* Zooming out past the whole timeline scrolls the page instead: the wheel is never trapped. */
    var whole = gantt.from <= gantt.t0 && gantt.to >= gantt.t1;
    if (whole && Math.abs(dy) >= Math.abs(dx) && dy > 0) return;
    ev.preventDefault();
    if (Math.abs(dx) > Math.abs(dy)) panBy(dx / gantt.plot * (gantt.to - gantt.from));
    else zoomAt(Math.exp(dy * 0.002), timeAt(x));
  }, { passive: false });
  box.addEventListener('pointerdown', function (ev) {
    swallowClick = false;
    if (ev.button !== 0 || plotX(ev) === null) return;
    drag = { x: ev.clientX, from: gantt.from, to: gantt.to, moved: false };
  });
  window.addEventListener('pointermove', function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x;
    if (!drag.moved && Math.abs(dx) < 4) return;  /* a click that trembles is still a click */
    drag.moved = true;
    box.classList.add('dragging');
    hideTip();
    var dt = -dx / gantt.plot * (drag.to - drag.from);
    setView(drag.from + dt, drag.to + dt);
  });
  window.addEventListener('pointerup', function () {
    if (drag && drag.moved) swallowClick = true;
    drag = null;
    box.classList.remove('dragging');
  });
  /* The click that ends a drag selects nothing. */
  box.addEventListener('click', function (ev) {
    if (swallowClick) { ev.stopPropagation(); swallowClick = false; }
  }, true);
  box.addEventListener('keydown', function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var span = gantt.to - gantt.from;
    if (ev.key === '+' || ev.key === '=') zoomCentre(0.5);
    else if (ev.key === '-' || ev.key === '_') zoomCentre(2);
    else if (ev.key === 'ArrowLeft') panBy(-span / 5);
    else if (ev.key === 'ArrowRight') panBy(span / 5);
    else if (ev.key === '0') resetView();
    else return;
    ev.preventDefault();
  });
  document.getElementById('zoom-in').addEventListener('click', function () { zoomCentre(0.5); });
  document.getElementById('zoom-out').addEventListener('click', function () { zoomCentre(2); });
  document.getElementById('zoom-reset').addEventListener('click', resetView);
}

/* ---------- the graph around a task: laid out in layers by await and spawn depth ---------- */
var OUT = {}, IN = {};
P.edges.forEach(function (e) {
  (OUT[e[0]] = OUT[e[0]] || []).push(e);
  (IN[e[1]] = IN[e[1]] || []).push(e);
});

function graphView(subject) {
  var ids = subject.around, inSet = {};
  ids.forEach(function (id) { inSet[id] = true; });
  var edges = [];
  ids.forEach(function (id) { (OUT[id] || []).forEach(function (e) { if (inSet[e[1]]) edges.push(e); }); });
  /* Layers: the task at 0; what it awaits and spawned to the right, who awaits it and its parent to the left. */
  var layer = {}, queue = [subject.node];
  layer[subject.node] = 0;
  while (queue.length) {
    var u = queue.shift();
    (OUT[u] || []).forEach(function (e) { if (inSet[e[1]] && !(e[1] in layer)) { layer[e[1]] = layer[u] + 1; queue.push(e[1]); } });
    (IN[u] || []).forEach(function (e) { if (inSet[e[0]] && !(e[0] in layer)) { layer[e[0]] = layer[u] - 1; queue.push(e[0]); } });
  }
  var maxL = 0;
  ids.forEach(function (id) { if (id in layer) maxL = Math.max(maxL, layer[id]); });
  ids.forEach(function (id) { if (!(id in layer)) layer[id] = maxL + 1; });
  var layers = {};
  ids.forEach(function (id) { (layers[layer[id]] = layers[layer[id]] || []).push(id); });
  var keys = Object.keys(layers).map(Number).sort(function (a, b) { return a - b; });
  /* Order within a layer by the mean position of the neighbours already placed (two sweeps). */
  var pos = {};
  keys.forEach(function (k) { layers[k].forEach(function (id, i) { pos[id] = i; }); });
  for (var sweep = 0; sweep < 2; ++sweep) {
    keys.forEach(function (k) {
      var bary = {};
      layers[k].forEach(function (id) {
        var sum = 0, n = 0;
        edges.forEach(function (e) {
          var other = e[0] === id ? e[1] : e[1] === id ? e[0] : null;
          if (other !== null && layer[other] !== k) { sum += pos[other]; ++n; }
        });
        bary[id] = n ? sum / n : pos[id];
      });
      layers[k].sort(function (a, b) { return bary[a] - bary[b]; });
      layers[k].forEach(function (id, i) { pos[id] = i; });
    });
  }
  var NW = 176, NH = 42, GX = 56, GY = 16, M = 12;
  var tallest = 0;
  keys.forEach(function (k) { tallest = Math.max(tallest, layers[k].length); });
  var W = M * 2 + keys.length * NW + (keys.length - 1) * GX;
  var H = M * 2 + tallest * NH + (tallest - 1) * GY + 14;
  var xy = {};
  keys.forEach(function (k, c) {
    var col = layers[k], offset = (tallest - col.length) * (NH + GY) / 2;
    col.forEach(function (id, i) { xy[id] = { x: M + c * (NW + GX), y: M + offset + i * (NH + GY) }; });
  });
  /* Drawn at its own size, its text as large as the page's: a wide picture scrolls, never shrinks. */
  var svg = sv('svg', { width: W, height: H, id: 'graph-svg', role: 'img', 'aria-label': 'tasks around ' + P.nodes[subject.node].task });
  var defs = sv('defs');
  ['spawned', 'awaits', 'blocking'].forEach(function (k) {
    var colour = cssVar(k === 'spawned' ? '--faint' : k === 'awaits' ? '--info' : '--error');
    defs.appendChild(sv('marker', { id: 'arrow-' + k, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      sv('path', { d: 'M0,0 L10,5 L0,10 z', fill: colour })));
  });
  svg.appendChild(defs);
  edges.forEach(function (e) {
    var a = xy[e[0]], b = xy[e[1]], d;
    var from = P.nodes[e[0]], to = P.nodes[e[1]];
    var blocking = e[2] === 'awaits' && from.outcome === 'open' && to.outcome !== 'ok';
    if (b.x > a.x) {
      var x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2, mx = (x1 + x2) / 2;
      d = 'M' + x1 + ',' + y1 + ' C' + mx + ',' + y1 + ' ' + mx + ',' + y2 + ' ' + x2 + ',' + y2;
    } else if (b.x < a.x) {
      var bx1 = a.x, by1 = a.y + NH / 2, bx2 = b.x + NW, by2 = b.y + NH / 2, dip = Math.max(by1, by2) + NH;
      d = 'M' + bx1 + ',' + by1 + ' C' + (bx1 - GX) + ',' + dip + ' ' + (bx2 + GX) + ',' + dip + ' ' + bx2 + ',' + by2;
    } else {
      var sx = a.x + NW, sy1 = a.y + NH / 2, sy2 = b.y + NH / 2;
      d = 'M' + sx + ',' + sy1 + ' C' + (sx + GX * 0.8) + ',' + sy1 + ' ' + (sx + GX * 0.8) + ',' + sy2 + ' ' + sx + ',' + sy2;
    }
    var kind = blocking ? 'blocking' : e[2];
    var path = sv('path', { class: 'edge ' + e[2] + (blocking ? ' blocking' : ''), d: d, 'marker-end': 'url(#arrow-' + kind + ')' });
    tipOn(path, function () { return e[2] === 'spawned' ? from.task + ' spawned ' + to.task : from.task + ' awaits ' + to.task; });
    svg.appendChild(path);
  });
  ids.forEach(function (id) {
    var n = P.nodes[id], p = xy[id];
    var cls = 'node' + (n.kinds.length ? ' flagged' : '') + (id === subject.node ? ' focus' : '') + (n.subject !== null && id !== subject.node ? ' clickable' : '');
    var g = sv('g', { class: cls, transform: 'translate(' + p.x + ',' + p.y + ')', 'data-task': n.task });
    g.appendChild(sv('rect', { width: NW, height: NH, rx: 7, fill: cssVar('--panel') }));
    g.appendChild(sv('rect', { width: 5, height: NH, rx: 2, fill: cssVar('--' + n.outcome), stroke: 'none' }));
    var name = sv('text', { class: 'id', x: 12, y: 17, text: shortId(n.task, 21) });
    name.appendChild(sv('title', { text: n.task }));
    g.appendChild(name);
    var sub = n.logged ? n.outcome : 'never logged';
    if (n.kinds.length) sub += ' \u00b7 ' + n.kinds.join(', ');
    g.appendChild(sv('text', { x: 12, y: 33, fill: cssVar('--muted'), text: sub.length > 25 ? sub.slice(0, 24) + '\u2026' : sub }));
    tipOn(g, function () {
      return n.task + (n.scope ? ' (' + n.scope + ')' : '') + '\n' + (n.logged ? 'outcome: ' + n.outcome : 'named by other tasks, never logged') +
        (n.kinds.length ? '\nfindings: ' + n.kinds.join(', ') : '') + (n.subject !== null && id !== subject.node ? '\nclick to show it' : '');
    });
    if (n.subject !== null && id !== subject.node) g.addEventListener('click', function () { hideTip(); selectSubject(n.subject); });
    svg.appendChild(g);
  });
  /* A Tab stop, so that the keyboard can scroll a picture wider than the pane. */
  var wrap = el('div', { class: 'graph-wrap', tabindex: '0', role: 'group', 'aria-label': 'tasks around ' + P.nodes[subject.node].task + ', scrolls',
    'data-focus-x': xy[subject.node].x }, svg);
  if (ids.length === 1) {
    return el('div', null, [wrap, el('div', { class: 'muted small', style: 'margin-top:6px', text: 'No parent, child or await of this task is in the log.' })]);
  }
  var legend = el('div', { class: 'muted small', style: 'margin-top:6px' }, [
    'Solid grey: spawned. Dashed blue: awaits; red when an unfinished task waits on a task that did not end ok. ',
    'Within ' + P.graph_depth + ' edges' + (subject.more ? '; ' + num(subject.more) + ' more tasks not drawn (coroner graph --around ' + P.nodes[subject.node].task + ' draws them all)' : '') + '.']);
  return el('div', null, [wrap, legend]);
}

/* ---------- per-stage histograms ---------- */
function renderHistograms() {
  var box = document.getElementById('histograms');
  var timed = R.stages.filter(function (s) { return s.timed > 0 && s.histogram && s.histogram.length; });
  timed.sort(function (a, b) { return b.count - a.count; });
  timed.slice(0, HISTOGRAMS).forEach(function (s) {
    var bins = s.histogram, top = 1;
    bins.forEach(function (b) { top = Math.max(top, b.count); });
    var W = 300, H = 80, bw = W / bins.length;
    var svg = sv('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', 'aria-label': 'durations of ' + s.stage });
    svg.appendChild(sv('line', { x1: 0, x2: W, y1: H - 0.5, y2: H - 0.5, stroke: cssVar('--border') }));
    bins.forEach(function (b, i) {
      var h = b.count ? Math.max(2, (H - 4) * b.count / top) : 0;
      var rect = sv('rect', { class: 'bar', x: i * bw + 1, y: H - h, width: bw - 2, height: h, rx: 1 });
      var hit = sv('rect', { x: i * bw, y: 0, width: bw, height: H, fill: 'transparent' });
      tipOn(hit, function () { return s.stage + '\n' + dur(b.low_s * 1e6) + ' \u2013 ' + dur(b.high_s * 1e6) + ': ' + num(b.count) + (b.count === 1 ? ' run' : ' runs'); });
      svg.appendChild(rect);
      svg.appendChild(hit);
    });
    /* p95 as a line, placed on the same log scale as the bins */
    var lo = Math.log(Math.max(bins[0].low_s, 1e-9)), hi = Math.log(Math.max(bins[bins.length - 1].high_s, 1e-9));
    if (s.p95_s !== null && hi > lo) {
      var px = (Math.log(Math.max(s.p95_s, 1e-9)) - lo) / (hi - lo) * W;
      svg.appendChild(sv('line', { class: 'pct', x1: px, x2: px, y1: 0, y2: H }));
    }
    box.appendChild(el('div', { class: 'hist', 'data-stage': s.stage }, [
      el('div', { class: 'name', title: s.stage, text: s.stage }),
      el('div', { class: 'stats' }, [
        el('span', { text: num(s.count) + ' entered' }),
        el('span', { text: 'p50 ' + dur(s.p50_s * 1e6) }),
        el('span', { text: 'p95 ' + dur(s.p95_s * 1e6) }),
        el('span', { text: 'p99 ' + dur(s.p99_s * 1e6) }),
        el('span', { text: 'max ' + dur(s.max_s * 1e6) }),
        el('span', { style: s.errors ? 'color:var(--error)' : null, text: (100 * s.error_rate).toFixed(1) + '% errors' })]),
      svg,
      el('div', { class: 'range' }, [el('span', { text: dur(bins[0].low_s * 1e6) }), el('span', { class: 'muted', text: 'dashed: p95' }), el('span', { text: dur(s.max_s * 1e6) })])
    ]));
  });
  var untimed = R.stages.filter(function (s) { return !(s.timed > 0); });
  var notes = [];
  if (timed.length > HISTOGRAMS) notes.push('The ' + HISTOGRAMS + ' most entered of ' + num(timed.length) + ' timed stages are drawn (coroner stats lists all).');
  if (untimed.length) notes.push('Not timed (a task\u2019s last stage, or never followed by another): ' +
    untimed.slice(0, 30).map(function (s) { return s.stage + ' (' + num(s.count) + ')'; }).join(', ') + (untimed.length > 30 ? ', \u2026' : '') + '.');
  if (!R.stages.length) notes.push('No stage was logged.');
  document.getElementById('untimed').textContent = notes.join(' ');
}

/* ---------- go ---------- */
renderHeader();
renderSummary();
renderNotes();
renderProblems(PROBLEMS_SHOWN);
renderKindOptions();
setupTable();
setupZoom();
renderLegend();
renderHistograms();
applyFilter();
var resizeTimer = null;
window.addEventListener('resize', function () {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(drawGantt, 120);
});
var firstFlagged = findings.filter(function (x) { return x.task !== null; })[0] || findings[0];
var linked = findingAt(location.hash);
if (linked || firstFlagged) select(linked || firstFlagged);
if (linked) {
  var row = tbody.querySelector('tr[data-index="' + linked.i + '"]');
  if (row) row.scrollIntoView({ block: 'center' });
}
showLinkedProblem();
pageReady = true;
window.addEventListener('hashchange', showLinkedProblem);
window.addEventListener('hashchange', function () {
  var x = findingAt(location.hash);
  if (x && x !== selected) select(x);
});
document.documentElement.setAttribute('data-ready', 'true');
})();
