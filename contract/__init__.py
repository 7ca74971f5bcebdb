"""The policy interface shared by training, sim2sim and the robot node: robot state,
observation terms, the action mapping, goal features and tokens, reference motions,
terminations, the policy file format, the ONNX policy and the per-step policy runner.
numpy, mujoco and onnxruntime only: it imports neither torch nor training, sim2sim or
deploy."""

import robots  # noqa: F401  (picks the offscreen GL backend before anything loads mujoco)
