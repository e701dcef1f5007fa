"""The keywords' effects, in every state (what a keyword means is bot.keywords'): STOP and
START, the quick exit, the erase question and her answer to it, HELP."""
from __future__ import annotations

from typing import Optional

from bot.gateway.erasure import Erasure
from bot.gateway.parts import Parts, Turn
from bot.keywords import ERASE_NO, ERASE_YES, Keyword, erase_answer
from bot.store import Conversation


class KeywordStep:
    def __init__(self, parts: Parts, erasure: Erasure) -> None:
        self.p = parts
        self.erasure = erasure
        # Conversations asked to confirm an erasure: her answer passes the rate limiter.
        self._erase_asked: set[str] = set()

    def passes_limit(self, conv_id: str, word: str, kw: Optional[Keyword]) -> bool:
        """A keyword, or the answer to the erase question, is never rate limited."""
        return kw is not None or (conv_id in self._erase_asked
                                  and erase_answer(word, [ERASE_YES, ERASE_NO]) is not None)

    async def answer(self, conv: Conversation, word: str, kw: Optional[Keyword],
                     turn: Turn) -> Optional[list[str]]:
        """The reply when her message is a keyword or answers the erase question; None to go on."""
        p, language, store = self.p, turn.language, self.p.store
        if kw is Keyword.STOP:
            p.stats.count("stops")
            await store.aio.update_conversation(conv.id, opted_out=True)
            return [p.texts.get("opted_out", language)]
        if kw is Keyword.START and conv.opted_out:
            await store.aio.update_conversation(conv.id, opted_out=False)
            return [p.texts.get("opted_in", language)]
        if kw is Keyword.QUICK_EXIT:
            p.stats.count("quick_exits")
            # Reveal nothing; keep nothing of this message; stay quiet until she writes.
            await store.aio.update_conversation(conv.id, quiet=True)
            return [p.texts.get("quick_exit", language)]
        if kw is Keyword.ERASE:
            turn.writes.values["options"] = [ERASE_YES, ERASE_NO]
            self._erase_asked.add(conv.id)
            return [p.texts.get("erase_confirm", language)]
        answer = erase_answer(word, conv.options)
        self._erase_asked.discard(conv.id)
        if answer is True:
            await self.erasure.forget(conv.id)
            turn.writes.values.clear()  # nothing of her is written after the erasure
            return [p.texts.get("erase_done", language)]
        if answer is False:
            turn.writes.values["options"] = []
            return [p.texts.get("erase_kept", language)]
        if conv.options[:1] == [ERASE_YES]:
            turn.writes.values["options"] = []  # she wrote something else: the question lapses
            conv.options = []
        if kw is Keyword.HELP:
            return [p.texts.get("help", language)]
        return None
