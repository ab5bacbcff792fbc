"""The core: entity kinds, typed ids, hashing, relation vocabulary and the clock.

Pure Python with no I/O, so every other layer (stores, services, interfaces) can depend on it and it
depends on nothing of theirs.
"""
