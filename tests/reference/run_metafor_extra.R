#!/usr/bin/env Rscript
# Extra reference values for metafuse, computed with R's metafor (inference options, BLUPs,
# meta-regression predictions and diagnostics, cluster-robust tests, Mantel-Haenszel tests,
# Henmi-Copas, person-time and pre-post effect measures, more tau^2 estimators, small-study
# methods, permutation tests, GOSH, and the Lau 1992 cumulative meta-analysis).
#
# Regenerate from the repository root (needs R with metafor, metadat and jsonlite; on Debian:
# apt-get install r-cran-metafor r-cran-jsonlite):
#     Rscript tests/reference/run_metafor_extra.R
# writes tests/reference/metafor_extra.json. CI never runs R.
#
# Every case records
#   id, description, dataset, source (citation from the dataset's metadat help page),
#   call   - the exact R code that was evaluated (with `dat` bound to the case's input data),
#   data   - the input data, column-wise, so the Python tests need no R,
#   results - metafor's values (metafor's component names; `b` is coef(res)),
# and, where relevant, `warnings` (R warnings raised while evaluating `call`), `nonfinite`
# (results that were NA/NaN/Inf: written as null in `results`, the kind is given here),
# `threshold` (the Fisher-scoring threshold actually used) and `error`.
#
# Numbers are written with the shortest of %.15g/%.16g/%.17g that reads back to the same double
# (jsonlite's own writer stops at 15 significant digits), so the JSON holds R's doubles exactly.
# The output is deterministic: no time stamps (the `source` block has the R and package versions
# and their release dates only), and a fixed seed although nothing below draws random numbers
# (permutest is run with exact=TRUE, gosh enumerates all subsets).

suppressMessages({
  library(metafor)
  library(jsonlite)
})
set.seed(20240101)
options(warn = 1)

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_path <- file.path(dirname(normalizePath(script)), "metafor_extra.json")

# Tight control. THR is replaced by 1e-13, or by 1e-12 if the fit fails at 1e-13 (recorded in the
# case as `threshold`). tol is uniroot's tolerance (PM, PMM; confint; hc).
CTL <- "control=list(threshold=THR, tol=1e-13, maxiter=1000)"
CICTL <- "control=list(tol=1e-13)"
iterative <- c("ML", "REML", "EB", "PM", "PMM", "GENQM")
ctl_for <- function(method) if (method %in% iterative) paste0(", ", CTL) else ""

# ---- helpers (shared with run_metafor_gaps.R) -------------------------------------------------

source(file.path(dirname(normalizePath(script)), "metafor_json.R"))

# ---- datasets ----------------------------------------------------------------------------------

bcg <- dat.bcg
bcg$alloc <- as.character(bcg$alloc)
norm <- dat.normand1999
norm$source <- as.character(norm$source)
src_bcg <- cite("dat.bcg"); src_norm <- cite("dat.normand1999")
ES <- list(
  bcg = 'es <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat)',
  normand1999 = 'es <- escalc(measure="MD", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat)')
DATA <- list(bcg = bcg, normand1999 = norm)
SRC <- list(bcg = src_bcg, normand1999 = src_norm)
DSNAME <- list(bcg = "dat.bcg", normand1999 = "dat.normand1999")
NI <- list(bcg = "tpos+tneg+cpos+cneg", normand1999 = "n1i+n2i")
MEAS <- list(bcg = "log RR", normand1999 = "MD")

# ================================================================================================
# A. Inference options
# ================================================================================================

# A01: level = 90
for (d in names(DATA)) for (m in c("REML", "DL")) {
  run_case(paste0("A01-level90/", d, "/", m),
    sprintf("%s, %s, level=90: coefficients and Wald CI, predict() CI/PI and Q-profile CI for tau^2 at 90%%", MEAS[[d]], m),
    DSNAME[[d]], SRC[[d]], DATA[[d]],
    paste0(ES[[d]], '; res <- rma(yi, vi, data=es, method="', m, '", level=90', ctl_for(m),
           '); pred <- predict(res); ci <- confint(res, ', CICTL, ')'),
    function(e) c(es_out(e$es), list(model = rma_out(e$res), predict = pred_out(e$pred),
                                     confint = confint_out(e$ci))))
}

# A02: prediction intervals, z vs knha (and pi.type="riley" = t(k-2) for comparison)
for (d in names(DATA)) for (m in c("REML", "DL", "ML")) for (tst in c("z", "knha")) {
  run_case(paste0("A02-predict/", d, "/", m, "/", tst),
    sprintf("%s, %s, test=\"%s\": predict() (PI with %s quantile) and predict(pi.type=\"riley\") (t with k-2 df)",
            MEAS[[d]], m, tst, if (tst == "z") "normal" else "t(k-1)"),
    DSNAME[[d]], SRC[[d]], DATA[[d]],
    paste0(ES[[d]], '; res <- rma(yi, vi, data=es, method="', m, '", test="', tst, '"', ctl_for(m),
           '); pred <- predict(res); pred_riley <- predict(res, pi.type="riley")'),
    function(e) c(es_out(e$es), list(model = rma_out(e$res), predict = pred_out(e$pred),
                                     predict_riley = pred_out(e$pred_riley))))
}

