# syntax=docker/dockerfile:1.7
#
# gemini3: the RTX 5090 (sm_120) production image for the RunPod serverless worker.
#
# Build it on a machine with a Docker engine (BuildKit) and network access; the development
# machines of this project have neither. See docs/DEPLOY.md for build, push and endpoint set-up:
#
#   docker buildx build --platform linux/amd64 -t REGISTRY/gemini3:VERSION --push .
#
# Three stages:
#   build    the Rust binary. `ort` uses `load-dynamic`, so the build needs no ONNX Runtime,
#            no CUDA and no GPU.
#   ortlibs  libonnxruntime and its CUDA and TensorRT provider libraries, taken from the
#            official `onnxruntime-gpu` wheel (the CUDA 13 build with native sm_120 kernels).
#   runtime  CUDA 13 + cuDNN 9 + TensorRT 10.x, the binary, models, configs and handler.toml.
#
# Every version below is pinned, with the reason. Bump them together: the TensorRT engine
# cache on the network volume is only valid for one (ONNX Runtime, TensorRT, GPU) combination,
# which is why configs/rtx5090.toml puts those versions in the cache path.
#
# For a reproducible release, also pin each FROM image by digest
# (`docker buildx imagetools inspect IMAGE:TAG` prints it) as `IMAGE:TAG@sha256:...`.

# ---------------------------------------------------------------------------------------------
# build: rustc 1.95.0 (ort 2.0.0-rc.15 needs >= 1.92; 1.95.0 is the toolchain the project is
# developed and tested with). Debian bookworm has glibc 2.36, older than the runtime's 2.39,
# so the binary runs there.
FROM rust:1.95.0-bookworm AS build
WORKDIR /src
# The whole context, filtered by .dockerignore (no target/, .ort/, virtual environments), so
# that every workspace member and target the manifest names is present.
COPY . .
# --locked: build exactly Cargo.lock. The cache mounts keep the registry and target/ between
# builds on the same builder; the binary is copied out because a cache mount is not part of
# the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p gemini3 \
 && install -D -m 0755 target/release/gemini3 /out/gemini3

# ---------------------------------------------------------------------------------------------
# ortlibs: ONNX Runtime 1.31.1 from PyPI. 1.31.x is the release ort 2.0.0-rc.15 (feature
# api-31) is written against; older libraries are refused at load. Its wheel is built for
# CUDA 13.0 with native sm_120 (RTX 5090) kernels, so nothing is JIT-compiled from PTX; its
# TensorRT provider was compiled against TensorRT 10.14.1 (the version constant passed to
# createInferBuilder_INTERNAL in libonnxruntime_providers_tensorrt.so is 101401).
# Python 3.12 only runs `pip download` and unzips; the hash pins the cp312 manylinux_2_28
# wheel. Kept: libonnxruntime.so.1.31.1 and libonnxruntime_providers_{shared,cuda,tensorrt}.so
# (ONNX Runtime loads its provider libraries from its own folder, so they stay together).
FROM python:3.12.8-slim-bookworm AS ortlibs
ARG ORT_VERSION=1.31.1
ARG ORT_WHEEL_SHA256=05d548956197b9d01f59b625de740e0d6be3593f874e241a12dc0362650ecdf7
WORKDIR /w
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN echo "onnxruntime-gpu==${ORT_VERSION} --hash=sha256:${ORT_WHEEL_SHA256}" > requirements.txt \
 && pip download --no-cache-dir --no-deps --only-binary=:all: --require-hashes \
      -r requirements.txt -d /w/wheel \
 && python -m zipfile -e /w/wheel/onnxruntime_gpu-*.whl /w/x \
 && mkdir -p /ort \
 && cp /w/x/onnxruntime/capi/libonnxruntime*.so* /ort/ \
 && rm -rf /w/wheel /w/x
WORKDIR /ort
RUN ln -s "libonnxruntime.so.${ORT_VERSION}" libonnxruntime.so.1 \
 && ln -s libonnxruntime.so.1 libonnxruntime.so \
 && ls -l /ort

# ---------------------------------------------------------------------------------------------
# runtime: CUDA 13.0 update 2 + cuDNN 9 on Ubuntu 24.04.
# - CUDA 13.0 because the ONNX Runtime 1.31.1 providers link libcudart.so.13, libcublas.so.13,
#   libcublasLt.so.13 and libcurand.so.10; the runtime flavour ships exactly those (plus NVRTC,
#   which the CUDA provider loads). 13.0 rather than a later 13.x because the image's
#   NVIDIA_REQUIRE_CUDA makes the container runtime refuse hosts whose driver is older than
#   the image's CUDA: 13.0 needs driver >= 580, the widest set of RunPod 5090 hosts.
# - cuDNN 9 (cu13 build, >= 9.7 is needed for Blackwell) because the providers link
#   libcudnn.so.9.
FROM nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04 AS runtime

