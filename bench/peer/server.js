// bench/peer/server.js -- the intake a team would write in Node.js instead
// of handoff-fcgi, for bench/intake to measure side by side behind the same
// nginx: fastify 4 and ioredis 5, one process, the same work per delivery.
//
//   node server.js SOCKET REDIS_SOCKET SECRET [PROCESSES]
//
// PROCESSES (default 1) > 1 forks that many with node:cluster, sharing the
// one socket, as a team would on a machine with that many cores.
// POST /handoff/hooks/:source with a Standard Webhooks signature (or
// Stripe's, for BENCH_KIND=stripe): checks
// the timestamp (5 minutes either way) and the v1 HMAC-SHA256 of
// "id.timestamp.body" with timingSafeEqual, parses the body as JSON (400
// when it is not an object), XADDs the same fields handoff-fcgi writes
// (source, kind, delivery_id, received_ms, signed_ms, headers, body) and
// answers 202 with the entry id, as handoff-fcgi does. ioredis pipelines
// the XADDs of concurrent requests on its one connection by itself.
'use strict'
const crypto = require('node:crypto')
const fs = require('node:fs')
const Fastify = require('fastify')
const Redis = require('ioredis')

const cluster = require('node:cluster')

const [socket, redisSocket, secret, processes = '1'] = process.argv.slice(2)
if (!socket || !redisSocket || !secret) {
  console.error('usage: node server.js SOCKET REDIS_SOCKET SECRET [PROCESSES]')
  process.exit(2)
}
if (cluster.isPrimary && Number(processes) > 1) {
  try { fs.unlinkSync(socket) } catch (e) {}
  const workers = []
  for (let i = 0; i < Number(processes); i++) workers.push(cluster.fork())
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => { for (const w of workers) w.kill(sig); process.exit(0) })
  }
  return
}
const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
const redis = new Redis({ path: redisSocket })
const app = Fastify({ logger: false, bodyLimit: 1 << 20 })

// The signature is over the raw bytes: keep the body as a Buffer.
app.addContentTypeParser('application/json', { parseAs: 'buffer' },
  (req, body, done) => done(null, body))

const fail = (reply, status, code, message) =>
  reply.code(status).send({ error: { code, message } })

// Stripe's scheme, for BENCH_KIND=stripe: Stripe-Signature t=…,v1=hex of
// the HMAC-SHA256 of "t.body" keyed by the whole secret.
const stripe = async (req, reply, header) => {
  const f = Object.fromEntries(header.split(',').map((kv) => kv.split('=')))
  const now = Date.now()
  if (!/^\d+$/.test(f.t || '') || Math.abs(now - f.t * 1000) > 300000) {
    return fail(reply, 401, 'bad_signature', 'timestamp out of tolerance')
  }
  const mac = crypto.createHmac('sha256', secret).update(`${f.t}.`).update(req.body).digest()
  const v = Buffer.from(f.v1 || '', 'hex')
  if (v.length !== mac.length || !crypto.timingSafeEqual(v, mac)) {
    return fail(reply, 401, 'bad_signature', 'no signature matches')
  }
  let doc
  try { doc = JSON.parse(req.body) } catch (e) { doc = null }
  if (doc === null || typeof doc !== 'object') return fail(reply, 400, 'bad_json', 'the body is not a JSON object')
  const entry = await redis.xadd('handoff:intake', '*', 'source', req.params.source,
    'kind', 'stripe', 'delivery_id', String(doc.id), 'received_ms', String(now),
    'signed_ms', String(f.t * 1000), 'headers', '{}', 'body', req.body)
  return reply.code(202).send({ status: 'queued', id: entry, delivery_id: doc.id })
}

app.post('/handoff/hooks/:source', async (req, reply) => {
  if (req.headers['stripe-signature']) return stripe(req, reply, req.headers['stripe-signature'])
  const id = req.headers['webhook-id']
  const ts = req.headers['webhook-timestamp']
  const sig = req.headers['webhook-signature']
  if (!id || !ts || !sig) return fail(reply, 401, 'bad_signature', 'missing signature headers')
  const now = Date.now()
  if (!/^\d+$/.test(ts) || Math.abs(now - ts * 1000) > 300000) {
    return fail(reply, 401, 'bad_signature', 'timestamp out of tolerance')
  }
  const body = req.body
  const mac = crypto.createHmac('sha256', key)
    .update(`${id}.${ts}.`).update(body).digest()
  const ok = sig.split(' ').some((s) => {
    const v = Buffer.from(s.replace(/^v1,/, ''), 'base64')
    return s.startsWith('v1,') && v.length === mac.length && crypto.timingSafeEqual(v, mac)
  })
  if (!ok) return fail(reply, 401, 'bad_signature', 'no signature matches')
  let doc
  try { doc = JSON.parse(body) } catch (e) { doc = null }
  if (doc === null || typeof doc !== 'object') return fail(reply, 400, 'bad_json', 'the body is not a JSON object')
  let entry
  try {
    entry = await redis.xadd('handoff:intake', '*', 'source', req.params.source,
      'kind', 'standard-webhooks', 'delivery_id', id, 'received_ms', String(now),
      'signed_ms', String(ts * 1000),
      'headers', JSON.stringify({ 'webhook-id': id, 'webhook-timestamp': ts }),
      'body', body)
  } catch (e) {
    reply.header('Retry-After', '5')
    return fail(reply, 503, 'unavailable', 'redis is unavailable')
  }
  return reply.code(202).send({ status: 'queued', id: entry, delivery_id: id })
})

if (cluster.isPrimary) try { fs.unlinkSync(socket) } catch (e) {}
app.listen({ path: socket }).then(() => fs.chmodSync(socket, 0o666))
  .catch((e) => { console.error(e); process.exit(1) })
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => app.close().then(() => redis.quit()).then(() => process.exit(0)))
}
