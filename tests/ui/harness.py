"""Shared pieces of the browser and SDK tests: start `gemini3 serve`, a stalling image server.

`Serve` starts the binary on port 0 and reads the address it prints, so there is no free-port
race and no polling for readiness. `StallServer` serves a PNG to browsers at once, but to the
worker (any other User-Agent) it sends the headers and a few bytes and then holds the
connection until released: a job that stays IN_PROGRESS, deterministically, until cancelled.
"""

import os
import re
import signal
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "logo96.png")
LOGO_PALETTE = ["#1e5ac8", "#ffffff", "#faa01e", "#161a22"]
READY = re.compile(r"playground and local API on (http://\S+?)/")


def binary():
    """The gemini3 binary: $GEMINI3_BIN, else the release build, else the debug build."""
    explicit = os.environ.get("GEMINI3_BIN")
    if explicit:
        return explicit
    for profile in ("release", "debug"):
        path = os.path.join(ROOT, "target", profile, "gemini3")
        if os.path.exists(path):
            return path
    raise SystemExit("no gemini3 binary: run `cargo build --release` (make test-ui does)")


class Serve:
    """`gemini3 serve` on 127.0.0.1, port 0; `.base` is its URL once started."""

    def __init__(self, args=(), env=None, log_name="serve"):
        self.args = list(args)
        self.env = dict(os.environ, **(env or {}))
        self.env.setdefault("RUST_LOG", "warn")
        self.log_path = os.path.join(ROOT, "target", f"test-ui-{log_name}.log")
        self.base = None
        self.process = None

    def __enter__(self):
        command = [binary(), "serve", "--host", "127.0.0.1", "--port", "0", *self.args]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
            text=True,
        )
        log = open(self.log_path, "w", encoding="utf-8")
        for line in self.process.stderr:
            log.write(line)
            log.flush()
            match = READY.search(line)
            if match:
                self.base = match.group(1)
                break
        if self.base is None:
            log.close()
            code = self.process.wait(timeout=30)
            raise RuntimeError(f"gemini3 serve exited ({code}) before listening; see {self.log_path}")

        def drain():
            for rest in self.process.stderr:
                log.write(rest)
                log.flush()
            log.close()

        threading.Thread(target=drain, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return False


class StallServer:
    """Serves FIXTURE at /slow.png to browsers; stalls every other client until released."""

    def __init__(self):
        self.release = threading.Event()
        self.stalled = threading.Event()
        with open(FIXTURE, "rb") as handle:
            png = handle.read()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                agent = self.headers.get("User-Agent", "")
                if "Chrome" in agent or "Mozilla" in agent:
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(len(png)))
                    self.end_headers()
                    self.wfile.write(png)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png) * 100))
                self.end_headers()
                self.wfile.write(png[:16])
                self.wfile.flush()
                outer.stalled.set()
                outer.release.wait(timeout=120)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slow.png"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        return False
