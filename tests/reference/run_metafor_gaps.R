#!/usr/bin/env Rscript
# Reference values for the last metafor features metafuse lacked (issue 23): Cochran's CO statistic
# and the Cochran-Mantel-Haenszel test with and without the continuity correction (rma.mh), the
# single-group log incidence rate (escalc(measure="IRLN")), the generalised Q confidence interval
# for tau^2 of a GENQ fit (confint(); Jackson 2013), the `ni` predictor of regtest(), and rma.mh
# on tables where every participant of every table had the event.
#
# Regenerate from the repository root (needs R with metafor, metadat, jsonlite and CompQuadForm;
# on Debian: apt-get install r-cran-metafor r-cran-jsonlite; CompQuadForm from its CRAN sources,
# github.com/cran/CompQuadForm, with `R CMD INSTALL`):
#     Rscript tests/reference/run_metafor_gaps.R
# writes tests/reference/metafor_gaps.json (same format as metafor_extra.json: see README.md).
# CI never runs R.

suppressMessages({
  library(metafor)
  library(jsonlite)
})
set.seed(20261123)
options(warn = 1)

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_path <- file.path(dirname(normalizePath(script)), "metafor_gaps.json")
source(file.path(dirname(normalizePath(script)), "metafor_json.R"))

CTL <- "control=list(threshold=THR, tol=1e-13, maxiter=1000)"
CICTL <- "control=list(tol=1e-13)"

mh_out <- function(res) {
  out <- list(measure = res$measure, k = int(res$k), k.yi = int(res$k.yi), b = num(res$beta),
              se = num(res$se), zval = num(res$zval), pval = num(res$pval),
              ci.lb = num(res$ci.lb), ci.ub = num(res$ci.ub), QE = num(res$QE),
              QEp = num(res$QEp), I2 = num(res$I2), H2 = num(res$H2), correct = res$correct)
  for (key in c("CO", "COp", "MH", "MHp", "BD", "BDp", "TA", "TAp"))
    if (!is.null(res[[key]])) out[[key]] <- num(res[[key]])
  out
}

# ---- G20: Cochran's CO and the CMH test, with and without the continuity correction -------------

TABLES <- list(
  bcg = list(data = dat.bcg, args = "ai=tpos, bi=tneg, ci=cpos, di=cneg"),
  egger2001 = list(data = dat.egger2001, args = "ai=ai, n1i=n1i, ci=ci, n2i=n2i"),
  nielweise2007 = list(data = dat.nielweise2007, args = "ai=ai, n1i=n1i, ci=ci, n2i=n2i"))
for (d in names(TABLES)) for (correct in c(TRUE, FALSE)) {
  run_case(sprintf("G20-cmh/%s/OR/correct=%s", d, correct),
    "rma.mh(measure=\"OR\"): Cochran's CO and the Cochran-Mantel-Haenszel (MH) test, Tarone's and Breslow-Day's tests",
    paste0("dat.", d), cite(paste0("dat.", d)), TABLES[[d]]$data,
    sprintf('res <- rma.mh(measure="OR", %s, data=dat, correct=%s)', TABLES[[d]]$args, correct),
    function(e) list(mh = mh_out(e$res)))
}
RATES <- list(hart1999 = dat.hart1999[, c("study", "x1i", "t1i", "x2i", "t2i")],
              nielweise2008 = dat.nielweise2008[, c("study", "x1i", "t1i", "x2i", "t2i")])
for (d in names(RATES)) for (correct in c(TRUE, FALSE)) {
  run_case(sprintf("G20-cmh/%s/IRR/correct=%s", d, correct),
    "rma.mh(measure=\"IRR\"): the Mantel-Haenszel test for person-time data",
    paste0("dat.", d), cite(paste0("dat.", d)), RATES[[d]],
    sprintf('res <- rma.mh(measure="IRR", x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i, data=dat, correct=%s)', correct),
    function(e) list(mh = mh_out(e$res)))
}

