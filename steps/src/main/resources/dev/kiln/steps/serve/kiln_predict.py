"""The predict server of a scikit-learn model image (Kiln's sklearn flavour).

    python3 kiln_predict.py MODEL_DIR [PORT [HOST]]   serves MODEL_DIR (kiln-model.json beside
                                                      the pickle) on HOST:PORT (0.0.0.0:8080)
    python3 kiln_predict.py --signature MODEL_FILE    prints the model's columns as JSON

The same API as the JVM server (dev.kiln.steps.serve.PredictServer): POST /predict
{"rows": [...]} -> {"predictions": [...], "probabilities": [...]}, GET /health, the header
Kiln-Model-Version on every answer, rows checked against the signature with the same messages
(Signature.check), errors as {"error": ..., "status": N}, bodies over 10 MB refused with 413.
The body is read as JSON whatever its Content-Type (curl's -d labels it a form).
"""
import hashlib
import json
import numbers
import signal
import socket
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import joblib
import pandas as pd

MAX_BODY = 10 * 1024 * 1024
VERSION_HEADER = "Kiln-Model-Version"


class BadRow(Exception):
    pass


def signature_of(model):
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise ValueError(
            "the model does not know its column names (feature_names_in_): "
            "fit it on a pandas DataFrame with the training set's columns")
    return [{"name": str(n), "type": "number"} for n in names]


def json_type(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, numbers.Number):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def fits(kind, v):
    if kind == "number":
        return isinstance(v, numbers.Number) and not isinstance(v, bool)
    if kind == "integer":
        return (isinstance(v, numbers.Number) and not isinstance(v, bool)
                and float(v).is_integer())
    if kind == "string":
        return isinstance(v, str)
    return kind == "boolean" and isinstance(v, bool)


def brief(v):
    s = "'" + v + "'" if isinstance(v, str) else json.dumps(v)
    return s[:37] + "..." if len(s) > 40 else s


def check(columns, rows):
    """Signature.check in Python: the first problem, naming the row and the column."""
    names = [c["name"] for c in columns]
    known = set(names)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise BadRow(f"rows[{i}] is not an object of column: value")
        missing = []
        for c in columns:
            if c["name"] not in row:
                missing.append(c["name"])
                continue
            v = row[c["name"]]
            if not fits(c["type"], v):
                got = "null" if v is None else json_type(v) + " " + brief(v)
                raise BadRow(f"rows[{i}].{c['name']}: expected a {c['type']}, got {got}")
        if missing:
            raise BadRow(f"rows[{i}]: missing column(s) {', '.join(missing)}")
        extra = [k for k in row if k not in known]
        if extra:
            raise BadRow(f"rows[{i}]: unknown column(s) {', '.join(extra)} "
                         f"(the model takes: {', '.join(names)})")


def plain(v):
    return v.item() if hasattr(v, "item") else v


def predict(model, names, rows):
    frame = pd.DataFrame([[row[n] for n in names] for row in rows], columns=names, dtype=float)
    out = {"predictions": [plain(p) for p in model.predict(frame)]}
    if hasattr(model, "predict_proba"):
        labels = [str(plain(c)) for c in model.classes_]
        out["probabilities"] = [
            {label: float(p) for label, p in zip(labels, ps)} for ps in model.predict_proba(frame)]
    return out


def handler(info, model):
    version = str(info["version"])
    columns = info["signature"]
    names = [c["name"] for c in columns]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            # An answer is two writes (head, then body): with Nagle's algorithm on, the body
            # waits for the client's delayed ACK of the head, 40 ms on Linux, on every request
            # of a kept-alive connection.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header(VERSION_HEADER, version)
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def error(self, status, message):
            self.reply(status, {"error": message, "status": status})

        def body(self):
            """The body, or None after answering 413 (too long) or 400 (unreadable)."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                parts, size = [], 0
                while True:
                    n = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if n == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(parts)
                    size += n
                    if size > MAX_BODY:
                        break
                    parts.append(self.rfile.read(n))
                    self.rfile.readline()
            else:
                length = int(self.headers.get("Content-Length") or 0)
                if length <= MAX_BODY:
                    return self.rfile.read(length)
            self.close_connection = True
            self.error(413, f"request body over {MAX_BODY // (1024 * 1024)} MB")
            self.linger()
            return None

        def linger(self):
            """Reads what the client still sends (up to 64 MB, 5 s) so that it gets the answer."""
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(5)
            # Counted in bytes, not reads: a read returns what has arrived (often 64 KB), and
            # closing with unread bytes makes the kernel reset the connection, which loses the
            # answer on the client's side.
            deadline = time.monotonic() + 5
            left = 64 * 1024 * 1024
            try:
                while left > 0 and time.monotonic() < deadline:
                    chunk = self.rfile.read1(min(left, 1024 * 1024))
                    if not chunk:
                        break
                    left -= len(chunk)
            except OSError:
                pass

        def do_GET(self):
            if self.path.split("?")[0] == "/health":
                self.reply(200, {"status": "ok", "model": info["name"], "version": info["version"]})
            else:
                self.other()

        def do_POST(self):
            if self.path.split("?")[0] != "/predict":
                self.other()
                return
            raw = self.body()
            if raw is None:
                return
            try:
                body = json.loads(raw)
            except ValueError as e:
                self.error(400, f"the body is not JSON: {e}")
                return
            rows = body.get("rows") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                self.error(400, 'the body must be {"rows": [{column: value, ...}, ...]}')
                return
            if not rows:
                self.error(400, "rows is empty")
                return
            try:
                check(columns, rows)
            except BadRow as e:
                self.error(400, str(e))
                return
            try:
                answer = predict(model, names, rows)
            except Exception:
                traceback.print_exc()
                self.error(500, "internal error")
                return
            self.reply(200, answer)

        def other(self):
            # The body is read (and dropped) first: left unread, the next request on this
            # connection would start inside it.
            if self.body() is None:
                return
            path = self.path.split("?")[0]
            if path in ("/health", "/predict"):
                self.error(405, f"method {self.command} not allowed on {path}")
            else:
                self.error(404, f"no route {self.command} {path}")

        do_PUT = do_DELETE = do_PATCH = do_OPTIONS = other

        def log_message(self, fmt, *args):
            pass

    return Handler


def load(directory):
    with open(f"{directory}/kiln-model.json") as f:
        info = json.load(f)
    artifact = f"{directory}/{info['artifact']}"
    with open(artifact, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    if sha != info["sha256"]:
        raise ValueError(f"artifact {artifact} has sha256 {sha}, the registry says {info['sha256']}")
    return info, joblib.load(artifact)


def main(args):
    if len(args) == 2 and args[0] == "--signature":
        try:
            print(json.dumps(signature_of(joblib.load(args[1]))))
        except Exception as e:
            print(f"kiln predict: not a scikit-learn model with column names ({e})", file=sys.stderr)
            return 2
        return 0
    if not 1 <= len(args) <= 3:
        print("usage: kiln_predict.py MODEL_DIR [PORT [HOST]]", file=sys.stderr)
        return 2
    port = int(args[1]) if len(args) > 1 else 8080
    host = args[2] if len(args) > 2 else "0.0.0.0"
    try:
        info, model = load(args[0])
    except (OSError, ValueError, KeyError) as e:
        print(f"kiln predict: {e}", file=sys.stderr)
        return 2
    server = ThreadingHTTPServer((host, port), handler(info, model))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"serving {info['name']}@{info['version']} (sklearn); "
          f"kiln-predict listening on {host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
