#!/usr/bin/env node
// month.js -- a scripted month of a B2B SaaS journey, posted through nginx
// as signed provider webhooks, and every number of /v1/stages and
// /v1/handoffs compared with what this script computes on its own.
//
//   node month.js --url http://127.0.0.1:PORT/handoff --token TOKEN [--seed N]
//                 [--subjects N] [--timeout-s N] [--config-out FILE]
//   env: HK_STRIPE_SECRET, HK_HUBSPOT_SECRET, HK_DEMO_SECRET (whsec_…)
//
// --config-out writes the config fragment the stack must run with (the
// rules, stages, handoffs and KPIs below) and exits: the test starts the
// stack with it, so the script and the server share one description.
//
// The activation clock is also counted per owner and per segment
// (group_by): the Stripe subscription carries its sales owner and segment in
// metadata; the owners directory knows three owners, a fourth id falls back
// to the handoff's owner; segment lists two of three values, the third
// counts as "other"; the top 2 owners by volume are shown, the rest as
// "other". /v1/handoffs/activation/by/{owner,segment} are compared too.
//
// The journey, per company (its HubSpot company id is the subject,
// company:ID, and Stripe carries it in metadata): becomes a lead, may
// become an MQL (the lead_response clock: first touch within 4 hours),
// may be touched by an SDR (lead status ATTEMPTED_TO_CONTACT), or
// disqualified; may become an opportunity (a deal), then a customer (the
// deal is won: the onboarding_kickoff clock, kickoff within 48 hours, the
// kickoff posted by the onboarding tool as a Standard Webhooks delivery);
// gets a Stripe subscription (the activation clock: first invoice paid
// within 3 days, and the plan must be known) and pays its first invoice
// (in EUR or USD: the customer stage's revenue). Event times are spread
// over the past 30 days, from a seeded generator, whole seconds (Stripe's
// `created` has no milliseconds), and kept a few hours away from the
// windows' edges, and clocks still running kept away from their warning
// time and deadline, so the hour bucketing of the windows and the minute
// it takes to run cannot make a legitimate difference. SLAs are in
// calendar time.
//
// Signatures come from the providers' own libraries: stripe's test header
// generator, @hubspot/api-client's Signature helper, standardwebhooks.
// Deliveries are posted in a shuffled order, HubSpot's in batches of up
// to 100. Then the script waits until the queue is drained (GET
// /v1/health: nothing pending, no lag, every delivery processed) and for a
// /v1/handoffs document computed after that, and compares: counts exactly,
// shares to the 15 significant digits they are served with, money to the
// cent, percentiles within 5% of the exact
// nearest-rank value. Exit status: 0 when every number matches, 1 when
// one does not (each difference is printed), 2 on any other failure.
'use strict';

const http = require('http');
const { URL } = require('url');

const H = 3600 * 1000;
const D = 24 * H;
const MIN = 60 * 1000;

// ---------------------------------------------------------------------------
// The config fragment the stack runs with
// ---------------------------------------------------------------------------

const HUBSPOT_URL = 'https://hooks.example.com/hooks/hubspot';

const SLA = {
  lead_response: { within: 4 * H, warn: 0.8, start: 'lead.marketingqualifiedlead', stop: 'lead.contacted', cancel: 'lead.disqualified', requires: ['change_source'] },
  onboarding_kickoff: { within: 48 * H, warn: 0.75, start: 'lead.customer', stop: 'onboarding.kickoff', cancel: null, requires: [] },
  activation: { within: 3 * D, warn: 0.8, start: 'subscription.created', stop: 'invoice.paid', cancel: null, requires: ['plan'] },
};

// In chain order: each stage's `next` is the one after it.
const STAGES = [
  ['lead', 'lead.lead'],
  ['mql', 'lead.marketingqualifiedlead'],
  ['sql', 'lead.contacted'],
  ['opportunity', 'lead.opportunity'],
  ['onboarding', 'lead.customer'],
  ['customer', 'invoice.paid'],
];

// group_by of activation: the directory's owners, the listed segments.
const GROUP_OWNERS = ['ana', 'bo', 'cy'];
const GROUP_SEGMENTS = ['enterprise', 'mid'];
const GROUP_TOP = 2;

