"""The operator web UI (Gradio) mounted into the service app."""
