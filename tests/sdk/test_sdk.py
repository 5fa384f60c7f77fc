"""RunPod's own Python SDK (`runpod`, pinned in tests/ui/requirements.txt) against `gemini3 serve`.

Code written for a real endpoint runs unchanged: only `runpod.endpoint_url_base` points at the
local server's `/v2`. Covers `Endpoint.run_sync`, `Endpoint.run` + `Job.status` + `Job.output`,
`Job.stream`, `Job.cancel`, `Endpoint.health` and `Endpoint.purge_queue`, without a key and with
one (given by GEMINI3_API_KEY; a wrong key is refused), and the refusal to bind a public
address without a key.

Run by `make test-ui` (tests/ui/run.sh). Exit status 0 on success.
"""

import base64
import os
import subprocess
import sys
import time

import runpod

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ui"))
from harness import FIXTURE, LOGO_PALETTE, ROOT, Serve, StallServer, binary  # noqa: E402

WAIT_S = 120

with open(FIXTURE, "rb") as handle:
    IMAGE = base64.b64encode(handle.read()).decode()
JOB = {"input": {"image": IMAGE, "palette": [c[1:] for c in LOGO_PALETTE]}}


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def check_svg(output, what):
    check(isinstance(output, dict), f"{what}: output {type(output)}")
    check(output["svg"].lstrip().startswith("<svg") or "<svg" in output["svg"][:200], f"{what}: not an SVG")
    meta = output["metadata"]
    check(meta["paths"] > 0, f"{what}: no paths")
    check(sorted(meta["palette"]) == sorted(LOGO_PALETTE), f"{what}: palette {meta['palette']}")


def wait_status(job, wanted):
    """Polls the job's status (the SDK's own call) until it is one of `wanted`."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = job.status()
        if status in wanted:
            return status
        time.sleep(0.2)
    raise AssertionError(f"job never reached {wanted}")


def without_key(stall):
    with Serve(env={"RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS": "1"}, log_name="sdk") as serve:
        runpod.api_key = "any-key-is-fine-without---api-key"
        runpod.endpoint_url_base = serve.base + "/v2"
        endpoint = runpod.Endpoint("local-endpoint")

        check_svg(endpoint.run_sync(JOB, timeout=WAIT_S), "run_sync")
        print("ok: Endpoint.run_sync")

        job = endpoint.run(JOB)
        check(job.status() in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED"), "status after run")
        check_svg(job.output(timeout=WAIT_S), "run + output")
        check(job.status() == "COMPLETED", "status after output")
        print(f"ok: Endpoint.run + Job.status + Job.output ({job.job_id})")

        job = endpoint.run(JOB)
        chunks = list(job.stream())  # a non-streaming handler: no chunks, ends when final
        check(chunks == [], f"stream chunks {chunks!r}")
        check(job.status() == "COMPLETED", "status after stream")
        print("ok: Job.stream ends at COMPLETED")

        job = endpoint.run({"input": {"image_url": stall.url}})
        check(stall.stalled.wait(WAIT_S), "the worker never started the download")
        check(wait_status(job, {"IN_PROGRESS"}) == "IN_PROGRESS", "running")
        answer = job.cancel()
        check(answer == {"id": job.job_id, "status": "CANCELLED"}, f"cancel answered {answer}")
        check(job.status() == "CANCELLED", "status after cancel")
        print("ok: Job.cancel")

        health = endpoint.health()
        check(health["jobs"]["completed"] >= 3, f"health {health}")
        check(set(health["workers"]) == {"idle", "running"}, f"health {health}")
        check(endpoint.purge_queue() == {"removed": 0, "status": "completed"}, "purge_queue")
        print(f"ok: Endpoint.health {health} and purge_queue")


def with_key():
    key = "test-key-0123456789"
    with Serve(env={"GEMINI3_API_KEY": key}, log_name="sdk-key") as serve:
        runpod.endpoint_url_base = serve.base + "/v2"
        good = runpod.Endpoint("ep", api_key=key)
        check_svg(good.run_sync(JOB, timeout=WAIT_S), "run_sync with the key")
        check(good.health()["jobs"]["completed"] == 1, "health with the key")
        wrong = runpod.Endpoint("ep", api_key="not-the-key")
        for call in (lambda: wrong.health(), lambda: wrong.run(JOB), lambda: wrong.run_sync(JOB)):
            try:
                call()
            except RuntimeError as error:
                check("401" in str(error), f"refusal: {error}")
            else:
                raise AssertionError("a wrong key was accepted")
        print("ok: with GEMINI3_API_KEY the right key works and a wrong one is refused (401)")


def public_host_needs_a_key():
    result = subprocess.run(
        [binary(), "serve", "--host", "0.0.0.0", "--port", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if k != "GEMINI3_API_KEY"},
    )
    check(result.returncode == 2, f"exit {result.returncode}")
    check("--api-key" in result.stderr and "loopback" in result.stderr, result.stderr)
    print("ok: serve --host 0.0.0.0 without a key is refused")


def main():
    public_host_needs_a_key()
    with StallServer() as stall:
        without_key(stall)
    with_key()
    print("test-ui: RunPod SDK passed")


if __name__ == "__main__":
    main()
