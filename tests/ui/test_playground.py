"""The playground in a real browser: headless Chromium driven through its WebDriver.

Starts `gemini3 serve` on a free loopback port, loads `/`, uploads a fixture, builds a palette
with the chip editor, runs, waits for the SVG, checks the inks of the rendered SVG equal the
palette and the metadata table is filled, writes docs/playground.png, cancels a job that
cannot finish on its own (its image_url stalls) and sees it cancelled, triggers an
InvalidInput (max_colors 0) and sees it beside the field, and fails on any console error.

Run by `make test-ui` (tests/ui/run.sh). Exit status 0 on success.
"""

import json
import os
import re
import shutil
import sys
import tempfile
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import FIXTURE, LOGO_PALETTE, ROOT, Serve, StallServer  # noqa: E402

SCREENSHOT = os.path.join(ROOT, "docs", "playground.png")
# Every wait is bounded; a job on the CPU profile takes well under this.
WAIT_S = 120


def chromium_path(names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit(f"none of {names} found: apt-get install -y chromium chromium-driver")


def browser(profile_dir):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_path(["chromium", "chromium-browser"])
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile_dir}",
        "--window-size=1440,1100",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=chromium_path(["chromedriver"]))
    return webdriver.Chrome(service=service, options=options)


def text_of(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def wait_text(driver, element_id, pattern, timeout=WAIT_S):
    regex = re.compile(pattern)
    WebDriverWait(driver, timeout).until(
        lambda d: regex.search(d.find_element(By.ID, element_id).text),
        f"#{element_id} never matched {pattern!r}",
    )
    return text_of(driver, element_id)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def console_errors(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def upload(driver):
    driver.find_element(By.ID, "file").send_keys(FIXTURE)
    info = wait_text(driver, "image-info", r"96 × 96 px", 30)
    check("logo96.png" in info, f"image info: {info}")
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.getElementById('thumb').naturalWidth") == 96
    )


def status_of(base, job_id):
    with urllib.request.urlopen(f"{base}/status/{job_id}", timeout=10) as response:
        return json.load(response)


def finished_run(driver, base):
    upload(driver)
    # The chip editor: type each colour and press Enter.
    hex_box = driver.find_element(By.ID, "chip-hex")
    for color in LOGO_PALETTE:
        hex_box.send_keys(color[1:], Keys.ENTER)
    chips = [c.get_attribute("data-color") for c in driver.find_elements(By.CSS_SELECTOR, "#chips .chip")]
    check(chips == LOGO_PALETTE, f"chips {chips}")
    # Ask for a PDF next to the SVG: the result then comes as `outputs`, inline here.
    driver.find_element(By.ID, "fmt-pdf").click()
    driver.find_element(By.ID, "run").click()
    status = wait_text(driver, "job-status", r"COMPLETED|FAILED|CANCELLED|TIMED_OUT")
    check("COMPLETED" in status, f"job status: {status}; error: {text_of(driver, 'general-error')}")
    fills = driver.execute_script(
        """
        const out = new Set();
        for (const p of document.querySelectorAll('#svg-host svg :is(path, circle, ellipse, rect)')) {
          const c = getComputedStyle(p).fill;
          const m = /rgb\\((\\d+), (\\d+), (\\d+)\\)/.exec(c);
          out.add(m ? '#' + m.slice(1, 4).map(v => Number(v).toString(16).padStart(2, '0')).join('') : c);
        }
        return Array.from(out);
        """
    )
    check(sorted(fills) == sorted(LOGO_PALETTE), f"SVG fills {fills} != palette {LOGO_PALETTE}")
    layers = [l.get_attribute("data-color") for l in driver.find_elements(By.CSS_SELECTOR, "#layers label")]
    check(sorted(layers) == sorted(LOGO_PALETTE), f"layer toggles {layers}")
    rows = {
        row.find_element(By.TAG_NAME, "th").text: row.find_element(By.TAG_NAME, "td").text
        for row in driver.find_elements(By.CSS_SELECTOR, "#meta tbody tr")
    }
    check(rows.get("Size") == "96 × 96 px", f"metadata rows {rows}")
    check(int(rows.get("Paths", "0")) > 0, f"paths: {rows.get('Paths')}")
    check(rows.get("SVG bytes", "").split(" ")[0].isdigit(), f"bytes: {rows.get('SVG bytes')}")
    check(all(c in rows.get("Inks", "") for c in LOGO_PALETTE), f"inks: {rows.get('Inks')}")
    phase_rows = [k for k in rows if re.search(r"\(phase\d\)", k)]
    check(len(phase_rows) >= 2, f"phase rows: {phase_rows}")
    check(all(re.search(r"ms · \w+", rows[k]) for k in phase_rows), f"phase timings: {rows}")
    swatches = driver.find_elements(By.CSS_SELECTOR, "#meta .inks .swatch")
    check(len(swatches) == len(LOGO_PALETTE), "one swatch per ink")
    # "Copy as curl for a RunPod endpoint": placeholders, never a key, and the job as JSON.
    command = driver.execute_script("return curlCommand()")
    check("/v2/ENDPOINT_ID/run" in command and "Bearer $RUNPOD_API_KEY" in command, command[:300])
    job = json.loads(command.split("<<'JSON'\n", 1)[1].split("\nJSON\n", 1)[0])
    check(job["input"]["palette"] == [c[1:] for c in LOGO_PALETTE], f"job palette {job['input']}")
    check(job["input"]["image"], "the job carries the image")
    check(job["input"].get("formats") == ["svg", "pdf"], f"job formats {job['input'].get('formats')}")
    pdf_head = driver.execute_script(
        "const e = state.result.output.outputs.pdf; return e.media_type + ' ' + atob(e.base64).slice(0, 5)"
    )
    check(pdf_head == "application/pdf %PDF-", f"inline PDF: {pdf_head}")
    check(driver.find_element(By.ID, "download-pdf").text == "Download PDF", "a PDF download button")
    check(driver.find_element(By.ID, "download").is_enabled(), "the SVG download button")
    driver.find_element(By.ID, "copy-json").click()
    WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.ID, "copied").text
        or d.execute_script("return document.getElementById('copy-dialog').open")
    )
    if driver.execute_script("return document.getElementById('copy-dialog').open"):
        copied = json.loads(driver.find_element(By.ID, "copy-text").get_attribute("value"))
        check(copied == job, "the dialog shows the job JSON")
        driver.find_element(By.ID, "copy-close").click()
    # A layer toggle hides that ink's paths.
    first = driver.find_element(By.CSS_SELECTOR, "#layers label input")
    first.click()
    hidden = driver.execute_script(
        "return Array.from(document.querySelectorAll('#svg-host svg :is(path, circle, ellipse, rect)')).filter(p => p.style.display === 'none').length"
    )
    check(hidden > 0, "toggling a layer hides its paths")
    first.click()
    # Overlay view with the split slider; zoom keeps both stages on one transform.
    driver.find_element(By.CSS_SELECTOR, 'input[name="view"][value="overlay"]').click()
    driver.find_element(By.ID, "zoom-in").click()
    transforms = driver.execute_script(
        "return Array.from(document.querySelectorAll('#viewer .stage')).map(s => s.style.transform)"
    )
    check(len(set(transforms)) == 1 and transforms[0], f"stage transforms {transforms}")
    driver.find_element(By.CSS_SELECTOR, 'input[name="view"][value="side"]').click()
    driver.find_element(By.ID, "zoom-fit").click()
    # Readable on a narrow window: one column, nothing wider than the window.
    driver.set_window_size(420, 900)
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    check(overflow <= 0, f"a narrow window scrolls sideways by {overflow}px")
    driver.set_window_size(1440, 1100)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    inner = driver.execute_script("return window.innerHeight")
    driver.set_window_size(1440, 1100 + max(0, height - inner) + 24)
    driver.find_element(By.ID, "zoom-fit").click()
    os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
    driver.save_screenshot(SCREENSHOT)
    driver.set_window_size(1440, 1100)
    print(f"ok: palette run, inks {sorted(fills)}, {rows['Paths']} paths; screenshot {SCREENSHOT}")


