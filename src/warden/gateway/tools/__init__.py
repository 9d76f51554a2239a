"""Agent controls on the tool calls a model emits: allowlists per key and task, argument constraints
(JSON schema, domains, paths, amounts), budgets, taint tracking of argument provenance, and a human
approval queue. Deterministic: they hold however compromised the model is."""
