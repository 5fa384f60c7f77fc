"""Compares two bench-quality summaries (bench/.work/summary.json or a run's
bench/.work/runs/<run>/summary.json): per set, variant and setting, the paired figures of each
run and the change.

    bench/.work/venv/bin/python bench/quality_diff.py OLD.json NEW.json [--all]

Without --all only the groups whose ΔPSNR, ΔSSIM, bytes ratio, SSIM win or alpha IoU moved are
listed.
"""

import argparse
import json
import sys

FIELDS = [
    ("d_psnr", "ΔPSNR", "{:+.2f}", 0.005),
    ("d_ssim", "ΔSSIM", "{:+.4f}", 0.00005),
    ("bytes_ratio", "bytes×", "{:.2f}", 0.005),
    ("ssim_win", "SSIM win", "{:.0%}", 0.001),
]


def iou(group):
    return (group.get("gemini3") or {}).get("iou")


def row(label, old, new):
    cells = []
    moved = False
    for key, name, form, epsilon in FIELDS + [("iou", "IoU", "{:.3f}", 0.0005)]:
        a = iou(old) if key == "iou" else old.get(key)
        b = iou(new) if key == "iou" else new.get(key)
        if a is None and b is None:
            continue
        if a is None or b is None:
            cells.append(f"{name} {'–' if a is None else form.format(a)} → {'–' if b is None else form.format(b)}")
            moved = True
            continue
        change = b - a
        moved |= abs(change) > epsilon
        cells.append(f"{name} {form.format(a)} → {form.format(b)}")
    return moved, f"{label:<26} " + " | ".join(cells)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--all", action="store_true", help="list the groups that did not move too")
    args = parser.parse_args()
    try:
        old_summary = json.load(open(args.old))
        new_summary = json.load(open(args.new))
        old, new = old_summary["groups"], new_summary["groups"]
    except (OSError, KeyError, json.JSONDecodeError) as error:
        sys.exit(f"cannot read the summaries: {error}")
    if old_summary.get("limit") != new_summary.get("limit"):
        print(f"note: {old_summary.get('limit')} against {new_summary.get('limit')} images per set; "
              "the groups hold different images")
    for name, summary in (("old", old_summary), ("new", new_summary)):
        if summary.get("gemini3_flags") or summary.get("gemini3_env"):
            print(f"{name}: flags `{summary.get('gemini3_flags', '')}`, environment {summary.get('gemini3_env')}")
    shown = 0
    for label in [k for k in new if k in old]:
        moved, line = row(label, old[label], new[label])
        if moved or args.all:
            print(line)
            shown += 1
    only = sorted(set(old) ^ set(new))
    if only:
        print("in one run only: " + ", ".join(only))
    if not shown:
        print("no group moved")


if __name__ == "__main__":
    main()
