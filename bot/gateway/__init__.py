"""What happens to one inbound message, as a short sequence of steps (see Gateway._turn):

  verify and parse .......... bot.webhook, bot.inbound (before anything else)
  rate limit ................ bot.gateway.ratelimit (keywords and emergencies pass)
  record the message ........ Store.begin_turn (MessageSid claim, transcript)
  keywords .................. bot.keywords decides what a word means; keyword_step acts
  handoff routing ........... bot.handoff (waiting for, or talking with, a counsellor)
  ask Rasa .................. bot.gateway.rasa_step (and what Rasa missed while down)
  answer and record ......... TwiML now, Store.finish_turn after; late answers by
                              bot.gateway.delivery through the outbox

Messages of one conversation are handled one at a time in arrival order; different
conversations run concurrently.
"""
from bot.gateway.core import Gateway
from bot.gateway.parts import ForgedRetry
from bot.gateway.ratelimit import RateLimiter
from bot.inbound import Inbound

__all__ = ["ForgedRetry", "Gateway", "Inbound", "RateLimiter"]
