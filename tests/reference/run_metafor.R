#!/usr/bin/env Rscript
# Reference values for metafuse's statistical core, computed with R's metafor.
#
# Regenerate (needs R with metafor and jsonlite; on Debian: apt-get install r-cran-metafor
# r-cran-jsonlite):
#     Rscript tests/reference/run_metafor.R
# writes tests/reference/metafor_reference.json. CI never runs R: the JSON is committed and the
# Python tests (tests/test_metafor_reference.py) read it.
#
# Conventions pinned here (metafuse's defaults):
#  * 2x2 effect sizes: add 0.5 to every cell of tables with a zero cell (add=1/2, to="only0");
#    double-zero studies (no events, or only events, in both arms) are dropped for RR and OR
#    (drop00=TRUE) and kept for RD (drop00=FALSE).
#  * Mantel-Haenszel and Peto pool raw counts (add=c(1/2, 0), to=c("only0", "none")).
#  * Iterative estimators and Q-profile limits are solved to full precision (control below), so the
#    references are the exact roots, not metafor's default stopping points (threshold 1e-5, uniroot
#    tol .Machine$double.eps^0.25).
#  * The prediction interval is metafuse's definition, estimate +/- qt(.975, k-2) sqrt(tau2 + se^2)
#    (Higgins, Thompson & Spiegelhalter 2009), computed here from metafor's estimate, se and tau2.
#  * I2_Q = max(0, (QE - df)/QE) * 100, from metafor's QE.

suppressMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_path <- file.path(dirname(normalizePath(script)), "metafor_reference.json")

ctl <- list(threshold = 1e-13, maxiter = 10000, tol = 1e-13, tau2.max = 1e8)
ci_ctl <- list(tol = 1e-13, tau2.max = 1e8)
methods_re <- c("DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS")

num <- function(x) {
  x <- as.numeric(x)
  if (length(x) == 0 || is.na(x[1]) || !is.finite(x[1])) return(NULL)
  x[1]
}

# ---- datasets (public, from metafor's companion package metadat) --------------------------------

uniq <- function(s) { s <- as.character(s); if (anyDuplicated(s)) s <- paste0(s, " [", seq_along(s), "]"); s }

binary <- function(study, ai, n1i, ci, n2i, source) {
  list(kind = "binary", source = source,
       data = data.frame(study = uniq(study), events_exp = ai, n_exp = n1i,
                         events_ctrl = ci, n_ctrl = n2i, stringsAsFactors = FALSE))
}
continuous <- function(study, m1i, sd1i, n1i, m2i, sd2i, n2i, source) {
  list(kind = "continuous", source = source,
       data = data.frame(study = uniq(study), mean_exp = m1i, sd_exp = sd1i, n_exp = n1i,
                         mean_ctrl = m2i, sd_ctrl = sd2i, n_ctrl = n2i, stringsAsFactors = FALSE))
}

bcg <- dat.bcg
nw <- dat.nielweise2007
hahn <- dat.hahn2001
hine <- dat.hine1989
norm <- dat.normand1999
gib <- dat.gibson2002[!is.na(dat.gibson2002$m1i), ]  # rows with means only
raud <- dat.raudenbush1985

datasets <- list(
  bcg = binary(paste(bcg$author, bcg$year), bcg$tpos, bcg$tpos + bcg$tneg, bcg$cpos,
               bcg$cpos + bcg$cneg, "metadat::dat.bcg (Colditz et al. 1994)"),
  bcg_k2 = binary(paste(bcg$author, bcg$year)[1:2], bcg$tpos[1:2], (bcg$tpos + bcg$tneg)[1:2],
                  bcg$cpos[1:2], (bcg$cpos + bcg$cneg)[1:2], "first two studies of metadat::dat.bcg"),
  nielweise2007 = binary(paste(nw$author, nw$year), nw$ai, nw$n1i, nw$ci, nw$n2i,
                         "metadat::dat.nielweise2007 (zero cells, one double-zero study)"),
  hahn2001 = binary(paste(hahn$study), hahn$ai, hahn$n1i, hahn$ci, hahn$n2i,
                    "metadat::dat.hahn2001 (three double-zero studies)"),
  hine1989 = binary(paste(hine$study, hine$source), hine$ai, hine$n1i, hine$ci, hine$n2i,
                    "metadat::dat.hine1989"),
  normand1999 = continuous(norm$source, norm$m1i, norm$sd1i, norm$n1i, norm$m2i, norm$sd2i,
                           norm$n2i, "metadat::dat.normand1999"),
  normand1999_k2 = continuous(norm$source[1:2], norm$m1i[1:2], norm$sd1i[1:2], norm$n1i[1:2],
                              norm$m2i[1:2], norm$sd2i[1:2], norm$n2i[1:2],
                              "first two studies of metadat::dat.normand1999"),
  gibson2002 = continuous(paste(gib$author, gib$year), gib$m1i, gib$sd1i, gib$n1i, gib$m2i,
                          gib$sd2i, gib$n2i, "metadat::dat.gibson2002 (the 13 studies reporting means)")
)

