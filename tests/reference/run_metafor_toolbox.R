#!/usr/bin/env Rscript
# Reference values for metafuse's sensitivity, small-study and meta-regression toolbox, computed
# with metafor (leave1out, cumul, influence, regtest, ranktest, trimfill, rma with mods, escalc
# PLO/PFT). Writes tests/reference/metafor_toolbox.json; CI never runs R.
#     Rscript tests/reference/run_metafor_toolbox.R
# Same conventions and tight control settings as run_metafor.R.

suppressMessages({ library(metafor); library(jsonlite) })
args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_path <- file.path(dirname(normalizePath(script)), "metafor_toolbox.json")
ctl <- list(threshold = 1e-13, maxiter = 10000, tol = 1e-13, tau2.max = 1e8)
num <- function(x) { x <- as.numeric(x); ifelse(is.finite(x), x, NA_real_) }

bcg <- dat.bcg
norm <- dat.normand1999
hack <- dat.hackshaw1998
pritz <- dat.pritz1997
datasets <- list(
  bcg = data.frame(study = paste(bcg$author, bcg$year), events_exp = bcg$tpos,
                   n_exp = bcg$tpos + bcg$tneg, events_ctrl = bcg$cpos, n_ctrl = bcg$cpos + bcg$cneg,
                   ablat = bcg$ablat, year = bcg$year, alloc = as.character(bcg$alloc)),
  normand1999 = data.frame(study = norm$source, mean_exp = norm$m1i, sd_exp = norm$sd1i,
                           n_exp = norm$n1i, mean_ctrl = norm$m2i, sd_ctrl = norm$sd2i, n_ctrl = norm$n2i),
  hackshaw1998 = data.frame(study = paste(hack$author, hack$year, hack$study), yi = hack$yi, sei = sqrt(hack$vi)),
  pritz1997 = data.frame(study = paste(pritz$study, pritz$authors), events = pritz$xi, n = pritz$ni)
)
es <- function(name, measure) {
  d <- datasets[[name]]
  if (measure %in% c("RR", "OR", "RD"))
    return(escalc(measure, ai = d$events_exp, n1i = d$n_exp, ci = d$events_ctrl, n2i = d$n_ctrl,
                  add = 1/2, to = "only0", drop00 = measure != "RD"))
  if (measure %in% c("MD", "SMD"))
    return(escalc(measure, m1i = d$mean_exp, sd1i = d$sd_exp, n1i = d$n_exp, m2i = d$mean_ctrl,
                  sd2i = d$sd_ctrl, n2i = d$n_ctrl))
  if (measure %in% c("PLO", "PFT")) return(escalc(measure, xi = d$events, ni = d$n))
  data.frame(yi = d$yi, vi = d$sei^2)
}
fit <- function(name, measure, method, hksj = FALSE, mods = NULL) {
  e <- es(name, measure)
  d <- datasets[[name]]
  if (is.null(mods)) {
    suppressWarnings(rma(as.numeric(e$yi), as.numeric(e$vi), method = if (method == "FE") "EE" else method,
                         test = if (hksj) "knha" else "z", control = ctl))
  } else {
    suppressWarnings(rma(as.numeric(e$yi), as.numeric(e$vi), mods = mods, data = d,
                         method = if (method == "FE") "EE" else method,
                         test = if (hksj) "knha" else "z", control = ctl))
  }
}
out <- list(generated_by = "tests/reference/run_metafor_toolbox.R",
            metafor_version = as.character(packageVersion("metafor")), datasets = datasets)

grid <- list(c("bcg", "RR", "REML", FALSE), c("bcg", "RR", "DL", TRUE), c("normand1999", "MD", "DL", FALSE),
             c("bcg", "OR", "FE", FALSE), c("hackshaw1998", "GEN", "PM", FALSE))
for (g in grid) {
  r <- fit(g[1], g[2], g[3], as.logical(g[4]))
  id <- paste(g, collapse = "/")
  l1 <- leave1out(r)
  cu <- cumul(r)
  inf <- influence(r)$inf
  out$leave1out[[id]] <- list(dataset = g[1], measure = g[2], method = g[3], hksj = as.logical(g[4]),
    estimate = num(l1$estimate), se = num(l1$se), ci_low = num(l1$ci.lb), ci_high = num(l1$ci.ub),
    tau2 = num(l1$tau2), I2 = num(l1$I2), Q = num(l1$Q))
  out$cumulative[[id]] <- list(dataset = g[1], measure = g[2], method = g[3], hksj = as.logical(g[4]),
    estimate = num(cu$estimate), ci_low = num(cu$ci.lb), ci_high = num(cu$ci.ub), tau2 = num(cu$tau2))
  out$influence[[id]] <- list(dataset = g[1], measure = g[2], method = g[3], hksj = as.logical(g[4]),
    rstudent = num(inf$rstudent), dffits = num(inf$dffits), cook_d = num(inf$cook.d),
    cov_r = num(inf$cov.r), tau2_del = num(inf$tau2.del), QE_del = num(inf$QE.del),
    hat = num(inf$hat), weight = num(inf$weight))
}

