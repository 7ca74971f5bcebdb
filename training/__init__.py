"""Batched MuJoCo HOI environment and the three InterPrior training stages (planned:
issues 4, 7 and 8)."""
