"""The security audit log in a real browser: a wrong password is on the record, the county's
security auditor finds it from the workbench, filters, downloads the CSV (itself on the
record); a platform operator is refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import assert_chinese_rendered, login, screenshot
from tests.factories import PASSWORD
from xianghu.core.models import AuditEvent, AuditKind
from xianghu.regions.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)


def test_auditor_reads_filters_and_exports_the_log(page, world):
    auditor = f.UserFactory(username="auditor")
    f.MembershipFactory(user=auditor, organisation=world.orgs["office"], role=Role.SECURITY_AUDITOR)

    # A wrong password for an account of the county, and one for the other county's.
    login(page, "reporter", "wrong-password")
    expect(page.get_by_test_id("login-error")).to_be_visible()
    login(page, "reporter_b", "wrong-password")
    expect(page.get_by_test_id("login-error")).to_be_visible()

    login(page, "auditor", PASSWORD)
    expect(page.get_by_test_id("workbench-title")).to_be_visible()
    page.locator("a[href='/audit/']").first.click()
    expect(page.get_by_test_id("audit-title")).to_be_visible()
    assert_chinese_rendered(page, page.get_by_test_id("audit-title").inner_text())

    rows = page.get_by_test_id("audit-row")
    expect(page.locator("[data-testid=audit-row][data-kind=login_failed]")).to_have_count(1)
    expect(page.locator("[data-testid=audit-row][data-username=reporter_b]")).to_have_count(0)
    expect(page.locator("[data-testid=audit-row][data-kind=login]")).to_have_count(1)

    page.locator("#id_kind").select_option("login_failed")
    page.get_by_test_id("audit-apply").click()
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_have_attribute("data-username", "reporter")
    expect(row).to_have_attribute("data-outcome", "failure")
    screenshot(page, "audit-log-filtered")

    with page.expect_download() as info:
        page.get_by_test_id("audit-csv").click()
    download = info.value
    assert download.suggested_filename.startswith("audit-log-")
    text = download.path().read_text(encoding="utf-8")
    lines = text.strip().splitlines()
    assert len(lines) == 2  # the header and the one failed login of the filter
    assert ",login_failed,failure,reporter," in lines[1]
    export = AuditEvent.objects.get(kind=AuditKind.EXPORT)
    assert export.user == auditor
    assert "kind=login_failed" in export.detail["query"]


def test_a_platform_operator_is_refused(page, world):
    login(page, "operator", PASSWORD)
    expect(page.get_by_test_id("workbench-title")).to_be_visible()
    expect(page.locator("a[href='/audit/']")).to_have_count(0)
    response = page.goto("/audit/")
    assert response is not None
    assert response.status == 403
    screenshot(page, "audit-log-refused")
    assert AuditEvent.objects.filter(
        kind=AuditKind.PERMISSION_DENIED, username="operator", path="/audit/"
    ).exists()
