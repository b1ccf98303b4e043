#!/usr/bin/env python3
"""rift's client protocol (docs/client-protocol.md) for Redis with Sentinel, in plain Python.

One operation at a time from stdin, one answer on stdout. The client asks its node's Sentinel
for the primary, sends the command there, and asks again after any error; final reads go to the
node's own server. Outcomes: no connection, no primary or an error reply from Redis is `fail`
(certainly not done); a write sent without an answer is `info`; a failed read is `fail`.

  python3 client.py --primaries n1,n2,n3 10.0.0.1,10.0.0.2,10.0.0.3   prints the primary's name
"""
import json
import socket
import sys

PORT, SENTINEL = 6379, 26379


class NotSent(Exception):
    pass


class ErrorReply(Exception):
    pass


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("connection closed")
    kind, rest = line[:1], line[1:].rstrip(b"\r\n")
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise ErrorReply(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2].decode()
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [reply(f) for _ in range(n)]
    raise ConnectionError("unreadable reply %r" % line)


class Connection:
    def __init__(self, host, port, timeout):
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as e:
            raise NotSent("connect to %s:%d: %s" % (host, port, e))
        self.file = self.sock.makefile("rb")

    def call(self, *args):
        self.sock.sendall(encode(*args))
        return reply(self.file)

    def close(self):
        self.sock.close()


def primary_of(host, timeout):
    c = Connection(host, SENTINEL, timeout)
    try:
        addr = c.call("SENTINEL", "get-master-addr-by-name", "rift")
    except (OSError, ConnectionError, ErrorReply) as e:
        raise NotSent("Sentinel: %s" % e)
    finally:
        c.close()
    if not addr:
        raise NotSent("Sentinel knows no primary")
    return addr[0]


class Client:
    def __init__(self, init):
        self.host = init["host"]
        self.timeout = init["timeout_ms"] / 1000.0
        self.primary = None

    def command(self, op):
        f, v = op["f"], op["value"]
        if f == "add":
            return ("SADD", "rift-set", v), False
        if f == "read" and v is None:
            return ("SMEMBERS", "rift-set"), True
        if f == "write":
            return ("SET", "r%d" % v[0], v[1]), False
        if f == "read":
            return ("GET", "r%d" % v[0]), True
        raise ValueError("%s is not an operation of this client" % f)

    def result(self, op, answer):
        if op["f"] == "read" and op["value"] is None:
            return sorted(int(x) for x in answer)
        if op["f"] == "read":
            return [op["value"][0], None if answer is None else int(answer)]
        return None

    def perform(self, op):
        try:
            args, is_read = self.command(op)
        except ValueError as e:
            return {"type": "fail", "error": str(e)}
        own = op.get("final", False)
        try:
            if own:
                conn = Connection(self.host, PORT, self.timeout)
            else:
                if self.primary is None:
                    self.primary = Connection(primary_of(self.host, self.timeout), PORT, self.timeout)
                conn = self.primary
        except NotSent as e:
            return {"type": "fail", "error": str(e)}
        try:
            answer = conn.call(*args)
            out = {"type": "ok"}
            value = self.result(op, answer)
            if value is not None or is_read:
                out["value"] = value
            return out
        except ErrorReply as e:
            self.primary = None
            return {"type": "fail", "error": str(e)}
        except (OSError, ConnectionError) as e:
            self.primary = None
            return {"type": "fail" if is_read else "info", "error": str(e)}
        finally:
            if own:
                conn.close()


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--primaries":
        names, hosts = sys.argv[2].split(","), sys.argv[3].split(",")
        for host in hosts:
            try:
                print(names[hosts.index(primary_of(host, 1.0))])
                return
            except (NotSent, ValueError):
                continue
        sys.exit("no Sentinel named a primary")
    client = None
    for line in sys.stdin:
        m = json.loads(line)
        if m["type"] == "init":
            client = Client(m)
            out = {"type": "init_ok"}
        elif m["type"] == "invoke":
            out = dict(client.perform(m), id=m["id"])
        else:
            continue
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
