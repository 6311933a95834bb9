"""The voice menu: flows as data (`ivr_flows/`), a registry of node types, and
the engine that turns a Twilio webhook into the next TwiML document."""
