"""The shared core of the SDK and the controller (needs only PyYAML).

Provider declarations, states and node operations, the unit CCI (render and parse),
the occtr route table and the wait/poll primitive live here so that both halves
read the same facts from one place.
"""