# ---- G21: single-group log incidence rate (IRLN) --------------------------------------------------

ARMS <- list(
  "hart1999/warfarin" = list(d = "dat.hart1999", data = data.frame(study = dat.hart1999$study, xi = dat.hart1999$x1i, ti = dat.hart1999$t1i)),
  "hart1999/control" = list(d = "dat.hart1999", data = data.frame(study = dat.hart1999$study, xi = dat.hart1999$x2i, ti = dat.hart1999$t2i)),
  "nielweise2008/control" = list(d = "dat.nielweise2008", data = data.frame(study = dat.nielweise2008$study, xi = dat.nielweise2008$x2i, ti = dat.nielweise2008$t2i)),
  "synthetic_zero" = list(d = "synthetic", data = data.frame(study = paste0("S", 1:4), xi = c(0, 4, 11, 2), ti = c(150, 820, 1900, 410))))
for (a in names(ARMS)) for (m in c("FE", "DL", "REML")) {
  arm <- ARMS[[a]]
  src <- if (arm$d == "synthetic") "constructed for this reference: one study with no events" else cite(arm$d)
  run_case(sprintf("G21-irln/%s/%s", a, m),
    "escalc(measure=\"IRLN\") (log incidence rate; 1/2 added to a zero count), rma(), predict(transf=exp)",
    arm$d, src, arm$data,
    paste0('es <- escalc(measure="IRLN", xi=xi, ti=ti, data=dat); res <- rma(yi, vi, data=es, method="', m, '"',
           if (m == "REML") paste0(", ", CTL) else "", '); pr <- predict(res, transf=exp)'),
    function(e) list(es = es_out(e$es), model = rma_out(e$res), pred_exp = pred_out(e$pr)))
}

# ---- G22: the generalised Q confidence interval for tau^2 (GENQ fits) -----------------------------

# confint() solves for the GENQ limits with uniroot's default tolerance (about 1.2e-4: the
# control tol is not passed on in metafor 3.8.1); `tight` holds the same limits from metafor's own
# objective (.GENQ.func, Farebrother's algorithm) solved with tol = 1e-13.
genq_tight <- function(res) {
  X <- res$X; A <- diag(res$weights); k <- res$k; p <- res$p
  P <- A - A %*% X %*% solve(t(X) %*% A %*% X) %*% t(X) %*% A
  Q <- crossprod(res$yi, P) %*% res$yi
  f <- function(level, lower) {
    # P(Q > q) grows with tau^2: a limit is 0 where its objective has already crossed at 0
    at0 <- metafor:::.GENQ.func(0, P = P, vi = res$vi, Q = Q, level = level, k = k, p = p, getlower = lower)
    if ((lower && at0 > 0) || (!lower && at0 < 0)) return(0)
    uniroot(metafor:::.GENQ.func, c(0, 1e6), P = P, vi = res$vi, Q = Q, level = level, k = k, p = p,
            getlower = lower, tol = 1e-13, maxiter = 10000)$root
  }
  list(tau2.lb = num(f(0.025, TRUE)), tau2.ub = num(f(0.025, FALSE)))
}
GQ <- list(
  "bcg/w=1_vi" = list(data = dat.bcg, es = 'es <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat)', w = "1/vi", mods = ""),
  "bcg/w=n" = list(data = dat.bcg, es = 'es <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat)', w = "tpos+tneg+cpos+cneg", mods = ""),
  "bcg/w=1_vi/ablat" = list(data = dat.bcg, es = 'es <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat)', w = "1/vi", mods = ", mods=~ablat"),
  "normand1999/w=1_vi" = list(data = dat.normand1999, es = 'es <- escalc(measure="MD", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat)', w = "1/vi", mods = ""),
  "normand1999/w=n" = list(data = dat.normand1999, es = 'es <- escalc(measure="MD", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat)', w = "n1i+n2i", mods = ""),
  "egger2001/w=1_vi" = list(data = dat.egger2001, es = 'es <- escalc(measure="OR", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat)', w = "1/vi", mods = ""))
