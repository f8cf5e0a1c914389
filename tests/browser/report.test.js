// Opens coroner's html report in a real browser (Debian's Chromium, headless, driven by
// playwright-core) and uses it the way a person would: no console error, no network request,
// read the problems, sort and filter the findings table, one Gantt row per flagged task (under a
// header per process when the log has several), hover a stage, zoom and pan the Gantt with the
// wheel, a drag and the keys, see silence drawn as silence, click a finding and read its detail
// and its graph at a readable size. Saves a screenshot of each report next to it.
//
//   node report.test.js CORONER OUT_DIR TRACE...
//
// Exit status: 0 passed, 1 failed, 77 skipped (no browser).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const CHROMIUM = process.env.CORONER_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let failures = 0;
function check(ok, what) {
  if (ok) {
    console.log(`  ok: ${what}`);
  } else {
    failures += 1;
    console.log(`  FAIL: ${what}`);
  }
}

// The JSON blob the page is drawn from, read the way the page reads it.
function embeddedData(html) {
  const open = '<script type="application/json" id="coroner-data">';
  const start = html.indexOf(open);
  const end = html.indexOf('</script>', start);
  if (start < 0 || end < 0) throw new Error('no <script id="coroner-data"> in the report');
  return JSON.parse(html.slice(start + open.length, end));
}

async function rowValues(page, attribute) {
  return page.$$eval('#findings tbody tr', (rows, a) => rows.map((r) => r.getAttribute(a)), attribute);
}

// axe-core (npm, pinned) on the page as it is: every violation is printed; one of impact
// serious or critical fails the check.
const AXE = require.resolve('axe-core/axe.min.js');
async function axeCheck(page, label) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() => window.axe.run());
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of result.violations) {
    const targets = v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(', ');
    console.log(`  axe (${label}): ${v.id} [${v.impact}] ${v.help}: ${v.nodes.length} node(s), e.g. ${targets}`);
  }
  check(bad.length === 0, `axe (${label}): no serious or critical violation` +
    (bad.length ? ` (${bad.map((v) => v.id).join(', ')})` : ` (${result.violations.length} minor, ${result.passes.length} rules pass)`));
}

// WCAG contrast of an element's text against what is behind it: the computed colours, the
// backgrounds of it and its ancestors composed over the page. An element the page does not
// show (no 'open' finding, say) is measured as a probe with the same classes in the same place.
async function contrastOf(page, selector, probe) {
  return page.evaluate(([sel, pr]) => {
    let node = document.querySelector(sel);
    let made = null;
    if (!node && pr) {
      const parent = document.querySelector(pr.parent);
      if (!parent) return null;
      made = document.createElement(pr.tag);
      made.className = pr.class;
      made.textContent = pr.text;
      parent.appendChild(made);
      node = made;
    }
    if (!node) return null;
    const rgba = (s) => {
      const m = /rgba?\(([^)]+)\)/.exec(s);
      if (!m) return [0, 0, 0, 0];
      const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const over = (top, under) => {
      const a = top[3] + under[3] * (1 - top[3]);
      if (!a) return [0, 0, 0, 0];
      return [0, 1, 2].map((i) => (top[i] * top[3] + under[i] * under[3] * (1 - top[3])) / a).concat([a]);
    };
    const layers = [];
    for (let e = node; e; e = e.parentElement) layers.push(rgba(getComputedStyle(e).backgroundColor));
    let bg = [255, 255, 255, 1];  // the canvas under the page
    for (let i = layers.length - 1; i >= 0; --i) bg = over(layers[i], bg);
    const fg = over(rgba(getComputedStyle(node).color), bg);
    const lum = (c) => {
      const ch = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
      return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
    };
    const a = lum(fg), b = lum(bg);
    const hex = (c) => '#' + c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
    const out = { ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), fg: hex(fg), bg: hex(bg), probe: !!made };
    if (made) made.remove();
    return out;
  }, [selector, probe || null]);
}

const CONTRASTS = [
  ['the \'open\' pill', '#findings tbody tr .pill.o-open, #detail .pill.o-open',
    { parent: '#detail .head', tag: 'span', class: 'pill o-open', text: 'open' }],
  ['a grey delta', '#detail table.events td.g:not(:empty)',
    { parent: '#detail table.events td.g', tag: 'span', class: '', text: '+1.00s' }],
  ['the warning text', '#findings tbody tr .sevtext.sev-warning, #detail .sevtext.sev-warning',
    { parent: '#detail .head', tag: 'span', class: 'sevtext sev-warning', text: 'warning' }],
  ['the warning badge', '#findings tbody tr .badge.sev-warning, #detail .badge.sev-warning',
    { parent: '#detail .head', tag: 'span', class: 'badge sev-warning', text: 'hung' }],
];
async function contrastChecks(page, label) {
  for (const [what, selector, probe] of CONTRASTS) {
    const c = await contrastOf(page, selector, probe);
    if (!c) { console.log(`  contrast (${label}): ${what}: nothing to measure`); continue; }
    check(c.ratio >= 4.5, `contrast (${label}) of ${what}: ${c.ratio.toFixed(2)}:1 (${c.fg} on ${c.bg}${c.probe ? ', a probe' : ''}) >= 4.5`);
  }
}

