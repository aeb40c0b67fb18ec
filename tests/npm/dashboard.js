#!/usr/bin/env node
// dashboard.js -- the dashboard page in Debian's chromium, headless, driven
// by puppeteer-core (no browser download), against a running stack.
//
//   node dashboard.js --url http://127.0.0.1:PORT --token TOKEN --out DIR
//                     [--bench FILE] [--shot-only FILE]
//
// Checks, in order: the page asks for a token when it has none and the API
// wants one, and loads once one is entered; every figure on the page
// (each element with data-api names its place in the API's documents)
// equals the API's own answer, formatted by the rules below, in each
// window after the window switch; a subject link opens that subject's
// journey with every event and clock of /v1/subjects; the page sends no
// request outside its own origin; axe-core finds no serious or critical
// violation; the page answers with its Content-Security-Policy. Saves
// screenshots at 1440x900 and 360x780 to DIR. Exit 0 when all hold, 1 when
// one does not (each failure printed), 2 on any other failure.
//
// --bench FILE: instead, loads the page five times with a token saved
// and writes the browser's own timing (navigation and paint entries, and
// when the figures were drawn) and the bytes transferred to FILE as JSON.
// --shot-only FILE: one full screenshot at 1440x900 to FILE (the README's).
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const puppeteer = require('puppeteer-core');

const CHROMIUM = process.env.HK_CHROMIUM || '/usr/bin/chromium';

function args() {
  const a = {};
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) a[v[i].replace(/^--/, '')] = v[i + 1];
  if (!a.url || !a.token) {
    console.error('usage: dashboard.js --url URL --token TOKEN --out DIR');
    process.exit(2);
  }
  return a;
}

function get(base, p, token) {
  return new Promise((resolve, reject) => {
    const u = new URL(p, base);
    http.get(u, { headers: { Authorization: 'Bearer ' + token } }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
}
async function getJson(base, p, token) {
  const r = await get(base, p, token);
  if (r.status !== 200) throw new Error(p + ': HTTP ' + r.status + ' ' + r.body);
  return JSON.parse(r.body);
}

// The page's formatting rules, written again: a figure on the page is
// right when it is the API's value under these rules.
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
function format(p, v, unitOf) {
  const last = p.split('.').pop();
  if (v === null || v === undefined) return '—';
  if (last === 'attainment' || last === 'conversion') return fmtShare(v);
  if (last.endsWith('_ms')) return fmtMs(v);
  if (last === 'value' || last === 'target') {
    const unit = unitOf(p);
    if (unit === 'share') return fmtShare(v);
    if (unit === 'ms') return fmtMs(v);
    if (unit === 'money') return v.toFixed(2);
  }
  if (last === 'reason') return v;
  return String(v);
}
function at(docs, p) {
  return p.split('.').reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), docs);
}

async function apiDocs(base, token, pick) {
  const [health, handoffs, stages] = await Promise.all([
    getJson(base, '/v1/health', token), getJson(base, '/v1/handoffs', token),
    getJson(base, '/v1/stages', token)]);
  const series = pick ? await getJson(base, '/v1/handoffs/' + pick + '/series', token) : null;
  return { health, handoffs, stages, series };
}

// Every [data-api] figure against docs; returns the failures.
async function compare(page, docs, label) {
  const figs = await page.$$eval('[data-api]', (es) => es.map((e) => [e.getAttribute('data-api'), e.textContent]));
  const stopped = await page.$$eval('[data-api-stopped]', (es) => es.map((e) => [e.getAttribute('data-api-stopped'), e.textContent]));
  const unitOf = (p) => at(docs, p.replace(/\.(value|target)$/, '.unit'));
  const bad = [];
  for (const [p, text] of figs) {
    const v = at(docs, p);
    const want = format(p, v, unitOf);
    const ok = p.startsWith('series.') ? text.includes(': ' + want + ' of') : text === want;
    if (!ok) bad.push(label + ': ' + p + ' shows "' + text + '", the API says "' + want + '"');
  }
  for (const [p, text] of stopped) {
    const w = at(docs, p);
    if (String(w.entered - w.moved_on) !== text) bad.push(label + ': stopped at ' + p + ' shows ' + text);
  }
  return { bad, n: figs.length + stopped.length };
}

async function waitReady(page, after) {
  await page.waitForFunction((t) => Number(document.body.dataset.ready || 0) > t, { timeout: 20000 }, after);
}

async function launch() {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

async function bench(a) {
  const browser = await launch();
  const runs = [];
  try {
    for (let i = 0; i < 6; i++) {
      const page = await browser.newPage();
      await page.setViewport({ width: 1440, height: 900 });
      const client = await page.target().createCDPSession();
      await client.send('Network.enable');
      await client.send('Network.setCacheDisabled', { cacheDisabled: true });
      let bytes = 0;
      let decoded = 0;
      let requests = 0;
      client.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; requests += 1; });
      client.on('Network.dataReceived', (e) => { decoded += e.dataLength; });
      await page.evaluateOnNewDocument((t) => localStorage.setItem('handoff.token', t), a.token);
      await page.goto(a.url + '/dashboard/', { waitUntil: 'load' });
      await waitReady(page, 0);
      await new Promise((r) => setTimeout(r, 300));
      const t = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const paints = Object.fromEntries(performance.getEntriesByType('paint').map((p) => [p.name, p.startTime]));
        const drawn = performance.getEntriesByName('figures-drawn')[0];
        return { dom_content_loaded_ms: nav.domContentLoadedEventEnd, load_ms: nav.loadEventEnd,
          first_contentful_paint_ms: paints['first-contentful-paint'] || null,
          figures_drawn_ms: drawn ? drawn.startTime : null,
          figures: document.querySelectorAll('[data-api]').length };
      });
      if (i > 0) runs.push(Object.assign(t, { transfer_bytes: bytes, decoded_bytes: decoded, requests })); // the first warms the server
      await page.close();
    }
  } finally {
    await browser.close();
  }
  const med = (k) => { const v = runs.map((r) => r[k]).sort((x, y) => x - y); return v[Math.floor(v.length / 2)]; };
  const out = {
    bench: 'page', when: new Date().toISOString(), chromium: CHROMIUM,
    config: a.config || null,
    median: { figures_drawn_ms: med('figures_drawn_ms'), first_contentful_paint_ms: med('first_contentful_paint_ms'),
      load_ms: med('load_ms'), transfer_bytes: med('transfer_bytes'), decoded_bytes: med('decoded_bytes'),
      requests: med('requests') },
    targets: { first_render_ms: 1000, transfer_bytes: 150 * 1024 },
    runs,
  };
  out.met = out.median.figures_drawn_ms < 1000 && out.median.transfer_bytes < 150 * 1024;
  fs.writeFileSync(a.bench, JSON.stringify(out, null, 2) + '\n');
  console.log(JSON.stringify(out.median));
  return out.met ? 0 : 1;
}

