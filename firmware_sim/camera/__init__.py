"""Rendered poultry-house cameras: training sets, living houses, their lenses."""

# classic: flat top-down birds (the seed-99 test set and the benches are drawn in it);
# cctv: textured birds under a wall camera with real CCTV faults (see firmware_sim/camera/cctv.py);
# overhead: the classic camera with cctv's textured birds and carcasses (firmware_sim/camera/overhead.py).
# Here, not in `scene`, so command lines can offer the choice without loading the renderer.
STYLES = ("classic", "cctv", "overhead")
