"""Run exported ONNX policies in MuJoCo with stricter-than-training physics."""
