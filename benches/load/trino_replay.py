"""A stand-in Trino coordinator for the load script's memory run: serves the replay
fixtures the integration tests use (/v1/info, /v1/info/state, and a /v1/query list of
QUERIES entries built from the BasicQueryInfo fixture). Usage: trino_replay.py PORT QUERIES"""
import json
import pathlib
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIX = pathlib.Path(__file__).resolve().parents[2] / "exporter/tests/fixtures/trino"
PORT, QUERIES = int(sys.argv[1]), int(sys.argv[2])
template = json.loads((FIX / "query.json").read_text())
states = ["FINISHED", "FINISHED", "RUNNING", "QUEUED", "FAILED"]
queries = []
for i in range(QUERIES):
    q = json.loads(json.dumps(template))
    q["queryId"] = f"20250301_101500_{i:05d}_bench"
    q["state"] = states[i % len(states)]
    queries.append(q)
BODIES = {
    "/v1/info": (FIX / "info.json").read_bytes(),
    "/v1/info/state": (FIX / "state.json").read_bytes(),
    "/v1/query": json.dumps(queries).encode(),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = BODIES.get(self.path.split("?")[0])
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
