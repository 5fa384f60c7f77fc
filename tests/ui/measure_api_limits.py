"""Measures the local API's limits against a real `gemini3 serve` (not part of `make test-ui`).

1. 3000 half-sent request heads, then `GET /health`: its status and latency, the file
   descriptors serve holds, and how many of the half-sent connections it closed.
2. One job held IN_PROGRESS (its image_url stalls), then 300 queued 4.2 MB `/run` bodies
   against the default 512 MiB store budget: answers by status, the 429 reason, serve's RSS,
   then `/purge-queue` and RSS again.

Run: GEMINI3_BIN=target/release/gemini3 .venv-ui/bin/python tests/ui/measure_api_limits.py
"""

import base64
import json
import os
import resource
import socket
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Serve, StallServer  # noqa: E402


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return None


def post(base, path, body):
    request = urllib.request.Request(base + path, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def flood(serve, count=3000):
    host, port = serve.base.split("//")[1].split(":")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)))
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        sockets.append(sock)
    start = time.monotonic()
    with urllib.request.urlopen(serve.base + "/health", timeout=10) as response:
        status = response.status
    millis = (time.monotonic() - start) * 1000
    closed = 0
    for sock in sockets:
        sock.setblocking(False)
        try:
            closed += sock.recv(1) == b""
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
    print(json.dumps({
        "half_sent": count, "health_status": status, "health_ms": round(millis, 1),
        "serve_fds": len(os.listdir(f"/proc/{serve.process.pid}/fd")), "closed_by_server": closed,
    }))
    for sock in sockets:
        sock.close()


def budget(serve, stall, jobs=300):
    pid = serve.process.pid
    post(serve.base, "/run", json.dumps({"input": {"image_url": stall.url}}).encode())
    stall.stalled.wait(60)
    body = json.dumps({"input": {"image": base64.b64encode(os.urandom(3 * 1024 * 1024)).decode()}}).encode()
    answers, reason = {}, None
    for _ in range(jobs):
        code, answer = post(serve.base, "/run", body)
        answers[code] = answers.get(code, 0) + 1
        if code != 200:
            reason = answer.get("error")
    print(json.dumps({"body_mb": round(len(body) / 1e6, 2), "answers": answers, "rss_mib": rss_mib(pid)}))
    print("429 reason:", reason)
    print("purge:", post(serve.base, "/purge-queue", b"")[1], "rss_mib after:", rss_mib(pid))


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 8192 if hard == resource.RLIM_INFINITY else min(8192, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    with StallServer() as stall, Serve(env={"RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS": "1"}, log_name="measure") as serve:
        print("rss_mib at start:", rss_mib(serve.process.pid))
        flood(serve)
        budget(serve, stall)


if __name__ == "__main__":
    main()