async function shot(a) {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1440, height: 900 });
    await page.evaluateOnNewDocument((t) => localStorage.setItem('handoff.token', t), a.token);
    await page.goto(a.url + '/dashboard/', { waitUntil: 'load' });
    await waitReady(page, 0);
    await page.screenshot({ path: a['shot-only'], fullPage: true });
    const map = await page.$('#map svg');
    await map.screenshot({ path: a['shot-only'].replace(/\.png$/, '-map.png') });
  } finally {
    await browser.close();
  }
  return 0;
}

async function check(a) {
  const base = a.url;
  const origin = new URL(base).origin;
  const fails = [];
  const foreign = [];
  fs.mkdirSync(a.out, { recursive: true });

  const head = await get(base, '/dashboard/', '');
  const csp = head.headers['content-security-policy'] || '';
  if (head.status !== 200 || !/default-src 'self'/.test(csp)) fails.push('GET /dashboard/: ' + head.status + ', CSP "' + csp + '"');

  const browser = await launch();
  try {
    const page = await browser.newPage();
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith('data:') && new URL(u).origin !== origin) foreign.push(u);
    });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error' && !/401/.test(m.text())) errors.push(m.text()); });
    await page.setViewport({ width: 1440, height: 900 });

    // The token prompt: no token saved, the API wants one.
    await page.goto(base + '/dashboard/', { waitUntil: 'load' });
    await page.waitForSelector('#token:not([hidden])', { timeout: 10000 });
    await page.type('#token-input', a.token);
    await page.click('#token-form button[type="submit"]');
    await waitReady(page, 0);
    const saved = await page.evaluate(() => localStorage.getItem('handoff.token'));
    if (saved !== a.token) fails.push('the token was not kept in the browser');
    if (await page.$eval('#token', (e) => !e.hidden)) fails.push('the token prompt stays after a good token');

    // Every figure, in the default window and after each switch.
    let figures = 0;
    for (const w of ['7d', '24h', '30d']) {
      if (w !== '7d') {
        await page.click('.windows button[data-window="' + w + '"]');
        const pressed = await page.$eval('.windows button[data-window="' + w + '"]', (b) => b.getAttribute('aria-pressed'));
        if (pressed !== 'true') fails.push('window ' + w + ' is not shown as chosen');
        const inWindow = await page.$$eval('[data-api*=".windows."]', (es, win) => es.every((e) => e.getAttribute('data-api').includes('.windows.' + win + '.')), w);
        if (!inWindow) fails.push('after the switch to ' + w + ', some figures are of another window');
      }
      const pick = await page.$eval('#series-pick', (s) => s.value);
      const docs = await apiDocs(base, a.token, pick);
      const r = await compare(page, docs, w);
      figures += r.n;
      fails.push(...r.bad);
      if (w === '7d') {
        await page.screenshot({ path: path.join(a.out, 'dashboard-1440x900.png') });
        await page.screenshot({ path: path.join(a.out, 'dashboard-1440x900-full.png'), fullPage: true });
        const map = await page.$('#map');
        await map.screenshot({ path: path.join(a.out, 'dashboard-map.png') });
      }
    }
    if (figures < 50) fails.push('only ' + figures + ' figures on the page');

    // axe-core: evaluated through the DevTools protocol, which the page's
    // CSP does not govern (an injected <script> would be refused).
    const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    await page.evaluate(axeSource);
    const axe = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, n: v.nodes.length, help: v.help, where: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
    });
    const severe = axe.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    fs.writeFileSync(path.join(a.out, 'axe.json'), JSON.stringify(axe, null, 2) + '\n');
    severe.forEach((v) => fails.push('axe ' + v.impact + ': ' + v.id + ' (' + v.help + ') at ' + v.where.join('; ')));

    // A subject link opens that subject's journey.
    const link = await page.$('#clocks a[data-subject]');
    if (link === null) {
      fails.push('no clock breached or at risk to follow to its subject');
    } else {
      const subject = await page.evaluate((e) => e.dataset.subject, link);
      await link.click();
      await page.waitForFunction(() => document.querySelectorAll('#subject-timeline li .kind').length > 0, { timeout: 10000 });
      const j = await getJson(base, '/v1/subjects/' + encodeURIComponent(subject), a.token);
      const shown = await page.$$eval('#subject-timeline li .kind', (es) => es.map((e) => e.textContent));
      const want = j.stages.length + j.events.length + j.clocks.length;
      if (shown.length !== want) fails.push('the journey of ' + subject + ' shows ' + shown.length + ' items, the API has ' + want);
      const title = await page.$eval('#subject-title', (e) => e.textContent);
      if (!title.includes(subject)) fails.push('the journey is titled "' + title + '"');
      if (await page.$eval('#overview', (e) => getComputedStyle(e).display !== 'none')) fails.push('the overview stays on screen under the journey');
      if (!(await page.evaluate(() => location.hash.startsWith('#subject=')))) fails.push('the subject link did not change the address');
      await page.screenshot({ path: path.join(a.out, 'dashboard-subject-1440x900.png') });
      await page.click('#subject-back');
      await page.waitForSelector('#overview:not([hidden])');
    }

    // Narrow.
    await page.setViewport({ width: 360, height: 780 });
    await new Promise((r) => setTimeout(r, 300));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) fails.push('at 360 px the page is ' + overflow + ' px too wide');
    await page.screenshot({ path: path.join(a.out, 'dashboard-360x780.png') });
    await page.screenshot({ path: path.join(a.out, 'dashboard-360x780-full.png'), fullPage: true });

    // The API unreachable: the page says so and keeps the figures.
    await page.setRequestInterception(true);
    page.on('request', (r) => (r.url().includes('/v1/') ? r.abort() : r.continue()));
    await page.evaluate(() => window.dispatchEvent(new Event('hk-refresh')));
    await page.waitForSelector('#notice:not([hidden])', { timeout: 10000 });
    const said = await page.$eval('#notice', (e) => e.textContent);
    if (!/cannot be reached/.test(said)) fails.push('with the API down the page says "' + said + '"');
    errors.filter((e) => !/Failed to load resource|ERR_FAILED/.test(e)).forEach((e) => fails.push('page error: ' + e));
    console.log('dashboard: ' + figures + ' figures compared over 3 windows; axe: ' + axe.length + ' violations, ' + severe.length + ' serious or critical; requests outside the origin: ' + foreign.length);
  } finally {
    await browser.close();
  }
  foreign.forEach((u) => fails.push('request outside the origin: ' + u));
  fails.forEach((f) => console.log('FAIL ' + f));
  return fails.length === 0 ? 0 : 1;
}

(async () => {
  const a = args();
  try {
    let rc;
    if (a.bench) rc = await bench(a);
    else if (a['shot-only']) rc = await shot(a);
    else rc = await check(a);
    process.exit(rc);
  } catch (e) {
    console.error('dashboard.js: ' + (e && e.stack ? e.stack : e));
    process.exit(2);
  }
})();