function configFragment() {
  const events = [
    {
      name: 'hubspot-touched', source: 'hubspot',
      match: { subscriptionType: 'company.propertyChange', propertyName: 'hs_lead_status', propertyValue: { one_of: ['ATTEMPTED_TO_CONTACT', 'CONNECTED'] } },
      type: 'lead.contacted', subject: 'company:{objectId}', at: { path: 'occurredAt', format: 'unix_ms' },
    },
    {
      name: 'hubspot-disqualified', source: 'hubspot',
      match: { subscriptionType: 'company.propertyChange', propertyName: 'hs_lead_status', propertyValue: 'UNQUALIFIED' },
      type: 'lead.disqualified', subject: 'company:{objectId}', at: { path: 'occurredAt', format: 'unix_ms' },
    },
    {
      name: 'stripe-subscription', source: 'stripe', extends: 'stripe.subscription_created',
      subject: 'company:{data.object.metadata.hubspot_company_id}',
      attrs: {
        plan: 'data.object.items.data.0.price.lookup_key',
        owner: 'data.object.metadata.sales_owner', segment: 'data.object.metadata.segment',
      },
    },
    {
      name: 'stripe-invoice-paid', source: 'stripe', extends: 'stripe.invoice_paid',
      subject: 'company:{data.object.parent.subscription_details.metadata.hubspot_company_id}',
    },
    {
      name: 'onboarding-tool', source: 'demo', match: { type: 'onboarding.kickoff' },
      type: '{type}', subject: 'company:{data.company_id}', at: { path: 'timestamp', format: 'unix_ms' },
      attrs: { owner: 'data.owner' },
    },
  ];
  const stages = {};
  STAGES.forEach(([name, on], i) => {
    stages[name] = { owner: i < 2 ? 'Marketing' : i < 4 ? 'Sales' : 'Customer success', entered_on: [on] };
    if (i + 1 < STAGES.length) stages[name].next = STAGES[i + 1][0];
    if (name === 'customer') stages[name].amount_attr = 'amount';
  });
  const fromTo = { lead_response: ['mql', 'sql'], onboarding_kickoff: ['opportunity', 'onboarding'], activation: ['onboarding', 'customer'] };
  const handoffs = {};
  for (const [name, s] of Object.entries(SLA)) {
    handoffs[name] = {
      owner: name === 'lead_response' ? 'SDR team' : 'Customer success',
      from: fromTo[name][0], to: fromTo[name][1], start: [s.start], stop: [s.stop],
      sla: { within: `${s.within / H}h` }, warn_at: s.warn,
    };
    if (s.cancel) handoffs[name].cancel = [s.cancel];
    if (s.requires.length) handoffs[name].requires = s.requires;
  }
  handoffs.activation.group_by = { owner: {}, segment: { values: GROUP_SEGMENTS } };
  handoffs.activation.group_top = GROUP_TOP;
  const owners = {};
  for (const o of GROUP_OWNERS) owners[o] = { name: o.toUpperCase() };
  const kpi = (of, metric, target, amber, red, window, extra = {}) => ({
    ...of, metric, target, amber, red, window, owner: 'RevOps', action: `Review ${metric}.`, ...extra,
  });
  const kpis = {
    lead_attainment: kpi({ handoff: 'lead_response' }, 'attainment', 0.95, 0.9, 0.8, '7d'),
    lead_p90: kpi({ handoff: 'lead_response' }, 'p90_response', '30m', '1h', '2h', '30d'),
    kickoff_attainment: kpi({ handoff: 'onboarding_kickoff' }, 'attainment', 0.9, 0.8, 0.7, '30d'),
    activation_incomplete: kpi({ handoff: 'activation' }, 'incomplete_rate', 0.05, 0.1, 0.2, '30d'),
    mql_conversion: kpi({ stage: 'mql' }, 'conversion', 0.5, 0.3, 0.1, '30d'),
    customer_revenue: kpi({ stage: 'customer' }, 'revenue', 1000000, 500000, 100000, '30d', { currency: 'EUR' }),
  };
  return { events, stages, handoffs, owners, kpis };
}

// The fragment as the harness splices it into its config: the keys of an
// object, without the braces, with a trailing comma.
function fragmentText() {
  const f = configFragment();
  const parts = Object.entries(f).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `${parts.join(',\n')},\n`;
}

function sourcesText() {
  return ',\n"stripe": {"kind": "stripe", "secret": {"env": "HK_STRIPE_SECRET"}, "presets": ["stripe.subscriptions", "stripe.invoices"]},\n' +
    `"hubspot": {"kind": "hubspot", "secret": {"env": "HK_HUBSPOT_SECRET"}, "public_url": "${HUBSPOT_URL}", "presets": ["hubspot.lifecycle"]}`;
}

