"""The data academy's trainers' workflow: cohorts, lessons and grading, around nbgrader.

Lessons are authored in nbgrader's source format in ``notebooks/academy/source/<lesson>/``.
A cohort is a hub group of kind ``cohort`` (policies/hub/people.yaml) plus an nbgrader
course directory; :mod:`lab.academy.course` holds the steps, and ``lab academy`` (in
:mod:`lab.commands.academy`) is the command line around them. See docs/academy.md.
"""
