"""The home layout a spawn applies (lab.hub.home), checked directly on a folder."""

from __future__ import annotations

from pathlib import Path

from lab.hub.home import NBGRADER_MARKER, apply_plan


def test_cohort_members_get_an_nbgrader_config_under_their_hub_name(tmp_path: Path) -> None:
    plan = {"nbgrader": {"exchange": "/srv/lab/academy/exchange", "student_id": "carol"}}
    apply_plan(tmp_path, plan)
    config = (tmp_path / ".jupyter" / "nbgrader_config.py").read_text()
    assert config.startswith(NBGRADER_MARKER)
    assert "c.CourseDirectory.student_id = 'carol'" in config
    assert "c.Exchange.root = '/srv/lab/academy/exchange'" in config
    apply_plan(tmp_path, {})  # left the cohort: the lab's config goes
    assert not (tmp_path / ".jupyter" / "nbgrader_config.py").exists()


def test_a_config_the_person_wrote_is_left_alone(tmp_path: Path) -> None:
    own = tmp_path / ".jupyter" / "nbgrader_config.py"
    own.parent.mkdir()
    own.write_text("c.Exchange.root = '/mine'\n")
    done = apply_plan(tmp_path, {"nbgrader": {"exchange": "/srv/lab/academy/exchange", "student_id": "carol"}})
    assert own.read_text() == "c.Exchange.root = '/mine'\n"
    assert "nbgrader_config.py" in done["skipped"]


def test_only_trainers_see_nbgrader_s_grader_and_editor(tmp_path: Path) -> None:
    import json

    apply_plan(tmp_path, {"trainer": False})
    page = json.loads((tmp_path / ".jupyter" / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"]["@jupyter/nbgrader:formgrader"] is True
    assert "@jupyter/nbgrader:assignment-list" not in page["disabledExtensions"]  # students fetch and submit
    assert page["disabledExtensions"]["@jupyterlab/apputils-extension:announcements"] is True
    apply_plan(tmp_path, {"trainer": True})  # became a trainer: the tools come back
    page = json.loads((tmp_path / ".jupyter" / "labconfig" / "page_config.json").read_text())
    assert list(page["disabledExtensions"]) == ["@jupyterlab/apputils-extension:announcements"]