// ---------------------------------------------------------------------------
// The script: a seeded month
// ---------------------------------------------------------------------------

// mulberry32: small, seeded, the same everywhere.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sec = (ms) => Math.floor(ms / 1000) * 1000;

// One company's events, {kind, type, at, ...}, in time order.
function companyEvents(rand, id, now) {
  const u = (lo, hi) => lo + rand() * (hi - lo);
  const ev = [];
  const lead = sec(now - u(1 * D, 29.5 * D));
  ev.push({ type: 'lead.lead', at: lead });
  if (rand() < 0.25) return ev;
  const mql = sec(lead + u(1 * H, 3 * D));
  ev.push({ type: 'lead.marketingqualifiedlead', at: mql, noSource: rand() < 0.12 });
  const fate = rand();
  if (fate < 0.05) {
    ev.push({ type: 'lead.disqualified', at: sec(mql + u(10 * MIN, 3 * H)) });
    return ev;
  }
  if (fate > 0.9) return ev; // nobody calls
  const touch = sec(mql + (rand() < 0.7 ? u(5 * MIN, 3.5 * H) : u(4.5 * H, 2 * D)));
  ev.push({ type: 'lead.contacted', at: touch });
  if (rand() < 0.35) return ev;
  const opp = sec(touch + u(1 * D, 6 * D));
  ev.push({ type: 'lead.opportunity', at: opp });
  if (rand() < 0.4) return ev;
  const won = sec(opp + u(1 * D, 8 * D));
  ev.push({ type: 'lead.customer', at: won });
  if (rand() < 0.88) {
    const late = rand() < 0.25;
    ev.push({ type: 'onboarding.kickoff', at: sec(won + (late ? u(50 * H, 5 * D) : u(2 * H, 40 * H))) });
  }
  const sub = sec(won + u(1 * H, 2 * D));
  const currency = rand() < 0.7 ? 'eur' : 'usd';
  ev.push({
    type: 'subscription.created', at: sub, plan: rand() < 0.85 ? (rand() < 0.5 ? 'growth_yearly' : 'scale_yearly') : null, currency,
    owner: ['ana', 'bo', 'cy', '9999', 'ana'][Math.floor(rand() * 5)], segment: ['enterprise', 'mid', 'smb'][Math.floor(rand() * 3)],
  });
  if (rand() < 0.9) {
    const cents = Math.round(u(900, 24000)) * 100 + Math.floor(rand() * 100);
    ev.push({ type: 'invoice.paid', at: sec(sub + (rand() < 0.8 ? u(5 * MIN, 60 * H) : u(3.2 * D, 6 * D))), cents, currency });
  }
  return ev;
}

// The window edges as of now (start of the oldest hour of each window).
function windowEdges(now) {
  const h = Math.floor(now / H);
  return [(h - 23) * H, (h - 167) * H, (h - 719) * H];
}

// 1 when the company's events are clear of every edge the test cannot
// control: window edges, now, and the warning time and deadline of a
// clock that is still running.
function clear(ev, now) {
  const edges = windowEdges(now);
  for (const e of ev) {
    if (e.at > now - 10 * MIN) return false;
    if (e.at < edges[2] + 3 * H) return false;
    if (edges.some((x) => Math.abs(e.at - x) < 3 * H)) return false;
  }
  for (const s of Object.values(SLA)) {
    const start = ev.find((e) => e.type === s.start);
    if (!start || ev.some((e) => e.type === s.stop || e.type === s.cancel)) continue;
    for (const t of [start.at + s.within * s.warn, start.at + s.within]) {
      if (Math.abs(now - t) < 20 * MIN) return false;
    }
  }
  return true;
}

function script(seed, n, now) {
  const rand = rng(seed);
  const companies = [];
  for (let i = 0; i < n; i++) {
    const id = String(880000 + i);
    let ev;
    do {
      ev = companyEvents(rand, id, now);
    } while (!clear(ev, now));
    companies.push({ id, subject: `company:${id}`, events: ev.sort((a, b) => a.at - b.at) });
  }
  return companies;
}

// ---------------------------------------------------------------------------
// The independent computation
// ---------------------------------------------------------------------------

function nearestRank(values, p) {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((v.length * p) / 100));
  return v[rank - 1];
}

const WINDOWS = { '24h': 24, '7d': 168, '30d': 720 };

