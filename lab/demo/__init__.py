"""Seeded, realistic stand-ins for sensitive public-sector data (no real person in them)."""

from lab.demo.census import generate_census
from lab.demo.tax import generate_tax
from lab.demo.welfare import generate_welfare
from lab.demo.writer import DEMO_DATASETS, write_demo_datasets

__all__ = [
    "DEMO_DATASETS",
    "generate_census",
    "generate_tax",
    "generate_welfare",
    "write_demo_datasets",
]
