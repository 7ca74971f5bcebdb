"""Batched MuJoCo HOI environment and the three InterPrior training stages."""
