#!/usr/bin/env Rscript
# Reference values for the beta-blocker example review (examples/beta_blockers): each of its
# automatic analyses refitted with metafor's rma.peto (Peto's one-step odds ratio, the outcome's
# declared measure and method) on the same trials of metadat's dat.yusuf1985. Writes
# tests/reference/metafor_yusuf1985.json; CI never runs R.
#     Rscript tests/reference/run_metafor_yusuf1985.R
# Analyses (review.toml): short_term death = tables 6 and 9; long_term death = table 10;
# reinfarction = table 11; sudden death = table 12a; non-sudden death = table 12b. Trials
# without numbers (NA) are left out, as the review lists them as not pooled.

suppressMessages({ library(metafor); library(jsonlite) })
args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_path <- file.path(dirname(normalizePath(script)), "metafor_yusuf1985.json")
num <- function(x) { x <- as.numeric(x); ifelse(is.finite(x), x, NA_real_) }
analyses <- list(
  short_term_death_longest = c("6", "9"),
  long_term_death_longest = "10",
  long_term_reinfarction_longest = "11",
  long_term_sudden_death_longest = "12a",
  long_term_nonsudden_death_longest = "12b"
)
d <- dat.yusuf1985
cases <- lapply(names(analyses), function(name) {
  sub <- d[d$table %in% analyses[[name]] & !is.na(d$ai), ]
  res <- rma.peto(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = sub)
  list(
    analysis = name,
    tables = analyses[[name]],
    k_rows = nrow(sub),
    k = res$k,
    estimate = num(res$beta),
    se = num(res$se),
    ci_low = num(res$ci.lb),
    ci_high = num(res$ci.ub),
    pval = num(res$pval),
    Q = num(res$QE),
    k_estimable = res$k.yi,
    Q_df = res$k.yi - 1,
    Q_pval = num(res$QEp),
    I2 = num(res$I2),
    events_exp = sum(sub$ai),
    n_exp = sum(sub$n1i),
    events_ctrl = sum(sub$ci),
    n_ctrl = sum(sub$n2i)
  )
})
# Like with like: the long-term mortality trials re-pooled as a risk ratio (Mantel-Haenszel),
# the measure a published review might print, for the page that sets it beside ours.
sub10 <- d[d$table == "10" & !is.na(d$ai), ]
mh <- rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = sub10, measure = "RR")
repooled <- list(
  analysis = "long_term_death_longest",
  measure = "RR",
  method = "MH",
  estimate = num(mh$beta),
  ci_low = num(mh$ci.lb),
  ci_high = num(mh$ci.ub)
)
out <- list(
  repooled_rr = repooled,
  source = list(
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    r_version = paste(R.version$major, R.version$minor, sep = "."),
    dataset = "dat.yusuf1985",
    call = "rma.peto(ai, n1i, ci, n2i) on the rows of the analysis's tables with numbers"
  ),
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = I(15), pretty = TRUE, na = "null"), out_path)
cat("wrote", out_path, "\n")
