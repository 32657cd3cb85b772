"""
The toolbox
===========

Every analysis of :mod:`metafuse.toolbox` takes a pooled result and refits its model (same
measure, estimator, options) through the engine. Each returns an immutable result with
``to_dict()``, ``to_frame()``, ``summary()`` and a one-line ``repr``.
"""

# %%
import pandas as pd

import metafuse
import metafuse.toolbox as t

data = pd.read_csv("../../examples/bcg/bcg.csv")  # paths are relative to docs/tutorials
res = metafuse.pool(data, "RR", method="REML")
res

# %%
# Sensitivity: leave each study out in turn, and accumulate them in data order.
loo = t.leave_one_out(res)
loo

# %%
loo.to_frame()

# %%
t.cumulative(res).to_frame().tail(3)

# %%
# Influence diagnostics (metafor's ``influence``): studentised residuals, DFFITS, Cook's
# distance, ...
t.influence(res).to_frame().round(3)

# %%
# Small-study effects. With 13 studies the tests are allowed (the Cochrane Handbook advises at
# least 10); trim-and-fill estimates missing studies on one side of the funnel.
t.egger_test(res), t.rank_test(res)

# %%
filled = t.trim_and_fill(res)
print(filled)

# %%
from metafuse.plots import funnel_plot

funnel_plot(filled).draw(show=True)

# %%
# Heterogeneity: a Q-profile confidence interval for tau², and the study effects shrunk
# towards the mean (BLUPs).
t.tau2_confint(res)

# %%
t.blup(res).to_frame().round(3)

# %%
# Subgroups and meta-regression need the study-level variable: here the trial's year.
data["era"] = ["before 1960" if y < 1960 else "1960 and later" for y in data["year"]]
print(t.subgroup(data, "RR", "REML", by="era"))

# %%
fit = t.meta_regression(data, "RR", "REML", ["year"], hksj=True)
fit

# %%
fit.to_frame()

# %%
# A permutation test of the moderator (exact when feasible, else random permutations).
t.permutation_test(res, moderators=["year"], covariates=data, iterations=500)

# %%
# GOSH: the model fitted to every subset of studies (2^13 - 1 = 8,191 here).
from metafuse.plots import gosh_plot

gosh = t.gosh(res)
gosh_plot(gosh, scale=res.display_scale).draw(show=True)
