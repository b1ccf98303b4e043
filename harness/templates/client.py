#!/usr/bin/env python3
"""A rift client (docs/client-protocol.md) for __NAME__: one operation at a time from stdin,
one answer on stdout.

The outcome rule: answer "fail" only when the operation certainly had no effect (nothing was
sent, the store refused it, or it was a read); answer "info" when it may have happened (a write
sent without an answer). A wrong "fail" hides lost writes from every checker.
"""
import http.client
import json
import sys

target = {}


def request(method, path, body=None):
    """REPLACE: how your store is called. Returns (sent, status, answer)."""
    conn = http.client.HTTPConnection(target["host"], target["port"], timeout=target["timeout"])
    try:
        conn.request(method, path, json.dumps(body) if body is not None else None,
                     {"content-type": "application/json"})
    except ConnectionRefusedError as e:
        return False, None, str(e)
    except OSError as e:
        return True, None, str(e)
    try:
        response = conn.getresponse()
        return True, response.status, json.loads(response.read() or b"{}")
    except (OSError, ValueError) as e:
        return True, None, str(e)
    finally:
        conn.close()


def perform(op):
    """REPLACE: each operation of the workloads in store.toml (shapes: docs/writing-a-workload.md)."""
    f, v = op["f"], op["value"]
    read = f == "read"
    if f == "add":
        sent, status, answer = request("POST", "/set/%d" % v)
    elif f == "write":
        sent, status, answer = request("POST", "/register/%d" % v[0], {"value": v[1]})
    elif read and v is None:
        sent, status, answer = request("GET", "/set")
    elif read:
        sent, status, answer = request("GET", "/register/%d" % v[0])
    else:
        return {"type": "fail", "error": "%s is not an operation of this client" % f}
    if status != 200:
        certain = read or not sent
        return {"type": "fail" if certain else "info", "error": str(answer)}
    if not read:
        return {"type": "ok"}
    value = answer["value"]
    return {"type": "ok", "value": value if v is None else [v[0], value]}


for line in sys.stdin:
    message = json.loads(line)
    if message["type"] == "init":
        # The stub is one store on the first node; a replicated store would use message["host"]
        # (this client's node) and, for final reads (message "final"), that node's own replica.
        target = {"host": message["nodes"][0]["host"], "port": message["options"]["port"],
                  "timeout": message["timeout_ms"] / 1000}
        out = {"type": "init_ok"}
    elif message["type"] == "invoke":
        out = dict(perform(message), id=message["id"])
    else:
        continue
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
