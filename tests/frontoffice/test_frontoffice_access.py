"""Accounts and access: sign in and out, cookies, CSRF, rate limits, roles, first run."""
import re
import threading

import pytest
from starlette.testclient import TestClient

from caruso_core.errors import InvalidInput
from caruso_frontoffice.access import COOKIE
from caruso_frontoffice.app import create_app
from caruso_frontoffice.passwords import Cost, Passwords
from caruso_core.throttle import Throttle
from frontoffice_support import accounts_of, PASSWORDS, QUICK_HASHES, csrf_of, make_context, sign_in


def test_passwords_are_salted_scrypt_hashes_at_the_owasp_cost_and_carry_their_cost():
    real = Passwords()
    assert real.cost == Cost(n=2 ** 17, r=8, p=1)
    first = real.hash("correct horse")                                 # 0.4 CPU s a hash at this cost
    assert first.startswith("scrypt$131072$8$1$") and QUICK_HASHES.verify("correct horse", first)
    older = Passwords(Cost(n=2 ** 14)).hash("correct horse")          # the cost of earlier versions
    assert older != Passwords(Cost(n=2 ** 14)).hash("correct horse")  # salted
    assert real.verify("correct horse", older) and not real.verify("wrong horse", older)
    assert real.outdated(older) and not real.outdated(first)
    assert not real.verify("correct horse", "plain-text") and not real.outdated("plain-text")
    salt_and_digest = first.split("$", 4)[4]
    for unreasonable in ("scrypt$3$8$1$", "scrypt$2097152$8$1$", "scrypt$1024$64$1$", "scrypt$1024$8$0$"):
        assert not real.verify("correct horse", unreasonable + salt_and_digest)    # refused before hashing


def test_a_sign_in_waits_a_bounded_time_for_a_hashing_slot(web, context):
    slots = threading.BoundedSemaphore(1)
    context.accounts.passwords = Passwords(QUICK_HASHES.cost, slots, wait=0.2)
    slots.acquire()                                    # as a long hash in another thread would
    refused = sign_in(web, "ada")
    assert refused.status_code == 503 and "Too many sign-ins at this moment" in refused.text
    slots.release()
    assert sign_in(web, "ada").status_code == 303