# generic inverse-variance inputs
es_bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
z975 <- qnorm(0.975)
datasets$gen_bcg_se <- list(kind = "generic", source = "log RR of metadat::dat.bcg as yi/sei",
  data = data.frame(study = paste(bcg$author, bcg$year), yi = as.numeric(es_bcg$yi),
                    sei = sqrt(as.numeric(es_bcg$vi)), stringsAsFactors = FALSE))
datasets$gen_raudenbush1985 <- list(kind = "generic", source = "metadat::dat.raudenbush1985 (yi, sqrt(vi))",
  data = data.frame(study = uniq(paste(raud$author, raud$year)), yi = raud$yi, sei = sqrt(raud$vi),
                    stringsAsFactors = FALSE))
datasets$gen_bcg_ci_ratio <- list(kind = "generic", ratio = TRUE,
  source = "RR of metadat::dat.bcg given as estimate with 95% CI on the ratio scale",
  data = data.frame(study = paste(bcg$author, bcg$year), estimate = exp(as.numeric(es_bcg$yi)),
                    ci_low = exp(as.numeric(es_bcg$yi) - z975 * sqrt(as.numeric(es_bcg$vi))),
                    ci_high = exp(as.numeric(es_bcg$yi) + z975 * sqrt(as.numeric(es_bcg$vi))),
                    stringsAsFactors = FALSE))

# Fisher scoring can stall just above a very tight threshold; relax it step by step (the reached
# threshold is recorded with the case).
fit_rma <- function(yi, vi, method, hksj) {
  for (thr in c(1e-13, 1e-12, 1e-11, 1e-10)) {
    res <- tryCatch(suppressWarnings(rma(yi, vi, method = if (method == "FE") "EE" else method,
      test = if (hksj) "knha" else "z", control = modifyList(ctl, list(threshold = thr)))),
      error = function(e) NULL)
    if (!is.null(res)) { attr(res, "threshold") <- thr; return(res) }
  }
  stop("metafor did not converge even with threshold 1e-10")
}

# ---- one case ----------------------------------------------------------------------------------

heterogeneity_ci <- function(res) {
  ci <- suppressWarnings(confint(res, control = ci_ctl))$random
  list(tau2_ci_low = num(ci["tau^2", "ci.lb"]), tau2_ci_high = num(ci["tau^2", "ci.ub"]),
       I2_ci_low = num(ci["I^2(%)", "ci.lb"]), I2_ci_high = num(ci["I^2(%)", "ci.ub"]))
}

