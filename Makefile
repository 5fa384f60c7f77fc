# gemini3: the two commands are `make run` and `make test`; see README.md.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run install test test-deps test-ui onnxruntime onnxruntime-gpu models train-clean train-upscale build release check lint fmt clippy bench bench-worker bench-quality bench-startup clean-ort

# ONNX Runtime 1.31 CPU library from the onnxruntime wheel into .ort/lib (idempotent).
onnxruntime:
	bash scripts/fetch-onnxruntime.sh cpu

# The GPU variant (CUDA + TensorRT providers) from the onnxruntime-gpu wheel.
onnxruntime-gpu:
	bash scripts/fetch-onnxruntime.sh gpu

# Regenerate the shipped ONNX models (byte-identical to the committed ones).
models:
	bash tools/export_models.sh

# Train the learned phase-1 model (models/clean.onnx + its manifest entry) from a fresh clone:
# pinned venv, pinned npm artwork, fixed seeds, one core, about 45 minutes. See tools/train_clean.py.
train-clean:
	bash tools/train_clean.sh

# Fine-tunes the phase-2 upscaler (models/upscale_x4.onnx) from the pinned Real-ESRGAN weights on
# renders of the pinned npm artwork: fixed seeds, one core, about 45 minutes. See tools/train_upscale.py.
train-upscale:
	bash tools/train_upscale.sh

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# Install the `gemini3` binary into cargo's bin folder (~/.cargo/bin). It finds configs/,
# models/ and .ort/ in the folder it runs in, else in this checkout (or GEMINI3_ROOT).
install: onnxruntime
	$(CARGO) install --path . --locked

# Local one-shot worker run on test_input.json; the SVG lands in out/.
run: onnxruntime
	$(CARGO) build --release
	mkdir -p out
	./target/release/gemini3 worker --test-input test_input.json --output-dir out

check: onnxruntime
	$(CARGO) run --release -- check

# Debian's poppler-utils and ghostscript (the format tests read PDF and EPS back with them),
# installed with apt-get when missing and this user may (scripts/test-deps.sh).
test-deps:
	bash scripts/test-deps.sh

test: onnxruntime test-deps
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

# The playground in headless Chromium and RunPod's Python SDK against `gemini3 serve`
# (tests/ui/run.sh; needs chromium and chromium-driver, see .ci/run).
test-ui: onnxruntime
	$(CARGO) build --release --bin gemini3
	GEMINI3_BIN=target/release/gemini3 bash tests/ui/run.sh

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

lint:
	bash scripts/lint.sh

bench: bench-worker bench-quality bench-startup

# Worker overhead against RunPod's Python worker (bench/worker_bench.py writes bench/worker.md),
# then the real handler on CPU (examples/bench_handler.rs), appended to the same page.
bench-worker: onnxruntime
	python3 bench/worker_bench.py
	$(CARGO) build --release --bin gemini3 --example bench_handler
	./target/release/examples/bench_handler bench/handler.md
	{ echo; cat bench/handler.md; } >> bench/worker.md

# Start-up: one-shot `gemini3 vectorize` of a 256² icon against VTracer's CLI (the one
# bench-quality builds), and the worker's per-job time at 256² and 512² (bench/startup.md).
# BEFORE=old/gemini3 BEFORE_ROOT=its checkout adds an older build side by side.
bench-startup: onnxruntime
	$(CARGO) build --release --bin gemini3
	test -x bench/.work/vtracer/bin/vtracer || CARGO_TARGET_DIR=bench/.work/vtracer-target \
		$(CARGO) install vtracer-cli --version 1.0.0-alpha.4 --locked --root bench/.work/vtracer
	python3 bench/startup.py $(if $(BEFORE),--before $(BEFORE) --before-root $(or $(BEFORE_ROOT),.))

# Fidelity against VTracer on six sets (bench/quality.md, bench/quality-grid-<set>.png).
# QUALITY_ARGS="--quick" or "--sets outline,glossy" for a partial run (page under bench/.work).
bench-quality: onnxruntime
	bash bench/quality.sh $(QUALITY_ARGS)