def test_sign_in_sets_a_hardened_cookie_and_sign_out_ends_the_session(web):
    anonymous = web.get("/signin")
    assert f"{COOKIE}=" in anonymous.headers["set-cookie"]
    response = sign_in(web, "ada")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    stolen = web.cookies[COOKIE]
    home = web.get("/")
    assert home.status_code == 200 and "Welcome, ada" in home.text
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert home.headers["cache-control"] == "no-store"
    assert "cache-control" not in web.get("/static/style.css").headers
    signed_out = web.post("/signout", data={"csrf": csrf_of(home.text)}, follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["clear-site-data"] == '"cache"'   # no form kept
    web.cookies.clear()
    web.cookies[COOKIE] = stolen                       # the old cookie no longer opens anything
    assert web.get("/", follow_redirects=False).headers["location"] == "/signin"


def test_sessions_survive_a_restart_of_the_front_office(tmp_path, web):
    sign_in(web, "ada")
    restarted = TestClient(create_app(make_context(tmp_path, users=False)), base_url="http://testserver")
    restarted.cookies[COOKIE] = web.cookies[COOKIE]
    assert "Welcome, ada" in restarted.get("/").text


def test_cookie_is_secure_over_https_and_tampered_cookies_are_ignored(context):
    with TestClient(create_app(context), base_url="https://testserver") as client:
        assert "Secure" in sign_in(client, "ada").headers["set-cookie"]
        (cookie,) = client.cookies.jar
        token, signature = cookie.value.rsplit(".", 1)
        client.cookies.set(COOKIE, f"{token}x.{signature}", domain=cookie.domain)
        assert client.get("/", follow_redirects=False).headers["location"] == "/signin"
        client.cookies.clear()
        for forged in (f"{token}.{signature[:-1]}\xe9".encode("latin-1"), f"{token}.\u2603".encode()):   # any bytes
            answer = client.get("/", headers={"cookie": b"%s=%s" % (COOKIE.encode(), forged)}, follow_redirects=False)
            assert answer.headers["location"] == "/signin"                       # ignored, no 500
            answer = client.get("/signin", headers={"cookie": b"caruso_notice=e30." + forged})
            assert answer.status_code == 200


def test_session_token_changes_at_sign_in(web):
    web.get("/signin")
    before = web.cookies[COOKIE]
    sign_in(web, "ada")
    assert web.cookies[COOKIE] != before


def test_forms_without_session_or_csrf_token_are_refused(web):
    fresh = web.post("/signin", data={"name": "ada", "password": PASSWORDS["ada"]}, follow_redirects=False)
    assert fresh.status_code == 403 and "expired" in fresh.text
    web.get("/signin")
    for forged in (b"0" * 64, "é".encode() * 64, b"%ED%A0%80", b"%FF"):        # any bytes, as sent
        wrong = web.post("/signin", content=b"csrf=" + forged + b"&name=ada&password=" + PASSWORDS["ada"].encode(),
                         headers={"content-type": "application/x-www-form-urlencoded"}, follow_redirects=False)
        assert wrong.status_code == 403
    sign_in(web, "root")
    page = web.get("/admin/users").text
    assert web.post("/admin/users", data={"name": "eve", "role": "admin", "password": "xylophone-42"}).status_code == 403
    other = TestClient(web.app, base_url="http://testserver")
    other.get("/signin")
    foreign = other.post("/admin/users", data={"csrf": csrf_of(page), "name": "eve", "role": "admin",
                                               "password": "xylophone-42"}, follow_redirects=False)
    assert foreign.headers["location"].startswith("/signin")  # another browser's token does nothing there
    assert "eve" not in web.get("/admin/users").text


def test_a_form_sent_after_signing_out_in_another_tab_leads_to_sign_in_and_back(web, context):
    sign_in(web, "root")
    page = web.get("/admin/users").text
    web.post("/signout", data={"csrf": csrf_of(page)})                    # the other tab
    sent = web.post("/admin/users", data={"csrf": csrf_of(page), "name": "eve", "role": "agent",
                                          "password": "xylophone-42"},
                    headers={"referer": "http://testserver/admin/users"}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/signin?next=%2Fadmin%2Fusers"
    shown = web.get(sent.headers["location"]).text
    assert "You were signed out (in another tab, or your session ended)" in shown
    assert 'name="next" value="/admin/users"' in shown
    assert [u.name for u in context.accounts.all()] == ["ada", "root", "sam"]     # nothing was done
    elsewhere = web.post("/admin/users", data={"name": "eve"}, headers={"referer": "https://evil.example/admin"},
                         follow_redirects=False)
    assert elsewhere.headers["location"] == "/signin?next=%2F"                  # back only to this site
    endless = web.post("/admin/users", data={"name": "eve"}, follow_redirects=False,
                       headers={"referer": "http://testserver/admin/users?q=" + "x" * 3000})
    assert endless.headers["location"] == "/signin?next=%2F"                    # nor anywhere too long
    assert sign_in(web, "root", PASSWORDS["root"]).status_code == 303


def test_oversized_or_lengthless_forms_are_refused(web):
    csrf = csrf_of(web.get("/signin").text)
    big = web.post("/signin", data={"csrf": csrf, "name": "a" * 70_000, "password": "x"})
    assert big.status_code == 413


def test_wrong_passwords_are_rate_limited_per_name_and_per_address(web):
    for _ in range(5):
        assert sign_in(web, "ada", "wrong-password").status_code == 401
    limited = sign_in(web, "ada")                     # even the right password waits now
    assert limited.status_code == 429 and "Too many failed sign-ins" in limited.text
    assert sign_in(web, "sam").status_code == 303     # another name from the same address still works
    for attempt in range(20):
        sign_in(web, f"nobody{attempt}", "wrong-password")
    assert sign_in(web, "root").status_code == 429    # the address is over its limit


def test_throttle_window_slides():
    now = [0.0]
    throttle = Throttle(2, 60, clock=lambda: now[0])
    throttle.hit("k")
    throttle.hit("k")
    assert throttle.wait("k") == 60
    now[0] = 30
    assert throttle.wait("k") == 30
    now[0] = 61
    assert throttle.wait("k") == 0


def test_pages_check_roles(web):
    assert web.get("/admin/services", follow_redirects=False).headers["location"] == \
        "/signin?next=%2Fadmin%2Fservices"
    sign_in(web, "ada")
    refused = web.get("/admin/services")
    assert refused.status_code == 403 and "role" in refused.text
    assert web.get("/admin/users").status_code == 403
    assert web.get("/views/tasks").status_code == 403           # a view for supervisors only
    assert "Tasks" not in web.get("/").text                      # and not in the agent's menu


def test_sign_in_redirects_only_to_local_pages(web):
    csrf = csrf_of(web.get("/signin").text)
    response = web.post("/signin", data={"csrf": csrf, "name": "ada", "password": PASSWORDS["ada"],
                                         "next": "//evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_html_in_form_values_is_escaped(web):
    csrf = csrf_of(web.get("/signin").text)
    response = web.post("/signin", data={"csrf": csrf, "name": "<script>alert(1)</script>",
                                         "password": "whatever-1"})
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_admin_adds_users_with_checked_input(web):
    sign_in(web, "root")
    csrf = csrf_of(web.get("/admin/users").text)
    bad = web.post("/admin/users", data={"csrf": csrf, "name": "<b>x</b>", "role": "agent", "password": "yellow-kite-12"})
    assert bad.status_code == 400 and "user name" in bad.text and "<b>x</b>" not in bad.text
    short = web.post("/admin/users", data={"csrf": csrf, "name": "kim", "role": "agent", "password": "short"})
    assert short.status_code == 400 and "10 to 256 characters" in short.text
    for weak, said in (("aaaaaaaaaaaa", "5 different characters"), ("Password123!", "a common password"),
                       ("1234567890", "a common password"), ("Welcome-2026", "a common password"),
                       ("kimberly-kim", "6 characters besides the user name")):
        refused = web.post("/admin/users", data={"csrf": csrf, "name": "kimberly", "role": "agent", "password": weak})
        assert refused.status_code == 400 and said in refused.text, weak
    assert "kimberly" not in web.get("/admin/users").text                 # none was added
    for long in ("k" * 65, "k" * 5000):                              # refused, not cut to 64 into another name
        refused = web.post("/admin/users", data={"csrf": csrf, "name": long, "role": "agent", "password": "yellow-kite-12"})
        assert refused.status_code == 400 and "1 to 64 of a-z" in refused.text
    role = web.post("/admin/users", data={"csrf": csrf, "name": "kim", "role": "owner", "password": "yellow-kite-12"})
    assert role.status_code == 400 and "unknown role" in role.text
    added = web.post("/admin/users", data={"csrf": csrf, "name": "kim", "role": "agent", "password": "yellow-kite-12"})
    assert [r.status_code for r in added.history] == [303] and "User kim (agent) added" in added.text   # PRG
    assert "User kim (agent) added" not in web.get("/admin/users").text                        # said once
    again = web.post("/admin/users", data={"csrf": csrf, "name": "kim", "role": "agent", "password": "yellow-kite-12"})
    assert again.status_code == 400 and "exists already" in again.text


def test_admin_removes_a_user_whose_sessions_end(context):
    app = create_app(context)
    with TestClient(app, base_url="http://testserver") as admin, TestClient(app, base_url="http://testserver") as ada:
        sign_in(ada, "ada")
        assert "Welcome, ada" in ada.get("/").text
        sign_in(admin, "root")
        page = admin.get("/admin/users").text
        assert page.count(">Remove<") == 2                               # everybody but oneself
        for myself in ("root", " ROOT "):                                 # as names are compared
            refused = admin.post("/admin/users/remove", data={"csrf": csrf_of(page), "name": myself})
            assert refused.status_code == 400 and "cannot remove yourself" in refused.text
        unknown = admin.post("/admin/users/remove", data={"csrf": csrf_of(page), "name": "zed"})
        assert unknown.status_code == 400 and "no user named" in unknown.text
        asked = admin.post("/admin/users/remove", data={"csrf": csrf_of(page), "name": "ada"})
        assert asked.status_code == 200 and "Remove the user ada (agent)? Their sessions end" in asked.text
        assert "Welcome, ada" in ada.get("/").text                       # not removed until confirmed
        changed = admin.post("/admin/users/remove", data={"csrf": csrf_of(page), "name": "ada", "confirm": "yes",
                                                          "role": "supervisor"})   # not the role asked about now
        assert changed.status_code == 409 and "ada is agent now" in changed.text and "Welcome, ada" in ada.get("/").text
        removed = admin.post("/admin/users/remove", data={"csrf": csrf_of(page), "name": "ada", "confirm": "yes",
                                                          "role": "agent"}, follow_redirects=False)
        assert removed.status_code == 303 and removed.headers["location"] == "/admin/users"
        replayed = admin.post("/admin/users/remove", data={"csrf": csrf_of(page), "name": "ada", "confirm": "yes",
                                                           "role": "agent"})
        assert replayed.status_code == 400 and "no user named" in replayed.text
        for name, status in (("a" * 5_000, 400), ("a" * 100_000, 413)):   # a name cut short; a body too large
            oversized = admin.post("/admin/users/remove", data={"csrf": csrf_of(page), "name": name,
                                                                "confirm": "yes", "role": "agent"})
            assert oversized.status_code == status and len(oversized.text) < 20_000
        forged = admin.post("/admin/users/remove", data={"name": "sam", "confirm": "yes", "role": "supervisor"})
        assert forged.status_code == 403 and "sam" in [user.name for user in context.accounts.all()]
        after = admin.get("/admin/users").text
        assert "User ada removed; their sessions have ended." in after and after.count(">Remove<") == 1
        assert "User ada removed" not in admin.get("/admin/users").text
        assert ada.get("/", follow_redirects=False).headers["location"] == "/signin"
        assert sign_in(ada, "ada").status_code == 401


def test_admin_changes_a_staff_role_whose_sessions_end(context):
    app = create_app(context)
    context.accounts.add("cora", "customer", "cora-password-1", "customer_id=7")
    with TestClient(app, base_url="http://testserver") as admin, TestClient(app, base_url="http://testserver") as ada, \
            TestClient(app, base_url="http://testserver") as sam:
        sign_in(ada, "ada")
        assert ada.get("/supervisor").status_code == 403
        sign_in(admin, "root")
        page = admin.get("/admin/users").text
        assert page.count('action="/admin/users/role"') == 2                  # ada and sam: not oneself, not cora
        csrf = csrf_of(page)

        def change(name, role, client=admin, token=csrf):
            return client.post("/admin/users/role", data={"csrf": token, "name": name, "role": role},
                               follow_redirects=False)

        refused = {"root": ("agent", "cannot change your own role"), "Root ": ("agent", "cannot change your own role"),
                   "zed": ("agent", "no user named"),
                   "ada": ("owner", "unknown role"), "sam": ("customer", "does not become a customer account"),
                   "cora": ("agent", "cora is a customer account"), "x" * 5000: ("agent", "no user named")}
        for name, (role, why) in refused.items():
            answer = change(name, role)
            assert answer.status_code == 400 and why in answer.text, (name, answer.text)
        assert [(u.name, u.role) for u in context.accounts.all()] == [
            ("ada", "agent"), ("cora", "customer"), ("root", "admin"), ("sam", "supervisor")]
        assert change("ada", "supervisor", token="forged").status_code == 403
        sign_in(sam, "sam")
        assert change("ada", "admin", client=sam, token=csrf_of(sam.get("/").text)).status_code == 403
        changed = change("ada", "supervisor")
        assert changed.status_code == 303 and changed.headers["location"] == "/admin/users"
        assert "User ada is now supervisor; their sessions have ended." in admin.get("/admin/users").text
        assert ada.get("/", follow_redirects=False).headers["location"] == "/signin"
        sign_in(ada, "ada")
        assert ada.get("/supervisor").status_code == 200
        assert change("ada", "admin").status_code == 303
        sign_in(ada, "ada")                                                    # signed out again
        assert change("root", "agent", client=ada, token=csrf_of(ada.get("/admin/users").text)).status_code == 303
    for last_one_goes in (lambda: context.accounts.set_role("ada", "agent"), lambda: context.accounts.remove("ADA")):
        with pytest.raises(InvalidInput, match="^ada is the last administrator: make another one first$"):
            last_one_goes()


def test_a_new_password_ends_the_sessions(context, web):
    sign_in(web, "sam")
    context.accounts.set_password("sam", "a-new-password")
    assert web.get("/", follow_redirects=False).status_code == 303
    assert sign_in(web, "sam").status_code == 401
    assert sign_in(web, "sam", "a-new-password").status_code == 303


def test_first_run_creates_one_admin_with_the_one_time_token(tmp_path):
    context = make_context(tmp_path, users=False)
    token = context.setup_token
    assert token
    with TestClient(create_app(context), base_url="http://testserver") as client:
        assert "No user exists yet" in client.get("/signin").text
        assert client.get("/setup").status_code == 404
        assert client.get("/setup?token=guess").status_code == 404
        assert client.get("/setup?token=%C3%BC").status_code == 404
        page = client.get(f"/setup?token={token}")
        assert page.status_code == 200
        csrf = csrf_of(page.text)
        differ = client.post("/setup", data={"csrf": csrf, "token": token, "name": "boss",
                                             "password": "brisk-owl-12", "repeat": "crisp-owl-12"})
        assert differ.status_code == 400 and "differ" in differ.text
        done = client.post("/setup", data={"csrf": csrf, "token": token, "name": "boss",
                                           "password": "brisk-owl-12", "repeat": "brisk-owl-12"}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/admin/services"
        assert [(u.name, u.role) for u in context.accounts.all()] == [("boss", "admin")]
        assert client.get(f"/setup?token={token}").status_code == 404   # one time only
        again = client.post("/setup", data={"csrf": csrf_of(client.get("/signin").text), "token": token,
                                            "name": "mallory", "password": "mild-moose-12", "repeat": "mild-moose-12"})
        assert again.status_code == 404
    assert make_context(tmp_path, users=False).setup_token is None      # users exist: no setup page


def test_a_user_added_by_the_command_while_it_runs_ends_the_first_run(tmp_path):
    context = make_context(tmp_path, users=False)
    token = context.setup_token
    with TestClient(create_app(context), base_url="http://testserver") as client:
        assert "No user exists yet" in client.get("/signin").text
        accounts_of(f"sqlite:///{tmp_path / 'frontoffice.db'}").add("boss", "admin", "brisk-owl-12")   # another process
        assert "No user exists yet" not in client.get("/signin").text
        assert client.get(f"/setup?token={token}").status_code == 404


def test_unknown_pages_are_404_pages(web):
    response = web.get("/nowhere")
    assert response.status_code == 404 and "no such page" in response.text
    assert re.search(r"<title>.*</title>", response.text)
    sign_in(web, "sam")
    signed_in = web.get("/nowhere")                        # the page still says who is signed in
    assert signed_in.status_code == 404 and 'action="/signout"' in signed_in.text and "sam" in signed_in.text