fit_case <- function(ds, measure, method, hksj) {
  d <- ds$data
  random <- method %in% methods_re
  if (ds$kind == "binary" && method %in% c("MH", "PETO")) {
    drop00 <- measure != "RD"
    if (method == "MH") {
      res <- suppressWarnings(rma.mh(ai = d$events_exp, n1i = d$n_exp, ci = d$events_ctrl,
        n2i = d$n_ctrl, measure = measure, add = c(1/2, 0), to = c("only0", "none"),
        drop00 = c(drop00, drop00)))
    } else {
      res <- suppressWarnings(rma.peto(ai = d$events_exp, n1i = d$n_exp, ci = d$events_ctrl,
        n2i = d$n_ctrl, add = c(1/2, 0), to = c("only0", "none"), drop00 = c(TRUE, TRUE)))
    }
    k <- res$k.yi
    es <- NULL
  } else {
    if (ds$kind == "binary") {
      es <- escalc(measure, ai = d$events_exp, n1i = d$n_exp, ci = d$events_ctrl, n2i = d$n_ctrl,
                   add = 1/2, to = "only0", drop00 = measure != "RD")
    } else if (ds$kind == "continuous") {
      es <- escalc(measure, m1i = d$mean_exp, sd1i = d$sd_exp, n1i = d$n_exp, m2i = d$mean_ctrl,
                   sd2i = d$sd_ctrl, n2i = d$n_ctrl)
    } else if (!is.null(d$yi)) {
      es <- data.frame(yi = d$yi, vi = d$sei^2)
    } else {
      es <- data.frame(yi = log(d$estimate), vi = ((log(d$ci_high) - log(d$ci_low)) / (2 * z975))^2)
    }
    res <- fit_rma(as.numeric(es$yi), as.numeric(es$vi), method, hksj)
    k <- res$k
  }
  df <- k - 1
  qe <- num(res$QE)
  out <- list(k = k, estimate = num(res$beta), se = num(res$se), ci_low = num(res$ci.lb),
              ci_high = num(res$ci.ub), pval = num(res$pval), tau2 = num(res$tau2),
              I2 = if (k > 1) num(res$I2) else NULL, H2 = if (k > 1) num(res$H2) else NULL,
              Q = qe, Q_df = df, Q_pval = if (k > 1) num(res$QEp) else NULL,
              I2_Q = if (k > 1) max(0, (qe - df) / qe) * 100 else NULL,
              tau2_ci_low = NULL, tau2_ci_high = NULL, I2_ci_low = NULL, I2_ci_high = NULL,
              pi_low = NULL, pi_high = NULL)
  if (random && k >= 2) out <- modifyList(out, heterogeneity_ci(res), keep.null = TRUE)
  if (random && k >= 3) {
    half <- qt(0.975, k - 2) * sqrt(res$tau2 + res$se^2)
    out$pi_low <- num(res$beta - half)
    out$pi_high <- num(res$beta + half)
  }
  w <- suppressWarnings(weights(res))
  studies <- list()
  for (i in seq_len(nrow(d))) {
    s <- list(study = d$study[i])
    if (!is.null(es)) {
      s$yi <- num(es$yi[i])
      s$sei <- if (is.null(num(es$vi[i]))) NULL else sqrt(num(es$vi[i]))
    }
    studies[[i]] <- s
  }
  # weights() returns the weights of the studies kept in the model, in data order
  kept <- which(vapply(seq_len(nrow(d)), function(i) {
    if (is.null(es)) {
      if (ds$kind == "binary" && (method == "PETO" || measure != "RD")) {
        a <- d$events_exp[i]; c <- d$events_ctrl[i]
        !((a == 0 && c == 0) || (a == d$n_exp[i] && c == d$n_ctrl[i]))
      } else TRUE
    } else !is.na(es$yi[i])
  }, logical(1)))
  for (j in seq_along(kept)) studies[[kept[j]]]$weight_percent <- num(w[j])
  for (i in setdiff(seq_len(nrow(d)), kept)) studies[[i]]$weight_percent <- 0
  out$studies <- studies
  if (!is.null(attr(res, "threshold"))) out$threshold <- attr(res, "threshold")
  out
}

measures_for <- function(kind) switch(kind, binary = c("RR", "OR", "RD"),
                                      continuous = c("MD", "SMD"), generic = "GEN")
methods_for <- function(kind, measure) {
  m <- c("FE", methods_re)
  if (kind == "binary") m <- c(m, "MH")
  if (kind == "binary" && measure == "OR") m <- c(m, "PETO")
  m
}

cases <- list()
for (name in names(datasets)) {
  ds <- datasets[[name]]
  for (measure in measures_for(ds$kind)) {
    for (method in methods_for(ds$kind, measure)) {
      for (hksj in if (method %in% c("MH", "PETO")) FALSE else c(FALSE, TRUE)) {
        id <- paste(name, measure, method, if (hksj) "hksj" else "z", sep = "/")
        expected <- fit_case(ds, measure, method, hksj)
        cases[[length(cases) + 1]] <- list(id = id, dataset = name, measure = measure,
          method = method, hksj = hksj, ratio = isTRUE(ds$ratio), expected = expected)
      }
    }
  }
}

data_out <- lapply(datasets, function(ds) list(kind = ds$kind, source = ds$source, rows = ds$data))
out <- list(
  generated_by = "tests/reference/run_metafor.R",
  metafor_version = as.character(packageVersion("metafor")),
  r_version = paste(R.version$major, R.version$minor, sep = "."),
  control = ctl,
  datasets = data_out,
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, null = "null", na = "null", digits = NA, pretty = TRUE),
           out_path)
cat("wrote", length(cases), "cases to", out_path, "\n")