# TensorRT 10.14.1 for CUDA 13.0, from NVIDIA's CUDA apt repository that the base image has
# configured. Why exactly this version:
# - 10.x, not 11.x: the ONNX Runtime 1.31 TensorRT provider links libnvinfer.so.10 and
#   libnvonnxparser.so.10, and dlopens libnvinfer_plugin.so.10; TensorRT 11 ships .so.11.
# - >= 10.8 is the first TensorRT that knows Blackwell (sm_120).
# - 10.14.1 is the version that provider was compiled against (see the ortlibs stage).
#   TensorRT refuses a library older than the headers a program was built with, and its
#   `+cuda13.0` build matches the base image's CUDA, so apt pulls in no second CUDA.
# Three packages: the runtime and builder (libnvinfer10), the plugins the ONNX parser needs
# for some operators (libnvinfer-plugin10), and the ONNX parser (libnvonnxparsers10).
ARG TENSORRT_VERSION=10.14.1.48-1+cuda13.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      "libnvinfer10=${TENSORRT_VERSION}" \
      "libnvinfer-plugin10=${TENSORRT_VERSION}" \
      "libnvonnxparsers10=${TENSORRT_VERSION}" \
 && apt-mark hold libnvinfer10 libnvinfer-plugin10 libnvonnxparsers10 \
 && rm -rf /var/lib/apt/lists/*

# The worker runs as this unprivileged user. The container starts as root only so that the
# entrypoint can prepare the RunPod network volume, which RunPod mounts root-owned at
# /runpod-volume; it then drops to this user (see scripts/docker-entrypoint.sh and the
# "Non-root" section of docs/DEPLOY.md). A fixed, high UID keeps volume ownership stable across
# image versions and outside the range of host users.
ARG APP_UID=10001
RUN groupadd --gid "${APP_UID}" gemini3 \
 && useradd --no-log-init --uid "${APP_UID}" --gid gemini3 \
      --home-dir /app --shell /usr/sbin/nologin gemini3

COPY --from=ortlibs /ort/ /opt/onnxruntime/lib/
COPY --from=build /out/gemini3 /usr/local/bin/gemini3

WORKDIR /app
# The project root: configs/default.toml and its overlays, handler.toml, the phase models and
# their manifest, the bundled test input, and the self-test. Read-only for the worker.
COPY configs/ /app/configs/
COPY models/ /app/models/
COPY handler.toml test_input.json /app/
COPY scripts/gpu-selftest.sh scripts/docker-entrypoint.sh /app/scripts/
# Local caches (used when no network volume is mounted) live under /tmp, which is writable by
# any user; nothing under /app needs to be written.
RUN chmod 0755 /app/scripts/gpu-selftest.sh /app/scripts/docker-entrypoint.sh \
 && mkdir -p /tmp/gemini3 \
 && chown gemini3:gemini3 /tmp/gemini3

# GEMINI3_ROOT: the project root above, whatever the working directory.
# GPU_MODEL=RTX_5090: apply configs/rtx5090.toml (TensorRT fp16, caches on the volume,
#   require_gpu = true). Set GPU_MODEL to another value, or GEMINI3_PROFILE=cpu, to change it.
# ORT_DYLIB_PATH: the ONNX Runtime library the worker loads; its providers sit beside it.
# CUDA_CACHE_MAXSIZE: 4 GiB for the driver's PTX JIT cache. The 1.31.1 providers ship native
#   sm_120 code, so little is JIT-compiled; the entrypoint points CUDA_CACHE_PATH at the
#   network volume so that whatever is compiled once is reused by every worker.
# RUST_LOG: our INFO logs; ONNX Runtime's own INFO output is one line per graph transformer.
# RUNPOD_LOG_LEVEL: RunPod's log level name, read by the worker runtime.
ENV GEMINI3_ROOT=/app \
    GPU_MODEL=RTX_5090 \
    ORT_DYLIB_PATH=/opt/onnxruntime/lib/libonnxruntime.so.1.31.1 \
    CUDA_CACHE_MAXSIZE=4294967296 \
    RUST_LOG=info,ort=warn \
    RUNPOD_LOG_LEVEL=INFO

# No HEALTHCHECK: RunPod serverless ignores Docker health checks; the worker's heartbeat and
# its start-up checks (`require_gpu`, warm-up) play that role. By hand:
#   docker run --rm --gpus all IMAGE gemini3 check
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["gemini3", "worker"]
