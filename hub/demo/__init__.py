"""`thads-hub demo`: the sandbox, the hub and a worker started together, and the whole story told once.

- ``children``: the three processes, their readiness and their clean-up;
- ``cast``: the judgment, debtor and creditor the story follows, picked from the sandbox's world;
- ``probes``: what the mocks and the message log say happened (the figures the timeline prints);
- ``story``: the eight steps;
- ``timeline``: how the steps are printed and summarised as JSON.
"""