# A03: se.tau2 for every estimator
for (d in names(DATA)) for (m in c("DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ")) {
  w <- if (m == "GENQ") ", weights=1/vi" else ""
  run_case(paste0("A03-se_tau2/", d, "/", m),
    sprintf("%s, method=\"%s\"%s: tau^2 and its standard error res$se.tau2", MEAS[[d]], m,
            if (m == "GENQ") " with weights=1/vi" else ""),
    DSNAME[[d]], SRC[[d]], DATA[[d]],
    paste0(ES[[d]], '; res <- rma(yi, vi', w, ', data=es, method="', m, '"', ctl_for(m), ')'),
    function(e) c(es_out(e$es), list(model = rma_out(e$res))))
}

# A04: profile-likelihood CI for tau^2 (and the Q-profile CI)
for (d in names(DATA)) for (m in c("ML", "REML")) {
  run_case(paste0("A04-confint_PL/", d, "/", m),
    sprintf("%s, %s: confint(type=\"PL\") profile-likelihood CI for tau^2 and the default Q-profile CI", MEAS[[d]], m),
    DSNAME[[d]], SRC[[d]], DATA[[d]],
    paste0(ES[[d]], '; res <- rma(yi, vi, data=es, method="', m, '"', ctl_for(m),
           '); ci_pl <- confint(res, type="PL", ', CICTL, '); ci_qp <- confint(res, ', CICTL, ')'),
    function(e) c(es_out(e$es), list(model = rma_out(e$res), confint_PL = confint_out(e$ci_pl),
                                     confint_QP = confint_out(e$ci_qp))))
}

# A05: BLUPs
for (d in names(DATA)) for (m in c("REML", "DL")) {
  run_case(paste0("A05-blup/", d, "/", m),
    sprintf("%s, %s: blup() (pred, se, pi.lb, pi.ub) and ranef() per study", MEAS[[d]], m),
    DSNAME[[d]], SRC[[d]], DATA[[d]],
    paste0(ES[[d]], '; res <- rma(yi, vi, data=es, method="', m, '"', ctl_for(m),
           '); bl <- blup(res); re <- ranef(res)'),
    function(e) c(es_out(e$es), list(model = rma_out(e$res), blup = pred_out(e$bl),
                                     ranef = pred_out(e$re))))
}

# A06: unweighted pooling
for (d in names(DATA)) for (m in c("FE", "DL", "REML")) for (tst in c("z", "knha")) {
  run_case(paste0("A06-unweighted/", d, "/", m, "/", tst),
    sprintf("%s, %s, weighted=FALSE, test=\"%s\"", MEAS[[d]], m, tst),
    DSNAME[[d]], SRC[[d]], DATA[[d]],
    paste0(ES[[d]], '; res <- rma(yi, vi, data=es, method="', m, '", weighted=FALSE, test="', tst, '"',
           ctl_for(m), ')'),
    function(e) c(es_out(e$es), list(model = rma_out(e$res))))
}

# A07: meta-regression predictions, vcov, confint, influence, robust
inf_out <- function(inf) {
  i <- inf$inf
  out <- list(rstudent = arr(i$rstudent), dffits = arr(i$dffits), cook.d = arr(i$cook.d),
              cov.r = arr(i$cov.r), tau2.del = arr(i$tau2.del), QE.del = arr(i$QE.del),
              hat = arr(i$hat), weight = arr(i$weight), is.infl = I(i$inf == "*"))
  db <- inf$dfbs
  out$dfbs <- setNames(lapply(setdiff(names(db), c("slab", "digits")), function(n) arr(db[[n]])),
                       setdiff(names(db), c("slab", "digits")))
  out
}
for (tst in c("z", "knha")) {
  run_case(paste0("A07-metareg/bcg/REML/", tst),
    sprintf("log RR ~ ablat, REML, test=\"%s\": predict(newmods=c(10,30,50)), vcov(), Q-profile confint() for residual tau^2, influence() (incl. dfbs per coefficient)", tst),
    "dat.bcg", src_bcg, bcg,
    paste0(ES$bcg, '; res <- rma(yi, vi, mods=~ablat, data=es, method="REML", test="', tst, '", ',
           CTL, '); pred <- predict(res, newmods=c(10,30,50)); V <- vcov(res); ci <- confint(res, ',
           CICTL, '); inf <- influence(res)'),
    function(e) c(es_out(e$es), list(model = rma_out(e$res), newmods = arr(c(10, 30, 50)),
      predict = pred_out(e$pred), vcov = list(rows = I(rownames(e$V)), matrix = lapply(seq_len(nrow(e$V)), function(i) arr(e$V[i, ]))),
      confint = confint_out(e$ci), influence = inf_out(e$inf))))
}
rob_out <- function(rb) list(b = coefs(rb$beta, rb$p), se = coefs(rb$se, rb$p), zval = coefs(rb$zval, rb$p),
  pval = coefs(rb$pval, rb$p), ci.lb = coefs(rb$ci.lb, rb$p), ci.ub = coefs(rb$ci.ub, rb$p),
  vb = lapply(seq_len(nrow(rb$vb)), function(i) arr(rb$vb[i, ])), QM = num(rb$QM), QMp = num(rb$QMp),
  dfs = num(rb$dfs), ddf = num(rb$ddf), test = rb$test, n_clusters = int(rb$n))
