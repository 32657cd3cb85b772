"""
Few studies: a Bayesian random-effects analysis
===============================================

With two to four studies tau² is poorly estimated, and so is the random-effects interval. The
Bayesian normal-normal hierarchical model with a weakly informative prior on the heterogeneity
tau (here half-normal with scale 0.5 on the log odds ratio scale, Röver 2020) gives intervals
that account for that uncertainty. :func:`metafuse.bayes_pool` integrates the model exactly.
"""

# %%
import pandas as pd

import metafuse

three = pd.read_csv("../../examples/bcg/bcg.csv").head(3)  # relative to docs/tutorials
freq = metafuse.pool(three, "OR", method="REML")
freq

# %%
bayes = metafuse.bayes_pool(freq, tau_prior="half-normal", tau_scale=0.5)
print(bayes)

# %%
# Posterior probabilities on the analysis scale (log odds ratio): P(OR < 1), P(OR < 0.8).
import math

bayes.probability(below=0.0), bayes.probability(below=math.log(0.8))

# %%
# Heterogeneity priors from published predictive distributions (Turner et al. 2015 for
# binary outcomes, Rhodes et al. 2015 for continuous ones) are available by name.
from metafuse.bayes import turner_prior

prior = turner_prior(
    "surgical / device related success / failure", "pharmacological vs placebo/control"
)
prior.describe()

# %%
# The shrinkage forest plot: each study's estimate and its posterior (shrunken) estimate.
from metafuse.plots import shrinkage_plot

shrinkage_plot(bayes, title="Three BCG trials").draw(show=True)
