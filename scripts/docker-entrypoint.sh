#!/usr/bin/env bash
# Entrypoint of the production image (see Dockerfile and docs/DEPLOY.md, "Non-root").
#
# RunPod mounts the endpoint's network volume at /runpod-volume owned by root, and serverless
# endpoints offer no way to choose the container user. So the container starts as root, and
# this script, before anything else runs:
#   1. creates the worker's folder on the volume (GEMINI3_VOLUME_DIR, default
#      /runpod-volume/gemini3) and gives it to the `gemini3` user, so that the TensorRT engine
#      and timing caches (configs/rtx5090.toml) and the CUDA JIT cache are shared by every
#      worker of the endpoint;
#   2. points CUDA_CACHE_PATH at that folder (or at /tmp when there is no usable volume),
#      unless it is set already;
#   3. replaces itself with the command (default `gemini3 worker`) running as `gemini3`, so
#      the worker is PID 1, receives SIGTERM directly, and never runs as root.
# Started as a non-root user already (`docker run --user ...`), it only does step 2 and 3's exec.
# GEMINI3_RUN_AS_ROOT=1 keeps root: the escape hatch for a volume whose file system refuses
# chown and which the worker must still write.
set -euo pipefail

app_user="gemini3"
volume_dir="${GEMINI3_VOLUME_DIR:-/runpod-volume/gemini3}"
local_dir="/tmp/gemini3"

log() {
  printf 'entrypoint: %s\n' "$*" >&2
}

truthy() {
  case "${1,,}" in
    1 | true | yes | on) return 0 ;;
    *) return 1 ;;
  esac
}

run_as_app() {
  setpriv --reuid="$app_user" --regid="$app_user" --init-groups "$@"
}

if [ "$#" -eq 0 ]; then
  set -- gemini3 worker
fi

is_root=false
[ "$(id -u)" -eq 0 ] && is_root=true
drop=false
if $is_root && ! truthy "${GEMINI3_RUN_AS_ROOT:-0}" && id "$app_user" >/dev/null 2>&1; then
  drop=true
fi

volume_ok=false
volume_root="$(dirname "$volume_dir")"
if [ -d "$volume_root" ]; then
  if $is_root; then
    if mkdir -p "$volume_dir" 2>/dev/null; then
      if $drop; then
        # Only our own folder, and only what is not ours yet (files an earlier root run left):
        # cheap after the first start, even on a network file system.
        find "$volume_dir" ! -user "$app_user" -exec chown "$app_user:$app_user" {} + 2>/dev/null \
          || log "cannot chown $volume_dir to $app_user (file system refuses it?)"
      fi
    fi
  fi
  if $drop; then
    run_as_app test -w "$volume_dir" && volume_ok=true
  else
    [ -w "$volume_dir" ] && volume_ok=true
  fi
  if $volume_ok; then
    log "network volume: caches under $volume_dir"
  else
    log "WARNING: $volume_dir is not writable by the worker; TensorRT engines and the CUDA JIT cache stay local to this worker (set GEMINI3_RUN_AS_ROOT=1, or fix the folder's owner: docs/DEPLOY.md)"
  fi
else
  log "no network volume at $volume_root: TensorRT engines and the CUDA JIT cache stay local to this worker (cold starts rebuild them)"
fi

if [ -z "${CUDA_CACHE_PATH:-}" ]; then
  if $volume_ok; then
    export CUDA_CACHE_PATH="$volume_dir/cuda-cache"
  else
    export CUDA_CACHE_PATH="$local_dir/cuda-cache"
  fi
fi
mkdir -p "$local_dir" 2>/dev/null || true
if $drop; then
  chown "$app_user:$app_user" "$local_dir" 2>/dev/null || true
  # HOME of root is not writable by the worker; anything that falls back to $HOME (CUDA,
  # ONNX Runtime logs) then lands in a folder it owns.
  export HOME="$local_dir"
  exec setpriv --reuid="$app_user" --regid="$app_user" --init-groups --no-new-privs "$@"
fi
exec "$@"