for (adj in c(TRUE, FALSE)) {
  run_case(paste0("A07-robust/bcg/ablat/cluster=alloc/adjust=", adj),
    sprintf("log RR ~ ablat, REML; robust(cluster=alloc, adjust=%s) (Huber-White %s, clubSandwich=FALSE); 3 clusters", adj, if (adj) "CR1" else "CR0"),
    "dat.bcg", src_bcg, bcg,
    paste0(ES$bcg, '; res <- rma(yi, vi, mods=~ablat, data=es, method="REML", ', CTL,
           '); rb <- robust(res, cluster=alloc, adjust=', adj, ', clubSandwich=FALSE)'),
    function(e) c(es_out(e$es), list(model = rma_out(e$res), robust = rob_out(e$rb))))
  for (mods in c("", "year")) {
    run_case(paste0("A07-robust/konstantopoulos2011/", if (mods == "") "intercept" else mods, "/cluster=district/adjust=", adj),
      sprintf("standardized mean differences (yi, vi given), REML%s; robust(cluster=district, adjust=%s), 11 districts", if (mods == "") "" else " ~ year", adj),
      "dat.konstantopoulos2011", cite("dat.konstantopoulos2011"), dat.konstantopoulos2011,
      paste0('res <- rma(yi, vi', if (mods == "") "" else ", mods=~year", ', data=dat, method="REML", ', CTL,
             '); rb <- robust(res, cluster=district, adjust=', adj, ', clubSandwich=FALSE)'),
      function(e) list(model = rma_out(e$res), robust = rob_out(e$rb)))
  }
}

# A08: Mantel-Haenszel
mh_out <- function(r) {
  out <- list(measure = r$measure, k = int(r$k), k.yi = int(r$k.yi), b = num(r$beta), se = num(r$se),
              zval = num(r$zval), pval = num(r$pval), ci.lb = num(r$ci.lb), ci.ub = num(r$ci.ub),
              QE = num(r$QE), QEp = num(r$QEp), I2 = num(r$I2), H2 = num(r$H2),
              yi = arr(r$yi), vi = arr(r$vi), not.na.yivi = I(r$not.na.yivi))
  if (r$measure %in% c("OR", "IRR")) out <- c(out, list(MH = num(r$MH), MHp = num(r$MHp), correct = r$correct))
  if (r$measure == "OR") out <- c(out, list(TA = num(r$TA), TAp = num(r$TAp)))
  out
}
mh_cases <- list(
  list("bcg", "dat.bcg", src_bcg, bcg, "ai=tpos, bi=tneg, ci=cpos, di=cneg", c("OR", "RR", "RD")),
  list("egger2001", "dat.egger2001", cite("dat.egger2001"), dat.egger2001, "ai=ai, n1i=n1i, ci=ci, n2i=n2i", c("OR", "RR", "RD")),
  list("nielweise2007", "dat.nielweise2007", cite("dat.nielweise2007"), dat.nielweise2007, "ai=ai, n1i=n1i, ci=ci, n2i=n2i", c("OR", "RR", "RD")))
for (mc in mh_cases) for (meas in mc[[6]]) for (corr in if (meas == "OR") c(TRUE, FALSE) else TRUE) {
  run_case(paste0("A08-mh/", mc[[1]], "/", meas, if (meas == "OR") paste0("/correct=", corr) else ""),
    sprintf("rma.mh(measure=\"%s\") with default add/to/drop00%s%s", meas,
            if (meas == "OR") sprintf(": MH estimate, CMH test (correct=%s; metafor names it MH/MHp) and Tarone's test (TA/TAp)", corr) else ": MH estimate",
            if (mc[[1]] != "bcg") "; the data have zero cells" else ""),
    mc[[2]], mc[[3]], mc[[4]],
    paste0('res <- rma.mh(measure="', meas, '", ', mc[[5]], ', data=dat', if (!corr) ", correct=FALSE" else "", ')'),
    function(e) list(mh = mh_out(e$res)))
}
noev <- data.frame(study = c("S1", "S2", "S3"), ai = c(0, 0, 0), n1i = c(10, 20, 30), ci = c(0, 0, 0), n2i = c(12, 18, 25))
allev <- data.frame(study = c("S1", "S2", "S3", "S4"), ai = c(10, 5, 8, 12), n1i = c(10, 20, 8, 30),
                    ci = c(9, 3, 8, 10), n2i = c(12, 18, 8, 25))
