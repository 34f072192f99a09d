"""Imports every table module so that ``Base.metadata`` is complete (for Alembic's autogenerate and tests)."""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import MetaData

import localportone
from localportone.kernel.db import Base


def load_all_models() -> None:
    for module in pkgutil.walk_packages(localportone.__path__, "localportone."):
        if module.name.endswith(".models") or module.name == "localportone.kernel.tables":
            importlib.import_module(module.name)


def metadata() -> MetaData:
    load_all_models()
    return Base.metadata
