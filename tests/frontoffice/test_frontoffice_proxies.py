"""Behind a reverse proxy: with ``trusted_proxies`` the served front office counts failed
sign-ins per client named in ``X-Forwarded-For`` by a trusted proxy (the rightmost
address that is not a proxy's, so a client cannot name itself), and a proxy that ends TLS
says so with ``X-Forwarded-Proto`` (the session cookie is then Secure, and HSTS is sent);
without the setting both headers are ignored, so a client that forges them still meets the
limit on its own address. A setting that is no list of IP addresses or networks is
refused in one line."""
from __future__ import annotations

import httpx
import pytest

from caruso_core.errors import ConfigError
from caruso_frontoffice.service import ADDRESS_FAILURES, FrontOffice
from frontoffice_support import PASSWORDS, QUICK_COST, add_users, csrf_of

SIGNED_IN = 303        # sent on to the page asked for


def served(caruso_host, caruso_client, tmp_path, **config):
    db = f"sqlite:///{tmp_path / 'served.db'}"
    add_users(db)
    caruso_host("frontoffice", config={"password_cost": QUICK_COST, "address": "http://127.0.0.1:0", "db": db,
                                       **config})
    return caruso_client.get("frontoffice").url()


def signed_in(site, name, password, forwarded=None, **headers):
    """One sign-in from a fresh client (its own cookies); the answer."""
    with httpx.Client(base_url=site, verify=False) as client:     # plain http: no certificates to load
        csrf = csrf_of(client.get("/signin").text)
        headers = {**headers, **({"X-Forwarded-For": forwarded} if forwarded else {})}
        return client.post("/signin", data={"csrf": csrf, "name": name, "password": password}, headers=headers)


def sign_in(site, name, password, forwarded=None):
    return signed_in(site, name, password, forwarded).status_code


def over_tls(answer):
    """Whether the answer is one for https: a Secure session cookie and HSTS."""
    cookies = answer.headers.get_list("set-cookie")
    secure = [any(part.strip().lower() == "secure" for part in cookie.split(";")) for cookie in cookies]
    assert cookies and (all(secure) or not any(secure)), cookies
    return all(secure) and "strict-transport-security" in answer.headers


def fail_until_limited(site, forwarded):
    """Failed sign-ins under new names (so no name's own limit counts), each with the
    ``X-Forwarded-For`` that ``forwarded(n)`` gives; all refused as wrong."""
    for n in range(ADDRESS_FAILURES):
        assert sign_in(site, f"nobody{n}", "wrong", forwarded(n)) == 401


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_limit(caruso_host, caruso_client,
                                                                                  tmp_path):
    site = served(caruso_host, caruso_client, tmp_path)
    forged = signed_in(site, "ada", PASSWORDS["ada"], **{"X-Forwarded-Proto": "https"})
    assert forged.status_code == SIGNED_IN and not over_tls(forged)
    fail_until_limited(site, lambda n: f"198.51.100.{n + 1}")       # a new forged address each time
    assert sign_in(site, "ada", PASSWORDS["ada"], "203.0.113.50") == 429


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(caruso_host, caruso_client, tmp_path):
    site = served(caruso_host, caruso_client, tmp_path, trusted_proxies=["127.0.0.1"])
    fail_until_limited(site, lambda n: "198.51.100.7")
    assert sign_in(site, "nobody", "wrong", "198.51.100.7") == 429
    # the client names another address in front of the one its proxy appends: still itself
    assert sign_in(site, "nobody", "wrong", "203.0.113.50, 198.51.100.7") == 429
    assert sign_in(site, "nobody", "wrong", "not an address, 198.51.100.7") == 429      # malformed
    hops = "198.51.100.9, " * 20000 + "198.51.100.7"                     # over the 16 KiB head
    assert sign_in(site, "nobody", "wrong", hops) == 400                  # refused before the app reads it
    assert sign_in(site, "ada", PASSWORDS["ada"], "203.0.113.50") == SIGNED_IN   # another client
    assert sign_in(site, "ada", PASSWORDS["ada"]) == SIGNED_IN                    # the proxy's own address
    plain = signed_in(site, "sam", PASSWORDS["sam"], "203.0.113.51")
    ended_tls = signed_in(site, "sam", PASSWORDS["sam"], "203.0.113.51", **{"X-Forwarded-Proto": "https"})
    assert not over_tls(plain) and over_tls(ended_tls)


@pytest.mark.parametrize("setting, says", [
    ("127.0.0.1", "frontoffice trusted_proxies must be a list"),
    ([], "frontoffice trusted_proxies must be a list"),
    (["*"], "'*' is not an IP address or network (it would let every client name itself)"),
    (["proxy.example"], "'proxy.example' is not an IP address or network"),
    ([7], "7 is not an IP address or network"),
])
def test_a_trusted_proxies_setting_that_names_no_addresses_is_refused_in_one_line(tmp_path, setting, says):
    with pytest.raises(ConfigError) as refused:
        FrontOffice(db=f"sqlite:///{tmp_path / 'fo.db'}", key_file=str(tmp_path / "fo.key"), trusted_proxies=setting)
    assert says in str(refused.value) and "\n" not in str(refused.value)