for (meas in c("RD", "RR", "OR")) {
  run_case(paste0("A08-mh/synthetic_no_events/", meas),
    sprintf("rma.mh(measure=\"%s\") with defaults on 3 tables with no events in either arm (ai=ci=0): what metafor returns", meas),
    "synthetic_no_events", "synthetic: constructed for this reference (3 studies, ai = ci = 0)", noev,
    paste0('res <- rma.mh(measure="', meas, '", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat)'),
    function(e) list(mh = mh_out(e$res)))
  run_case(paste0("A08-mh/synthetic_all_events/", meas),
    sprintf("rma.mh(measure=\"%s\") with default add=1/2, to=\"only0\", drop00=TRUE on tables where some arms have an event in every participant (S1: ai=n1i; S3: ai=n1i and ci=n2i)", meas),
    "synthetic_all_events", "synthetic: constructed for this reference (4 studies; S1 ai = n1i, S3 ai = n1i and ci = n2i)", allev,
    paste0('res <- rma.mh(measure="', meas, '", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat)'),
    function(e) list(mh = mh_out(e$res)))
  # the same with the double-zero / double-all-events tables also dropped from the MH pooling
  for (set in c("no_events", "all_events")) {
    run_case(paste0("A08-mh/synthetic_", set, "/", meas, "/drop00=TRUE,TRUE"),
      sprintf("as A08-mh/synthetic_%s/%s but drop00=c(TRUE, TRUE): tables with no events (or only events) in both arms are also dropped from the Mantel-Haenszel pooling", set, meas),
      paste0("synthetic_", set), if (set == "no_events") "synthetic: constructed for this reference (3 studies, ai = ci = 0)"
                                  else "synthetic: constructed for this reference (4 studies; S1 ai = n1i, S3 ai = n1i and ci = n2i)",
      if (set == "no_events") noev else allev,
      paste0('res <- rma.mh(measure="', meas, '", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat, drop00=c(TRUE, TRUE))'),
      function(e) list(mh = mh_out(e$res)), allow_error = TRUE)
  }
}

# A09: Henmi-Copas
hc_out <- function(h) list(b = num(h$beta), se = num(h$se), ci.lb = num(h$ci.lb), ci.ub = num(h$ci.ub),
  tau2 = num(h$tau2), method = h$method, b.rma = num(h$beta.rma), se.rma = num(h$se.rma),
  ci.lb.rma = num(h$ci.lb.rma), ci.ub.rma = num(h$ci.ub.rma), tau2.rma = num(h$tau2.rma), method.rma = h$method.rma)
run_case("A09-hc/lee2004/OR",
  "log OR, REML fit then hc() (Henmi-Copas; the hc help-page example); hc's tau^2 is DL",
  "dat.lee2004", cite("dat.lee2004"), dat.lee2004,
  paste0('es <- escalc(measure="OR", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat); res <- rma(yi, vi, data=es, ', CTL,
         '); h <- hc(res, ', CICTL, ')'),
  function(e) c(es_out(e$es), list(hc = hc_out(e$h))))
run_case("A09-hc/bcg/RR",
  "log RR, REML fit then hc() (Henmi-Copas); hc's tau^2 is DL",
  "dat.bcg", src_bcg, bcg,
  paste0(ES$bcg, '; res <- rma(yi, vi, data=es, ', CTL, '); h <- hc(res, ', CICTL, ')'),
  function(e) c(es_out(e$es), list(hc = hc_out(e$h))))

# ================================================================================================
# B. Effect measures
# ================================================================================================

pt_sets <- list(list("hart1999", "dat.hart1999", dat.hart1999), list("nielweise2008", "dat.nielweise2008", dat.nielweise2008))
for (ps in pt_sets) for (meas in c("IRR", "IRD")) {
  for (m in c("FE", "DL", "REML")) {
    run_case(paste0("B10-", tolower(meas), "/", ps[[1]], "/", m),
      sprintf("escalc(measure=\"%s\") from events and person-time, then rma(method=\"%s\")", meas, m),
      ps[[2]], cite(ps[[2]]), ps[[3]],
      paste0('es <- escalc(measure="', meas, '", x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i, data=dat); res <- rma(yi, vi, data=es, method="', m, '"', ctl_for(m), ')'),
      function(e) c(es_out(e$es), list(model = rma_out(e$res))))
  }
  run_case(paste0("B10-", tolower(meas), "/", ps[[1]], "/MH"),
    sprintf("rma.mh(measure=\"%s\") from events and person-time%s", meas, if (meas == "IRR") " (MH/MHp = Mantel-Haenszel test for person-time data)" else ""),
    ps[[2]], cite(ps[[2]]), ps[[3]],
    paste0('res <- rma.mh(measure="', meas, '", x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i, data=dat)'),
    function(e) list(mh = mh_out(e$res)))
}

