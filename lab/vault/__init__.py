"""The vault side of the trust boundary: code that may touch real data or the ledger.

Nothing a notebook user runs may import this package; the notebook-side client talks to
the vault service over HTTP.
"""

from lab.vault.amounts import UNIT, from_units, to_units
from lab.vault.errors import (
    BudgetExceeded,
    BudgetFrozen,
    BudgetRefused,
    InvalidAmount,
    InvalidLedgerInput,
    LedgerError,
    LedgerUnavailable,
    OutcomeAlreadyRecorded,
    QueryCapExceeded,
    ReservationNotFound,
    Shortfall,
)
from lab.vault.ledger import Ledger
from lab.vault.ledger_export import read_csv, read_json
from lab.vault.ledger_records import BudgetStatus, Entry, Reservation, RunningTotal

__all__ = [
    "UNIT",
    "BudgetExceeded",
    "BudgetFrozen",
    "BudgetRefused",
    "BudgetStatus",
    "Entry",
    "InvalidAmount",
    "InvalidLedgerInput",
    "Ledger",
    "LedgerError",
    "LedgerUnavailable",
    "OutcomeAlreadyRecorded",
    "QueryCapExceeded",
    "Reservation",
    "ReservationNotFound",
    "RunningTotal",
    "Shortfall",
    "from_units",
    "read_csv",
    "read_json",
    "to_units",
]
