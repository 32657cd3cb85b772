#!/usr/bin/env Rscript
# Reference values for the median-unbiased generalised Q estimator (metafor's method="GENQM",
# which its help page ?rma.uni attributes to Viechtbauer 2021), computed with R's metafor and
# CompQuadForm (Farebrother's algorithm
# for the distribution of a weighted sum of chi-squares).
#
# CompQuadForm is not in Debian: install it from its CRAN sources (github.com/cran/CompQuadForm)
# with `R CMD INSTALL`. Regenerate from the repository root:
#     Rscript tests/reference/run_metafor_genqm.R
# writes tests/reference/metafor_genqm.json (numbers with 17 significant digits). CI never runs R.
suppressMessages({
  library(metafor)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_path <- file.path(dirname(normalizePath(script)), "metafor_genqm.json")

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
normand <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
                  n2i = n2i, data = dat.normand1999)
ctl <- list(tol = 1e-13)
case <- function(id, es, weights, call) {
  res <- rma(yi, vi, weights = weights, data = es, method = "GENQM", control = ctl)
  list(id = id, call = call, yi = as.numeric(es$yi), vi = as.numeric(es$vi),
       weights = as.numeric(weights), tau2 = res$tau2, b = as.numeric(coef(res)),
       se = res$se, ci.lb = res$ci.lb, ci.ub = res$ci.ub, QE = res$QE)
}
cases <- list(
  case("bcg/w=1_vi", bcg, 1 / bcg$vi,
       "rma(yi, vi, weights=1/vi, data=escalc('RR', dat.bcg), method='GENQM', control=list(tol=1e-13))"),
  case("bcg/w=n", bcg, with(dat.bcg, tpos + tneg + cpos + cneg),
       "rma(yi, vi, weights=tpos+tneg+cpos+cneg, data=escalc('RR', dat.bcg), method='GENQM', control=list(tol=1e-13))"),
  case("normand1999/w=1_vi", normand, 1 / normand$vi,
       "rma(yi, vi, weights=1/vi, data=escalc('MD', dat.normand1999), method='GENQM', control=list(tol=1e-13))"),
  case("normand1999/w=n", normand, with(dat.normand1999, n1i + n2i),
       "rma(yi, vi, weights=n1i+n2i, data=escalc('MD', dat.normand1999), method='GENQM', control=list(tol=1e-13))")
)
out <- list(
  generated_by = "tests/reference/run_metafor_genqm.R",
  source = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                CompQuadForm = as.character(packageVersion("CompQuadForm"))),
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = I(17), pretty = TRUE), out_path)
