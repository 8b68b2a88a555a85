"""Questionnaires as versioned data files (defs/), validated at load."""