def cancelled_run(driver, base, stall):
    url_box = driver.find_element(By.ID, "url")
    url_box.clear()
    url_box.send_keys(stall.url)
    driver.find_element(By.ID, "url-load").click()
    wait_text(driver, "image-info", r"96 × 96 px", 30)
    driver.find_element(By.ID, "run").click()
    check(stall.stalled.wait(WAIT_S), "the worker never started downloading the stalled image")
    status = wait_text(driver, "job-status", r"IN_PROGRESS")
    job_id = re.search(r"Job (\S+):", status).group(1)
    cancel = driver.find_element(By.ID, "cancel")
    check(cancel.is_enabled(), "cancel is enabled while the job runs")
    cancel.click()
    status = wait_text(driver, "job-status", r"CANCELLED|COMPLETED|FAILED")
    check("CANCELLED" in status, f"after cancel: {status}")
    check(status_of(base, job_id)["status"] == "CANCELLED", "the API says CANCELLED too")
    check(driver.find_element(By.ID, "run").is_enabled(), "run is enabled again")
    print(f"ok: job {job_id} cancelled while downloading")


def invalid_input(driver):
    upload(driver)
    driver.find_element(By.ID, "palette-clear").click()
    check(not driver.find_elements(By.CSS_SELECTOR, "#chips .chip"), "palette cleared")
    box = driver.find_element(By.ID, "max-colors")
    box.clear()
    box.send_keys("0")
    driver.find_element(By.ID, "run").click()
    wait_text(driver, "job-status", r"FAILED|COMPLETED")
    slot = driver.find_element(By.CSS_SELECTOR, '[data-error-for="max_colors"]')
    check(slot.is_displayed(), "the max_colors error is shown")
    check("InvalidInput" in slot.text and "max_colors" in slot.text, f"error text: {slot.text}")
    check("field-error" in box.get_attribute("class"), "the field is marked")
    check(box.get_attribute("aria-invalid") == "true", "the field is aria-invalid")
    # Beside its field: the slot follows the field in the same grid, within a row or two.
    gap = slot.location["y"] - (box.location["y"] + box.size["height"])
    check(0 <= gap < 120, f"error {gap}px below its field")
    check(text_of(driver, "general-error") == "", "not in the general error box")
    print(f"ok: {slot.text}")


def main():
    profile = tempfile.mkdtemp(prefix="gemini3-ui-")
    env = {"RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS": "1"}
    try:
        with StallServer() as stall, Serve(env=env, log_name="playground") as serve:
            driver = browser(profile)
            try:
                driver.get(serve.base + "/")
                wait_text(driver, "worker-info", r"^gemini3 ", 30)
                check(driver.title == "gemini3 playground", driver.title)
                finished_run(driver, serve.base)
                cancelled_run(driver, serve.base, stall)
                invalid_input(driver)
                errors = console_errors(driver)
                check(not errors, f"browser console errors: {errors}")
                print("ok: no browser console errors")
            finally:
                driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    print("test-ui: playground passed")


if __name__ == "__main__":
    main()
