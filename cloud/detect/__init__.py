"""Dead-bird detection: ONNX Runtime inference with pure-numpy pre/post-processing."""
