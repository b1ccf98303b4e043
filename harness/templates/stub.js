// A stand-in store for a new rift store file: one set and some registers, in memory, over
// HTTP. Replace it with your store (see store.toml).
const http = require('http');
const [host, port] = [process.argv[2], Number(process.argv[3])];
const elements = new Set();
const registers = new Map();

http.createServer((req, res) => {
  let data = '';
  req.on('data', (c) => (data += c));
  req.on('end', () => {
    const parts = req.url.split('/').filter(Boolean);
    const answer = (body, code = 200) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && parts[0] === 'health') return answer({ ok: true });
    if (req.method === 'GET' && parts[0] === 'set' && parts.length === 1)
      return answer({ value: [...elements].sort((a, b) => a - b) });
    if (req.method === 'GET' && parts[0] === 'register' && parts.length === 2)
      return answer({ value: registers.has(parts[1]) ? registers.get(parts[1]) : null });
    if (req.method === 'POST' && parts[0] === 'set' && parts.length === 2) {
      elements.add(Number(parts[1]));
      return answer({});
    }
    if (req.method === 'POST' && parts[0] === 'register' && parts.length === 2) {
      registers.set(parts[1], JSON.parse(data || '{}').value);
      return answer({});
    }
    answer({ error: 'no such path' }, 404);
  });
}).listen(port, host);
