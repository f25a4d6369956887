"""Hackathon scoring inside the vault: the holdout, submissions, DP scores, leaderboards.

Only vault code imports this package: it reads real held-out rows.
"""

from lab.vault.hackathon.desk import HackathonDesk
from lab.vault.hackathon.holdout import Holdout, held_out_mask, holdout_key, load_holdout, public_mask
from lab.vault.hackathon.scoring import Score, release_score, row_losses, true_score

__all__ = ["HackathonDesk", "Holdout", "Score", "held_out_mask", "holdout_key", "load_holdout", "public_mask",
           "release_score", "row_losses", "true_score"]
