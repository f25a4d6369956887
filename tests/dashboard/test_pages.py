"""The dashboard in a real browser, against the real standalone vault service.

Users (tests/service/conftest.py): alice, carol, erin (analysts: may query every dataset);
bob (staff: every twin, no queries); hana (hackathon: the welfare and census twins, not
tax); nobody (no group); ada (vault admin). Twins (fixture_builds.py): tax v0001 released
with card and report, tax v0002 rejected; welfare v0001 released bare, welfare v0002 a DP
twin (ε = 0.3) whose owner's report stays in the vault; census none.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

from tests.service.running import Client

MEAN_AWARD = {"dataset": "welfare", "statistic": "mean", "column": "monthly_award",
              "filters": [{"column": "age", "op": ">=", "value": 66}], "epsilon": "0.2"}
ADMIN_PAGES = ["dash/admin", "dash/admin/ledger", "dash/admin/builds", "dash/admin/ledger/export?format=csv",
               "dash/admin/rejected/tax/v0002/files/report.html", "dash/admin/owner/welfare/v0002"]


def test_an_analyst_sees_their_datasets_and_opens_a_card_and_a_report(visit):
    alice = visit("alice")
    alice.open("dash/", shot="01-datasets-alice")
    assert alice.text("#caller") == "alice"
    names = alice.page.locator("article.dataset code.name").all_inner_texts()
    assert names == ["census", "tax", "welfare"]
    tax = alice.text("#dataset-tax")
    assert "Income tax records" in tax and "Personal tax statistics team" in tax  # title and owner
    assert "v0001" in tax and "real data: DP queries" in tax
    assert "SDMetrics" in tax and any(f"0.{d}" in tax for d in range(10))  # a quality score
    assert "none released yet" in alice.text("#dataset-census")
    welfare = alice.text("#dataset-welfare")
    assert "v0002" in welfare and "dp_marginals" in welfare
    assert "Differentially private, ε = 0.3" in welfare and "go to the data owner only" in welfare
    assert "Your allowance" in tax

    alice.page.locator("#dataset-tax").get_by_role("link", name="Data card").click()
    alice.page.wait_for_load_state("load")
    assert alice.page.url.endswith("dash/datasets/tax/card")
    card = alice.text("#card")
    assert "Data card: Income tax records" in card and "What it is not good for" in card
    assert alice.page.locator("#card table th").count() >= 5  # the columns table, rendered
    assert alice.page.locator("#card .mark.pass").count() >= 4  # the release gates, passed
    alice.screenshot("02-card-tax")

    alice.page.get_by_role("link", name="Report").click()
    alice.page.wait_for_load_state("load")
    assert alice.page.url.endswith("dash/twins/tax/v0001/files/report.html")
    images = alice.page.locator("img")
    assert images.count() >= 4
    widths = images.evaluate_all("images => images.map(image => image.complete ? image.naturalWidth : 0)")
    assert all(width > 100 for width in widths), f"a figure did not load: {widths}"
    alice.screenshot("03-report-tax")


def test_budgets_and_history_show_a_dp_query_made_through_the_api(visit, vault, tokens):
    before = visit("carol")
    before.open("dash/budgets")
    assert before.page.locator("#no-history").count() == 1

    answer = Client(vault.url, tokens["carol"]).post("api/query", MEAN_AWARD)
    assert answer.status_code == 200, answer.text
    entry_id = answer.json()["charge"]["entry_id"]

    carol = visit("carol")
    carol.open("dash/budgets", shot="04-budgets-carol")
    rows = carol.page.locator("#my-budgets tbody tr")
    mine = rows.filter(has_text="welfare").filter(has_text="You")
    assert mine.count() == 1 and "1.8 of 2 left" in mine.inner_text()
    assert mine.locator("meter").get_attribute("value") == "0.9"
    history = carol.page.locator("#my-history tbody tr")
    assert history.count() == 1
    row = history.first.inner_text()
    assert str(entry_id) in row and "mean of monthly_award where age >= 66" in row
    assert "0.2" in row and "released" in row
    assert "policy" not in carol.text("#my-history")  # only her own entries


def test_a_user_outside_a_datasets_groups_does_not_see_it(visit):
    hana = visit("hana")
    hana.open("dash/", shot="05-datasets-hana")
    page = hana.text("main")
    assert "Benefit claimants" in page and "Census households" in page
    assert "Income tax" not in page and "tax" not in hana.page.locator("code.name").all_inner_texts()
    assert "twin only" in hana.text("#dataset-welfare")
    hana.open("dash/datasets/tax/card", status=403, shot="06-card-refused-hana")
    assert "not in a group that may see dataset 'tax'" in hana.text("#error")
    hana.open("dash/twins/tax/v0001/files/report.html", status=403)
    hana.open("dash/datasets/no-such-dataset/card", status=404)

    nobody = visit("nobody")
    nobody.open("dash/", shot="07-datasets-nobody")
    assert nobody.page.locator("#no-datasets").count() == 1


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_a_non_admin_gets_403_on_admin_pages(visit, path):
    alice = visit("alice")
    alice.open(path, status=403, shot="08-admin-refused-alice" if path == "dash/admin" else None)
    assert "for vault administrators" in alice.text("#error")
    assert alice.page.get_by_role("link", name="Admin").count() == 0


def test_an_admin_sees_budgets_the_ledger_and_twin_builds(visit, vault, tokens):
    assert Client(vault.url, tokens["erin"]).post("api/query", MEAN_AWARD).status_code == 200
    ada = visit("ada")
    ada.open("dash/admin", shot="09-admin-budgets")
    welfare = ada.text("#budgets-welfare")
    assert "Dataset (everyone)" in welfare and "User erin" in welfare and "Group analysts" in welfare

    ada.open("dash/admin/ledger?user=erin", shot="10-admin-ledger")
    ledger = ada.page.locator("#ledger tbody tr")
    assert ledger.count() == 2  # her reservation and its outcome
    assert "mean of monthly_award" in ledger.filter(has_text="reserve").inner_text()
    csv_link = ada.page.locator("#export-csv")
    assert "user=erin" in csv_link.get_attribute("href")
    export = ada.page.request.get(ada.base + csv_link.get_attribute("href").lstrip("/"))
    assert export.status == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.text().splitlines()[0].startswith("id,at,action,actor,dataset")
    assert all(",erin," in line for line in export.text().splitlines()[1:])
    ada.open("dash/admin/ledger?limit=1")
    assert ada.page.locator("#ledger tbody tr").count() == 1

    ada.open("dash/admin/builds", shot="11-admin-builds")
    released = ada.text("#build-tax-v0001")
    assert "released" in released and "min_quality" in released
    rejected = ada.page.locator("#build-tax-v0002")
    assert "rejected" in rejected.inner_text() and rejected.locator(".gates .fail").count() >= 1
    assert "no gate results" in ada.text("#build-welfare-v0001")
    dp_build = ada.page.locator("#build-welfare-v0002")
    assert "DP, ε = 0.3" in dp_build.inner_text() and "not measured" not in dp_build.inner_text()
    dp_build.get_by_role("link", name="owner report").click()
    ada.page.wait_for_load_state("load")
    assert ada.page.url.endswith("dash/admin/owner/welfare/v0002")
    assert "SDMetrics" in ada.text()  # the real-data comparison, for the owner
    ada.screenshot("13-owner-report")
    ada.open("dash/admin/owner/welfare/v0001", status=404)  # not a DP twin: no owner's report
    ada.open("dash/admin/builds")
    assert "No build yet" in ada.text("#builds-census")
    rejected.get_by_role("link", name="report").click()
    ada.page.wait_for_load_state("load")
    assert ada.page.url.endswith("dash/admin/rejected/tax/v0002/files/report.html")
    assert "not released" in ada.text().lower()
    ada.screenshot("12-rejected-report")


def test_report_files_refuse_path_traversal(visit, vault, tokens):
    alice = visit("alice")
    for path in ["..%2F..%2F..%2Fvault%2Fledger.sqlite", "..%2Fv0002%2Freport.html", "%2Fetc%2Fpasswd",
                 "manifest.json", "data/returns.csv", "data%2Freturns.parquet", "card.md%00.png"]:
        alice.open(f"dash/twins/tax/v0001/files/{path}", status=404)
        assert "no document" in alice.text("#error")

    # Browsers tidy `../` away before sending; a raw client does not.
    address = urlsplit(vault.url)
    for raw in ["/dash/twins/tax/v0001/files/../../../vault/ledger.sqlite",
                "/dash/twins/tax/v0001/files/./../v0001/manifest.json",
                "/dash/admin/rejected/tax/v0002/files/../../../../twins/tax/v0001/card.md"]:
        for user in ("alice", "ada"):
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
            connection.request("GET", raw, headers={"Authorization": f"token {tokens[user]}"})
            response = connection.getresponse()
            body = response.read()
            connection.close()
            assert response.status in (403, 404), (raw, user, response.status)
            assert b"SQLite" not in body and b"sha256" not in body and b"Data card" not in body


def test_twin_documents_are_served_read_only_in_a_sandbox(visit):
    alice = visit("alice")
    response = alice.open("dash/twins/tax/v0001/files/report.html")
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    markdown = alice.open("dash/twins/tax/v0001/files/card.md")
    assert markdown.headers["content-type"].startswith("text/plain")
    posted = alice.page.request.post(alice.base + "dash/twins/tax/v0001/files/report.html")
    assert posted.status == 405 and "text/html" in posted.headers["content-type"]


def test_standalone_login_logout_and_escaping(visit, tokens):
    stranger = visit(None)
    stranger.open("dash/budgets", status=401, shot="13-login")
    stranger.page.fill("#token", "not-a-token")
    stranger.expect_error("dash/login", 401)  # the refused login is itself a 401 page
    stranger.page.get_by_role("button", name="Log in").click()
    stranger.page.wait_for_load_state("load")
    assert "not valid" in stranger.text("#login-problem")

    stranger.page.fill("#token", tokens["bob"])
    stranger.page.get_by_role("button", name="Log in").click()
    stranger.page.wait_for_load_state("load")
    assert stranger.page.url.endswith("dash/budgets")  # back where they were going
    assert stranger.text("#caller") == "bob"
    [cookie] = [c for c in stranger.context.cookies() if c["name"] == "lab-vault-dash"]
    assert cookie["httpOnly"] and tokens["bob"] not in cookie["value"] and cookie["path"] == "/dash/"

    stranger.page.get_by_role("link", name="Log out").click()
    stranger.page.wait_for_load_state("load")
    assert "logged out" in stranger.text("main")
    stranger.open("dash/", status=401)

    mallory = visit("<i>mallory</i>")
    mallory.open("dash/", shot="14-escaped-names")
    assert mallory.text("#caller") == "<i>mallory</i>"
    assert mallory.page.locator("header i, header script").count() == 0
    assert "<script>alert(1)</script>" in mallory.text("header")


def test_errors_are_friendly_pages_without_tracebacks(visit):
    alice = visit("alice")
    alice.open("dash/no/such/page", status=404, shot="15-not-found")
    assert "Not found" in alice.text("h1")
    alice.open("dash/admin/ledger?limit=lots", status=403)  # not an admin: refused before anything else
    ada = visit("ada")
    ada.open("dash/admin/ledger?limit=lots", status=400)
    assert "limit" in ada.text("#error")
    for page in (alice, ada):
        html = page.page.content()
        assert "Traceback" not in html and "File \"" not in html
