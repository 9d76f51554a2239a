"""Warden gateway: serve an open-weight model under controls that hold even when the model is compromised.

Layout (one concern per module):
  policy.py      — the policy file (YAML, parsed with pydantic: it is untrusted input)
  keys.py        — API keys (stored hashed), scopes, rate and token limits
  audit/         — hash-chained audit log (SQLite by default, PostgreSQL by URL) and its verifier
  rails/         — input/output rails, one module per rail behind ``rails/interface.py``
  tools/         — agent controls: tool allowlists, argument constraints, budgets, taint, approvals
  backends/      — where completions come from: an OpenAI-compatible upstream or embedded transformers
  streaming.py   — hold-back buffer: output is checked before it reaches the client
  pipeline.py    — one request end to end (pre/during/post-call hooks)
  app.py         — FastAPI wiring; the only place that maps errors to HTTP status codes
  scenarios/     — AgentDojo-like tasks and a fully gullible agent that prove the tool controls
"""
