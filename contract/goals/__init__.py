"""Sparse goals for the Stage 2 policy: reference frames seen through binary masks."""
