"""The voice menu: flows as data (`ivr_flows/`), a registry of node types, and the walker
that turns a provider's voice webhook into call instructions, stored per step.

Imports point one way (tests/test_architecture.py keeps it so; docs/voice-flows.md
draws the whole picture):

    engine ─▶ flow ─▶ nodes ─▶ registry ─▶ context ─▶ steps
    each of them ─▶ instructions, definition          call_status, reference: beside

Nothing here imports flask or twilio but the CLI (`commands.py`): `hotline/voice/`
parses the webhook, renders the instructions as TwiML and answers.
"""
