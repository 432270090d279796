#!/usr/bin/env python3
"""Drives the fleet dashboard in headless Chromium (Debian's chromium, through Playwright).

Usage: dashboard_browser.py URL SITES DRAIN_SITE DRAIN_CLOUD SCREENSHOT

Loads URL, waits until every site of SITES (comma-separated) has a row, prints "READY"
and reads one line from stdin (the caller drains DRAIN_SITE's DRAIN_CLOUD meanwhile), then
waits at most 5 s for that row to show the cloud drained, opens the site's detail page,
saves SCREENSHOT (the fleet page) and prints one JSON line: the console errors seen and
how long the drain took to show. Exit status 1 when a step fails.
"""
import json
import sys
import time

from playwright.sync_api import sync_playwright


def main() -> int:
    url, sites, drain_site, drain_cloud, screenshot = sys.argv[1:6]
    sites = sites.split(",")
    errors = []
    result = {"console_errors": errors}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        for site in sites:
            page.wait_for_selector(f'#sites tr[data-site="{site}"]', timeout=15000)
        result["rows"] = page.eval_on_selector_all(
            "#sites tbody tr", "rows => rows.map(r => r.dataset.site)"
        )
        print("READY", flush=True)
        sys.stdin.readline()
        asked = time.monotonic()
        badge = f'#sites tr[data-site="{drain_site}"] .clouds .badge'
        page.wait_for_function(
            """([selector, text]) => [...document.querySelectorAll(selector)]
                   .some(b => b.textContent === text)""",
            arg=[badge, f"{drain_cloud} drained"],
            timeout=5000,
        )
        result["drain_shown_after_s"] = round(time.monotonic() - asked, 2)
        page.screenshot(path=screenshot, full_page=True)
        detail = browser.new_page()
        detail.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        detail.on("pageerror", lambda e: errors.append(str(e)))
        detail.goto(url.rstrip("/") + "/site/" + drain_site)
        detail.wait_for_selector("#site-clouds tbody tr", timeout=10000)
        result["detail_clouds"] = detail.eval_on_selector_all(
            "#site-clouds tbody tr td:first-child", "cells => cells.map(c => c.textContent)"
        )
        result["detail_plots"] = detail.eval_on_selector_all(".plot svg", "s => s.length")
        browser.close()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
