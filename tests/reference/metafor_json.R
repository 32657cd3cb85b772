# Helpers shared by the metafor reference scripts (run_metafor_extra.R, run_metafor_gaps.R):
# citations read from metadat's help pages, metafor result extractors, a JSON writer that keeps
# R's doubles exactly (the shortest of %.15g/%.16g/%.17g that reads back to the same double;
# jsonlite's own writer stops at 15 significant digits), and run_case(), which evaluates one case's
# R code, records its warnings, errors and non-finite results, and appends it to `cases`.
# Sourced, not run: the calling script loads metafor and jsonlite first.

rd_db <- tools::Rd_db("metadat")
cite <- function(name) {
  rd <- rd_db[[paste0(name, ".Rd")]]
  tags <- vapply(rd, function(x) attr(x, "Rd_tag"), "")
  txt <- capture.output(tools::Rd2txt(structure(rd[tags == "\\source"], class = "Rd"),
                                      fragment = TRUE, options = list(underline_titles = FALSE)))
  txt <- gsub("\\s+", " ", trimws(paste(txt, collapse = " ")))
  paste0("metadat::", name, ": ", sub("^Source: ", "", txt))
}

num <- function(x) {            # a number (or numeric vector); NULL if absent
  if (is.null(x) || length(x) == 0) return(NULL)
  x <- unname(as.vector(x)); storage.mode(x) <- "double"; x
}
arr <- function(x) {            # always a JSON array
  if (is.null(x) || length(x) == 0) return(I(numeric(0)))
  I(num(x))
}
int <- function(x) as.integer(x)

# coefficient-level fields: scalars for intercept-only models, arrays (with coef_names) otherwise
coefs <- function(x, p) if (p > 1) arr(x) else num(x)

rma_out <- function(res) {
  p <- res$p
  out <- list(k = int(res$k), p = int(p), method = res$method, test = res$test,
              level = 100 * (1 - res$level), weighted = res$weighted)
  if (p > 1) out$coef_names <- I(rownames(res$beta))
  out <- c(out, list(b = coefs(res$beta, p), se = coefs(res$se, p), zval = coefs(res$zval, p),
                     pval = coefs(res$pval, p), ci.lb = coefs(res$ci.lb, p),
                     ci.ub = coefs(res$ci.ub, p)))
  if (res$test != "z") out$dfs <- num(res$dfs)
  if (res$test == "knha") out$s2w <- num(res$s2w)
  out <- c(out, list(tau2 = num(res$tau2), se.tau2 = num(res$se.tau2), QE = num(res$QE),
                     QEp = num(res$QEp), I2 = num(res$I2), H2 = num(res$H2)))
  if (p > 1) out <- c(out, list(QM = num(res$QM), QMp = num(res$QMp), R2 = num(res$R2)))
  out
}
pred_out <- function(p) {
  keys <- intersect(c("pred", "se", "ci.lb", "ci.ub", "pi.lb", "pi.ub"), names(p))
  n <- length(p$pred)
  setNames(lapply(keys, function(k) if (n > 1) arr(p[[k]]) else num(p[[k]])), keys)
}
confint_out <- function(ci) {
  r <- ci$random
  list(tau2 = num(r["tau^2", ]), tau = num(r["tau", ]), I2 = num(r["I^2(%)", ]),
       H2 = num(r["H^2", ]), columns = I(colnames(r)))
}
es_out <- function(es) list(yi = arr(es$yi), vi = arr(es$vi))

# ---- JSON writer (numbers at full precision) ---------------------------------------------------