function inWindow(at, w, T) {
  const h = Math.floor(at / H);
  const nowH = Math.floor(T / H);
  return h <= nowH && h > nowH - WINDOWS[w];
}

// The clock of handoff s for one company as of T, or null.
function clockOf(s, ev, T) {
  const start = ev.find((e) => e.type === s.start);
  if (!start) return null;
  const stop = ev.find((e) => e.type === s.stop && e.at >= start.at);
  const cancel = s.cancel && ev.find((e) => e.type === s.cancel && e.at >= start.at);
  const deadline = start.at + s.within;
  const warn = start.at + Math.round(s.within * s.warn);
  const missing = s.requires.filter((a) => attrOf(start, a) == null);
  let state;
  let response = null;
  if (cancel && (!stop || cancel.at < stop.at)) state = 'cancelled';
  else if (stop) {
    state = stop.at <= deadline ? 'met' : 'met_late';
    response = stop.at - start.at;
  } else state = T < warn ? 'open' : T < deadline ? 'at_risk' : 'breached';
  return { start: start.at, state, response, missing };
}

function attrOf(e, a) {
  if (a === 'change_source') return e.noSource ? null : 'CRM_UI';
  if (a === 'plan') return e.plan;
  return null;
}

function expectedHandoffs(companies, T) {
  const out = {};
  for (const [name, s] of Object.entries(SLA)) {
    const clocks = companies.map((c) => clockOf(s, c.events, T)).filter(Boolean);
    const running = { open: 0, at_risk: 0, paused: 0, breached: 0 };
    for (const k of clocks) if (k.state in running) running[k.state]++;
    const windows = {};
    for (const w of Object.keys(WINDOWS)) {
      const ks = clocks.filter((k) => inWindow(k.start, w, T));
      const n = (st) => ks.filter((k) => k.state === st).length;
      const missing = {};
      for (const k of ks) for (const a of k.missing) missing[a] = (missing[a] || 0) + 1;
      const judged = n('met') + n('met_late') + n('breached');
      const times = ks.filter((k) => k.response !== null).map((k) => k.response);
      windows[w] = {
        started: ks.length, open: n('open'), at_risk: n('at_risk'), paused: 0, met: n('met'),
        met_late: n('met_late'), breached: n('breached'), cancelled: n('cancelled'),
        incomplete: ks.filter((k) => k.missing.length > 0).length, missing,
        attainment: judged ? n('met') / judged : null,
        response_p50_ms: nearestRank(times, 50), response_p90_ms: nearestRank(times, 90),
      };
    }
    out[name] = { running, windows };
  }
  return out;
}

// The figures of clocks ks over each window, as /v1/handoffs gives them.
function windowsOf(ks0, T) {
  const windows = {};
  for (const w of Object.keys(WINDOWS)) {
    const ks = ks0.filter((k) => inWindow(k.start, w, T));
    const n = (st) => ks.filter((k) => k.state === st).length;
    const missing = {};
    for (const k of ks) for (const a of k.missing) missing[a] = (missing[a] || 0) + 1;
    const judged = n('met') + n('met_late') + n('breached');
    const times = ks.filter((k) => k.response !== null).map((k) => k.response);
    windows[w] = {
      started: ks.length, open: n('open'), at_risk: n('at_risk'), paused: 0, met: n('met'),
      met_late: n('met_late'), breached: n('breached'), cancelled: n('cancelled'),
      incomplete: ks.filter((k) => k.missing.length > 0).length, missing,
      attainment: judged ? n('met') / judged : null,
      response_p50_ms: nearestRank(times, 50), response_p90_ms: nearestRank(times, 90),
    };
  }
  return windows;
}

// activation per owner and per segment: the value of each clock's start,
// bounded as the config bounds it; the top GROUP_TOP by clocks started in
// 30 days (ties by name), then "other" for the rest.
const GROUPS = {
  owner: (start) => (GROUP_OWNERS.includes(start.owner) ? start.owner : 'Customer success'),
  segment: (start) => (GROUP_SEGMENTS.includes(start.segment) ? start.segment : 'other'),
};

