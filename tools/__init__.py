"""What the agent can call: alarm definitions and history, screen actions. Imports storage/ and perception/ only."""
