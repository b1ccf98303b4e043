#!/usr/bin/env node
// rift's client protocol (docs/client-protocol.md) for the GUN example: one op at a time from
// stdin, answered on stdout. Outcomes: a refused connection or any failed read is `fail`
// (certainly no effect); a write that got no answer is `info` (it may have happened).
const http = require('http');
const readline = require('readline');

let target = null; // { host, port, timeout }

function request(method, path, payload) {
  return new Promise((resolve) => {
    const data = payload === undefined ? undefined : JSON.stringify(payload);
    const req = http.request(
      { host: target.host, port: target.port, method, path, timeout: target.timeout,
        headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          try { resolve({ status: res.statusCode, body: JSON.parse(body) }); }
          catch (e) { resolve({ error: 'unreadable answer', sent: true }); }
        });
      });
    req.on('timeout', () => { req.destroy(); resolve({ error: 'timeout', sent: true }); });
    req.on('error', (e) => resolve({ error: e.message, sent: e.code !== 'ECONNREFUSED' }));
    if (data) req.write(data);
    req.end();
  });
}

async function perform(op) {
  const read = op.f === 'read';
  let r;
  if (op.f === 'write') r = await request('POST', `/register/${op.value[0]}`, { value: op.value[1] });
  else if (op.f === 'add') r = await request('POST', `/set/${op.value}`, {});
  else if (read && Array.isArray(op.value)) r = await request('GET', `/register/${op.value[0]}`);
  else if (read) r = await request('GET', '/set');
  else return { type: 'fail', error: `${op.f} is not an operation of this client` };
  if (r.error) return { type: read || !r.sent ? 'fail' : 'info', error: r.error };
  if (r.status !== 200) return { type: read ? 'fail' : 'info', error: `${r.status}: ${r.body.error}` };
  if (!read) return { type: 'ok' };
  return { type: 'ok', value: Array.isArray(op.value) ? [op.value[0], r.body.value] : r.body.value };
}

const out = (m) => process.stdout.write(JSON.stringify(m) + '\n');
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  const m = JSON.parse(line);
  if (m.type === 'init') {
    target = { host: m.host, port: (m.options && m.options.port) || 8765, timeout: m.timeout_ms };
    return out({ type: 'init_ok' });
  }
  if (m.type === 'invoke') out({ id: m.id, ...(await perform(m)) });
});
lines.on('close', () => process.exit(0));