function expectedGroups(companies, T) {
  const s = SLA.activation;
  const out = {};
  for (const [dim, valueOf] of Object.entries(GROUPS)) {
    const clocks = [];
    for (const c of companies) {
      const k = clockOf(s, c.events, T);
      if (k) clocks.push({ ...k, value: valueOf(c.events.find((e) => e.type === s.start)) });
    }
    const vol = (v) => clocks.filter((k) => k.value === v && inWindow(k.start, '30d', T)).length;
    const ranked = [...new Set(clocks.map((k) => k.value))].filter((v) => v !== 'other' && vol(v) > 0)
      .sort((a, b) => vol(b) - vol(a) || (a < b ? -1 : a > b ? 1 : 0));
    const top = ranked.slice(0, GROUP_TOP);
    const values = {};
    for (const v of top) values[v] = windowsOf(clocks.filter((k) => k.value === v), T);
    values.other = windowsOf(clocks.filter((k) => !top.includes(k.value)), T);
    out[dim] = values;
  }
  return out;
}

function compareGroups(docs, want) {
  for (const [dim, values] of Object.entries(want)) {
    const doc = docs[dim];
    same(`activation by ${dim}: values in order`, doc.values.map((v) => v.value).join(','), Object.keys(values).join(','));
    for (const [value, windows] of Object.entries(values)) {
      const got = doc.values.find((v) => v.value === value);
      if (!got) continue;
      for (const win of Object.keys(WINDOWS)) {
        for (const [k, kind] of Object.entries(HANDOFF_KINDS)) {
          same(`activation by ${dim}.${value}.${win}.${k}`, got.windows[win][k], windows[win][k], kind);
        }
        sameMap(`activation by ${dim}.${value}.${win}.missing`, got.windows[win].missing, windows[win].missing, 'count');
      }
    }
  }
}

function expectedStages(companies, T) {
  const out = {};
  STAGES.forEach(([name, on], i) => {
    const windows = {};
    for (const w of Object.keys(WINDOWS)) {
      let entered = 0;
      let moved = 0;
      const times = [];
      const revenue = {};
      for (const c of companies) {
        const entry = c.events.filter((e) => e.type === on).sort((a, b) => a.at - b.at)[0];
        if (!entry || !inWindow(entry.at, w, T)) continue;
        entered++;
        // Moved on: entered any later stage of the chain at or after.
        let took = null;
        for (const [, later] of STAGES.slice(i + 1)) {
          for (const e of c.events) {
            if (e.type === later && e.at >= entry.at && (took === null || e.at - entry.at < took)) took = e.at - entry.at;
          }
        }
        if (took !== null) {
          moved++;
          times.push(took);
        }
        // ISO 4217 codes are upper case (the contract's "EUR"); Stripe
        // spells them in lower case.
        if (name === 'customer') {
          const cur = entry.currency.toUpperCase();
          revenue[cur] = (revenue[cur] || 0) + entry.cents;
        }
      }
      for (const k of Object.keys(revenue)) revenue[k] /= 100;
      windows[w] = {
        entered, moved_on: moved,
        // The last stage of the chain has nowhere to move on to: null.
        conversion: entered && i + 1 < STAGES.length ? moved / entered : null,
        median_time_in_stage_ms: nearestRank(times, 50), revenue,
      };
    }
    out[name] = { windows };
  });
  return out;
}

// ---------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------

const diffs = [];
let compared = 0;

function same(path, got, want, kind) {
  compared++;
  let ok;
  if (want === null || got === null || want === undefined || got === undefined) ok = got === want || (got == null && want == null);
  else if (kind === 'pct') ok = Math.abs(got - want) <= 0.05 * want;
  // Shares are served to 15 significant digits.
  else if (kind === 'share') ok = Math.abs(got - want) <= 1e-12 * Math.abs(want);
  else if (kind === 'money') ok = Math.abs(got - want) < 0.005;
  else ok = got === want;
  if (!ok) diffs.push(`${path}: served ${JSON.stringify(got)}, script says ${JSON.stringify(want)}`);
}

function sameMap(path, got, want, kind) {
  const keys = new Set([...Object.keys(got || {}), ...Object.keys(want)]);
  for (const k of keys) same(`${path}.${k}`, (got || {})[k] ?? 0, want[k] ?? 0, kind);
}

const HANDOFF_KINDS = {
  started: 'count', open: 'count', at_risk: 'count', paused: 'count', met: 'count', met_late: 'count',
  breached: 'count', cancelled: 'count', incomplete: 'count', attainment: 'share',
  response_p50_ms: 'pct', response_p90_ms: 'pct',
};

