"""The parts of bench/gpu_model.py: models, bandwidth arithmetic, timing, profiling, the runs and the report."""
