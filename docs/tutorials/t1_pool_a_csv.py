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

data = pd.read_csv("../../examples/bcg/bcg.csv")  # paths are relative to docs/tutorials
data.head()

# %%
# ``pool`` returns an immutable :class:`~metafuse.PooledResult`; its ``repr`` is one line.
res = metafuse.pool(data, "RR", method="REML")
res

# %%
# The result carries its model: a frozen :class:`~metafuse.Model` with the measure, the method
# and every option, those not given filled in from the convention (metafuse's here).
res.model, res.model.prediction, res.model.drop00

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
# A model can be built on its own, checked once (a :class:`~metafuse.ModelError` names the
# option at fault), and fitted to any data of its measure. Conventions of other tools are
# presets: RevMan 5 pools with DerSimonian-Laird and no prediction interval; options given win
# over the preset.
revman5 = metafuse.Model.from_convention("revman5", measure="RR")
revman5

# %%
metafuse.pool(data, revman5), metafuse.pool(data, revman5.replace(method="PM", hksj=True))

# %%
# Keyword options build the same model: ``pool(data, "RR", "PM", hksj=True)`` is
# ``pool(data, metafuse.Model("RR", "PM", hksj=True))``.
try:
    metafuse.Model("RR", "MH", hksj=True)
except metafuse.ModelError as err:
    print(f"{err.field}: {err}")

# %%
# The forest plot (a plotnine ``ggplot``) in RevMan's layout; :func:`metafuse.save_plot`
# writes PNG, SVG or PDF, the same bytes for the same inputs.
from metafuse.plots import forest_plot

forest_plot(res, title="BCG vaccine and tuberculosis").draw(show=True)