fmt_num <- function(x) {
  s <- rep("null", length(x))
  ok <- is.finite(x)
  s[ok] <- sprintf("%.15g", x[ok])
  for (d in c("%.16g", "%.17g")) {
    bad <- which(ok)[as.numeric(s[ok]) != x[ok]]
    s[bad] <- sprintf(d, x[bad])
  }
  s
}
json_str <- function(x) ifelse(is.na(x), "null", vapply(x, function(s) as.character(toJSON(s, auto_unbox = TRUE)), ""))
to_json <- function(x, ind = 0) {
  pad <- strrep("  ", ind + 1); end <- strrep("  ", ind)
  if (is.null(x)) return("null")
  if (is.factor(x)) x <- as.character(x)
  if (is.list(x) && !is.data.frame(x)) {
    if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
    items <- vapply(x, to_json, "", ind = ind + 1)
    if (!is.null(names(x)))
      items <- paste0(json_str(names(x)), ": ", items)
    open <- if (is.null(names(x))) "[" else "{"; close <- if (is.null(names(x))) "]" else "}"
    return(paste0(open, "\n", pad, paste(items, collapse = paste0(",\n", pad)), "\n", end, close))
  }
  asis <- inherits(x, "AsIs")
  x <- unclass(x)
  vals <- if (is.character(x)) json_str(x) else if (is.logical(x)) ifelse(is.na(x), "null", ifelse(x, "true", "false"))
          else if (is.integer(x)) ifelse(is.na(x), "null", as.character(x)) else fmt_num(as.double(x))
  if (length(vals) == 1 && !asis) return(vals)
  paste0("[", paste(vals, collapse = ", "), "]")
}

nonfinite <- function(x, path = character()) {
  out <- list()
  if (is.list(x)) {
    for (i in seq_along(x)) {
      nm <- if (is.null(names(x)) || names(x)[i] == "") as.character(i) else names(x)[i]
      out <- c(out, nonfinite(x[[i]], c(path, nm)))
    }
  } else if (is.numeric(x) && any(!is.finite(x))) {
    kind <- ifelse(is.nan(x), "NaN", ifelse(is.na(x), "NA", ifelse(x > 0, "Inf", ifelse(x < 0, "-Inf", NA))))
    kind[is.finite(x)] <- NA
    out[[paste(path, collapse = ".")]] <- if (length(x) == 1 && !inherits(x, "AsIs")) kind else I(kind)
  }
  out
}

# ---- running a case ----------------------------------------------------------------------------

cases <- list()
run_case <- function(id, description, dataset, source, data, code, extract, allow_error = FALSE,
                     notes = NULL) {
  thresholds <- if (grepl("THR", code, fixed = TRUE)) c("1e-13", "1e-12") else NA
  for (thr in thresholds) {
    call <- if (is.na(thr)) code else gsub("THR", thr, code, fixed = TRUE)
    env <- new.env(parent = globalenv())
    env$dat <- data
    warns <- character()
    err <- tryCatch(withCallingHandlers({ eval(parse(text = call), envir = env); NULL },
                                        warning = function(w) {
                                          warns <<- c(warns, conditionMessage(w))
                                          invokeRestart("muffleWarning")
                                        }),
                    error = function(e) conditionMessage(e))
    if (is.null(err) || !grepl("converge", err)) break   # fall back only on convergence failures
  }
  if (!is.null(err) && !allow_error) stop("case ", id, " failed: ", err)
  results <- if (is.null(err)) extract(env) else NULL
  cols <- lapply(data, function(v) I(if (is.factor(v)) as.character(v) else v))
  case <- list(id = id, description = description, dataset = dataset, source = source,
               call = call, data = cols, results = results)
  if (!is.na(thresholds[1])) {
    case$threshold <- as.numeric(thr)
    if (thr != "1e-13") notes <- c(notes, "fit failed at threshold=1e-13; 1e-12 used")
  }
  if (length(notes)) case$notes <- I(notes)
  if (!is.null(err)) case$error <- err
  if (length(warns)) case$warnings <- I(unique(warns))
  nf <- nonfinite(results)
  if (length(nf)) case$nonfinite <- nf
  cases[[length(cases) + 1]] <<- case
  cat(sprintf("%-60s %s\n", id, if (is.null(err)) "ok" else paste("error:", err)))
}

