"""The operator's agent: a LangGraph loop that looks at an HMI screen, calls tools and answers with evidence."""
