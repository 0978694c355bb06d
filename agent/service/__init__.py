"""The service: FastAPI app (JSON API, /metrics, access control), the model queue and the agent bridge."""
