"""Unitree's ``unitree_hg`` low-level DDS messages and the LowCmd/LowState CRC, wire-
compatible with ``unitree_sdk2py`` (which is not on PyPI), on ``cyclonedds``."""
