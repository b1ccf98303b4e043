#!/usr/bin/env python3
"""A stand-in store for a new rift store file: one set and some registers, in memory, over
HTTP. Replace it with your store (see store.toml)."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Lock

host, port = sys.argv[1], int(sys.argv[2])
lock, elements, registers = Lock(), set(), {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, body, code=200):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        with lock:
            if parts == ["health"]:
                return self.answer({"ok": True})
            if parts == ["set"]:
                return self.answer({"value": sorted(elements)})
            if len(parts) == 2 and parts[0] == "register":
                return self.answer({"value": registers.get(parts[1])})
        self.answer({"error": "no such path"}, 404)

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        with lock:
            if len(parts) == 2 and parts[0] == "set":
                elements.add(int(parts[1]))
                return self.answer({})
            if len(parts) == 2 and parts[0] == "register":
                registers[parts[1]] = body.get("value")
                return self.answer({})
        self.answer({"error": "no such path"}, 404)


ThreadingHTTPServer((host, port), Handler).serve_forever()