function compareHandoffs(doc, want) {
  const served = Object.fromEntries(doc.handoffs.map((h) => [h.name, h]));
  same('handoffs (names in config order)', doc.handoffs.map((h) => h.name).join(','), Object.keys(SLA).join(','));
  for (const [name, w] of Object.entries(want)) {
    const h = served[name];
    if (!h) {
      diffs.push(`handoff ${name} missing`);
      continue;
    }
    for (const k of Object.keys(w.running)) same(`${name}.running.${k}`, h.running[k], w.running[k]);
    for (const win of Object.keys(WINDOWS)) {
      for (const [k, kind] of Object.entries(HANDOFF_KINDS)) {
        same(`${name}.windows.${win}.${k}`, h.windows[win][k], w.windows[win][k], kind);
      }
      sameMap(`${name}.windows.${win}.missing`, h.windows[win].missing, w.windows[win].missing, 'count');
    }
  }
}

function compareStages(doc, want) {
  const served = Object.fromEntries(doc.stages.map((s) => [s.name, s]));
  same('stages (names in config order)', doc.stages.map((s) => s.name).join(','), STAGES.map((s) => s[0]).join(','));
  for (const [name, w] of Object.entries(want)) {
    const s = served[name];
    if (!s) {
      diffs.push(`stage ${name} missing`);
      continue;
    }
    for (const win of Object.keys(WINDOWS)) {
      const a = s.windows[win];
      const b = w.windows[win];
      same(`${name}.windows.${win}.entered`, a.entered, b.entered);
      same(`${name}.windows.${win}.moved_on`, a.moved_on, b.moved_on);
      same(`${name}.windows.${win}.conversion`, a.conversion, b.conversion, 'share');
      same(`${name}.windows.${win}.median_time_in_stage_ms`, a.median_time_in_stage_ms, b.median_time_in_stage_ms, 'pct');
      sameMap(`${name}.windows.${win}.revenue`, a.revenue, b.revenue, 'money');
    }
  }
}

// The KPIs' values follow from the window figures already compared; here
// each is checked against the script's own figure for its metric.
function compareKpis(docs, wantH, wantS) {
  const cfg = configFragment().kpis;
  const all = [...docs.handoffs.handoffs, ...docs.stages.stages];
  for (const d of all) {
    for (const k of d.kpis || []) {
      const c = cfg[k.name];
      if (!c) {
        diffs.push(`kpi ${k.name} is not in the config`);
        continue;
      }
      let want;
      let kind = 'share';
      if (c.handoff) {
        const w = wantH[c.handoff].windows[c.window];
        if (c.metric === 'attainment') want = w.attainment;
        else if (c.metric === 'incomplete_rate') want = w.started ? w.incomplete / w.started : null;
        else if (c.metric === 'p90_response') {
          want = w.response_p90_ms;
          kind = 'pct';
        }
      } else {
        const w = wantS[c.stage].windows[c.window];
        if (c.metric === 'conversion') want = w.conversion;
        else if (c.metric === 'revenue') {
          want = w.revenue[c.currency] || 0;
          kind = 'money';
        }
      }
      same(`kpi ${k.name}.value`, k.value, want, kind);
    }
  }
}

// ---------------------------------------------------------------------------
// HTTP, signing, posting
// ---------------------------------------------------------------------------

