"""RunPod's own Python worker with a handler that returns its input (the bench-worker baseline)."""

import runpod


def handler(job):
    return job["input"]


runpod.serverless.start({"handler": handler})
