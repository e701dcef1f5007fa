"""Developer and operator tools: `make run` and `make run-scaled` (run.py), `make shell`,
the local Twilio stand-in (fake_twilio.py), `make purge`."""
