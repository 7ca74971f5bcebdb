"""Human+object motion (InterAct/OMOMO) to G1 motion clips with Pinocchio IK."""