# B11: Peto log OR: IV pooling of escalc("PETO") vs rma.peto
peto_out <- function(r) list(k = int(r$k), k.yi = int(r$k.yi), b = num(r$beta), se = num(r$se), zval = num(r$zval),
  pval = num(r$pval), ci.lb = num(r$ci.lb), ci.ub = num(r$ci.ub), QE = num(r$QE), QEp = num(r$QEp),
  I2 = num(r$I2), H2 = num(r$H2), yi = arr(r$yi), vi = arr(r$vi))
peto_sets <- list(list("bcg", "dat.bcg", src_bcg, bcg, "ai=tpos, bi=tneg, ci=cpos, di=cneg"),
                  list("egger2001", "dat.egger2001", cite("dat.egger2001"), dat.egger2001, "ai=ai, n1i=n1i, ci=ci, n2i=n2i"))
for (ps in peto_sets) {
  for (add in c("default", "none")) for (m in c("FE", "DL")) {
    run_case(paste0("B11-peto/", ps[[1]], "/", m, "/add=", add),
      sprintf("escalc(measure=\"PETO\"%s) then inverse-variance rma(method=\"%s\")", if (add == "none") ", add=0, to=\"none\"" else " (default add=1/2, to=\"only0\")", m),
      ps[[2]], ps[[3]], ps[[4]],
      paste0('es <- escalc(measure="PETO", ', ps[[5]], ', data=dat', if (add == "none") ', add=0, to="none"' else "", '); res <- rma(yi, vi, data=es, method="', m, '")'),
      function(e) c(es_out(e$es), list(model = rma_out(e$res))))
  }
  run_case(paste0("B11-peto/", ps[[1]], "/rma.peto"),
    "rma.peto() with defaults (pooling uses raw counts)",
    ps[[2]], ps[[3]], ps[[4]],
    paste0('res <- rma.peto(', ps[[5]], ', data=dat)'),
    function(e) list(peto = peto_out(e$res)))
}

# B12: standardised mean change (Morris 2008 pre-post-control data; not in metadat 1.2-0)
morris_src <- paste("Morris, S. B. (2008). Estimating effect sizes from pretest-posttest-control group designs.",
  "Organizational Research Methods, 11(2), 364-386. https://doi.org/10.1177/1094428106291059",
  "(five training studies from Carlson & Schmidt, 1999); values as given on metafor-project.org,",
  "analyses:morris2008. Not in metadat 1.2-0 (no pre-post dataset with raw means there).")
morrisT <- data.frame(study = 1:5, m_pre = c(30.6, 23.5, 0.5, 53.4, 35.6), m_post = c(38.5, 26.8, 0.7, 75.9, 36.0),
                      sd_pre = c(15.0, 3.1, 0.1, 14.5, 4.7), sd_post = c(11.6, 4.1, 0.1, 4.4, 4.6),
                      ni = c(20, 50, 9, 10, 14), ri = c(0.47, 0.64, 0.77, 0.89, 0.44))
morrisC <- data.frame(study = 1:5, m_pre = c(23.1, 24.9, 0.6, 55.7, 34.8), m_post = c(19.7, 25.3, 0.6, 60.7, 33.4),
                      sd_pre = c(13.8, 4.1, 0.2, 17.3, 3.1), sd_post = c(14.8, 3.3, 0.2, 17.9, 6.9),
                      ni = c(20, 42, 9, 11, 14), ri = c(0.47, 0.64, 0.77, 0.89, 0.44))
smc_calls <- list(
  SMCR = 'es <- escalc(measure="SMCR", m1i=m_post, m2i=m_pre, sd1i=sd_pre, ni=ni, ri=ri, data=dat)',
  SMCC = 'es <- escalc(measure="SMCC", m1i=m_post, m2i=m_pre, sd1i=sd_post, sd2i=sd_pre, ni=ni, ri=ri, data=dat)',
  SMCRH = 'es <- escalc(measure="SMCRH", m1i=m_post, m2i=m_pre, sd1i=sd_post, sd2i=sd_pre, ni=ni, ri=ri, data=dat)',
  MC = 'es <- escalc(measure="MC", m1i=m_post, m2i=m_pre, sd1i=sd_post, sd2i=sd_pre, ni=ni, ri=ri, data=dat)')
for (grp in c("treatment", "control")) for (meas in names(smc_calls)) {
  run_case(paste0("B12-", tolower(meas), "/morris2008/", grp),
    sprintf("escalc(measure=\"%s\") (post minus pre) for the %s groups of Morris (2008)", meas, grp),
    "morris2008", morris_src, if (grp == "treatment") morrisT else morrisC,
    smc_calls[[meas]],
    function(e) es_out(e$es))
}

