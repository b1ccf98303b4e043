// One GUN peer with a small HTTP API for rift's client. GUN resolves conflicts with its HAM
// algorithm on wall-clock states, which is what rift's clock faults put to the test.
//
//   node server.js --host H --port P --peers http://a:P/gun,http://b:P/gun --data DIR
//
//   GET  /health               200 once serving
//   POST /register/K  {value}  put; answers once GUN acknowledged it
//   GET  /register/K           {"value": v or null}   (?local=1: this peer's own state only)
//   POST /set/X                add X to the set
//   GET  /set                  {"value": [x, ...]}
const http = require('http');
const Gun = require('gun');

const arg = (name, dflt) => {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const host = arg('host', '127.0.0.1');
const port = Number(arg('port', '8765'));
const self = `http://${host}:${port}/gun`;
const peers = (arg('peers', '') || '').split(',').filter((p) => p && p !== self);

const server = http.createServer(handle);
// No multicast discovery (it would leave the test's network), no AXE routing.
const gun = Gun({ web: server, peers, file: arg('data', 'radata'), multicast: false, axe: false });

function reply(res, code, body) {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function body(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      try { resolve(JSON.parse(data || '{}')); } catch (e) { resolve({}); }
    });
  });
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://x');
  const parts = url.pathname.split('/').filter(Boolean);
  if (parts[0] === 'gun') return; // GUN's own websocket path
  if (parts[0] === 'health') return reply(res, 200, { ok: true });
  if (parts[0] === 'register' && parts[1] !== undefined) {
    const node = gun.get('rift-register').get('r' + parts[1]);
    if (req.method === 'POST') {
      const { value } = await body(req);
      let answered = false;
      node.put(value, (ack) => {
        if (answered) return;
        answered = true;
        ack.err ? reply(res, 500, { error: String(ack.err) }) : reply(res, 200, { value });
      });
      // GUN acknowledges through a peer or its disk; alone, it may not: 1 s is an answer.
      setTimeout(() => { if (!answered) { answered = true; reply(res, 200, { value }); } }, 1000);
      return;
    }
    return node.once((v) => reply(res, 200, { value: v === undefined ? null : v }), { wait: 50 });
  }
  if (parts[0] === 'set') {
    const set = gun.get('rift-set');
    if (req.method === 'POST' && parts[1] !== undefined) {
      let answered = false;
      set.get(parts[1]).put(true, (ack) => {
        if (answered) return;
        answered = true;
        ack.err ? reply(res, 500, { error: String(ack.err) }) : reply(res, 200, {});
      });
      setTimeout(() => { if (!answered) { answered = true; reply(res, 200, {}); } }, 1000);
      return;
    }
    return set.once((obj) => {
      const xs = Object.keys(obj || {})
        .filter((k) => k !== '_' && obj[k] === true)
        .map(Number)
        .filter(Number.isInteger)
        .sort((a, b) => a - b);
      reply(res, 200, { value: xs });
    }, { wait: 50 });
  }
  reply(res, 404, { error: 'no such path' });
}

server.listen(port, host, () => console.log(`gun peer ${self} listening; peers ${peers.join(' ')}`));
