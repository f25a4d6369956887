"""Exact amounts of privacy loss: ``Decimal`` outside, integer units of 1e-12 epsilon inside.

Floats drift (0.1 + 0.2 != 0.3, and OpenDP's own budgets have been caught out by it), so
the ledger stores every amount as a whole number of units of 1e-12 epsilon and does all
its sums on integers. Ten charges of 0.1 are exactly 1:

>>> sum(to_units("0.1") for _ in range(10)) == to_units(1)
True
>>> from_units(to_units("0.1") * 3)
Decimal('0.3')
"""

from __future__ import annotations

import decimal
from decimal import Decimal

from lab.vault.errors import InvalidAmount

#: Units per epsilon: amounts are whole multiples of 1e-12.
UNITS_PER_EPSILON = 10**12
#: The smallest amount the ledger can hold.
UNIT = Decimal(1) / UNITS_PER_EPSILON
#: The largest single amount (a limit, a charge, a top-up), in epsilon.
MAX_EPSILON = Decimal(1_000_000)
#: Running totals must stay below this, so that they fit a signed 64-bit integer.
MAX_UNITS = 2**63 - 1

Amount = Decimal | int | str


def to_units(epsilon: Amount, *, what: str = "epsilon") -> int:
    """Convert an amount of epsilon to whole ledger units, refusing anything inexact.

    Args:
        epsilon: a ``Decimal``, an ``int`` or a decimal string such as ``"0.1"``. Floats are
            refused: ``0.1`` as a float is not one tenth.
        what: the parameter's name, for the error message.

    Returns:
        The amount in units of 1e-12 epsilon.

    Raises:
        InvalidAmount: the amount is a float, not a number, not finite, zero or negative,
            finer than 1e-12, or above ``MAX_EPSILON``.

    >>> to_units(Decimal("0.25"))
    250000000000
    >>> to_units(0.1)
    Traceback (most recent call last):
    ...
    lab.vault.errors.InvalidAmount: epsilon=0.1 is a float, and floats are not exact. Fix: pass a Decimal or a string, e.g. Decimal('0.1').
    """
    value = _as_decimal(epsilon, what)
    if not value.is_finite():
        raise InvalidAmount(f"{what}={epsilon} is not a finite number. Fix: pass a positive amount such as '0.1'.")
    if value <= 0:
        raise InvalidAmount(f"{what}={epsilon} is not positive. Fix: pass an amount above zero, such as '0.1'.")
    if value > MAX_EPSILON:
        raise InvalidAmount(f"{what}={epsilon} is above the ledger's maximum of {MAX_EPSILON}. "
                            "Fix: use a realistic amount of epsilon.")
    with decimal.localcontext() as exact:
        exact.prec = 80
        exact.traps[decimal.Inexact] = True
        try:
            scaled = value * UNITS_PER_EPSILON
        except decimal.Inexact:
            scaled = None
    if scaled is None or scaled != scaled.to_integral_value():
        raise InvalidAmount(f"{what}={epsilon} is finer than the ledger's unit of {format(UNIT, 'f')}. "
                            "Fix: round it to at most 12 decimal places.")
    return int(scaled)


def from_units(units: int) -> Decimal:
    """The ``Decimal`` amount of epsilon that ``units`` ledger units stand for.

    >>> from_units(1_500_000_000_000)
    Decimal('1.5')
    >>> from_units(0)
    Decimal('0')
    """
    if units == 0:
        return Decimal(0)
    with decimal.localcontext() as exact:
        exact.prec = 40
        value = Decimal(units) / UNITS_PER_EPSILON
    # Strip trailing zeros without switching to exponent notation (10, not 1E+1).
    if value == value.to_integral_value():
        return Decimal(int(value))
    return value.normalize()


def format_epsilon(units: int) -> str:
    """An amount of units as plain decimal text, for tables and exports.

    >>> format_epsilon(100_000_000_000)
    '0.1'
    """
    return format(from_units(units), "f")


def _as_decimal(epsilon: object, what: str) -> Decimal:
    if isinstance(epsilon, bool):
        raise InvalidAmount(f"{what}={epsilon} is a boolean. Fix: pass a Decimal or a string, e.g. Decimal('0.1').")
    if isinstance(epsilon, float):
        raise InvalidAmount(f"{what}={epsilon} is a float, and floats are not exact. "
                            "Fix: pass a Decimal or a string, e.g. Decimal('0.1').")
    if isinstance(epsilon, Decimal):
        return epsilon
    if isinstance(epsilon, int):
        return Decimal(epsilon)
    if isinstance(epsilon, str):
        try:
            return Decimal(epsilon.strip())
        except decimal.InvalidOperation:
            raise InvalidAmount(f"{what}={epsilon!r} is not a number. Fix: write it as a decimal, "
                                "such as '0.1'.") from None
    raise InvalidAmount(f"{what} must be a Decimal, an int or a decimal string, not {type(epsilon).__name__}.")