# ================================================================================================
# C. Estimators
# ================================================================================================

for (d in names(DATA)) {
  base <- function(m, extra = "", ctl = ctl_for(m)) paste0(ES[[d]], '; res <- rma(yi, vi', extra, ', data=es, method="', m, '"', ctl, ')')
  one <- function(id, desc, code, allow_error = FALSE, extract = function(e) c(es_out(e$es), list(model = rma_out(e$res))))
    run_case(paste0("C13-estimators/", d, "/", id), paste0(MEAS[[d]], ": ", desc), DSNAME[[d]], SRC[[d]], DATA[[d]],
             code, extract, allow_error = allow_error)
  one("HSk", "method=\"HSk\" (Hunter-Schmidt with small-sample correction)", base("HSk"))
  one("GENQ/w=1_vi", "method=\"GENQ\", weights=1/vi (tau^2 equals DL; b and se use the user weights)", base("GENQ", ", weights=1/vi"))
  one("GENQ/w=ni", sprintf("method=\"GENQ\", weights=%s (total sample size)", NI[[d]]), base("GENQ", paste0(", weights=", NI[[d]])))
  one("GENQM/w=1_vi", "method=\"GENQM\", weights=1/vi: needs the CompQuadForm package, which is not installed (not in Debian); the error is recorded",
      base("GENQM", ", weights=1/vi"), allow_error = TRUE)
  one("PMM", "method=\"PMM\" (median-unbiased Paule-Mandel)", base("PMM"))
  one("SJ/default", "method=\"SJ\" with its default crude start", base("SJ"))
  lit <- if (d == "bcg") "0.1" else "100"
  one(paste0("SJ/tau2.init=", lit), sprintf("method=\"SJ\", control=list(tau2.init=%s)", lit), base("SJ", "", paste0(", control=list(tau2.init=", lit, ")")))
  one("SJ/tau2.init=DL", "method=\"SJ\", control=list(tau2.init=<DL estimate>)",
      paste0(ES[[d]], '; tau2_dl <- rma(yi, vi, data=es, method="DL")$tau2; res <- rma(yi, vi, data=es, method="SJ", control=list(tau2.init=tau2_dl))'))
  for (two in list(c("DL2", "DL"), c("CA2", "HE"))) {
    one(two[1], sprintf(paste("two-step estimator %s (not a metafor method in 3.8.1): method=\"GENQ\" with weights 1/(vi + tau2_%s);",
                              "`model` is that GENQ fit (b, se use those weights), `model_iv` refits with tau2 fixed at the GENQ value",
                              "(inverse-variance weights 1/(vi + tau2))"), two[1], two[2]),
        paste0(ES[[d]], '; tau2_1 <- rma(yi, vi, data=es, method="', two[2], '")$tau2; res <- rma(yi, vi, weights=1/(vi+tau2_1), data=es, method="GENQ"); res_iv <- rma(yi, vi, data=es, tau2=res$tau2)'),
        extract = function(e) c(es_out(e$es), list(tau2_step1 = num(e$tau2_1), model = rma_out(e$res), model_iv = rma_out(e$res_iv))))
  }
}

# C14: estimators with moderators
for (mods in c("ablat", "alloc")) for (m in c("PM", "EB", "PMM", "GENQ", "ML", "REML", "DL", "HE", "SJ", "HS", "HSk")) {
  w <- if (m == "GENQ") ", weights=1/vi" else ""
  run_case(paste0("C14-mods/bcg/", mods, "/", m),
    sprintf("log RR ~ %s%s, method=\"%s\"%s: residual tau^2, coefficients, se", mods,
            if (mods == "alloc") " (3-level factor; reference level alternate)" else "", m, if (m == "GENQ") ", weights=1/vi" else ""),
    "dat.bcg", src_bcg, bcg,
    paste0(ES$bcg, '; res <- rma(yi, vi', w, ', mods=~', mods, ', data=es, method="', m, '"', ctl_for(m), ')'),
    function(e) c(es_out(e$es), list(model = rma_out(e$res))))
}

# ================================================================================================
# D. Small-study methods
# ================================================================================================

reg_sets <- list(
  list("bcg", "dat.bcg", src_bcg, bcg, ES$bcg, c("sei", "vi", "ninv", "sqrtninv")),
  list("egger2001", "dat.egger2001", cite("dat.egger2001"), dat.egger2001,
       'es <- escalc(measure="OR", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat)', c("sei", "vi", "ninv", "sqrtninv")),
  list("hackshaw1998", "dat.hackshaw1998", cite("dat.hackshaw1998"), dat.hackshaw1998, 'es <- dat', c("sei", "vi")))
