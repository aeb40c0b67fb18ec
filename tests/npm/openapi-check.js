#!/usr/bin/env node
// openapi-check.js -- checks one real HTTP response against the response
// schema docs/openapi.json gives for it, with ajv (JSON Schema 2020-12, the
// dialect of OpenAPI 3.1) and ajv-formats.
//
//   node openapi-check.js SPEC [METHOD] PATH_TEMPLATE STATUS [BODY_FILE | -]
//   node openapi-check.js docs/openapi.json /v1/handoffs/{name} 404 body.json
//   node openapi-check.js --lint SPEC
//   node openapi-check.js --batch SPEC LIST_FILE
//
// METHOD defaults to get; the body is read from BODY_FILE, or from stdin
// when it is "-" or absent. Exit status: 0 when the body is valid, 1 when
// it is not (ajv's errors on stderr), 2 when the spec has no such path,
// method or status, or the body is not JSON. --lint compiles every
// response schema of the spec, so a broken $ref or a schema ajv refuses
// fails at once. --batch checks every line of LIST_FILE, each
// "METHOD<TAB>PATH_TEMPLATE<TAB>STATUS<TAB>BODY_FILE", in one process
// (one node start and one compile per schema, where a process per
// response took a second each): a line per check, and the worst exit
// status of them all.
//
// $ref: the spec's components.schemas become the $defs of one schema
// (their "#/components/schemas/X" refs rewritten to "#/$defs/X"); response,
// parameter and header objects given by $ref are looked up directly.
'use strict';

const fs = require('fs');
const Ajv2020 = require('ajv/dist/2020');
const addFormats = require('ajv-formats');

const SCHEMA_ID = 'https://handoff.invalid/openapi.json';

// A check that cannot be made (exit status 2) or does not pass (1).
class CheckError extends Error {
  constructor(code, msg) {
    super(msg);
    this.code = code;
  }
}

function fail(code, msg) {
  throw new CheckError(code, msg);
}

// The object a local "#/a/b" reference names in the spec.
function deref(spec, v) {
  let seen = 0;
  while (v && typeof v.$ref === 'string') {
    if (!v.$ref.startsWith('#/') || ++seen > 16) fail(2, `cannot follow ${v.$ref}`);
    v = v.$ref
      .slice(2)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((o, k) => (o === undefined ? undefined : o[k]), spec);
    if (v === undefined) fail(2, 'a $ref names nothing');
  }
  return v;
}

function rewriteRefs(v) {
  if (Array.isArray(v)) return v.map(rewriteRefs);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] =
        k === '$ref' && typeof x === 'string'
          ? x.replace(/^#\/components\/schemas\//, '#/$defs/')
          : rewriteRefs(x);
    }
    return out;
  }
  return v;
}

function newAjv(spec) {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  // OpenAPI's own annotation keywords, allowed in its schemas.
  ajv.addVocabulary(['example', 'xml', 'externalDocs', 'discriminator']);
  ajv.addSchema({ $id: SCHEMA_ID, $defs: rewriteRefs((spec.components || {}).schemas || {}) });
  return ajv;
}


// The JSON schema of the response, or null when it has no JSON body.
function responseSchema(spec, method, template, status) {
  const item = spec.paths && spec.paths[template];
  if (!item) fail(2, `the spec has no path ${template}`);
  const op = item[method];
  if (!op) fail(2, `the spec has no ${method.toUpperCase()} ${template}`);
  const resp = op.responses && (op.responses[status] || op.responses[`${String(status)[0]}XX`] || op.responses.default);
  if (!resp) fail(2, `the spec gives no ${status} for ${method.toUpperCase()} ${template}`);
  const r = deref(spec, resp);
  const media = r.content && r.content['application/json'];
  return media ? media.schema : null;
}

// References to schemas are resolved against the one schema of $defs.
function absolute(schema) {
  return JSON.parse(JSON.stringify(rewriteRefs(schema)).replace(/"\$ref":"#\/\$defs\//g, `"$ref":"${SCHEMA_ID}#/$defs/`));
}

function lint(spec) {
  const ajv = newAjv(spec);
  let n = 0;
  for (const [template, item] of Object.entries(spec.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!op || !op.responses) continue;
      for (const status of Object.keys(op.responses)) {
        const r = deref(spec, op.responses[status]);
        for (const media of Object.values(r.content || {})) {
          if (media.schema) {
            ajv.compile(absolute(media.schema));
            n++;
          }
        }
      }
    }
  }
  process.stdout.write(`openapi-check: ${n} response schemas compile\n`);
}

// Checks one body (text) against the spec's schema for method template
// status; validators are compiled once per schema into cache. Returns the
// line that says so; throws CheckError when it does not pass.
function checkOne(spec, ajv, cache, method, template, status, text) {
  const what = `${method.toUpperCase()} ${template} ${status}`;
  const key = `${method} ${template} ${status}`;
  if (!cache.has(key)) {
    const schema = responseSchema(spec, method, template, status);
    cache.set(key, schema === null ? null : ajv.compile(absolute(schema)));
  }
  const validate = cache.get(key);
  if (validate === null) return `ok: ${what} (no JSON body in the spec)`;
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    fail(2, `${what}: the body is not JSON (${e.message}): ${text.slice(0, 200)}`);
  }
  if (!validate(body)) {
    const lines = validate.errors.map((e) => `  ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)} (${e.schemaPath})`);
    fail(1, `${what}: the body does not match the spec\n${lines.join('\n')}`);
  }
  return `ok: ${what}`;
}

function batch(spec, list) {
  const ajv = newAjv(spec);
  const cache = new Map();
  let worst = 0;
  for (const line of fs.readFileSync(list, 'utf8').split('\n')) {
    if (line === '') continue;
    const [method, template, status, file] = line.split('\t');
    const text = fs.readFileSync(file, 'utf8');
    try {
      process.stdout.write(`${checkOne(spec, ajv, cache, method.toLowerCase(), template, status, text)}\n`);
    } catch (e) {
      if (!(e instanceof CheckError)) throw e;
      process.stdout.write(`openapi-check: ${e.message}\n  body: ${text.slice(0, 2000)}\n`);
      worst = Math.max(worst, e.code);
    }
  }
  return worst;
}

function main(argv) {
  if (argv[0] === '--lint') {
    lint(JSON.parse(fs.readFileSync(argv[1], 'utf8')));
    return 0;
  }
  if (argv[0] === '--batch') {
    if (argv.length !== 3) fail(2, 'usage: openapi-check.js --batch SPEC LIST_FILE');
    return batch(JSON.parse(fs.readFileSync(argv[1], 'utf8')), argv[2]);
  }
  if (argv.length < 3) fail(2, 'usage: openapi-check.js SPEC [METHOD] PATH_TEMPLATE STATUS [BODY_FILE | -]');
  const spec = JSON.parse(fs.readFileSync(argv[0], 'utf8'));
  let rest = argv.slice(1);
  let method = 'get';
  if (!rest[0].startsWith('/')) {
    method = rest[0].toLowerCase();
    rest = rest.slice(1);
  }
  const [template, status, file = '-'] = rest;
  const text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  process.stdout.write(`${checkOne(spec, newAjv(spec), new Map(), method, template, status, text)}\n`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof CheckError)) throw e;
  process.stderr.write(`openapi-check: ${e.message}\n`);
  process.exitCode = e.code;
}
