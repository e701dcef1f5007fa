"""The Rasa process's extensions: its CLI with sanitised logs and performance patches, and the
encrypted, erasable tracker store. (The NLU components are in components/.)"""
