"""A simulated HMI (Tk) for trying the agent without a plant: a small process unit driven by a scenario file.

Run it with `hmi-agent sim` or `python -m agent.sim`; the shipped scenarios are in `agent/sim/scenarios/`.
"""