for (rs in reg_sets) for (model in c("rma", "lm")) for (pr in rs[[6]]) {
  run_case(paste0("D15-regtest/", rs[[1]], "/", model, "/", pr),
    sprintf("regtest(res, model=\"%s\", predictor=\"%s\") on a REML fit%s", model, pr,
            if (pr %in% c("ninv", "sqrtninv")) "; ni = total sample size, from escalc's ni attribute" else ""),
    rs[[2]], rs[[3]], rs[[4]],
    paste0(rs[[5]], '; res <- rma(yi, vi, data=es, method="REML", ', CTL, '); rt <- regtest(res, model="', model,
           '", predictor="', pr, '", ret.fit=TRUE)'),
    function(e) {
      rt <- e$rt; f <- rt$fit
      out <- list(yi = arr(e$es$yi), vi = arr(e$es$vi), ni = if (is.null(attr(e$es$yi, "ni"))) NULL else arr(attr(e$es$yi, "ni")),
                  zval = num(rt$zval), pval = num(rt$pval), dfs = num(rt$dfs),
                  est = if (is.null(rt$est)) NULL else num(rt$est), ci.lb = if (is.null(rt$ci.lb)) NULL else num(rt$ci.lb),
                  ci.ub = if (is.null(rt$ci.ub)) NULL else num(rt$ci.ub))
      if (model == "rma") out$fit <- rma_out(f)
      else { cf <- summary(f)$coefficients; out$fit <- list(coef_names = I(rownames(cf)), b = arr(cf[, 1]), se = arr(cf[, 2]),
                                                            sigma = num(summary(f)$sigma)) }
      out
    })
}

tf_sets <- list(
  list("hackshaw1998", "dat.hackshaw1998", cite("dat.hackshaw1998"), dat.hackshaw1998, 'es <- dat'),
  list("lee2004", "dat.lee2004", cite("dat.lee2004"), dat.lee2004, 'es <- escalc(measure="OR", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat)'),
  list("egger2001", "dat.egger2001", cite("dat.egger2001"), dat.egger2001, 'es <- escalc(measure="OR", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat)'),
  list("bcg", "dat.bcg", src_bcg, bcg, ES$bcg))
for (ts in tf_sets) for (m in c("FE", "REML")) for (est in c("R0", "L0")) for (side in c("auto", "left", "right")) {
  ctl <- if (m == "REML") paste0(", ", CTL) else ""
  run_case(paste0("D16-trimfill/", ts[[1]], "/", m, "/", est, "/", side),
    sprintf("trimfill(estimator=\"%s\"%s) on a %s fit: k0, se.k0, p.k0 (R0 only), and the filled model", est,
            if (side == "auto") ", side chosen by metafor" else paste0(", side=\"", side, "\""), m),
    ts[[2]], ts[[3]], ts[[4]],
    paste0(ts[[5]], '; res <- rma(yi, vi, data=es, method="', m, '"', ctl, '); tf <- trimfill(res, estimator="', est, '"',
           if (side == "auto") "" else paste0(', side="', side, '"'), ctl, ')'),
    function(e) {
      tf <- e$tf
      list(yi = arr(e$es$yi), vi = arr(e$es$vi), model = rma_out(e$res),
           k0 = num(tf$k0), se.k0 = num(tf$se.k0), p.k0 = num(tf$p.k0), side = tf$side,
           filled = rma_out(tf), yi_filled = arr(tf$yi[tf$fill]), vi_filled = arr(tf$vi[tf$fill]))
    })
}

# ================================================================================================
# E. Permutation tests and GOSH
# ================================================================================================

for (m in c("REML", "DL")) {
  run_case(paste0("E17-permutest/bcg/", m, "/intercept"),
    sprintf("log RR, %s; permutest(exact=TRUE): sign-flip test over all 2^13 = 8192 sign patterns; zval_perm_sorted = the 8192 permutation z statistics, sorted", m),
    "dat.bcg", src_bcg, bcg,
    paste0(ES$bcg, '; res <- rma(yi, vi, data=es, method="', m, '"', ctl_for(m), '); pt <- permutest(res, exact=TRUE, progbar=FALSE)'),
    function(e) list(model = rma_out(e$res), pval = num(e$pt$pval), QMp = num(e$pt$QMp),
                     n_perm = int(nrow(e$pt$zval.perm)), zval_perm_sorted = arr(sort(e$pt$zval.perm[, 1]))))
  run_case(paste0("E17-permutest/bcg_k8/", m, "/ablat"),
    sprintf("first 8 BCG trials, log RR ~ ablat, %s; permutest(exact=TRUE): exact permutation test over the unique row permutations of X (ablat has ties, so 8!/(2!2!) = 10080)", m),
    "dat.bcg[1:8, ]", src_bcg, bcg[1:8, ],
    paste0(ES$bcg, '; res <- rma(yi, vi, mods=~ablat, data=es, method="', m, '"', ctl_for(m), '); pt <- permutest(res, exact=TRUE, progbar=FALSE)'),
    function(e) list(model = rma_out(e$res), pval = arr(e$pt$pval), QMp = num(e$pt$QMp), n_perm = int(nrow(e$pt$zval.perm))))
}

