"""
RevMan in and out
=================

:func:`metafuse.revman.read_rm5` reads a Cochrane RevMan 5 review file: each outcome's study
data in metafuse's columns, its settings, and the numbers RevMan stored. Pooled with the file's
settings, metafuse reproduces them; an analysis can go back out in RevMan's CSV layout.
"""

# %%
from metafuse.revman import read_rm5

outcomes = read_rm5("../../tests/fixtures/revman/antibiotics_mh_rr_random.rm5")
[(o.id, o.name, o.measure, o.method) for o in outcomes]

# %%
outcome = outcomes[0]
outcome.data

# %%
# Pooled with RevMan 5's settings for this outcome (here Mantel-Haenszel risk ratios, random
# effects: DerSimonian-Laird tau² from the Mantel-Haenszel Q).
res = outcome.pool()
res

# %%
# Each number RevMan stored beside ours.
import pandas as pd

from metafuse.revman.pooling import compare

pd.DataFrame(
    [(a.quantity, a.revman, a.metafuse, a.difference) for a in compare(res, outcome.stored)],
    columns=["number", "RevMan", "metafuse", "difference"],
).head(8)

# %%
# Out again: the analysis as CSV in RevMan's export layout.
from metafuse.revman.interchange import revman_csv

print(revman_csv(res, name=outcome.name)[:600])