for (g in list(c("bcg", "RR"), c("normand1999", "MD"), c("hackshaw1998", "GEN"), c("bcg", "OR"))) {
  r <- fit(g[1], g[2], "FE")
  eg <- regtest(r, model = "lm")
  rk <- suppressWarnings(ranktest(r))
  out$egger[[paste(g, collapse = "/")]] <- list(dataset = g[1], measure = g[2], statistic = num(eg$zval),
                                               df = eg$dfs, pval = num(eg$pval))
  out$rank[[paste(g, collapse = "/")]] <- list(dataset = g[1], measure = g[2], tau = num(rk$tau), pval = num(rk$pval))
}
for (m in c("RR", "OR")) {
  e <- es("bcg", m); d <- datasets$bcg
  pt <- regtest(as.numeric(e$yi), as.numeric(e$vi), ni = d$n_exp + d$n_ctrl, model = "lm", predictor = "ninv")
  out$peters[[paste("bcg", m, sep = "/")]] <- list(dataset = "bcg", measure = m, statistic = num(pt$zval),
                                                  df = pt$dfs, pval = num(pt$pval))
}

for (g in list(c("bcg", "RR", "FE", "L0"), c("bcg", "RR", "REML", "L0"), c("bcg", "RR", "FE", "R0"),
               c("hackshaw1998", "GEN", "FE", "L0"), c("hackshaw1998", "GEN", "REML", "R0"),
               c("normand1999", "MD", "DL", "L0"))) {
  r <- fit(g[1], g[2], g[3])
  tf <- suppressWarnings(trimfill(r, estimator = g[4], control = ctl))
  out$trimfill[[paste(g, collapse = "/")]] <- list(dataset = g[1], measure = g[2], method = g[3],
    estimator = g[4], k0 = tf$k0, side = tf$side, k = tf$k, estimate = num(tf$beta), se = num(tf$se),
    tau2 = num(tf$tau2), Q = num(tf$QE))
}

for (g in list(list("REML", FALSE, "ablat"), list("DL", FALSE, c("ablat", "year")), list("REML", TRUE, "ablat"),
               list("ML", FALSE, "alloc"), list("FE", FALSE, "ablat"), list("PM", TRUE, c("ablat", "alloc")))) {
  mods <- as.formula(paste("~", paste(g[[3]], collapse = " + ")))
  r <- fit("bcg", "RR", g[[1]], g[[2]], mods = mods)
  out$metareg[[paste(g[[1]], g[[2]], paste(g[[3]], collapse = "+"), sep = "/")]] <- list(
    dataset = "bcg", measure = "RR", method = g[[1]], knha = g[[2]], moderators = g[[3]],
    coef = num(r$beta), se = num(r$se), tau2 = num(r$tau2), QM = num(r$QM), QM_pval = num(r$QMp),
    R2 = if (is.null(r$R2)) NA else num(r$R2), QE = num(r$QE))
}

for (method in c("REML", "DL", "FE")) {
  e <- es("bcg", "RR"); d <- datasets$bcg
  groups <- sort(unique(d$alloc))
  est <- se <- tau2 <- c()
  for (gname in groups) {
    sel <- d$alloc == gname
    r <- suppressWarnings(rma(as.numeric(e$yi)[sel], as.numeric(e$vi)[sel],
      method = if (method == "FE") "EE" else method, control = ctl))
    est <- c(est, r$beta); se <- c(se, r$se); tau2 <- c(tau2, r$tau2)
  }
  fe <- rma(est, sei = se, method = "EE")
  common <- fit("bcg", "RR", method, mods = ~ alloc)
  out$subgroup[[paste("bcg", "RR", method, "alloc", sep = "/")]] <- list(dataset = "bcg", measure = "RR",
    method = method, by = "alloc", groups = groups, group_estimate = num(est), group_se = num(se),
    group_tau2 = num(tau2), Q_between = num(fe$QE), Q_between_pval = num(fe$QEp),
    QM_common_tau2 = num(common$QM), QM_common_tau2_pval = num(common$QMp))
}

for (m in c("PLO", "PFT")) for (method in c("REML", "DL")) {
  r <- fit("pritz1997", m, method)
  p <- if (m == "PLO") predict(r, transf = transf.ilogit) else
    predict(r, transf = transf.ipft.hm, targs = list(ni = datasets$pritz1997$n))
  out$proportion[[paste("pritz1997", m, method, sep = "/")]] <- list(dataset = "pritz1997", measure = m,
    method = method, estimate = num(r$beta), se = num(r$se), tau2 = num(r$tau2), Q = num(r$QE),
    back_estimate = num(p$pred), back_ci_low = num(p$ci.lb), back_ci_high = num(p$ci.ub))
}

writeLines(toJSON(out, auto_unbox = TRUE, null = "null", na = "null", digits = NA, pretty = TRUE), out_path)
cat("wrote", out_path, "\n")
