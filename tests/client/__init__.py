"""Tests of the notebook client (lab.client): pure unit tests and round trips against the real vault service."""
