"""The demo's function: asks PostgreSQL, through the function's VPC, which address it sees; or,
given a URL, asks the simulated internet's whoami which address it sees (the way out).

No driver is packaged (the Python runtime has only the standard library), so this speaks the
PostgreSQL wire protocol directly: a startup message, trust authentication (the demo cluster
trusts the VPC), one simple query, terminate.
"""
import os
import socket
import struct
import urllib.request


def query(host, port, user, database, sql):
    sock = socket.create_connection((host, port), timeout=15)

    def read(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("PostgreSQL closed the connection")
            data += chunk
        return data

    def message():
        kind = read(1)
        length = struct.unpack("!i", read(4))[0]
        return kind, read(length - 4)

    params = b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
    sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
    while True:  # authentication and session parameters, until ReadyForQuery
        kind, body = message()
        if kind == b"E":
            raise RuntimeError(body.decode(errors="replace"))
        if kind == b"R" and struct.unpack("!i", body[:4])[0] != 0:
            raise RuntimeError("PostgreSQL asks for a password; the demo cluster should trust the VPC")
        if kind == b"Z":
            break
    text = sql.encode() + b"\0"
    sock.sendall(b"Q" + struct.pack("!i", 4 + len(text)) + text)
    rows = []
    while True:
        kind, body = message()
        if kind == b"D":
            count, pos, row = struct.unpack("!h", body[:2])[0], 2, []
            for _ in range(count):
                size = struct.unpack("!i", body[pos:pos + 4])[0]
                pos += 4
                row.append(None if size < 0 else body[pos:pos + size].decode())
                pos += max(size, 0)
            rows.append(row)
        elif kind == b"E":
            raise RuntimeError(body.decode(errors="replace"))
        elif kind == b"Z":
            break
    sock.sendall(b"X" + struct.pack("!i", 4))
    sock.close()
    return rows


def handler(event, context):
    if "url" in event:
        with urllib.request.urlopen(event["url"], timeout=10) as r:
            return {"internetSaw": r.read().decode().strip().split(":")[0]}
    hold = float(event.get("holdSeconds", 0))
    rows = query(event["host"], int(event.get("port", 5432)), "postgres", "postgres",
                 "SELECT host(a.client_addr), version() FROM pg_stat_activity a, pg_sleep(%f) s "
                 "WHERE a.pid = pg_backend_pid()" % hold)
    return {"clientAddressSeenByPostgres": rows[0][0], "server": rows[0][1].split(",")[0],
            "environment": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")}
