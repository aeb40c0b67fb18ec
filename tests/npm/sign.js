#!/usr/bin/env node
// sign.js -- signs a webhook body the way a provider does, with that
// provider's own library, so the integration tests check handoff against
// the real signers rather than against our own reading of their docs.
//
//   node sign.js stripe   SECRET UNIX_S                 < body
//   node sign.js hubspot  SECRET URL UNIX_MS [METHOD]   < body
//   node sign.js standard SECRET MSG_ID UNIX_S          < body
//   node sign.js verify   SECRET MSG_ID UNIX_S SIGNATURE < body
//
// verify checks a webhook handoff sent, as a receiver would with the
// standardwebhooks library, and prints the payload it accepts (it exits
// non-zero when the library refuses it).
//
// Prints the headers, one "Name: value" per line.
'use strict';

const fs = require('fs');

function main(argv) {
  const [kind, secret, ...rest] = argv;
  const body = fs.readFileSync(0, 'utf8');
  if (kind === 'stripe') {
    const Stripe = require('stripe');
    const stripe = new Stripe('sk_test_unused');
    const header = stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret,
      timestamp: Number(rest[0]),
    });
    return [`Stripe-Signature: ${header}`];
  }
  if (kind === 'hubspot') {
    const { Signature } = require('@hubspot/api-client/lib/src/utils/signature');
    const [url, timestamp, method = 'POST'] = rest;
    const sig = Signature.getSignature(method, 'v3', {
      clientSecret: secret,
      requestBody: body,
      url,
      timestamp,
    });
    return [`X-HubSpot-Signature-v3: ${sig}`, `X-HubSpot-Request-Timestamp: ${timestamp}`];
  }
  if (kind === 'standard') {
    const { Webhook } = require('standardwebhooks');
    const [id, ts] = rest;
    const wh = new Webhook(secret.replace(/^whsec_/, ''));
    const sig = wh.sign(id, new Date(Number(ts) * 1000), body);
    return [`webhook-id: ${id}`, `webhook-timestamp: ${ts}`, `webhook-signature: ${sig}`];
  }
  if (kind === 'verify') {
    const { Webhook } = require('standardwebhooks');
    const [id, ts, sig] = rest;
    const wh = new Webhook(secret.replace(/^whsec_/, ''));
    const payload = wh.verify(body, {
      'webhook-id': id,
      'webhook-timestamp': ts,
      'webhook-signature': sig,
    });
    return [JSON.stringify(payload)];
  }
  throw new Error(`unknown kind ${kind}`);
}

process.stdout.write(main(process.argv.slice(2)).join('\n') + '\n');
