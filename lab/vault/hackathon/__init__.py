"""Hackathon scoring inside the vault: the holdout, submissions, DP scores, leaderboards.

Only vault code imports this package: it reads real held-out rows.
"""

from lab.vault.hackathon.desk import HackathonDesk
from lab.vault.hackathon.holdout import Holdout, held_out_mask, load_holdout
from lab.vault.hackathon.scoring import Score, release_score, row_losses, true_score

__all__ = ["HackathonDesk", "Holdout", "Score", "held_out_mask", "load_holdout", "release_score", "row_losses",
           "true_score"]