function request(base, method, path, headers, body) {
  // base may hold a mount path (http://host/handoff): the path goes after it.
  const u = new URL(base.replace(/\/$/, '') + path);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { method, hostname: u.hostname, port: u.port, path: u.pathname + u.search, headers, agent: request.agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.setTimeout(20000, () => req.destroy(new Error(`${method} ${path}: timeout`)));
    if (body) req.write(body);
    req.end();
  });
}
request.agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function deliveries(companies, rand, secrets) {
  const Stripe = require('stripe');
  const stripe = new Stripe('sk_test_unused');
  const { Signature } = require('@hubspot/api-client/lib/src/utils/signature');
  const { Webhook } = require('standardwebhooks');
  const demo = new Webhook(secrets.demo.replace(/^whsec_/, ''));
  const out = [];
  const hubspotItems = [];
  let seq = 0;
  for (const c of companies) {
    for (const e of c.events) {
      seq++;
      if (e.type.startsWith('lead.')) {
        const item = {
          eventId: 100000 + seq, subscriptionId: 4242, portalId: 62515, appId: 1160452, occurredAt: e.at,
          subscriptionType: 'company.propertyChange', attemptNumber: 0, objectId: Number(c.id),
          changeFlag: 'NEW',
        };
        if (e.type === 'lead.contacted' || e.type === 'lead.disqualified') {
          item.propertyName = 'hs_lead_status';
          item.propertyValue = e.type === 'lead.contacted' ? 'ATTEMPTED_TO_CONTACT' : 'UNQUALIFIED';
        } else {
          item.propertyName = 'lifecyclestage';
          item.propertyValue = e.type.slice(5);
        }
        if (!e.noSource) item.changeSource = 'CRM_UI';
        hubspotItems.push(item);
      } else if (e.type === 'onboarding.kickoff') {
        const body = JSON.stringify({ type: 'onboarding.kickoff', timestamp: e.at, data: { company_id: c.id, owner: 'cs-maria' } });
        out.push({ source: 'demo', body, sign: () => {
          const id = `msg_kickoff_${c.id}`;
          const ts = Math.floor(Date.now() / 1000);
          return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': demo.sign(id, new Date(ts * 1000), body) };
        } });
      } else {
        const created = e.at / 1000;
        let object;
        let type;
        if (e.type === 'subscription.created') {
          type = 'customer.subscription.created';
          const price = { id: `price_${c.id}`, object: 'price', currency: e.currency, unit_amount: 120000 };
          if (e.plan) price.lookup_key = e.plan;
          object = {
            id: `sub_${c.id}`, object: 'subscription', customer: `cus_${c.id}`, status: 'active', currency: e.currency,
            created, metadata: { hubspot_company_id: c.id, sales_owner: e.owner, segment: e.segment },
            items: { object: 'list', data: [{ id: `si_${c.id}`, object: 'subscription_item', current_period_start: created, current_period_end: created + 365 * 86400, price }] },
          };
        } else {
          type = 'invoice.paid';
          object = {
            id: `in_${c.id}`, object: 'invoice', customer: `cus_${c.id}`, amount_paid: e.cents, amount_due: e.cents,
            currency: e.currency, billing_reason: 'subscription_create', status: 'paid', created,
            parent: { type: 'subscription_details', subscription_details: { subscription: `sub_${c.id}`, metadata: { hubspot_company_id: c.id } } },
          };
        }
        const body = JSON.stringify({ id: `evt_${type.replace(/\W/g, '')}_${c.id}`, object: 'event', api_version: '2025-03-31.basil', created, type, livemode: false, data: { object } });
        out.push({ source: 'stripe', body, sign: () => ({
          'Stripe-Signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret: secrets.stripe, timestamp: Math.floor(Date.now() / 1000) }),
        }) });
      }
    }
  }
  shuffle(hubspotItems, rand);
  for (let i = 0; i < hubspotItems.length; i += 100) {
    const body = JSON.stringify(hubspotItems.slice(i, i + 100));
    out.push({ source: 'hubspot', body, sign: () => {
      const timestamp = String(Date.now());
      return {
        'X-HubSpot-Signature-v3': Signature.getSignature('POST', 'v3', { clientSecret: secrets.hubspot, requestBody: body, url: HUBSPOT_URL, timestamp }),
        'X-HubSpot-Request-Timestamp': timestamp,
      };
    } });
  }
  return shuffle(out, rand);
}

function shuffle(a, rand) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

async function postAll(base, list) {
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const d = list[next++];
      const headers = { 'Content-Type': 'application/json', ...d.sign() };
      const r = await request(base, 'POST', `/hooks/${d.source}`, headers, d.body);
      if (r.status !== 202) throw new Error(`POST /hooks/${d.source}: ${r.status} ${r.body}`);
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function getJson(base, token, path) {
  const r = await request(base, 'GET', path, { Authorization: `Bearer ${token}` });
  let body = null;
  try {
    body = JSON.parse(r.body);
  } catch (e) {
    // left null: the caller reports the status and text
  }
  return { status: r.status, body, text: r.body };
}

async function until(what, timeoutMs, fn) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last.done) return last;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last && last.why)}`);
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

function args(argv) {
  const o = { seed: 20261124, subjects: 300, timeoutS: 120 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--url') o.url = argv[++i];
    else if (a === '--token') o.token = argv[++i];
    else if (a === '--seed') o.seed = Number(argv[++i]);
    else if (a === '--subjects') o.subjects = Number(argv[++i]);
    else if (a === '--timeout-s') o.timeoutS = Number(argv[++i]);
    else if (a === '--config-out') o.configOut = argv[++i];
    else if (a === '--sources-out') o.sourcesOut = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

function summary(label, want) {
  const lines = [];
  for (const [name, d] of Object.entries(want)) {
    const w = d.windows;
    const f = (x) => Object.entries(x).filter(([k]) => !['missing', 'revenue'].includes(k))
      .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : v}`).join(' ');
    lines.push(`  ${label} ${name} 30d: ${f(w['30d'])}`);
  }
  return lines.join('\n');
}

