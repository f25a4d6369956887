"""Hackathon calls from a notebook: the task's grid, one-call submissions, the leaderboard.

Each is one HTTP request to the vault; nothing here reads real data. The vault takes
your team from your hub groups and charges the score to your team's scoring budget.

    import lab
    grid = lab.hackathon_task("welfare-challenge")        # one row per cell id, with its features
    grid["prediction"] = model.predict(grid[features])    # a model trained on the twin
    lab.submit("welfare-challenge", grid[["id", "prediction"]])
    lab.leaderboard("welfare-challenge")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from lab.client.connection import Connection


def hackathon_task(event: str, *, connection: Connection | None = None) -> pd.DataFrame:
    """The grid to predict: one row per cell ``id`` with its feature values.

    ``attrs["task"]`` holds the task (target, metric, dates, your team's remaining
    budget and today's submissions).
    """
    import pandas as pd

    answer = _connection(connection).get(f"api/hackathon/{event}")
    frame = pd.DataFrame.from_records(answer.get("grid") or [])
    frame.attrs["task"] = {k: v for k, v in answer.items() if k != "grid"}
    return frame


def submit(event: str, predictions: Any, *, connection: Connection | None = None) -> dict[str, Any]:
    """Score predictions on the event's public holdout (DP, charged to your team).

    Args:
        event: the event's name.
        predictions: a DataFrame with columns ``id`` and ``prediction``, or a dict of id -> prediction.

    Returns:
        The score, its interval and confidence, what it cost, and your team's remaining budget.
    """
    if hasattr(predictions, "columns"):
        missing = {"id", "prediction"} - set(predictions.columns)
        if missing:
            from lab.client.errors import BadQuery

            raise BadQuery(f"the predictions table has no column(s) {', '.join(sorted(missing))}",
                           fix="pass a DataFrame with columns id and prediction (one row per cell id)")
        predictions = dict(zip(predictions["id"].astype(str), (_plain(v) for v in predictions["prediction"])))
    body = {"predictions": {str(k): _plain(v) for k, v in dict(predictions).items()}}
    return _connection(connection).post(f"api/hackathon/{event}/submit", body)


def leaderboard(event: str, *, final: bool = False, connection: Connection | None = None) -> pd.DataFrame:
    """The public leaderboard (best score per team) or, once the event has closed, ``final=True``: the private one."""
    import pandas as pd

    answer = _connection(connection).get(f"api/hackathon/{event}/leaderboard")
    rows = ((answer.get("final") or {}).get("ranking") or []) if final else (answer.get("public") or [])
    frame = pd.DataFrame.from_records(rows)
    frame.attrs.update({k: answer.get(k) for k in ("event", "metric", "status", "confidence", "closes")})
    return frame


def _plain(value: Any) -> Any:
    """numpy scalars as JSON values."""
    return value.item() if hasattr(value, "item") else value


def _connection(connection: Connection | None) -> Connection:
    from lab.client.connection import default_connection

    return connection or default_connection()


__all__ = ["hackathon_task", "leaderboard", "submit"]
