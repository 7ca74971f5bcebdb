"""The DDS control node for the real G1 and its hardware-free virtual G1."""
