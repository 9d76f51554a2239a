"""Input and output rails, one module per rail (see ``interface.py``). Importing this package registers
every rail type; ``runner.build_rails`` makes the instances a policy names."""

from warden.gateway.rails import (  # noqa: F401 - imported to register the rail types
    classifier,
    code,
    guard_models,
    harmful,
    injection,
    pii,
    sysprompt,
    topic,
)
