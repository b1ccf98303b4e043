// A rift client (docs/client-protocol.md) for __NAME__: one operation at a time from stdin, one
// answer on stdout.
//
// The outcome rule: answer "fail" only when the operation certainly had no effect (nothing was
// sent, the store refused it, or it was a read); answer "info" when it may have happened (a
// write sent without an answer). A wrong "fail" hides lost writes from every checker.
const http = require('http');
const readline = require('readline');

let target = null;

// REPLACE: how your store is called. Resolves to { sent, status, body } or { sent, error }.
function request(method, path, body) {
  return new Promise((resolve) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ host: target.host, port: target.port, method, path, timeout: target.timeout },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          try { resolve({ sent: true, status: res.statusCode, body: JSON.parse(text || '{}') }); }
          catch (e) { resolve({ sent: true, error: 'unreadable answer' }); }
        });
      });
    req.on('timeout', () => { req.destroy(); resolve({ sent: true, error: 'timeout' }); });
    req.on('error', (e) => resolve({ sent: e.code !== 'ECONNREFUSED', error: e.message }));
    if (data) req.write(data);
    req.end();
  });
}

// REPLACE: each operation of the workloads in store.toml (shapes: docs/writing-a-workload.md).
async function perform(op) {
  const read = op.f === 'read';
  let r;
  if (op.f === 'add') r = await request('POST', `/set/${op.value}`, {});
  else if (op.f === 'write') r = await request('POST', `/register/${op.value[0]}`, { value: op.value[1] });
  else if (read && op.value === null) r = await request('GET', '/set');
  else if (read) r = await request('GET', `/register/${op.value[0]}`);
  else return { type: 'fail', error: `${op.f} is not an operation of this client` };
  if (r.error || r.status !== 200) {
    return { type: read || !r.sent ? 'fail' : 'info', error: r.error || `status ${r.status}` };
  }
  if (!read) return { type: 'ok' };
  return { type: 'ok', value: op.value === null ? r.body.value : [op.value[0], r.body.value] };
}

const out = (m) => process.stdout.write(JSON.stringify(m) + '\n');
readline.createInterface({ input: process.stdin })
  .on('line', async (line) => {
    const m = JSON.parse(line);
    if (m.type === 'init') {
      // The stub is one store on the first node; a replicated store would use m.host (this
      // client's node) and, for final reads (m.final), that node's own replica.
      target = { host: m.nodes[0].host, port: m.options.port, timeout: m.timeout_ms };
      return out({ type: 'init_ok' });
    }
    if (m.type === 'invoke') out({ id: m.id, ...(await perform(m)) });
  })
  .on('close', () => process.exit(0));
