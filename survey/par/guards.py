"""Who may use the PAR Index admin pages: statisticians and admins (publishing too)."""

from __future__ import annotations

from survey.experts.guards import STATISTICIAN, actor

__all__ = ["STATISTICIAN", "actor"]
