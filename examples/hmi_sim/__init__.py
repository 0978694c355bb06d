"""A simulated HMI (Tk) for trying the agent without a plant: a small process unit driven by a scenario file.

Run it from the repository root with `python -m examples.hmi_sim` or `hmi-agent sim`.
"""