for (g in names(GQ)) {
  x <- GQ[[g]]
  d <- sub("/.*", "", g)
  run_case(paste0("G22-genq_ci/", g),
    "confint() of a method=\"GENQ\" fit: the generalised Q interval for tau^2 (Jackson 2013), via CompQuadForm::farebrother",
    paste0("dat.", d), cite(paste0("dat.", d)), x$data,
    paste0(x$es, '; es$w <- with(es, ', x$w, '); res <- rma(yi, vi, weights=w, data=es, method="GENQ"', x$mods,
           '); ci <- confint(res, ', CICTL, ')'),
    function(e) list(w = arr(e$es$w), yi = arr(e$es$yi), vi = arr(e$es$vi), model = rma_out(e$res),
                     confint = confint_out(e$ci), tight = genq_tight(e$res)))
}

# ---- G23: regtest() with the sample size as predictor ---------------------------------------------

RT <- list(
  bcg = list(data = dat.bcg, es = 'es <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat); es$ni <- with(es, tpos+tneg+cpos+cneg)'),
  egger2001 = list(data = dat.egger2001, es = 'es <- escalc(measure="OR", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat); es$ni <- with(es, n1i+n2i)'))
for (d in names(RT)) for (model in c("rma", "lm")) for (pr in c("ni", "ninv")) {
  run_case(sprintf("G23-regtest/%s/%s/%s", d, model, pr),
    sprintf("regtest(res, model=\"%s\", predictor=\"%s\") on a REML fit; ni is the total sample size", model, pr),
    paste0("dat.", d), cite(paste0("dat.", d)), RT[[d]]$data,
    paste0(RT[[d]]$es, '; res <- rma(yi, vi, ni=ni, data=es, method="REML", ', CTL,
           '); rt <- regtest(res, model="', model, '", predictor="', pr, '")'),
    function(e) {
      rt <- e$rt
      list(zval = num(rt$zval), pval = num(rt$pval), dfs = num(rt$dfs), est = num(rt$est),
           ci.lb = num(rt$ci.lb), ci.ub = num(rt$ci.ub), b = arr(coef(rt$fit)), ni = arr(e$es$ni))
    })
}

# ---- G24: rma.mh when every participant of every table had the event --------------------------------

all_events <- data.frame(study = paste0("S", 1:3), ai = c(10, 5, 8), n1i = c(10, 5, 8),
                         ci = c(12, 7, 9), n2i = c(12, 7, 9))
for (m in c("RR", "OR", "RD")) {
  run_case(paste0("G24-mh_all_events/", m),
    "rma.mh() on three tables with an event in every participant of both arms (no table estimable as yi/vi)",
    "synthetic", "constructed for this reference: ai = n1i and ci = n2i in every table", all_events,
    sprintf('res <- rma.mh(measure="%s", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat)', m),
    function(e) list(mh = mh_out(e$res)))
}

# ---- write ---------------------------------------------------------------------------------------

out <- list(
  generated_by = "tests/reference/run_metafor_gaps.R",
  source = list(R.version.string = R.version.string,
                R_release_date = paste(R.version$year, R.version$month, R.version$day, sep = "-"),
                metafor = as.character(packageVersion("metafor")),
                metafor_date = packageDescription("metafor")$Date,
                metadat = as.character(packageVersion("metadat")),
                metadat_date = packageDescription("metadat")$Date,
                CompQuadForm = as.character(packageVersion("CompQuadForm"))),
  control = list(rma = "control=list(threshold=1e-13, tol=1e-13, maxiter=1000) for REML",
                 confint = CICTL,
                 number_format = "shortest of %.15g/%.16g/%.17g that round-trips to the same double",
                 nonfinite = "NA/NaN/Inf are written as null in results; each case's `nonfinite` maps the result's dotted path to the kind"),
  cases = cases)
writeLines(to_json(out), out_path, useBytes = TRUE)
cat("wrote", length(cases), "cases to", out_path, "\n")
