"""Every user-facing page in a real browser (Debian chromium through Playwright)."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from tests.browser.conftest import assert_chinese_rendered, login, screenshot
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_demo_role_logs_in_and_sees_its_workbench(page):
    from xianghu.demo.county import DEMO_ACCOUNTS, DEMO_PASSWORD, build_demo_county
    from xianghu.regions.roles import Role

    build_demo_county()
    seen_roles = set()
    for account in DEMO_ACCOUNTS:
        login(page, account.username, DEMO_PASSWORD)
        expect(page.get_by_test_id("workbench-title")).to_have_text("工作台")
        with_label = str(Role(account.role).label)
        # Labels are in Chinese by default.
        from django.utils import translation

        with translation.override("zh-hans"):
            with_label = str(Role(account.role).label)
        expect(page.get_by_test_id("current-role")).to_have_text(with_label)
        assert_chinese_rendered(page, with_label)
        screenshot(page, f"workbench-{account.username}")
        seen_roles.add(account.role)
        page.get_by_test_id("logout").click()
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert seen_roles == set(Role.values)


def test_wrong_password_then_lockout(page, world):
    with override_settings(AXES_FAILURE_LIMIT=3):
        login(page, "reporter", "wrong-password")
        expect(page.get_by_test_id("login-error")).to_contain_text("用户名或密码错误")
        screenshot(page, "login-error")
        login(page, "reporter", "wrong-password")
        login(page, "reporter", "wrong-password")
        login(page, "reporter", PASSWORD)
        expect(page.get_by_test_id("locked")).to_contain_text("锁定")
        screenshot(page, "login-locked")


def test_user_without_membership_sees_why(page, world):
    login(page, "nomember", PASSWORD)
    expect(page.get_by_test_id("no-membership")).to_contain_text("尚未分配")
    screenshot(page, "no-membership")


def test_directory_filters_live_and_detail_masks_phones(page, world):
    login(page, "tleader", PASSWORD)
    page.goto("/orgs/")
    expect(page.locator(".org-table")).to_contain_text("清河县应急管理局")
    page.fill("#org-q", "派出所")
    # htmx replaces the rows without a page load.
    expect(page.locator(".org-table tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=%E6%B4%BE"))
    screenshot(page, "directory-filtered")
    page.select_option("#org-kind", "township")
    expect(page.locator(".org-table")).to_contain_text("没有符合条件的单位")
    page.goto(f"/orgs/{world.orgs['t1'].pk}/")
    members = page.get_by_test_id("members")
    expect(members).to_contain_text("乡镇呼叫员")
    phone = world.users["reporter"].phone
    expect(members).not_to_contain_text(phone)
    expect(members).to_contain_text(f"{phone[:3]}****{phone[-4:]}")
    screenshot(page, "organisation-detail")


def test_profile_and_password_change(page, world):
    login(page, "reporter", PASSWORD)
    page.goto("/accounts/me/")
    phone = world.users["reporter"].phone
    expect(page.get_by_test_id("masked-phone")).to_have_text(f"{phone[:3]}****{phone[-4:]}")
    screenshot(page, "profile")
    page.click("text=修改密码")
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", "abc")
    page.fill("#id_new_password2", "abc")
    page.click("button[type=submit].button-primary")
    expect(page.locator(".field-error").first).to_be_visible()
    screenshot(page, "password-change-errors")
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", "Qinghe@Town2026")
    page.fill("#id_new_password2", "Qinghe@Town2026")
    page.click("button[type=submit].button-primary")
    expect(page.locator(".message-success")).to_contain_text("密码已修改")


def test_not_found_page_and_other_county_object(page, world):
    login(page, "operator", PASSWORD)
    page.goto(f"/orgs/{world.orgs['dept_b'].pk}/")
    expect(page.get_by_test_id("error-message")).to_contain_text("无权访问")
    screenshot(page, "not-found")


def test_english_switch(page, world):
    login(page, "operator", PASSWORD)
    page.click("button[lang=en]")
    expect(page.get_by_test_id("workbench-title")).to_have_text("Workbench")
    expect(page.get_by_test_id("current-role")).to_have_text("Platform operator")
    screenshot(page, "workbench-english")
    page.click("button[lang=zh-hans]")
    expect(page.get_by_test_id("workbench-title")).to_have_text("工作台")


def test_admin_and_api_docs_are_served_locally(page, world, live_server):
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    login(page, "admin", PASSWORD)
    page.goto("/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    screenshot(page, "admin")
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .title")).to_contain_text("xianghu API")
    screenshot(page, "api-docs")
    outside = [url for url in requested if not url.startswith((live_server.url, "data:"))]
    assert outside == []


def test_phone_width_layout(phone_page, world):
    page = phone_page
    login(page, "reporter", PASSWORD)
    expect(page.get_by_test_id("workbench-title")).to_be_visible()
    for path in ("/", "/orgs/", "/accounts/me/", f"/orgs/{world.orgs['t1'].pk}/"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
    page.goto("/")
    nav = page.locator("#site-nav")
    expect(nav).to_be_hidden()
    page.click("[data-nav-toggle]")
    expect(nav).to_be_visible()
    screenshot(page, "phone-workbench-menu")


def test_leader_adds_and_ends_a_membership_in_place(page, world):
    from tests.factories import UserFactory

    UserFactory(username="newcomer", name="新来的")
    login(page, "tleader", PASSWORD)
    page.goto(f"/orgs/{world.orgs['v1'].pk}/")
    members = page.get_by_test_id("members")
    page.fill("#id_username", "ghost")
    page.get_by_test_id("add-member").click()
    expect(page.get_by_test_id("member-error")).to_contain_text("没有使用该用户名的有效用户")
    page.fill("#id_username", "newcomer")
    page.fill("#id_title", "网格员")
    page.get_by_test_id("add-member").click()
    expect(page.get_by_test_id("members-notice")).to_contain_text("已添加该成员")
    expect(members).to_contain_text("新来的")
    screenshot(page, "members-added")
    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator("#members tr", has_text="新来的")
    row.get_by_test_id("end-membership").click()
    expect(page.get_by_test_id("members-notice")).to_contain_text("已终止该任职")
    expect(page.locator("#members")).not_to_contain_text("新来的")


def test_expired_session_sends_back_to_login_with_a_notice(page, world):
    from django.contrib.sessions.models import Session

    # Idle too long: the next page logs the user out and says why.
    login(page, "operator", PASSWORD)
    expect(page.get_by_test_id("workbench-title")).to_be_visible()
    # Let the workbench's own requests (the service worker taking control, the htmx inbox
    # badge) finish first: under load one of them could abort the navigation below.
    page.wait_for_load_state("networkidle")
    with override_settings(SESSION_IDLE_TIMEOUT=-1):
        page.goto("/orgs/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Forgs%2F&expired=1"))
    expect(page.locator(".message-warning")).to_contain_text("登录已过期")
    assert_chinese_rendered(page, "登录已过期")
    screenshot(page, "session-expired")
    # Logging in again goes back to the page asked for.
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].button-primary")
    expect(page).to_have_url(re.compile(r"/orgs/$"))
    # The server forgot the session (expired, cleared): the stale cookie gets the notice.
    Session.objects.all().delete()
    page.reload()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Forgs%2F&expired=1"))
    expect(page.locator(".message-warning")).to_contain_text("登录已过期")


def test_form_with_a_broken_csrf_token_gets_the_expired_page(page, world):
    login(page, "reporter", PASSWORD)
    expect(page.get_by_test_id("workbench-title")).to_be_visible()
    page.evaluate(
        "document.querySelector('.logout-form input[name=csrfmiddlewaretoken]').value"
        " = 'broken-token'"
    )
    with page.expect_response(re.compile(r"/accounts/logout/$")) as answer:
        page.get_by_test_id("logout").click()
    assert answer.value.status == 403
    expect(page.locator("h1")).to_have_text("页面已过期")
    expect(page.get_by_test_id("error-message")).to_contain_text("请返回并刷新页面后重试")
    assert_chinese_rendered(page, "页面已过期")
    screenshot(page, "csrf-failed")
    # The refused form changed nothing: the user is still logged in.
    page.goto("/")
    expect(page.get_by_test_id("workbench-title")).to_have_text("工作台")


def test_server_error_page_is_friendly_and_chinese(page, world):
    from tests.core.failing_urls import FAILING_PAGE

    login(page, "reporter", PASSWORD)
    with override_settings(ROOT_URLCONF="tests.core.failing_urls"):
        response = page.goto(FAILING_PAGE)
    assert response is not None
    assert response.status == 500
    expect(page.locator("h1")).to_have_text("服务器错误")
    expect(page.locator("body")).not_to_contain_text("failing on purpose")
    assert_chinese_rendered(page, "服务器错误")
    screenshot(page, "server-error")