async function main() {
  const o = args(process.argv.slice(2));
  const fs = require('fs');
  if (o.configOut) {
    fs.writeFileSync(o.configOut, fragmentText());
    if (o.sourcesOut) fs.writeFileSync(o.sourcesOut, sourcesText());
    return 0;
  }
  const secrets = { stripe: process.env.HK_STRIPE_SECRET, hubspot: process.env.HK_HUBSPOT_SECRET, demo: process.env.HK_DEMO_SECRET };
  if (!o.url || !o.token || !secrets.stripe || !secrets.hubspot || !secrets.demo) {
    throw new Error('usage: month.js --url URL --token TOKEN, with HK_STRIPE_SECRET, HK_HUBSPOT_SECRET, HK_DEMO_SECRET set');
  }
  const now = Date.now();
  const companies = script(o.seed, o.subjects, now);
  const list = deliveries(companies, rng(o.seed ^ 0x5eed), secrets);
  const nevents = companies.reduce((n, c) => n + c.events.length, 0);
  const bySource = {};
  for (const d of list) bySource[d.source] = (bySource[d.source] || 0) + 1;
  console.log(`month.js: seed ${o.seed}: ${companies.length} companies, ${nevents} events in ${list.length} deliveries (${Object.entries(bySource).map(([k, v]) => `${k} ${v}`).join(', ')})`);

  const t0 = Date.now();
  await postAll(o.url, list);
  console.log(`month.js: posted in ${Date.now() - t0} ms, all 202`);

  let drainedAt = 0;
  await until('the queue to drain', o.timeoutS * 1000, async () => {
    const r = await getJson(o.url, o.token, '/v1/health');
    const q = r.body && r.body.queue;
    const done = r.status === 200 && q && q.pending === 0 && q.lag === 0 && q.processed >= list.length;
    drainedAt = Date.now();
    return { done, why: r.body || r.text };
  });
  console.log(`month.js: queue drained after ${drainedAt - t0} ms`);

  const docs = await until('a /v1/handoffs computed after the drain', o.timeoutS * 1000, async () => {
    const h = await getJson(o.url, o.token, '/v1/handoffs');
    if (h.status !== 200 || Date.parse(h.body.computed_at) <= drainedAt) return { done: false, why: h.text.slice(0, 300) };
    const s = await getJson(o.url, o.token, '/v1/stages');
    if (s.status !== 200 || s.body.computed_at !== h.body.computed_at) return { done: false, why: s.text.slice(0, 300) };
    const by = {};
    for (const dim of Object.keys(GROUPS)) {
      const g = await getJson(o.url, o.token, `/v1/handoffs/activation/by/${dim}`);
      if (g.status !== 200 || g.body.computed_at !== h.body.computed_at) return { done: false, why: g.text.slice(0, 300) };
      by[dim] = g.body;
    }
    return { done: true, handoffs: h.body, stages: s.body, by };
  });
  const T = Date.parse(docs.handoffs.computed_at);
  console.log(`month.js: documents computed at ${docs.handoffs.computed_at}`);

  const wantH = expectedHandoffs(companies, T);
  const wantS = expectedStages(companies, T);
  compareHandoffs(docs.handoffs, wantH);
  compareStages(docs.stages, wantS);
  compareKpis(docs, wantH, wantS);
  const wantG = expectedGroups(companies, T);
  compareGroups(docs.by, wantG);
  for (const [dim, values] of Object.entries(wantG)) {
    console.log(`  activation by ${dim} 30d: ${Object.entries(values).map(([v, w]) => `${v} started=${w['30d'].started} attainment=${w['30d'].attainment === null ? '-' : w['30d'].attainment.toFixed(3)}`).join(', ')}`);
  }
  console.log(summary('handoff', wantH));
  console.log(summary('stage', wantS));
  if (diffs.length) {
    console.log(`month.js: ${diffs.length} of ${compared} figures differ:`);
    for (const d of diffs) console.log(`  ${d}`);
    return 1;
  }
  console.log(`month.js: all ${compared} figures of /v1/handoffs, /v1/stages and /v1/handoffs/activation/by/{owner,segment} match the script`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`month.js: ${e.stack || e}`);
    process.exit(2);
  },
);
