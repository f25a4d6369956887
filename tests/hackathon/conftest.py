"""A lab with the welfare demo data, hackathon events of every state, and the real vault
service (``python -m lab.vault.service --standalone``) on loopback, once per session.

Each test owns its teams (a team's scoring budget is shared across its tests otherwise):

* ``open-challenge``: open; team-red (dan) and team-blue (erin), 3 submissions a day.
* ``tiny-budget``: open; team-gold (gus), budget for two public scores.
* ``coverage``: open; team-green (gina), room for 100 scores (the statistical test).
* ``starter-challenge``: open; team-starter (sam), for the starter notebook.
* ``future-challenge`` / ``past-challenge``: not open yet / closed; team-future, team-past.
* ``closing``: closes :data:`CLOSING_SECONDS` after the service starts; team-x, team-y.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab.demo import write_demo_datasets
from tests.support.vault_service import VaultService, VaultSite, VaultUser

REPO = Path(__file__).resolve().parents[2]
CLOSING_SECONDS = 25
DAY = dt.timedelta(days=1)

USERS = {"dan": ["hackathon", "team-red"], "erin": ["hackathon", "team-blue"], "gus": ["team-gold"],
         "gina": ["team-green"], "fay": ["team-future"], "pat": ["team-past"], "xan": ["team-x"],
         "yan": ["team-y"], "sam": ["team-starter"], "nobody": ["hackathon"]}


def event_yaml(name: str, teams: list[str], opens: dt.datetime, closes: dt.datetime, *,
               team_epsilon: str = "1.0", epsilon_per_score: str = "0.05", per_day: int = 5) -> dict[str, Any]:
    """An event on the welfare data (the shipped demo event's task), with the given dates and budget."""
    event = yaml.safe_load((REPO / "policies" / "events" / "welfare-challenge.yaml").read_text())
    event.update(event=name, teams=teams, opens=opens.isoformat(), closes=closes.isoformat())
    event["scoring"].update(team_epsilon=team_epsilon, epsilon_per_score=epsilon_per_score,
                            submissions_per_day=per_day, final_epsilon="0.1")
    return event


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> VaultSite:
    site = VaultSite(tmp_path_factory.mktemp("hackathon"))
    policy = yaml.safe_load((REPO / "policies" / "welfare.yaml").read_text())
    # Room for the statistical test's 100 scores; the welfare budgets are not what is tested here.
    policy["budgets"].update(dataset_epsilon=500, user_epsilon=200)
    site.add_policy("welfare", yaml.safe_dump(policy))
    write_demo_datasets(site.data_dir, rows=4000, seed=0, datasets=["welfare"], progress=False)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    events = site.policies_dir / "events"
    events.mkdir()
    # The ranking test needs scores precise enough to order two teams: the dataset's cap per score.
    specs = [event_yaml("open-challenge", ["team-red", "team-blue"], now - DAY, now + 30 * DAY, per_day=3,
                        team_epsilon="3", epsilon_per_score="0.5"),
             event_yaml("tiny-budget", ["team-gold"], now - DAY, now + DAY, team_epsilon="0.1"),
             event_yaml("coverage", ["team-green"], now - DAY, now + DAY, team_epsilon="50",
                        epsilon_per_score="0.5", per_day=1000),
             event_yaml("starter-challenge", ["team-starter"], now - DAY, now + DAY),
             event_yaml("future-challenge", ["team-future"], now + DAY, now + 2 * DAY),
             event_yaml("past-challenge", ["team-past"], now - 2 * DAY, now - DAY),
             event_yaml("closing", ["team-x", "team-y"], now - DAY, now + dt.timedelta(seconds=CLOSING_SECONDS))]
    for spec in specs:
        (events / f"{spec['event']}.yaml").write_text(yaml.safe_dump(spec))
    for name, groups in USERS.items():
        site.add_user(name, groups=groups)
    site.add_user("ada", admin=True)
    site.closes = now + dt.timedelta(seconds=CLOSING_SECONDS)  # type: ignore[attr-defined]
    return site


@pytest.fixture(scope="session")
def service(site: VaultSite) -> Iterator[VaultService]:
    with VaultService(site) as running:
        yield running


@pytest.fixture(scope="session")
def users(site: VaultSite, service: VaultService) -> dict[str, VaultUser]:
    return site.users