// What has the focus, said in a few words.
async function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return { where: 'body', inRows: false, after: true };
    const wrap = document.getElementById('table-wrap');
    return {
      where: e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.getAttribute('data-index') !== null ? `[data-index=${e.getAttribute('data-index')}]` : ''),
      inRows: !!e.closest('#findings tbody'),
      // Past the table: the detail pane, the Gantt or anything after it.
      after: !wrap.contains(e) && !!(wrap.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING),
      outline: getComputedStyle(e).outlineStyle, shadow: getComputedStyle(e).boxShadow,
    };
  });
}

// The problems open the page: one card a problem, as the JSON report groups them, each with
// its count, its range, a few tasks that open their findings, and the commands to run next.
async function checkProblems(page, report, outDir, name) {
  const problems = report.problems;
  const order = await page.evaluate(() => {
    const p = document.getElementById('problems-panel'), f = document.getElementById('findings-panel');
    return !!(p.compareDocumentPosition(f) & Node.DOCUMENT_POSITION_FOLLOWING);
  });
  check(order, 'the problems come before the findings table');
  const cards = await page.$$eval('#problems .problem', (c) => c.map((x) => ({
    kind: x.getAttribute('data-kind'), text: x.textContent, nodes: x.querySelectorAll('*').length,
    next: [...x.querySelectorAll('.pb-command')].map((k) => k.textContent),
  })));
  check(cards.length === Math.min(problems.length, 20), `a card per problem (${cards.length} of ${problems.length})`);
  cards.forEach((c, i) => {
    const p = problems[i];
    check(c.kind === p.kind && c.text.includes(p.count.toLocaleString('en-US')),
      `problem ${i + 1}: ${p.kind}, ${p.count} (${p.title})`);
    check(JSON.stringify(c.next) === JSON.stringify(p.next), `problem ${i + 1} shows its next commands (${p.next.length})`);
    // A card stays small however many tasks its problem has: examples and tree lines are capped.
    check(c.nodes < 250, `problem ${i + 1} is drawn in ${c.nodes} nodes, not one a task`);
  });
  if (name !== 'deadlock') return;

  // A cycle is one card naming its members in order, and no member is named by another card.
  const cycles = await page.$$eval('#problems .problem[data-kind="deadlock"] .pb-cycle',
    (c) => c.map((x) => [...x.querySelectorAll('.pb-task')].map((t) => t.textContent)));
  check(cycles.length === 2, `one deadlock card per cycle (${cycles.length})`);
  check(JSON.stringify(cycles) === JSON.stringify([['shard-a', 'shard-b', 'shard-c', 'shard-a'], ['xfer-a', 'xfer-b', 'xfer-a']]),
    `each names its members: ${cycles.map((c) => c.join(' -> ')).join(', ')}`);
  const shardCards = await page.$$eval('#problems .problem', (c) => c.filter((x) => /shard-c/.test(x.textContent)).length);
  check(shardCards === 1, 'a cycle\'s member is shown in one card, not one card a member');

  // The blocked tasks hang under their root cause, each under the task it waits on.
  const tree = await page.$$eval('#problems li.pb-root[data-task="cache-warm"] > ul > li[data-task="report-daily"] > ul > li[data-task="mailer"]',
    (l) => l.length);
  check(tree === 1, 'the tree: cache-warm, under it report-daily, under that mailer');
  const hung = await page.textContent('#problems li.pb-root[data-task="cache-warm"] > .pb-line');
  check(hung.includes('waiting for config') && hung.includes('silent') && hung.includes('deadlock.jsonl:57'),
    `cache-warm ends the chain with its evidence: ${JSON.stringify(hung.trim())}`);
  const failed = await page.textContent('#problems li.pb-root[data-task="producer-feed"] > .pb-line');
  check(/root cause/i.test(failed) && failed.includes('failed') && failed.includes('ValueError: feed closed unexpectedly') &&
    failed.includes('reading feed') && failed.includes('deadlock.jsonl:63'),
    `producer-feed is named as the root cause with its error: ${JSON.stringify(failed.trim())}`);
  check(await page.$$eval('#problems li.pb-root[data-task="producer-feed"] li[data-task="consumer-feed"]', (l) => l.length) === 1,
    'consumer-feed waits under producer-feed');

  // The next step, one paste away: the command as the JSON says it, and a button that copies it.
  const feed = problems.findIndex((p) => p.root_cause && p.root_cause.task === 'producer-feed');
  const command = problems[feed].next[0];
  check(command.startsWith('coroner timeline producer-feed '), `the next command opens the root cause (${command})`);
  const card = `#problems .problem:nth-child(${feed + 1})`;
  await page.click(`${card} .pb-copy >> nth=0`);
  await page.waitForFunction((c) => document.querySelector(c + ' .pb-copied').textContent !== '', card);
  const copied = await page.evaluate(async (c) => ({
    status: document.querySelector(c + ' .pb-copied').textContent,
    clip: await navigator.clipboard.readText().catch(() => null),
    selected: String(window.getSelection()),
  }), card);
  check(copied.status === 'copied' ? copied.clip === command : copied.selected === command,
    `Copy puts the command on the clipboard, or selects it (${copied.status})`);

  // A task of a problem opens its finding, as a table row does; the detail shows its evidence.
  await page.click('#problems li[data-task="report-daily"] > .pb-line a');
  check((await page.textContent('#detail-task')) === 'report-daily', 'a task of the tree opens its finding');
  const daily = report.findings.find((f) => f.task === 'report-daily');
  check((await page.textContent('#detail .reason-detail')) === daily.detail, `its detail is under the verdict: ${daily.detail}`);
  check((await page.textContent('#detail')).includes('deadlock.jsonl:41'), 'and where its evidence is (deadlock.jsonl:41)');
  await page.click('#problems li[data-task="consumer-feed"] > .pb-line a');
  const root = await page.textContent('#detail .pb-rootcause');
  check(root.includes('producer-feed') && root.includes('ValueError: feed closed unexpectedly') && root.includes('deadlock.jsonl:63'),
    `a blocked finding's detail ends with its root cause's evidence: ${JSON.stringify(root)}`);

  // A problem has an address: the page opened at #problem=N shows that card.
  const link = await page.getAttribute(`${card} .pb-head .permalink`, 'href');
  check(link === `#problem=${feed + 1}`, `the problem has a link (${link})`);
  const fresh = await page.context().newPage();
  await fresh.setViewportSize({ width: 1440, height: 600 });
  await fresh.goto(page.url().replace(/#.*$/, '') + link);
  await fresh.waitForSelector('html[data-ready="true"]', { timeout: 10000 });
  const shown = await fresh.evaluate((id) => {
    const c = document.getElementById(id), r = c.getBoundingClientRect();
    return { linked: c.classList.contains('linked'), focused: document.activeElement === c, inView: r.top >= 0 && r.top < innerHeight };
  }, link.slice(1));
  check(shown.linked && shown.focused && shown.inView, `the page opened at ${link} shows that problem (${JSON.stringify(shown)})`);
  await fresh.close();

  await page.locator('#problems-panel').screenshot({ path: path.join(outDir, `${name}-problems.png`) });
}

async function checkReport(browserContext, coroner, outDir, trace) {
  const name = path.basename(trace).replace(/\.jsonl(\.gz)?$/, '');
  const file = path.join(outDir, `${name}.html`);
  console.log(`${name}: coroner --format html ${trace}`);
  const run = spawnSync(coroner, ['--format', 'html', '-o', file, trace], { encoding: 'utf8' });
  check(run.status === 0 || run.status === 1, `coroner exits 0 or 1 (got ${run.status}: ${run.stderr.trim()})`);
  const html = fs.readFileSync(file, 'utf8');
  check(!/https?:\/\//.test(html), 'the page names no http:// or https:// resource');
  check(!/<(link|script|img)[^>]+(src|href)="(?!data:)/i.test(html), 'no external script, style or image');
  const data = embeddedData(html);
  const report = data.report;
  const findings = report.findings;

  const page = await browserContext.newPage();
  const errors = [];
  const requests = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('request', (req) => {
    if (!/^(file|data):/.test(req.url())) requests.push(req.url());
  });
  const started = Date.now();
  await page.goto('file://' + path.resolve(file));
  await page.waitForSelector('html[data-ready="true"]', { timeout: 10000 });
  console.log(`  (drawn in ${Date.now() - started} ms)`);

  // The summary and the table.
  const cards = await page.$$eval('#summary .card', (c) => c.length);
  check(cards >= 2, `summary cards are shown (${cards})`);
  const shown = Math.min(findings.length, 300);
  check((await rowValues(page, 'data-index')).length === shown, `the table has a row per finding (${shown})`);
  const note = await page.textContent('#kept-note');
  check(note.includes(`${report.summary.tasks} tasks`) || note.includes(report.summary.tasks.toLocaleString('en-US')),
    'the page says it holds the flagged tasks, not every task');

  await checkProblems(page, report, outDir, name);

  // Sort by task, both ways, and by severity.
  const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
  const expectedTasks = findings.map((f) => f.task).sort(collator.compare).slice(0, 300);
  await page.click('#findings th[data-key="task"] button');
  check(JSON.stringify(await rowValues(page, 'data-task')) === JSON.stringify(expectedTasks),
    'sorted by task, ascending');
  check(await page.getAttribute('#findings th[data-key="task"]', 'aria-sort') === 'ascending', 'aria-sort says ascending');
  await page.click('#findings th[data-key="task"] button');
  const descending = await rowValues(page, 'data-task');
  check(JSON.stringify(descending) === JSON.stringify(findings.map((f) => f.task).sort(collator.compare).reverse().slice(0, 300)),
    'sorted by task, descending');
  await page.click('#findings th[data-key="severity"] button');
  const rank = { error: 0, warning: 1, info: 2 };
  const severities = await page.$$eval('#findings tbody tr td.c-severity', (c) => c.map((x) => x.textContent.trim()));
  check(severities.every((s, i) => i === 0 || rank[severities[i - 1]] <= rank[s]), 'sorted by severity');

  // Filter by kind, then by typing a task id.
  const kinds = [...new Set(findings.map((f) => f.kind))];
  for (const kind of kinds) {
    await page.selectOption('#kind-filter', kind);
    const rowKinds = await rowValues(page, 'data-kind');
    const want = findings.filter((f) => f.kind === kind).length;
    check(rowKinds.length === Math.min(want, 300) && rowKinds.every((k) => k === kind),
      `filter kind=${kind}: ${rowKinds.length} rows, all ${kind}`);
  }
  await page.selectOption('#kind-filter', '');
  if (findings.length) {
    const needle = findings[findings.length - 1].task;
    await page.fill('#task-filter', needle);
    const rowTasks = await rowValues(page, 'data-task');
    const want = findings.filter((f) => f.task.toLowerCase().includes(needle.toLowerCase())).length;
    check(rowTasks.length === Math.min(want, 300) && rowTasks.every((t) => t.toLowerCase().includes(needle.toLowerCase())),
      `filter task '${needle}': ${rowTasks.length} rows`);
    await page.fill('#task-filter', '');
  }
  check((await rowValues(page, 'data-index')).length === shown, 'clearing the filters brings every row back');

  // The Gantt: one row per flagged task; hovering a stage tells its stage, start and duration.
  const ganttRows = await page.$$eval('#gantt .gantt-row', (g) => g.map((x) => x.getAttribute('data-task')));
  check(ganttRows.length === Math.min(report.tasks.length, 400),
    `the Gantt has one row per flagged task (${ganttRows.length} of ${report.tasks.length})`);
  const ganttKeys = await page.$$eval('#gantt .gantt-row', (g) => g.map((x) => `${x.getAttribute('data-scope')}/${x.getAttribute('data-task')}`));
  check(new Set(ganttKeys).size === ganttKeys.length, 'no task twice in a scope of the Gantt');
  const groups = await page.$$eval('#gantt .gantt-group', (g) => g.length);
  check(groups === 0 || new Set(report.tasks.map((t) => JSON.stringify(t.scope))).size > 1,
    `a log of one scope has no group header (${groups})`);
  await checkSilence(page, report);
  if (ganttRows.length) {
    // The widest stage of the first row (a sub-pixel one may hide under its neighbour).
    const widest = await page.locator('#gantt .gantt-row').first().locator('rect.seg').evaluateAll((r) => {
      let best = 0;
      r.forEach((x, i) => { if (+x.getAttribute('width') > +r[best].getAttribute('width')) best = i; });
      return best;
    });
    await page.locator('#gantt .gantt-row').first().locator('rect.seg').nth(widest).hover();
    const tip = await page.textContent('#tooltip');
    check(await page.isVisible('#tooltip') && /start/.test(tip) && /(duration|last record)/.test(tip),
      `hovering a stage shows it: ${JSON.stringify(tip.split('\n')[0])}`);
    await page.mouse.move(0, 0);
  }

  // Click a finding (one with a blame chain if there is one): its detail shows.
  let pick = findings.findIndex((f) => f.chain.length > 1);
  if (pick < 0) pick = findings.findIndex((f) => f.kind !== 'in-flight');
  if (pick >= 0) {
    const f = findings[pick];
    await page.click(`#findings tbody tr[data-index="${pick}"]`);
    check(await page.getAttribute(`#findings tbody tr[data-index="${pick}"]`, 'aria-selected') === 'true', 'the clicked row is selected');
    check((await page.textContent('#detail-task')) === f.task, `the detail shows task ${f.task}`);
    const detail = await page.textContent('#detail');
    check(detail.includes(f.reason), 'the detail shows the reason');
    const task = report.tasks.find((t) => t.task === f.task && JSON.stringify(t.scope) === JSON.stringify(f.scope));
    if (task) {
      const events = await page.$$eval('#detail table.events tr:not(.silent)', (r) => r.length);
      check(events === task.events.length, `the detail's timeline has its ${task.events.length} records`);
    }
    if (task && task.pending_at_exit) {
      const stop = await page.textContent('#detail table.events tr.silent');
      check(stop.includes('suspended at ' + task.pending_at_exit.suspended_at),
        `the timeline ends where the task was suspended at exit: ${JSON.stringify(stop)}`);
    }
    const waits = task ? task.events.filter((e) => e.waiting_for) : [];
    if (waits.length) {
      check(detail.includes('(waits on ' + waits[0].waiting_for + ')'), 'a wait record shows what the task waits on');
    }
    if (task) {
      const where = await page.$$eval('#detail table.events .where', (c) => c.map((x) => [x.textContent, x.title]));
      const first = task.events[0];
      check(where[0][0] === `${first.file.split('/').pop()}:${first.line}` && where[0][1] === `${first.file}:${first.line}`,
        `a record shows where it is in the log (${where[0][0]}, the whole path on hover)`);
    }
    // The finding has an address: the page opened at it shows that finding.
    const link = await page.getAttribute('#detail-link', 'href');
    check(link && link.startsWith('#finding='), `the finding has a link (${link})`);
    check((await page.evaluate(() => location.hash)) === link, 'selecting a finding puts its address in the URL');
    if (f.chain.length > 1) {
      const chips = await page.$$eval('#detail .chain', (c) => c.map((x) => x.textContent));
      const headings = await page.$$eval('#detail h3', (h) => h.map((x) => x.textContent));
      if (f.kind === 'orphan' || f.subkind === 'unobserved-child') {
        // A spawn, not a wait: the parent is shown as what spawned the task, not as a blame.
        check(headings.includes('Spawned by') && !headings.includes('Blame chain'), 'a spawn is labelled "Spawned by"');
        check(chips.some((c) => c.includes(f.chain[1])), `its parent ${f.chain[1]} is shown`);
      } else {
        check(headings.includes('Blame chain'), 'a wait is labelled "Blame chain"');
        check(chips.some((c) => f.chain.every((t) => c.includes(t))), `the blame chain ${f.chain.join(' -> ')} is shown`);
      }
    }
    const nodes = await page.$$eval('#graph-svg g.node', (g) => g.map((x) => x.getAttribute('data-task')));
    check(nodes.includes(f.task) && nodes.length >= 1, `the graph around it is drawn (${nodes.length} tasks)`);
    const focus = await page.$$eval('#graph-svg g.node.focus', (g) => g.length);
    check(focus === 1, 'the graph marks the task itself');
    await checkGraphSize(page);
    const gantt = await page.$$eval('#gantt .gantt-row.selected', (g) => g.map((x) => x.getAttribute('data-task')));
    check(gantt.length === 1 && gantt[0] === f.task, 'its Gantt row is highlighted');

    // A colleague opens the link: a fresh page at that address shows the same finding.
    const other = findings.length > 1 ? (pick === 0 ? 1 : 0) : pick;
    await page.click(`#findings tbody tr[data-index="${other}"]`);
    const otherLink = await page.getAttribute('#detail-link', 'href');
    const fresh = await browserContext.newPage();
    await fresh.goto('file://' + path.resolve(file) + otherLink);
    await fresh.waitForSelector('html[data-ready="true"]', { timeout: 10000 });
    check((await fresh.textContent('#detail-task')) === findings[other].task,
      `the page opened at ${otherLink} shows that finding`);
    check((await fresh.getAttribute(`#findings tbody tr[data-index="${other}"]`, 'aria-selected')) === 'true',
      'and selects its row');
    await fresh.close();
  }

  // Histograms: one per timed stage (the most entered 48).
  const timed = report.stages.filter((s) => s.timed > 0).length;
  const hists = await page.$$eval('#histograms .hist', (h) => h.length);
  check(hists === Math.min(timed, 48), `a histogram per timed stage (${hists})`);

  // The keyboard: the table is one Tab stop, arrows move inside it, the focus is visible.
  if (findings.length) {
    await page.focus('#kind-filter');
    const stops = [];
    let presses = 0, f;
    do {
      await page.keyboard.press('Tab');
      presses += 1;
      f = await focused(page);
      stops.push(f);
    } while (!f.after && presses < 400);
    const inRows = stops.filter((x) => x.inRows);
    console.log(`  Tab stops from the kind filter past the table: ${stops.map((x) => x.where).join(' > ')}`);
    check(inRows.length === 1, `Tab reaches the table once (${inRows.length} row stops)`);
    const at = stops.findIndex((x) => x.inRows);
    check(at >= 0 && at + 1 < stops.length && !stops[at + 1].inRows, 'the next Tab leaves the table');
    check(presses <= 15, `${presses} Tab presses from the first control to past the table, not one a row`);
    const unringed = stops.filter((x) => x.where !== 'body' && x.outline === 'none' && (!x.shadow || x.shadow === 'none'));
    check(unringed.length === 0, `every focus stop has a visible outline${unringed.length ? ': not ' + unringed.map((x) => x.where).join(', ') : ''}`);
    const sortButton = stops.find((x) => /^button/.test(x.where) && x.where !== 'button#more-rows');
    check(sortButton && sortButton.outline !== 'none', `a sort button shows a focus ring (outline ${sortButton && sortButton.outline})`);

    // Back to the table: the focus is on the selected row; ArrowDown selects the next.
    await page.focus('#task-filter');
    await page.keyboard.press('Tab');
    let stop = await focused(page);
    while (!stop.inRows && !stop.after) { await page.keyboard.press('Tab'); stop = await focused(page); }
    const rowIndex = () => page.evaluate(() => Number(document.activeElement.getAttribute('data-index')));
    const order = (await rowValues(page, 'data-index')).map(Number);
    const start = await rowIndex();
    check(await page.evaluate(() => document.activeElement.getAttribute('aria-selected')) === 'true',
      `Tab lands on the selected row (${start})`);
    check(stop.outline !== 'none' || (stop.shadow && stop.shadow !== 'none'), `the focused row is outlined (${stop.outline})`);
    const pos = order.indexOf(start);
    if (pos + 1 < order.length) {
      await page.keyboard.press('ArrowDown');
      const next = await rowIndex();
      check(next === order[pos + 1], `ArrowDown moves to the next row (${order[pos + 1]})`);
      check(await page.getAttribute(`#findings tbody tr[data-index="${next}"]`, 'aria-selected') === 'true', 'and selects it');
      check((await page.textContent('#detail-task')) === findings[next].task, `the detail shows its finding (${findings[next].task})`);
      const tabbable = await page.$$eval('#findings tbody tr[tabindex="0"]', (r) => r.map((x) => x.getAttribute('data-index')));
      check(tabbable.length === 1 && Number(tabbable[0]) === next, 'the selected row is the one Tab stop of the table');
      await page.keyboard.press('ArrowUp');
      check(await rowIndex() === start, 'ArrowUp moves back');
    }
    await page.keyboard.press('End');
    check(await rowIndex() === order[order.length - 1], 'End moves to the last row');
    await page.keyboard.press('Home');
    check(await rowIndex() === order[0], 'Home moves to the first row');
    check((await page.textContent('#detail-task')) === findings[order[0]].task, 'and the detail shows it');
  }

  await checkZoom(page, outDir, name);
  await axeCheck(page, 'light');
  await contrastChecks(page, 'light');

  check(errors.length === 0, `no console error${errors.length ? ': ' + errors.join(' | ') : ''}`);
  check(requests.length === 0, `no network request${requests.length ? ': ' + requests.join(' ') : ''}`);
  // The page in dark mode, when the stylesheet has one: the same checks of axe and contrast.
  if (/prefers-color-scheme:\s*dark/.test(html)) {
    const night = await browserContext.newPage();
    await night.emulateMedia({ colorScheme: 'dark' });
    await night.goto('file://' + path.resolve(file));
    await night.waitForSelector('html[data-ready="true"]', { timeout: 10000 });
    check(await night.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches), 'the page is drawn in dark mode');
    await axeCheck(night, 'dark');
    await contrastChecks(night, 'dark');
    await night.screenshot({ path: path.join(outDir, `${name}-dark.png`), fullPage: true });
    await night.close();
  }
  const shot = path.join(outDir, `${name}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`  screenshot: ${shot}`);
  await page.close();
}

// A log whose task ids are 95 characters long: the table, the Gantt and the graph cut them in the
// middle, keep both ends, and give the whole id on hover.
// Two programs' logs with no word for done, sharing no stage: the note names both ends.
async function checkLearnedEnds(browserContext, coroner, outDir) {
  console.log('learned ends of two programs');
  const logs = [];
  for (const [name, stages] of [['orders', ['validate', 'transform', 'save_to_db']], ['images', ['download', 'resize', 'upload']]]) {
    const lines = [];
    for (let n = 0; n < 6; n += 1) {
      for (const [k, stage] of stages.entries()) lines.push({ ts: 1 + n * 0.5 + k * 0.1, task_id: `${name}-${n}`, stage });
    }
    logs.push(path.join(outDir, `${name}.jsonl`));
    fs.writeFileSync(logs[logs.length - 1], lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  }
  const file = path.join(outDir, 'two_programs.html');
  const run = spawnSync(coroner, ['--format', 'html', '-o', file, ...logs], { encoding: 'utf8' });
  check(run.status === 0, `every task ended ok at its workflow's end (exit ${run.status})`);
  const page = await browserContext.newPage();
  await page.goto('file://' + path.resolve(file));
  await page.waitForSelector('html[data-ready="true"]', { timeout: 10000 });
  const notes = await page.$$eval('.note', (n) => n.map((x) => x.textContent));
  const learned = notes.find((t) => t.startsWith('Learned:')) || '';
  check(learned.includes('2 groups of files') && learned.includes('\u2018save_to_db\u2019') && learned.includes('\u2018upload\u2019'),
    `the note names each workflow's end (${learned})`);
  await page.close();
}

async function checkLongIds(browserContext, coroner, outDir) {
  console.log('long task ids');
  const prefix = 'ingest.pipeline.customer-orders.eu-west-1.shard-0042.worker-0007.batch-20261126-1200.item-';
  const lines = [];
  for (let n = 0; n < 20; n += 1) {
    const id = `${prefix}${String(n).padStart(4, '0')}`;
    lines.push({ ts: 1 + n * 0.01, task_id: id, stage: 'start' }, { ts: 1.002 + n * 0.01, task_id: id, stage: 'fetch' });
    if (n !== 7) lines.push({ ts: 1.004 + n * 0.01, task_id: id, stage: 'done' });
  }
  lines.push({ ts: 5, task_id: 'tick', stage: 'start' });
  const log = path.join(outDir, 'long_ids.jsonl');
  fs.writeFileSync(log, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const file = path.join(outDir, 'long_ids.html');
  const run = spawnSync(coroner, ['--format', 'html', '-o', file, log], { encoding: 'utf8' });
  check(run.status === 1, `coroner finds the hung task (exit ${run.status})`);
  const stuck = `${prefix}0007`;
  const page = await browserContext.newPage();
  await page.goto('file://' + path.resolve(file));
  await page.waitForSelector('html[data-ready="true"]', { timeout: 10000 });
  const cell = await page.$eval('#findings tbody tr td.c-task', (c) => {
    const range = document.createRange();
    range.selectNodeContents(c);
    return { text: c.textContent, title: c.title, lines: range.getClientRects().length };
  });
  check(cell.text.length <= 32 && cell.text.includes('\u2026') && cell.text.startsWith('ingest.') && cell.text.endsWith('0007'),
    `the table cuts the id in the middle, both ends kept (${cell.text})`);
  check(cell.title.startsWith(stuck), 'the whole id is on hover');
  check(cell.lines <= 3, `the id takes a few lines of the row, not a dozen (${cell.lines})`);
  const label = await page.$eval('#gantt .gantt-row .label-task', (t) => ({ text: t.textContent, title: t.querySelector('title').textContent }));
  check(label.text.includes('\u2026') && label.text.endsWith('0007') && label.title.endsWith(stuck),
    `the Gantt label is cut in the middle with the whole id on hover (${label.text.replace(label.title, '')})`);
  await page.close();
}

// The Gantt's visible range, in microseconds since the log started, once the page has drawn it.
async function ganttView(page) {
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  return page.$eval('#gantt-svg', (s) => ({ from: Number(s.getAttribute('data-view-from')), to: Number(s.getAttribute('data-view-to')) }));
}

// Zoom and pan: the wheel zooms around the pointer, a drag pans, the keys and the buttons zoom,
// pan and reset; the hint says so, and the controls have names.
async function checkZoom(page, outDir, name) {
  if (!(await page.$('#gantt-svg'))) return;
  const whole = await ganttView(page);
  const hint = await page.textContent('#gantt-hint');
  check(await page.isVisible('#gantt-hint') && /wheel/i.test(hint) && /drag/i.test(hint), 'a visible hint says how to zoom and pan');
  check(await page.getAttribute('#gantt', 'aria-describedby') === 'gantt-hint' && await page.getAttribute('#gantt', 'tabindex') === '0',
    'the timeline takes the focus and is described by the hint');
  await page.$eval('#gantt', (g) => g.scrollIntoView({ block: 'center' }));
  const box = await page.$eval('#gantt-svg', (s) => { const r = s.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width }; });
  const label = 190, plot = box.w - label - 16;
  // The wheel over the bars, at a quarter of the plot: the range shrinks around that moment.
  const px = box.x + label + plot / 4, py = box.y + 40;
  const at = whole.from + (whole.to - whole.from) / 4;
  await page.mouse.move(px, py);
  await page.mouse.wheel(0, -400);
  const zoomed = await ganttView(page);
  check(zoomed.to - zoomed.from < (whole.to - whole.from) / 2, `the wheel zooms in (${Math.round(whole.to - whole.from)} -> ${Math.round(zoomed.to - zoomed.from)} us shown)`);
  const still = zoomed.from + (zoomed.to - zoomed.from) / 4;
  check(Math.abs(still - at) <= (whole.to - whole.from) / 500, 'around the pointer: the moment under it stays under it');
  // A drag to the left shows later times, the same span.
  await page.mouse.move(px + 200, py);
  await page.mouse.down();
  await page.mouse.move(px + 100, py, { steps: 4 });
  await page.mouse.move(px, py, { steps: 4 });
  await page.mouse.up();
  const dragged = await ganttView(page);
  check(dragged.from > zoomed.from && Math.abs((dragged.to - dragged.from) - (zoomed.to - zoomed.from)) < 1,
    `a drag pans (from +${Math.round(zoomed.from)} to +${Math.round(dragged.from)} us, same span)`);
  await page.screenshot({ path: path.join(outDir, `${name}-zoomed.png`), clip: { x: 0, y: Math.max(0, box.y - 80), width: 1440, height: 500 } });
  // The keys, with the timeline focused: 0 resets, + halves, the arrow pans, - doubles.
  await page.focus('#gantt');
  await page.keyboard.press('0');
  const reset = await ganttView(page);
  check(reset.from === whole.from && reset.to === whole.to, '0 shows the whole timeline again');
  await page.keyboard.press('+');
  const plus = await ganttView(page);
  check(Math.abs((plus.to - plus.from) - (whole.to - whole.from) / 2) < 1, '+ zooms in twice');
  await page.keyboard.press('ArrowRight');
  const right = await ganttView(page);
  check(right.from > plus.from, 'ArrowRight pans to later times');
  await page.keyboard.press('ArrowLeft');
  check((await ganttView(page)).from < right.from, 'ArrowLeft pans back');
  await page.keyboard.press('-');
  const minus = await ganttView(page);
  check(minus.from === whole.from && minus.to === whole.to, '- zooms back out');
  // The buttons: named, and they do the same.
  for (const id of ['zoom-in', 'zoom-out', 'zoom-reset']) {
    const named = await page.$eval('#' + id, (b) => b.getAttribute('aria-label') || b.textContent.trim());
    check(named.length > 1, `#${id} has a name (${named})`);
  }
  check(await page.isDisabled('#zoom-reset'), 'the reset button is off when the whole timeline shows');
  await page.click('#zoom-in');
  const button = await ganttView(page);
  check(button.to - button.from < whole.to - whole.from, 'the zoom-in button zooms in');
  check((await page.textContent('#gantt-range')).includes(' to '), `the range shown is written out (${await page.textContent('#gantt-range')})`);
  await page.click('#zoom-reset');
  const back = await ganttView(page);
  check(back.from === whole.from && back.to === whole.to, 'the reset button shows it all');
  // Zooming out of the whole timeline is not possible: the wheel scrolls instead (the Gantt's
  // rows when they overflow, else the page; room is made below a short page for it to scroll).
  await page.evaluate(() => { document.body.style.paddingBottom = '1000px'; });
  await page.$eval('#gantt', (g) => g.scrollIntoView({ block: 'center' }));
  const top = await page.$eval('#gantt-svg', (s) => s.getBoundingClientRect().y);
  const scrolls = () => page.evaluate(() => window.scrollY + document.getElementById('gantt').scrollTop);
  const scrolled = await scrolls();
  await page.mouse.move(px, top + 40);
  await page.mouse.wheel(0, 300);
  const after = await ganttView(page);
  let scrolledAfter = await scrolls();
  for (let tries = 0; tries < 20 && scrolledAfter === scrolled; tries += 1) {  // the scroll may land a frame late
    await ganttView(page);
    scrolledAfter = await scrolls();
  }
  check(after.from === whole.from && after.to === whole.to && scrolledAfter > scrolled,
    `the wheel out of the whole timeline scrolls (${scrolled} -> ${scrolledAfter} px)`);
  await page.evaluate(() => { document.body.style.paddingBottom = ''; });
}

// An unfinished task's time after its last record is drawn as silence: a striped band, not a
// stage's solid bar, and the legend names it.
async function checkSilence(page, report) {
  const open = report.tasks.filter((t) => t.outcome === 'open').map((t) => t.task);
  if (!open.length) return;
  const rows = await page.$$eval('#gantt .gantt-row', (g) => g.map((row) => ({
    task: row.getAttribute('data-task'),
    silent: [...row.querySelectorAll('rect.seg.silent')].map((r) => ({ fill: r.getAttribute('fill'), h: +r.getAttribute('height') })),
    stages: [...row.querySelectorAll('rect.seg:not(.silent)')].map((r) => ({ fill: r.getAttribute('fill'), h: +r.getAttribute('height') })),
  })));
  const openRows = rows.filter((r) => open.includes(r.task));
  check(openRows.length > 0 && openRows.every((r) => r.silent.length === 1),
    `each unfinished task ends in silence (${openRows.length} rows)`);
  check(rows.every((r) => r.stages.every((s) => !/^url\(/.test(s.fill))) && openRows.every((r) => /^url\(#gantt-hatch\)$/.test(r.silent[0].fill)),
    'silence is striped, every stage is a solid colour');
  const silentH = openRows[0].silent[0].h, stageH = Math.max(...rows.flatMap((r) => r.stages.map((s) => s.h)));
  check(silentH < stageH, `silence is thinner than a stage bar (${silentH} < ${stageH} px)`);
  check(rows.filter((r) => !open.includes(r.task)).every((r) => r.silent.length === 0), 'a finished task has no silence');
  check((await page.textContent('#legend-silence')).includes('silent until the log ends'), 'the legend names silence');
}

// The graph around a task is drawn at its own size: its text at least 12 px as shown; a wide
// picture scrolls.
async function checkGraphSize(page) {
  const g = await page.evaluate(() => {
    const svg = document.getElementById('graph-svg');
    if (!svg) return null;
    const scale = svg.getBoundingClientRect().width / Number(svg.getAttribute('width'));
    const sizes = [...svg.querySelectorAll('text')].map((t) => parseFloat(getComputedStyle(t).fontSize) * scale);
    const wrap = svg.closest('.graph-wrap');
    return { scale, smallest: Math.min(...sizes), scrolls: wrap.scrollWidth > wrap.clientWidth, width: svg.getAttribute('width'), shown: wrap.clientWidth };
  });
  if (!g) return;
  check(Math.abs(g.scale - 1) < 0.01, `the graph is not shrunk (scale ${g.scale.toFixed(2)})`);
  check(g.smallest >= 12, `the graph's text is at least 12 px (${g.smallest.toFixed(1)})`);
  if (Number(g.width) > g.shown) check(g.scrolls, `a graph wider than its pane scrolls (${g.width} px in ${g.shown})`);
}

// Task-23 in two processes: the Gantt has a header per process and the task under each, once,
// by its short name; a log of one process has no header.
async function checkScopedGantt(browserContext, coroner, outDir) {
  console.log('scoped gantt');
  const lines = [];
  for (const pid of [5531, 5532]) {
    for (let n = 0; n < 6; n += 1) {
      const where = { pid, hostname: 'vm', task_id: `Task-${20 + n}` };
      lines.push({ ...where, ts: 1 + n * 0.01, stage: 'start' }, { ...where, ts: 1.002 + n * 0.01, stage: 'fetch' });
      if (n !== 3) lines.push({ ...where, ts: 1.004 + n * 0.01, stage: 'done' });
    }
  }
  lines.push({ ts: 5, pid: 5531, hostname: 'vm', task_id: 'Task-99', stage: 'start' });
  const log = path.join(outDir, 'scoped.jsonl');
  fs.writeFileSync(log, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const file = path.join(outDir, 'scoped.html');
  const run = spawnSync(coroner, ['--format', 'html', '-o', file, log], { encoding: 'utf8' });
  check(run.status === 1, `coroner finds the hung tasks (exit ${run.status})`);
  const page = await browserContext.newPage();
  await page.goto('file://' + path.resolve(file));
  await page.waitForSelector('html[data-ready="true"]', { timeout: 10000 });
  const layout = await page.$$eval('#gantt-svg > g.gantt-group, #gantt-svg > g.gantt-row', (gs) => gs.map((g) => ({
    group: g.classList.contains('gantt-group'), scope: g.getAttribute('data-scope'),
    text: g.querySelector('text').firstChild.nodeValue, task: g.getAttribute('data-task') })));
  const heads = layout.filter((x) => x.group);
  check(heads.length === 2 && heads[0].text.startsWith('pid=5531') && heads[1].text.startsWith('pid=5532'),
    `a header per process (${heads.map((h) => h.text).join(' | ')})`);
  check(heads.every((h) => !h.text.includes('hostname')), 'the header leaves out the scope field that never varies');
  const under = {};
  let current = null;
  for (const x of layout) {
    if (x.group) { current = x.scope; under[current] = []; continue; }
    check(x.scope === current, `${x.task} sits under its own process's header`);
    under[current].push(x.text);
  }
  check(Object.values(under).every((names) => names.filter((n) => n === 'Task-23').length === 1),
    'Task-23 shows once in each process, by its short name');
  const shot = path.join(outDir, 'scoped.png');
  await (await page.$('#timeline-panel')).screenshot({ path: shot });
  await page.close();
}

async function main() {
  const [coroner, outDir, ...traces] = process.argv.slice(2);
  if (!coroner || !outDir || !traces.length) {
    console.error('usage: node report.test.js CORONER OUT_DIR TRACE...');
    return 2;
  }
  if (!fs.existsSync(CHROMIUM)) {
    console.log(`SKIP: no browser at ${CHROMIUM} (apt-get install chromium)`);
    return 77;
  }
  const { chromium } = require('playwright-core');
  fs.mkdirSync(outDir, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coroner-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1440, height: 1000 },
  });
  // The problems' Copy buttons write the clipboard; the test reads it back.
  await context.grantPermissions(['clipboard-read', 'clipboard-write']).catch(() => {});
  try {
    for (const trace of traces) await checkReport(context, coroner, outDir, trace);
    await checkLongIds(context, coroner, outDir);
    await checkLearnedEnds(context, coroner, outDir);
    await checkScopedGantt(context, coroner, outDir);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(failures ? `${failures} check(s) failed` : 'all browser checks passed');
  return failures ? 1 : 0;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
