"""Salama's shared core: what the gateway, the custom actions and the NLU components all
need, with no dependency on any of them (and none on Rasa's server)."""
