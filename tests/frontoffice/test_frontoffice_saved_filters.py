"""Saved list filters in headless Chromium against a served front office and the real
storage service: an agent saves a list's search, filter and sort under a name, finds it as
a link on the list, opens and deletes it; another user neither sees nor deletes it (IDOR),
a post without the CSRF token or with a name too long is refused and saves nothing; the
list with saved filters fits 390 pixels. The store's bounds are tested on SQLite."""
import pytest
import sqlalchemy as sa

from caruso_core.errors import Conflict, InvalidInput, NotFound
from caruso_frontoffice.database import open_database
from caruso_frontoffice.savedfilters import MAX_NAME, MAX_PER_USER, SavedFilters
from frontoffice_support import PHONE, accounts_of

WIDE = {"width": 1366, "height": 768}


def saved_names(page):
    return page.eval_on_selector_all(".saved-filters li a", "links => links.map(a => a.textContent)")


def csrf(page):
    return page.get_attribute("input[name=csrf]", "value")


@pytest.mark.browser
def test_a_user_saves_opens_and_deletes_their_list_filters_and_nobody_else_sees_them(tab, storage):
    storage.create("Customer", {"name": "Zora Zeller", "segment": "business", "city": "Aachen"})
    ada = tab(WIDE)
    ada.sign_in("ada").wait_for_url("**/")
    page = ada.open("/views/customers")
    assert saved_names(page) == []
    page.select_option("select[name='f.segment']", "business")
    page.click("button:has-text('Find')")
    page.wait_for_url("**f.segment=business**")
    page.click("th a:has-text('Name')")                           # ascending
    page.wait_for_url("**sort=name**")
    page.click("th a:has-text('Name')")                           # descending
    page.wait_for_url("**sort=-name**")
    page.fill("input[name=name]", "Business, Z first")
    page.click("button:has-text('Save filter')")
    page.wait_for_selector(".saved-filters li a")
    assert saved_names(page) == ["Business, Z first"]

    page = ada.open("/views/customers")                            # a later visit, no filter in the address
    assert page.locator("table tbody tr").count() == 3              # every customer
    page.click(".saved-filters a:has-text('Business, Z first')")
    page.wait_for_url("**f.segment=business**")
    assert page.input_value("select[name='f.segment']") == "business"
    names = page.eval_on_selector_all("table tbody tr td:first-child", "cells => cells.map(c => c.innerText)")
    assert names == ["Zora Zeller", "Acme Utilities"]              # business only, by name descending
    ada.check_layout("a saved filter opened")
    [mine] = page.eval_on_selector_all(".saved-filters input[name=filter]", "inputs => inputs.map(i => i.value)")

    refused = page.request.post("/views/customers/filters?f.segment=private", form={"name": "No token"})
    assert refused.status == 403
    too_long = page.request.post("/views/customers/filters?f.segment=private",
                                 form={"csrf": csrf(page), "name": "x" * (MAX_NAME + 1)})
    assert too_long.status == 400 and f"1 to {MAX_NAME} characters" in too_long.text()
    page.fill("input[name=name]", "   ")                     # blank: the browser's required check lets it pass
    page.click("button:has-text('Save filter')")
    page.wait_for_selector("#filter-error")
    ada.expected(400)
    assert page.inner_text("#filter-error") == "the filter's name is empty: give it one"
    assert page.input_value("select[name='f.segment']") == "business"      # the list as it was, saved nothing
    assert page.locator("table tbody tr").count() == 2
    ada.check_layout("a filter name refused")
    assert saved_names(ada.open("/views/customers")) == ["Business, Z first"]

    sam = tab(WIDE)
    sam.sign_in("sam").wait_for_url("**/")
    other = sam.open("/views/customers")
    assert saved_names(other) == [] and "Business, Z first" not in other.content()
    taken = other.request.post("/views/customers/filters/delete", form={"csrf": csrf(other), "filter": mine})
    assert taken.status == 404
    assert saved_names(ada.open("/views/customers")) == ["Business, Z first"]

    phone = tab(PHONE)
    phone.sign_in("ada").wait_for_url("**/")
    assert saved_names(phone.open("/views/customers")) == ["Business, Z first"]   # fits 390 px (checked by open)

    page = ada.open("/views/customers?q=&f.segment=business&sort=name")
    page.click(".saved-filters button[aria-label='Delete Business, Z first']")
    page.wait_for_url("**/views/customers?q=&f.segment=business&sort=name")    # the list as it was
    assert saved_names(page) == [] and page.locator("table tbody tr").count() == 2
    ada.check_layout("after deleting")


def test_saved_filters_are_bounded_per_user_and_replaced_by_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'frontoffice.db'}"
    accounts = accounts_of(url)
    ada, bob = (accounts.add(name, "agent", f"{name}-secret-1") for name in ("ada", "bob"))
    saved = SavedFilters(open_database(url))
    first = saved.save(ada.id, "customers", " Mine ", "q=a")
    assert saved.save(ada.id, "customers", "Mine", "q=b").id == first.id       # the same name replaces
    assert [(f.name, f.query) for f in saved.of(ada.id, "customers")] == [("Mine", "q=b")]
    assert saved.of(ada.id, "leads") == [] and saved.of(bob.id, "customers") == []
    for name in ("", " ", "x" * (MAX_NAME + 1), "tab\there"):
        with pytest.raises(InvalidInput):
            saved.save(ada.id, "customers", name, "q=c")
    with pytest.raises(InvalidInput):
        saved.save(ada.id, "customers", "long", "q=" + "x" * 2000)
    for number in range(MAX_PER_USER - 1):
        saved.save(ada.id, "leads", f"filter {number:02d}", "")
    with pytest.raises(Conflict):
        saved.save(ada.id, "leads", "one too many", "")
    saved.save(bob.id, "leads", "bob's", "")                          # the bound is per user
    with pytest.raises(NotFound):
        saved.delete(bob.id, first.id)
    saved.delete(ada.id, first.id)
    assert saved.of(ada.id, "customers") == []
    with open_database(url).connect() as connection:
        assert connection.execute(sa.text("select count(*) from frontoffice_saved_filters")).scalar_one() == MAX_PER_USER
