// app.js -- the dashboard: reads the status API (/v1) of its own origin and
// draws it. No data is in the page; no framework; SVG drawn here.
//
// The token: the one the viewer saved in this browser (localStorage), sent
// as a bearer token; with none, the request goes out bare, for an nginx
// that adds the header itself. A 401 asks for one.
//
// Every figure shown from the API carries data-api, the path of the value
// in the documents read (health, handoffs, stages, series, clocks), so the
// browser test can compare each with the API's own answer.
'use strict';

(function () {
  const TOKEN_KEY = 'handoff.token';
  const REFRESH_MS = 30000;
  const SVGNS = 'http://www.w3.org/2000/svg';
  const state = {
    window: localStorage.getItem('handoff.window') || '7d',
    data: null,
    series: null,
    pick: null,
    lastOk: null,
  };

  // -------------------------------------------------------------------------
  // Formatting: one rule per unit, the same the browser test applies
  // -------------------------------------------------------------------------

  function fmtCount(v) { return v === null || v === undefined ? '—' : String(v); }
  function fmtShare(v) { return v === null || v === undefined ? '—' : (v * 100).toFixed(1) + '%'; }
  function fmtMs(v) {
    if (v === null || v === undefined) return '—';
    const s = Math.round(v / 1000);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + m + 'm';
    if (m > 0) return m + 'm ' + sec + 's';
    return sec + 's';
  }
  function fmtKpi(v, unit) {
    if (v === null || v === undefined) return '—';
    if (unit === 'share') return fmtShare(v);
    if (unit === 'ms') return fmtMs(v);
    if (unit === 'money') return v.toFixed(2);
    return String(v);
  }
  function fmtTime(iso) {
    if (!iso) return '—';
    return iso.slice(0, 16).replace('T', ' ') + ' UTC';
  }
  function fmtMissing(m) {
    const names = Object.keys(m || {});
    if (names.length === 0) return '—';
    return names.slice(0, 3).map((k) => k + ' (' + m[k] + ')').join(', ');
  }

  const WORDS = { green: 'Green', amber: 'Amber', red: 'Red', unknown: 'No data' };
  const MEANS = { green: 'on track', amber: 'at risk', red: 'off track', unknown: 'not computed yet' };
  const SHAPES = { green: '●', amber: '▲', red: '■', unknown: '○' };

  // -------------------------------------------------------------------------
  // DOM helpers
  // -------------------------------------------------------------------------

  function $(sel) { return document.querySelector(sel); }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  }
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function badge(status) {
    const s = WORDS[status] ? status : 'unknown';
    return el('span', { class: 'status ' + s, 'data-status': s },
      el('span', { 'aria-hidden': 'true', text: SHAPES[s] }), WORDS[s]);
  }
  // A figure: its text, and where it came from.
  function fig(tag, text, api, cls) {
    return el(tag, { class: cls, 'data-api': api, text: text });
  }
  function subjectHref(subject) { return '#subject=' + encodeURIComponent(subject); }

  // -------------------------------------------------------------------------
  // The API
  // -------------------------------------------------------------------------

  class Unauthorized extends Error {}

  async function api(path) {
    const headers = { Accept: 'application/json' };
    const token = localStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = 'Bearer ' + token;
    const r = await fetch(path, { headers, credentials: 'same-origin', cache: 'no-store' });
    if (r.status === 401) throw new Unauthorized('unauthorized');
    const body = await r.json().catch(() => null);
    if (!r.ok) {
      const msg = body && body.error ? body.error.message : 'HTTP ' + r.status;
      throw new Error(msg);
    }
    return body;
  }

  async function load() {
    const [health, handoffs, stages] = await Promise.all([
      api('/v1/health'), api('/v1/handoffs'), api('/v1/stages')]);
    const clocks = [];
    const asks = [];
    for (const h of handoffs.handoffs) {
      const run = h.running || {};
      if ((run.breached || 0) > 0) asks.push(['breached', h.name]);
      if ((run.at_risk || 0) > 0) asks.push(['at_risk', h.name]);
    }
    const pages = await Promise.all(asks.map(([st, name]) =>
      api('/v1/handoffs/' + name + '/clocks?state=' + st + '&limit=20')));
    pages.forEach((p, i) => p.clocks.forEach((c) => clocks.push(Object.assign({ handoff: asks[i][1] }, c))));
    return { health, handoffs, stages, clocks };
  }

  // -------------------------------------------------------------------------
  // Verdict and reasons
  // -------------------------------------------------------------------------

  const RANK = { red: 0, amber: 1, unknown: 2, green: 3 };

  // The KPI a manager reads first for a part: its worst, with its action.
  function worstKpi(kpis) {
    return (kpis || []).slice().sort((a, b) => RANK[a.status] - RANK[b.status])[0];
  }

  function drawVerdict(health) {
    const v = $('#verdict-status');
    const b = badge(health.status);
    b.append(': ' + MEANS[WORDS[health.status] ? health.status : 'unknown']);
    v.replaceChildren(b);
    $('#verdict-reason').textContent = health.reason || '';
    const parts = [];
    health.handoffs.forEach((h, i) => parts.push({ kind: 'handoff', p: h, api: 'health.handoffs.' + i }));
    health.stages.forEach((s, i) => parts.push({ kind: 'stage', p: s, api: 'health.stages.' + i }));
    const bad = parts.filter((x) => x.p.status === 'red' || x.p.status === 'amber')
      .sort((a, b) => RANK[a.p.status] - RANK[b.p.status]);
    const list = $('#reasons');
    list.replaceChildren();
    if (bad.length === 0) list.append(el('li', { text: 'Every handoff and stage is on track.' }));
    for (const x of bad) {
      const k = worstKpi(x.p.kpis);
      list.append(el('li', { class: x.p.status },
        badge(x.p.status), ' ', el('strong', { text: x.p.name }), ' (' + x.kind + '): ',
        fig('span', x.p.reason, x.api + '.reason'),
        // The reason names the owner and the action plan when a KPI is off;
        // else they are said here.
        k && k.action && x.p.reason.includes(k.action) ? null
          : el('div', { class: 'who' }, 'Owner: ' + x.p.owner +
            (k && k.action ? '. Action plan: ' + k.action : ''))));
    }
  }

  // -------------------------------------------------------------------------
  // The journey map
  // -------------------------------------------------------------------------

  // The stages in chain order: each chain from a stage no other names as
  // next, then any left (a loop).
  function stageOrder(stages) {
    const by = new Map(stages.map((s) => [s.name, s]));
    const named = new Set(stages.map((s) => s.next).filter(Boolean));
    const out = [], seen = new Set();
    const heads = stages.filter((s) => !named.has(s.name)).concat(stages);
    for (const h of heads) {
      let s = h;
      while (s && !seen.has(s.name)) { seen.add(s.name); out.push(s); s = by.get(s.next); }
    }
    return out;
  }

  const COLOURS = { green: '#1d6b3a', amber: '#8a5300', red: '#a4161a', unknown: '#4d5560' };

  function drawMap(data) {
    const w = state.window;
    const stages = stageOrder(data.stages.stages);
    const idx = new Map(data.stages.stages.map((s, i) => [s.name, i]));
    const pos = new Map(stages.map((s, i) => [s.name, i]));
    const BW = 172, GAP = 56, TOP = 96, X0 = 8, LANE = 40;
    const nk = Math.max(0, ...stages.map((s) => Math.min(2, (s.kpis || []).length)));
    const BH = 64 + (4 + 3 * nk) * 19 + 14;
    const width = X0 * 2 + stages.length * BW + (stages.length - 1) * GAP;
    const flowsTop = TOP + BH + 26;
    let flowsH = 40;
    const root = svg('svg', { width, viewBox: '0 0 ' + width + ' 0', role: 'img',
      'aria-label': 'Journey map, window ' + w + ': ' + stages.map((s) => {
        const x = s.windows[w];
        return s.name + ' entered ' + x.entered + ', moved on ' + x.moved_on;
      }).join('; ') });
    const defs = svg('defs');
    for (const [k, c] of Object.entries(COLOURS)) {
      const m = svg('marker', { id: 'arrow-' + k, viewBox: '0 0 10 10', refX: 9, refY: 5,
        markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
      m.setAttribute('markerUnits', 'userSpaceOnUse');
      m.setAttribute('markerWidth', 10);
      m.setAttribute('markerHeight', 10);
      m.append(svg('path', { d: 'M0 0L10 5L0 10z', fill: c }));
      defs.append(m);
    }
    root.append(defs);
    const xOf = (name) => X0 + pos.get(name) * (BW + GAP);

    stages.forEach((s) => {
      const i = idx.get(s.name);
      const x = xOf(s.name), win = s.windows[w];
      const api = 'stages.stages.' + i + '.windows.' + w;
      const st = WORDS[s.status] ? s.status : 'unknown';
      const g = svg('g', { 'data-stage': s.name });
      g.append(svg('rect', { x, y: TOP, width: BW, height: BH, rx: 6, fill: '#fff',
        stroke: COLOURS[st], 'stroke-width': st === 'green' ? 1.5 : 3 }));
      g.append(svg('text', { x: x + 10, y: TOP + 22, 'font-weight': 700, 'font-size': 15 }, s.name));
      g.append(svg('text', { x: x + 10, y: TOP + 41, fill: COLOURS[st],
        'font-size': 13, 'font-weight': 700 }, SHAPES[st] + ' ' + WORDS[st] + ', ' + MEANS[st]));
      const rows = [
        ['entered', fmtCount(win.entered), api + '.entered'],
        ['moved on', fmtCount(win.moved_on), api + '.moved_on'],
        ['conversion', fmtShare(win.conversion), api + '.conversion'],
        ['median time', fmtMs(win.median_time_in_stage_ms), api + '.median_time_in_stage_ms'],
      ];
      (s.kpis || []).slice(0, 2).forEach((k, j) => {
        rows.push([SHAPES[k.status] + ' ' + k.name.slice(0, 22), '', null, k.text]);
        rows.push(['now', fmtKpi(k.value, k.unit), 'stages.stages.' + i + '.kpis.' + j + '.value', null, 14]);
        rows.push(['target', fmtKpi(k.target, k.unit), 'stages.stages.' + i + '.kpis.' + j + '.target', null, 14]);
      });
      rows.forEach((r, j) => {
        const y = TOP + 64 + j * 19;
        const l = svg('text', { x: x + 10 + (r[4] || 0), y, 'font-size': 13, fill: '#4d5560' }, r[0]);
        if (r[3]) l.append(svg('title', {}, r[3]));
        g.append(l);
        if (r[2]) {
          g.append(svg('text', { x: x + BW - 10, y, 'text-anchor': 'end', 'font-size': 13,
            'font-weight': 600, 'data-api': r[2] }, r[1]));
        }
      });
      root.append(g);
    });

    // Handoffs: arrows above the boxes, from their stage to their stage.
    const lanes = new Map();
    data.handoffs.handoffs.forEach((h, i) => {
      if (!pos.has(h.from) || !pos.has(h.to)) return;
      const a = xOf(h.from), b = xOf(h.to);
      const key = h.from + '>' + h.to;
      const lane = lanes.get(key) || 0;
      lanes.set(key, lane + 1);
      const st = WORDS[h.status] ? h.status : 'unknown';
      const win = h.windows[w];
      const y = TOP - 14 - lane * LANE;
      const x1 = a + BW * 0.5 + 20 + lane * 8, x2 = b + BW * 0.5 - 20 - lane * 8;
      const g = svg('g', { 'data-handoff': h.name });
      g.append(svg('path', { d: 'M' + x1 + ' ' + TOP + ' L' + x1 + ' ' + y + ' L' + x2 + ' ' + y + ' L' + x2 + ' ' + TOP,
        fill: 'none', stroke: COLOURS[st], 'stroke-width': st === 'green' ? 2 : 3.5,
        'stroke-dasharray': st === 'red' ? '7 4' : (st === 'amber' ? '3 3' : null),
        'marker-end': 'url(#arrow-' + st + ')' }));
      const lx = Math.min(x1, x2) + 6;
      g.append(svg('text', { x: lx, y: y - 20, 'font-size': 12, fill: COLOURS[st], 'font-weight': 700 },
        SHAPES[st] + ' ' + h.name + ' (' + WORDS[st] + ')'));
      const label = svg('text', { x: lx, y: y - 5, 'font-size': 12 });
      label.append(svg('tspan', {}, 'attainment '));
      label.append(svg('tspan', { 'data-api': 'handoffs.handoffs.' + i + '.windows.' + w + '.attainment', 'font-weight': 700 }, fmtShare(win.attainment)));
      label.append(svg('tspan', {}, ' · p90 '));
      label.append(svg('tspan', { 'data-api': 'handoffs.handoffs.' + i + '.windows.' + w + '.response_p90_ms' }, fmtMs(win.response_p90_ms)));
      g.append(label);
      root.append(g);
    });
    const maxLane = Math.max(1, ...lanes.values());
    const shift = Math.max(0, (maxLane - 1) * LANE);

    // Flows: below the boxes, from each stage to the stage its subjects
    // reached first; a skip arcs lower the more stages it jumps.
    const fl = svg('g', { class: 'flows' });
    fl.append(svg('text', { x: X0, y: flowsTop - 8, 'font-size': 12, fill: '#4d5560' },
      'Where they went next (a skip bends lower) and how many stopped:'));
    stages.forEach((s) => {
      const i = idx.get(s.name), win = s.windows[w];
      const x = xOf(s.name);
      const flows = win.flows || {};
      for (const [to, n] of Object.entries(flows)) {
        if (!pos.has(to) || n <= 0) continue;
        const span = pos.get(to) - pos.get(s.name);
        const depth = 34 + Math.abs(span - 1) * 34;
        flowsH = Math.max(flowsH, depth + 30);
        const x1 = x + BW / 2, x2 = xOf(to) + BW / 2 - 8;
        const y0 = flowsTop;
        const skip = span > 1;
        fl.append(svg('path', { d: 'M' + x1 + ' ' + y0 + ' C' + x1 + ' ' + (y0 + depth) + ' ' + x2 + ' ' + (y0 + depth) + ' ' + x2 + ' ' + y0,
          fill: 'none', stroke: skip ? '#7a3e9d' : '#1f4e79', 'stroke-width': Math.min(7, 1 + Math.log2(1 + n)),
          'stroke-dasharray': skip ? '6 3' : null, 'marker-end': 'url(#arrow-unknown)' }));
        const t = svg('text', { x: (x1 + x2) / 2, y: y0 + depth * 0.75 + 16, 'text-anchor': 'middle', 'font-size': 12,
          fill: skip ? '#7a3e9d' : '#1f4e79', 'font-weight': 600 });
        t.append(svg('tspan', { 'data-api': 'stages.stages.' + i + '.windows.' + w + '.flows.' + to }, String(n)));
        t.append(svg('tspan', {}, skip ? ' skip to ' + to : ' to ' + to));
        fl.append(t);
      }
      const stopped = win.entered - win.moved_on;
      const t = svg('text', { x: x + 10, y: TOP + BH - 8, 'font-size': 12, fill: '#a4161a' });
      t.append(svg('tspan', {}, s.next ? '✕ stopped ' : 'end of chain '));
      if (s.next) t.append(svg('tspan', { 'data-api-stopped': 'stages.stages.' + i + '.windows.' + w }, String(stopped)));
      fl.append(t);
    });
    root.append(fl);
    const height = flowsTop + flowsH + shift;
    root.setAttribute('viewBox', '0 ' + (-shift) + ' ' + width + ' ' + height);
    root.setAttribute('height', height);
    $('#map').replaceChildren(root);
  }

  // -------------------------------------------------------------------------
  // Handoffs, series, clocks, KPIs
  // -------------------------------------------------------------------------

  function drawHandoffs(data) {
    const w = state.window;
    const body = $('#handoffs tbody');
    body.replaceChildren();
    data.handoffs.handoffs.forEach((h, i) => {
      const a = 'handoffs.handoffs.' + i;
      const win = h.windows[w];
      const run = h.running || {};
      body.append(el('tr', { 'data-handoff': h.name },
        el('th', { scope: 'row' }, h.name),
        el('td', {}, badge(h.status)),
        el('td', { text: h.owner }),
        fig('td', fmtShare(win.attainment), a + '.windows.' + w + '.attainment', 'num'),
        fig('td', fmtMs(win.response_p50_ms), a + '.windows.' + w + '.response_p50_ms', 'num'),
        fig('td', fmtMs(win.response_p90_ms), a + '.windows.' + w + '.response_p90_ms', 'num'),
        fig('td', fmtCount(run.open), a + '.running.open', 'num'),
        fig('td', fmtCount(run.at_risk), a + '.running.at_risk', 'num'),
        fig('td', fmtCount(run.breached), a + '.running.breached', 'num'),
        fig('td', fmtCount(win.started), a + '.windows.' + w + '.started', 'num'),
        fig('td', fmtCount(win.incomplete), a + '.windows.' + w + '.incomplete', 'num'),
        el('td', { 'data-missing': a + '.windows.' + w + '.missing', text: fmtMissing(win.missing) })));
    });
    const pick = $('#series-pick');
    const names = data.handoffs.handoffs.map((h) => h.name);
    if (pick.options.length !== names.length) {
      pick.replaceChildren(...names.map((n) => el('option', { value: n, text: n })));
    }
    if (!state.pick || !names.includes(state.pick)) {
      // The worst handoff first.
      const worst = data.handoffs.handoffs.slice().sort((x, y) => RANK[x.status] - RANK[y.status])[0];
      state.pick = worst ? worst.name : null;
    }
    if (state.pick) pick.value = state.pick;
  }

  function drawSeries(s) {
    const box = $('#series');
    if (!s) { box.replaceChildren(); return; }
    const W = 640, H = 190, L = 40, B = 24, T = 10;
    const bw = (W - L - 10) / s.days.length;
    const judged = s.days.filter((d) => d.attainment !== null);
    const root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', role: 'img',
      'aria-label': 'Attainment of ' + s.handoff + ' per day over 30 days: ' + judged.length +
        ' days with judged clocks' + (judged.length ? ', last ' + fmtShare(judged[judged.length - 1].attainment) : '') });
    for (const v of [0, 0.5, 1]) {
      const y = T + (H - T - B) * (1 - v);
      root.append(svg('line', { x1: L, x2: W - 10, y1: y, y2: y, stroke: '#c9ced6' }));
      root.append(svg('text', { x: L - 5, y: y + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#4d5560' }, (v * 100) + '%'));
    }
    s.days.forEach((d, i) => {
      const x = L + i * bw + 1;
      const g = svg('g', { 'data-day': d.day });
      if (d.attainment === null) {
        g.append(svg('rect', { x, y: H - B - 3, width: bw - 2, height: 3, fill: '#c9ced6' }));
      } else {
        const h = (H - T - B) * d.attainment;
        g.append(svg('rect', { x, y: H - B - h, width: bw - 2, height: Math.max(h, 1),
          fill: d.attainment >= 0.9 ? '#1d6b3a' : (d.attainment >= 0.8 ? '#8a5300' : '#a4161a') }));
      }
      g.append(svg('title', { 'data-api': 'series.days.' + i + '.attainment' },
        d.day + ': ' + fmtShare(d.attainment) + ' of ' + (d.met + d.met_late + d.breached) + ' judged, ' + d.started + ' started'));
      root.append(g);
      if (i % 7 === 1) {
        root.append(svg('text', { x: x + bw / 2, y: H - 6, 'text-anchor': 'middle', 'font-size': 11, fill: '#4d5560' }, d.day.slice(5)));
      }
    });
    const last = judged[judged.length - 1];
    box.replaceChildren(root, el('p', { class: 'hint', text: 'Bars: the share of the clocks started that day that were met in time (tall green is good; a grey tick: none judged). Last judged day: ' +
      (last ? last.day + ', ' + fmtShare(last.attainment) : 'none') + '.' }));
  }

  function drawClocks(data) {
    const body = $('#clocks tbody');
    body.replaceChildren();
    const now = Date.now();
    const list = data.clocks.slice().sort((a, b) => {
      if (a.state !== b.state) return a.state === 'breached' ? -1 : 1;
      return Date.parse(a.deadline || 0) - Date.parse(b.deadline || 0);
    });
    if (list.length === 0) {
      body.append(el('tr', {}, el('td', { colspan: 7, text: 'No clock is breached or at risk now.' })));
    }
    const SHOWN = 25;
    if (list.length > SHOWN) {
      $('#clocks-more').textContent = 'The ' + SHOWN + ' most urgent of ' + list.length +
        ' read (up to 20 per handoff and state); every one: /v1/handoffs/{name}/clocks or handoffctl clocks.';
    } else {
      $('#clocks-more').textContent = '';
    }
    for (const c of list.slice(0, SHOWN)) {
      const st = c.state === 'breached' ? 'red' : 'amber';
      const dl = c.deadline ? Date.parse(c.deadline) : null;
      const when = dl === null ? '—' : (dl < now ? 'late by ' + fmtMs(now - dl) : 'due in ' + fmtMs(dl - now));
      body.append(el('tr', { 'data-clock': c.handoff + ' ' + c.subject },
        el('td', {}, el('span', { class: 'status ' + st }, el('span', { 'aria-hidden': 'true', text: SHAPES[st] }),
          c.state === 'breached' ? 'Breached' : 'At risk')),
        el('td', { text: c.handoff }),
        el('td', {}, el('a', { href: subjectHref(c.subject), 'data-subject': c.subject, text: c.subject })),
        el('td', { class: 'nowrap', text: fmtTime(c.deadline) }),
        el('td', { class: 'nowrap', text: when }),
        el('td', { text: c.owner }),
        el('td', { text: (c.missing || []).join(', ') || '—' })));
    }
  }

  function drawKpis(health) {
    const body = $('#kpis tbody');
    body.replaceChildren();
    const rows = [];
    health.handoffs.forEach((h, i) => (h.kpis || []).forEach((k, j) => rows.push([k, 'handoff ' + h.name, 'health.handoffs.' + i + '.kpis.' + j])));
    health.stages.forEach((s, i) => (s.kpis || []).forEach((k, j) => rows.push([k, 'stage ' + s.name, 'health.stages.' + i + '.kpis.' + j])));
    rows.sort((a, b) => RANK[a[0].status] - RANK[b[0].status]);
    for (const [k, of, a] of rows) {
      body.append(el('tr', { 'data-kpi': k.name },
        el('th', { scope: 'row', text: k.name }),
        el('td', { text: of + ' (' + k.window + ')' }),
        el('td', { text: k.owner }),
        fig('td', fmtKpi(k.target, k.unit), a + '.target', 'num'),
        el('td', { text: 'amber past ' + fmtKpi(k.amber, k.unit) + ', red past ' + fmtKpi(k.red, k.unit) }),
        fig('td', fmtKpi(k.value, k.unit), a + '.value', 'num'),
        el('td', {}, badge(k.status)),
        el('td', { text: k.action || '—' })));
    }
    if (rows.length === 0) body.append(el('tr', {}, el('td', { colspan: 8, text: 'The config has no KPI.' })));
  }

  // -------------------------------------------------------------------------
  // One subject's journey
  // -------------------------------------------------------------------------

  async function showSubject(subject) {
    $('#overview').hidden = true;
    const box = $('#subject');
    box.hidden = false;
    $('#subject-title').textContent = 'Journey of ' + subject;
    const list = $('#subject-timeline');
    list.replaceChildren(el('li', { text: 'Loading…' }));
    try {
      const j = await api('/v1/subjects/' + encodeURIComponent(subject));
      const items = [];
      j.stages.forEach((s) => items.push([s.entered_at, 'Stage', 'entered ' + s.stage]));
      j.events.forEach((e) => items.push([e.at, 'Event', e.type + (e.source ? ' from ' + e.source : '') +
        (e.handoffs.length ? ' (' + e.handoffs.join(', ') + ')' : '')]));
      j.clocks.forEach((c) => items.push([c.started_at, 'Clock', c.handoff + ': ' + c.state.replace('_', ' ') +
        (c.deadline ? ', deadline ' + fmtTime(c.deadline) : '') + (c.stopped_at ? ', stopped ' + fmtTime(c.stopped_at) : '')]));
      items.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      list.replaceChildren(...items.map(([at, kind, text]) => el('li', {},
        el('span', { class: 'when', text: fmtTime(at) }), el('span', { class: 'kind', text: kind }), text)));
      $('#subject-back').focus();
    } catch (e) {
      if (e instanceof Unauthorized) return askToken();
      list.replaceChildren(el('li', { text: 'Cannot read this journey: ' + e.message }));
    }
  }

  function route() {
    const m = /^#subject=(.+)$/.exec(location.hash);
    if (m) return showSubject(decodeURIComponent(m[1]));
    $('#subject').hidden = true;
    $('#overview').hidden = false;
    return null;
  }

  // -------------------------------------------------------------------------
  // Token, notice, refresh
  // -------------------------------------------------------------------------

  function askToken() {
    $('#token').hidden = false;
    $('#overview').hidden = true;
    notice(localStorage.getItem(TOKEN_KEY)
      ? 'The API refused the saved token: enter another.'
      : 'The API wants a token: enter one below.');
    $('#token-input').focus();
  }

  function notice(text) {
    const n = $('#notice');
    n.textContent = text || '';
    n.hidden = !text;
  }

  function drawAll() {
    const d = state.data;
    if (!d) return;
    document.querySelectorAll('.win-label').forEach((e) => { e.textContent = '(' + state.window + ')'; });
    document.querySelectorAll('.windows button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.window === state.window)));
    drawVerdict(d.health);
    drawMap(d);
    drawHandoffs(d);
    drawClocks(d);
    drawKpis(d.health);
    $('#computed').textContent = 'Figures computed at ' + fmtTime(d.handoffs.computed_at) +
      ' by the workers; read at ' + new Date(state.lastOk).toISOString().slice(11, 19) + ' UTC. Refreshes every 30 s.';
    document.body.dataset.loaded = String(state.lastOk);
    if (performance.getEntriesByName('figures-drawn').length === 0) performance.mark('figures-drawn');
  }

  async function loadSeries() {
    if (!state.pick) return;
    try {
      state.series = await api('/v1/handoffs/' + state.pick + '/series');
      drawSeries(state.series);
    } catch (e) {
      if (e instanceof Unauthorized) askToken();
    }
  }

  async function refresh() {
    try {
      state.data = await load();
      state.lastOk = Date.now();
      notice('');
      $('#token').hidden = true;
      if (!/^#subject=/.test(location.hash)) $('#overview').hidden = false;
      drawAll();
      await loadSeries();
      document.body.dataset.ready = String(state.lastOk);
    } catch (e) {
      if (e instanceof Unauthorized) return askToken();
      notice('The API cannot be reached (' + e.message + ')' + (state.lastOk
        ? '; the figures shown are from ' + new Date(state.lastOk).toISOString().slice(11, 19) + ' UTC.'
        : '.'));
    }
    return null;
  }

  function start() {
    document.querySelectorAll('.windows button').forEach((b) => b.addEventListener('click', () => {
      state.window = b.dataset.window;
      localStorage.setItem('handoff.window', state.window);
      drawAll();
    }));
    $('#token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      localStorage.setItem(TOKEN_KEY, $('#token-input').value.trim());
      $('#token-input').value = '';
      refresh().then(route);
    });
    $('#token-forget').addEventListener('click', () => { localStorage.removeItem(TOKEN_KEY); askToken(); });
    $('#token-button').addEventListener('click', () => askToken());
    $('#series-pick').addEventListener('change', (ev) => { state.pick = ev.target.value; loadSeries(); });
    $('#subject-back').addEventListener('click', (ev) => { ev.preventDefault(); location.hash = ''; });
    window.addEventListener('hashchange', route);
    window.addEventListener('hk-refresh', refresh);
    refresh().then(route);
    setInterval(refresh, REFRESH_MS);
  }

  document.addEventListener('DOMContentLoaded', start);
})();
