"""
Pool a CSV
==========

One row per study, one column per number: :func:`metafuse.pool` validates the rows, computes
each study's effect size and pools them. Here: the BCG vaccine trials (Colditz et al. 1994;
metafor's ``dat.bcg``), as risk ratios with a REML random-effects model.
"""

# %%
import pandas as pd

import metafuse

data = pd.read_csv("../../examples/bcg.csv")  # paths are relative to docs/tutorials
data.head()

# %%
# ``pool`` returns an immutable :class:`~metafuse.PooledResult`; its ``repr`` is one line.
res = metafuse.pool(data, "RR", method="REML")
res

# %%
# ``print`` gives the full summary: the estimate on the display scale (risk ratios), the test,
# the prediction interval, heterogeneity and every study's weight.
print(res)

# %%
# Everything is computed on the analysis scale (log risk ratio) and converted only for display.
res.estimate, res.se, res.tau2

# %%
res.conf_int(), res.conf_int(level=0.90)

# %%
# ``to_dict()`` is the JSON contract (``metafuse pool --json`` prints it); ``exp`` holds the
# ratio-scale numbers.
res.to_dict()["exp"]

# %%
# ``to_frame()`` is the study table.
res.to_frame()

# %%
# Conventions of other tools are presets: RevMan 5 pools with DerSimonian-Laird and no
# prediction interval; explicit arguments win over the preset.
metafuse.pool(data, "RR", convention="revman5"), metafuse.pool(data, "RR", method="PM", hksj=True)

# %%
# The forest plot (a plotnine ``ggplot``) in RevMan's layout; :func:`metafuse.save_plot`
# writes PNG, SVG or PDF, the same bytes for the same inputs.
from metafuse.plots import forest_plot

forest_plot(res, title="BCG vaccine and tuberculosis").draw(show=True)
