"""How the vault's error answers become typed exceptions with one clean line for notebooks."""

from __future__ import annotations

import pytest

import lab
from lab.client import errors
from lab.client.errors import error_from_response


def _body(kind: str, message: str = "something is wrong", fix: str = "", **extra):
    return {"error": {"type": kind, "message": message, "fix": fix, **extra}}


@pytest.mark.parametrize(("status", "service_type", "expected"), [
    (409, "BudgetExceeded", lab.OverBudget),
    (409, "QueryCapExceeded", lab.OverBudget),
    (409, "BudgetFrozen", lab.BudgetFrozen),
    (403, "NoAccess", lab.NoAccess),
    (403, "AdminOnly", lab.NoAccess),
    (401, "NotAuthenticated", lab.NotSignedIn),
    (503, "HubUnavailable", lab.VaultUnavailable),
    (500, "InternalError", lab.VaultUnavailable),
    (404, "RouteNotFound", lab.VaultUnavailable),
    (400, "BadParameter", lab.BadQuery),
    (404, "UnknownDataset", lab.UnknownDataset),
    (404, "TwinNotFound", lab.TwinNotFound),
    (400, "UnknownColumn", lab.BadColumn),
    (400, "ColumnNotQueryable", lab.BadColumn),
    (400, "WrongColumnType", lab.BadColumn),
    (400, "NotGroupable", lab.BadColumn),
    (400, "UnknownTable", lab.BadTable),
    (400, "BoundsMissing", lab.BoundsMissing),
    (400, "BadBounds", lab.BadBounds),
    (400, "BadSpec", lab.BadQuery),
    (400, "BadFilter", lab.BadQuery),
    (400, "BadPrivacyLoss", lab.BadQuery),
    (400, "SerializedPlanRefused", lab.BadQuery),
    (413, "BodyTooLarge", lab.BadQuery),
    (503, "LedgerUnavailable", lab.VaultUnavailable),
    (503, "DatasetUnavailable", lab.VaultUnavailable),
    # A type the client has never heard of falls back on the status.
    (409, "SomeNewRefusal", lab.OverBudget),
    (403, "SomethingNew", lab.NoAccess),
    (418, "Teapot", lab.BadQuery),
    (500, "InternalError", lab.VaultUnavailable),
])
def test_service_types_map_to_client_types(status, service_type, expected):
    error = error_from_response(status, _body(service_type))
    assert type(error) is expected
    assert error.status == status and error.service_type == service_type
    assert isinstance(error, lab.ClientError)


def test_subtypes_can_be_caught_by_their_family():
    assert issubclass(lab.BadColumn, lab.BadQuery) and issubclass(lab.BoundsMissing, lab.BadQuery)
    assert issubclass(lab.BudgetFrozen, lab.OverBudget)
    from lab.errors import LabError

    assert issubclass(lab.ClientError, LabError)


def test_the_message_and_fix_are_the_services_and_the_fix_is_not_repeated():
    with_fix = error_from_response(409, _body("BudgetExceeded", "Refused: ε=0.5 would overspend your allowance.",
                                              "Ask a smaller question."))
    assert str(with_fix) == "Refused: ε=0.5 would overspend your allowance. Fix: Ask a smaller question."
    assert with_fix.message == "Refused: ε=0.5 would overspend your allowance."
    assert with_fix.fix == "Ask a smaller question."
    already = error_from_response(400, _body("UnknownColumn", "column: 'incme' is not a column. Fix: did you mean "
                                             "'income'?", "did you mean 'income'?"))
    assert str(already).count("did you mean") == 1


def test_problems_are_kept_one_by_one():
    error = error_from_response(400, _body(
        "UnknownColumn", "2 problems in the query:\n  - column: 'incme' is not a column. Fix: did you mean "
        "'income'?\n  - bounds: reversed. Fix: swap them", "Fix each problem listed in 'problems'.",
        problems=[{"field": "column", "problem": "'incme' is not a column", "fix": "did you mean 'income'?"},
                  {"field": "bounds", "problem": "reversed", "fix": "swap them"}]))
    assert [p.field for p in error.problems] == ["column", "bounds"]
    assert "Fix each" not in str(error)  # each listed problem already carries its fix
    assert error.problems[0].describe() == "column: 'incme' is not a column. Fix: did you mean 'income'?"


@pytest.mark.parametrize("payload", [None, "oops", {"detail": "x"}, {"error": "plain"}, {"error": {}}])
def test_bodies_outside_the_contract_still_give_a_typed_error(payload):
    error = error_from_response(409, payload)
    assert type(error) is lab.OverBudget
    assert "HTTP 409" in str(error)


def test_unavailable_gets_a_fix_even_when_the_vault_gives_none():
    error = error_from_response(503, _body("LedgerUnavailable", "The ledger is busy."))
    assert str(error) == ("The ledger is busy. Fix: try again in a minute; if it persists, tell the lab's "
                          "administrators")


def test_ipython_shows_one_line_instead_of_a_traceback(monkeypatch):
    error = error_from_response(409, _body("BudgetExceeded", "Refused: too much.", "Ask less."))
    assert error._render_traceback_() == ["\x1b[0;31mOverBudget\x1b[0m: Refused: too much. Fix: Ask less."]
    multi = error_from_response(400, _body("BadSpec", "2 problems in the query:\n  - a\n  - b"))
    assert multi._render_traceback_() == ["\x1b[0;31mBadQuery\x1b[0m: 2 problems in the query:", "  - a", "  - b"]
    monkeypatch.setattr(errors, "SHORT_TRACEBACKS", False)
    with pytest.raises(NotImplementedError):
        error._render_traceback_()


def test_ipython_really_uses_the_short_form(monkeypatch):
    interactiveshell = pytest.importorskip("IPython.core.interactiveshell")

    shell = interactiveshell.InteractiveShell.instance()
    captured: list[list[str]] = []
    monkeypatch.setattr(shell, "_showtraceback", lambda etype, value, stb: captured.append(stb))
    shell.run_cell("import lab; raise lab.OverBudget('Refused: too much.', fix='Ask less.')")
    assert captured == [["\x1b[0;31mOverBudget\x1b[0m: Refused: too much. Fix: Ask less."]]
