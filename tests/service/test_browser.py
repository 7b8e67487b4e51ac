"""In a real browser: log in, see the plant and the bioreactor, the chart updating live, the
alarm appearing, a corrective action evaluated, the alarm acknowledged by an operator and
refused to a viewer; QA finds the acknowledgement with its reason in the audit trail and signs
the batch record "reviewed", its manifestation shown. Screenshots of the main pages go to
``test-artifacts/``."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from pharmatwin.service.demo import Demo
from tests.service.browser import (
    ARTEFACTS,
    CHROMIUM_ARGS,
    chromium_or_skip,
    served_demo,
)

TIMEOUT_MS = 120_000


def _log_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("#login-submit")
    expect(page.get_by_test_id("asset-card").first).to_be_visible(timeout=TIMEOUT_MS)


def _points(page: Page) -> int:
    """Points of measurements drawn on the asset page's measured charts (not the twin's
    estimates overlaid on them)."""
    count = page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid=chart-measured]'))
              .flatMap(c => (c.data || []).filter(t => t.meta !== 'estimate')
                                          .map(t => (t.x || []).length))
              .reduce((a, b) => a + b, 0)"""
    )
    return int(count)


def test_operator_and_viewer_in_the_dashboard(tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    ARTEFACTS.mkdir(exist_ok=True)
    with (
        served_demo(f"sqlite:///{tmp_path / 'demo.db'}", speed=7200.0, members=40) as (demo, base),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            _log_in(page, base, "operator", demo.logins["operator"])
            page.screenshot(path=str(ARTEFACTS / "overview.png"), full_page=True)
            page.get_by_test_id("asset-card").first.locator("a").first.click()
            page.wait_for_url(f"{base}/assets/BR01")
            expect(page.get_by_test_id("chart-measured").first).to_be_visible()
            before = _points(page)
            page.wait_for_function(
                f"""() => Array.from(document.querySelectorAll('[data-testid=chart-measured]'))
                    .flatMap(c => (c.data || []).filter(t => t.meta !== 'estimate')
                                                .map(t => (t.x || []).length))
                    .reduce((a, b) => a + b, 0) > {before}"""
            )  # the live stream extends the chart
            page.wait_for_function(  # the glucose assay beside the twin's estimate of it
                """() => {
                  const c = document.querySelector(
                    '[data-testid=chart-measured][data-name="BR01.GLC.LAB"]');
                  return c !== null && c.dataset.estimate === 'glucose' && (c.data || [])
                    .some(t => t.meta === 'estimate' && (t.x || []).length > 0);
                }"""
            )
            alarm = page.get_by_test_id("alarm-row").first
            expect(alarm).to_be_visible(timeout=TIMEOUT_MS)
            page.wait_for_function(  # the twin's estimates follow its new beliefs
                """() => Math.max(0, ...Array.from(
                      document.querySelectorAll('[data-testid=chart-estimated]'))
                    .flatMap(c => (c.data || []).map(t => (t.x || []).length))) >= 48"""
            )
            page.screenshot(path=str(ARTEFACTS / "asset-alarm.png"), full_page=True)
            page.get_by_test_id("whatif-action").select_option(index=0)
            page.get_by_test_id("whatif-evaluate").click()
            expect(page.get_by_test_id("whatif-p-ok-after")).not_to_be_empty()
            expect(page.get_by_test_id("setpoint-reason")).to_have_attribute("required", "")
            expect(page.get_by_test_id("whatif-reason")).to_be_visible()  # to apply an action
            page.get_by_test_id("ack-comment").first.fill("sparger checked")
            page.get_by_test_id("ack-button").first.click()
            expect(page.get_by_test_id("ack-button")).to_have_count(0)
            page.screenshot(path=str(ARTEFACTS / "asset-acknowledged.png"), full_page=True)

            viewer = browser.new_page()
            viewer.set_default_timeout(TIMEOUT_MS)
            _log_in(viewer, base, "viewer", demo.logins["viewer"])
            viewer.goto(f"{base}/assets/BR01")
            expect(viewer.get_by_test_id("alarm-row").first).to_be_visible()
            expect(viewer.get_by_test_id("ack-button")).to_have_count(0)  # not offered
            expect(viewer.get_by_test_id("setpoint")).to_be_hidden()
            refused = viewer.request.post(
                f"{base}/api/alarms/anything/acknowledge", data={"comment": "seen"}
            )
            assert refused.status == 403  # and refused by the API
            viewer.goto(f"{base}/batches")
            expect(viewer.get_by_test_id("batch-row").first).to_be_visible()
            expect(viewer.get_by_test_id("nav-audit")).to_be_hidden()  # QA and admin only
            viewer.screenshot(path=str(ARTEFACTS / "batches.png"), full_page=True)
            _qa_reviews(browser.new_page(viewport={"width": 1400, "height": 1000}), base, demo)
        finally:
            browser.close()


def _qa_reviews(page: Page, base: str, demo: Demo) -> None:
    """QA: the operator's acknowledgement in the audit trail, the batch record signed."""
    page.set_default_timeout(TIMEOUT_MS)
    _log_in(page, base, "qa", demo.logins["qa"])
    page.get_by_test_id("nav-audit").click()
    page.wait_for_url(f"{base}/audit")
    expect(page.get_by_test_id("audit-verify")).to_have_attribute("data-ok", "true")
    ack = page.locator("[data-testid=audit-row][data-record-type=alarm]").first
    expect(ack.get_by_test_id("audit-reason")).to_have_text("sparger checked")
    expect(ack.get_by_test_id("audit-user-cell")).to_have_text("operator")
    page.screenshot(path=str(ARTEFACTS / "audit.png"), full_page=True)
    page.goto(f"{base}/batches")
    link = page.get_by_test_id("batch-record-link").first
    record = page.request.get(base + str(link.get_attribute("href")))
    assert record.status == 200 and "Electronic batch record" in record.text()
    page.get_by_test_id("batch-signatures").first.click()
    expect(page.get_by_test_id("sign-form")).to_be_visible()
    page.get_by_test_id("sign-meaning").select_option("reviewed")
    page.get_by_test_id("sign-password").fill(demo.logins["qa"])
    page.get_by_test_id("sign-reason").fill("batch record reviewed during the run")
    page.get_by_test_id("sign-submit").click()
    signature = page.locator("[data-testid=signature][data-meaning=reviewed][data-user=qa]")
    expect(signature).to_be_visible()
    expect(signature.get_by_test_id("signature-name")).to_have_text("qa")
    expect(signature.get_by_test_id("signature-meaning")).to_have_text("reviewed")
    expect(signature.get_by_test_id("signature-time")).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
    )
    # valid or invalid: the running batch's record changes with every new sample
    expect(
        signature.locator("[data-testid^=signature-valid], [data-testid^=signature-invalid]")
    ).to_have_count(1)
    page.screenshot(path=str(ARTEFACTS / "batch-signed.png"), full_page=True)