run_case("E18-gosh/bcg/FE",
  paste("log RR, FE model; gosh() over all 2^13 - 1 = 8191 subsets, in metafor's order. subset = integer code",
        "sum over included studies i (1-based data row) of 2^(i-1), i.e. bit 0 (least significant) = study 1;",
        "k, estimate, Q (QE), I2, H2 per subset (tau2 is 0 for FE)"),
  "dat.bcg", src_bcg, bcg,
  paste0(ES$bcg, '; res <- rma(yi, vi, data=es, method="FE"); g <- gosh(res, progbar=FALSE)'),
  function(e) {
    g <- e$g
    code <- as.vector(g$incl %*% (2^(seq_len(ncol(g$incl)) - 1)))
    list(yi = arr(e$es$yi), vi = arr(e$es$vi), n_subsets = int(nrow(g$res)), subset = I(as.integer(code)),
         k = I(as.integer(g$res$k)), estimate = arr(g$res$estimate), Q = arr(g$res$QE), I2 = arr(g$res$I2), H2 = arr(g$res$H2))
  })

# ================================================================================================
# F. Lau 1992 cumulative meta-analysis
# ================================================================================================

run_case("F19-cumul/lau1992/REML",
  paste("log OR, REML; cumul(order=year) with tight control and with metafor's default control; per step also",
        "refits on the first i trials (ordered by year, ties in data order) with default and with tight control,",
        "recording whether each converged, and logLik(REML=TRUE) at the tight solution"),
  "dat.lau1992", cite("dat.lau1992"), dat.lau1992,
  paste0('es <- escalc(measure="OR", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat); ',
         'res <- rma(yi, vi, data=es, method="REML", ', CTL, '); cu <- cumul(res, order=year); ',
         'res_default <- rma(yi, vi, data=es, method="REML"); cu_default <- cumul(res_default, order=year); ',
         'es_o <- es[order(es$year), ]; ',
         'steps <- lapply(seq_len(nrow(es_o)), function(i) list(',
         'default=tryCatch(rma(yi, vi, data=es_o[1:i, ], method="REML"), error=function(e) NULL), ',
         'tight=tryCatch(rma(yi, vi, data=es_o[1:i, ], method="REML", ', CTL, '), error=function(e) NULL)))'),
  function(e) {
    cu <- e$cu; cd <- e$cu_default
    conv_d <- vapply(e$steps, function(s) !is.null(s$default), TRUE)
    conv_t <- vapply(e$steps, function(s) !is.null(s$tight), TRUE)
    tight <- function(f) arr(vapply(e$steps, function(s) if (is.null(s$tight)) NA_real_ else as.numeric(f(s$tight)), 0))
    list(yi = arr(e$es$yi), vi = arr(e$es$vi), order = I(as.integer(order(e$es$year))),
         estimate = arr(cu$estimate), se = arr(cu$se), zval = arr(cu$zval), pval = arr(cu$pval), ci.lb = arr(cu$ci.lb),
         ci.ub = arr(cu$ci.ub), Q = arr(cu$Q), Qp = arr(cu$Qp), tau2 = arr(cu$tau2), I2 = arr(cu$I2), H2 = arr(cu$H2),
         converged_default = I(conv_d), converged_tight = I(conv_t),
         logLik_REML = tight(function(r) logLik(r, REML = TRUE)),
         step_tau2 = tight(function(r) r$tau2), step_estimate = tight(function(r) r$beta), step_se = tight(function(r) r$se),
         default_control = list(estimate = arr(cd$estimate), se = arr(cd$se), tau2 = arr(cd$tau2)))
  })

# ---- write -------------------------------------------------------------------------------------

out <- list(
  generated_by = "tests/reference/run_metafor_extra.R",
  source = list(R.version.string = R.version.string,
                R_release_date = paste(R.version$year, R.version$month, R.version$day, sep = "-"),
                metafor = as.character(packageVersion("metafor")),
                metafor_date = packageDescription("metafor")$Date,
                metadat = as.character(packageVersion("metadat")),
                metadat_date = packageDescription("metadat")$Date),
  control = list(rma = "control=list(threshold=1e-13, tol=1e-13, maxiter=1000) for ML/REML/EB/PM/PMM (threshold 1e-12 if 1e-13 fails; see each case's `threshold`)",
                 confint = CICTL, hc = CICTL,
                 number_format = "shortest of %.15g/%.16g/%.17g that round-trips to the same double",
                 nonfinite = "NA/NaN/Inf are written as null in results; each case's `nonfinite` maps the result's dotted path to the kind (an array, null where finite, for vectors)"),
  cases = cases)
writeLines(to_json(out), out_path, useBytes = TRUE)
cat("wrote", length(cases), "cases to", out_path, "\n")
