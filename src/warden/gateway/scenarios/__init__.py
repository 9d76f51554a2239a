"""AgentDojo-like proof of the tool controls: user tasks across e-mail, files, payments and the web, each
with an attacker's instruction hidden in a tool output, a scripted agent that obeys every injected
instruction, and a runner that measures attack success and task utility with and without the policy
(``python -m warden.gateway.scenarios.run``)."""
