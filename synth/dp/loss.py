"""The privacy loss a policy asks for, and OpenDP's noise and conversions for it.

A policy sets the twin's loss in one of three ways (``synthesis.parameters``):

- ``epsilon`` alone: pure ε-DP. Counts get Laplace noise, selection uses the
  exponential mechanism (report noisy max, Gumbel); the twin's ε is the sum of OpenDP's
  privacy maps.
- ``rho`` and ``delta``: ρ-zero-concentrated DP. Counts get Gaussian noise; the twin's ρ is
  the sum of OpenDP's maps, and the ledger is charged the ε that OpenDP's zCDP →
  approximate-DP conversion gives at that δ.
- ``epsilon`` and ``delta``: (ε, δ)-DP, met through zCDP: the largest ρ whose converted ε
  at δ is at most ``epsilon`` (OpenDP's conversion, searched by OpenDP's binary search).

The ledger adds up ε only: δ is recorded in the bundle and the ledger entry, capped per
twin by ``MAX_DELTA``, and adds up across twins (docs/twins.md says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from synth.errors import SynthesisError

MAX_DELTA = 1e-5  # far below 1/n for any dataset a lab would hold


@dataclass(frozen=True)
class PrivacyLoss:
    """What the policy asked for: pure ε-DP or zCDP (with the δ at which ε is charged)."""

    kind: str  # "pure" or "zcdp"
    epsilon: float | None = None  # the target ε (pure, or (ε, δ))
    rho: float | None = None  # the target ρ (zcdp); found from (ε, δ) when only those were given
    delta: float = 0.0

    @property
    def measure(self):  # an OpenDP Measure
        import opendp.prelude as dp

        return dp.max_divergence() if self.kind == "pure" else dp.zero_concentrated_divergence()

    @property
    def budget(self) -> float:
        """The loss to split between measurements, in the measure's own unit (ε or ρ)."""
        return float(self.epsilon if self.kind == "pure" else self.rho)  # type: ignore[arg-type]

    def charged_epsilon(self, loss: float) -> float:
        """The ε the ledger is charged for a total loss in the measure's unit."""
        return loss if self.kind == "pure" else epsilon_of_rho(loss, self.delta)


def privacy_loss(parameters: dict) -> PrivacyLoss:
    """Read ``epsilon`` / ``rho`` / ``delta`` from a DP twin's parameters.

    Raises:
        SynthesisError: a missing, contradictory or out-of-range setting.
    """
    epsilon, rho, delta = (parameters.get(k) for k in ("epsilon", "rho", "delta"))
    for name, value in (("epsilon", epsilon), ("rho", rho), ("delta", delta)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value) or value <= 0):
            raise SynthesisError(f"{name}={value!r} is not a positive number. Fix: set parameters.{name}, "
                                 "e.g. epsilon: 1.0.")
    if delta is not None and delta > MAX_DELTA:
        raise SynthesisError(f"delta={delta} is above {MAX_DELTA}. Fix: use a delta of at most {MAX_DELTA} "
                             "(a chance of failure that small is the usual reading of 'negligible').")
    if rho is not None:
        if epsilon is not None:
            raise SynthesisError("give either epsilon or rho, not both. Fix: keep rho (with delta) for zCDP, "
                                 "or epsilon (with or without delta).")
        if delta is None:
            raise SynthesisError("rho needs a delta: the ledger charges the ε that rho is worth at that delta. "
                                 "Fix: add delta: 1.0e-7 (for example).")
        return PrivacyLoss("zcdp", rho=float(rho), delta=float(delta))
    epsilon = 1.0 if epsilon is None else float(epsilon)
    if delta is None:
        return PrivacyLoss("pure", epsilon=epsilon)
    return PrivacyLoss("zcdp", epsilon=epsilon, rho=rho_for_epsilon(epsilon, float(delta)), delta=float(delta))


def epsilon_of_rho(rho: float, delta: float) -> float:
    """OpenDP's zCDP → (ε, δ) conversion of a total ρ (a Gaussian calculator at that ρ)."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    profile = dp.c.make_zCDP_to_approxDP(_gaussian_with_rho(rho))
    return float(dp.c.make_fix_delta(profile, delta).map(1.0)[0])


def rho_for_epsilon(epsilon: float, delta: float) -> float:
    """The largest ρ whose ε at δ (OpenDP's conversion) is at most ``epsilon``."""
    low, high = 0.0, epsilon
    for _ in range(100):  # bisection to float precision; the conversion is monotone in ρ
        middle = (low + high) / 2
        if epsilon_of_rho(middle, delta) <= epsilon:
            low = middle
        else:
            high = middle
    if low <= 0:
        raise SynthesisError(f"epsilon={epsilon} at delta={delta} leaves no room for noise. Fix: raise epsilon.")
    return low


def _gaussian_with_rho(rho: float):
    """A Gaussian mechanism on one number whose OpenDP map at distance 1 is at least ``rho``."""
    import opendp.prelude as dp

    scale = 1.0 / math.sqrt(2.0 * rho)
    while True:
        mechanism = dp.m.make_gaussian(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale)
        if mechanism.map(1.0) >= rho:
            return mechanism
        scale = math.nextafter(scale, 0.0)


def count_noise(loss: PrivacyLoss, scale: float):
    """OpenDP's noise for integer counts: Laplace (pure) or Gaussian (zCDP)."""
    import opendp.prelude as dp

    return dp.m.then_laplace(scale) if loss.kind == "pure" else dp.m.then_gaussian(scale)


def count_metric(loss: PrivacyLoss):
    """The sensitivity metric counts are measured in: L1 for Laplace, L2 for Gaussian."""
    import opendp.prelude as dp

    return dp.L1Distance[int] if loss.kind == "pure" else dp.L2Distance[int]


def scale_for(loss: PrivacyLoss, share: float, d_in: int) -> float:
    """The noise scale that spends ``share`` (in ε or ρ) on a d_in-sensitive count vector."""
    if loss.kind == "pure":
        return d_in / share  # Laplace: ε = Δ₁ / b
    return d_in / math.sqrt(2.0 * share)  # Gaussian: ρ = Δ₂² / (2σ²)
