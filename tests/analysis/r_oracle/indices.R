# R oracle for analysis.sipas_index / mean_scores / expectation_shares / contrast.
# Run from the repository root:  R CMD BATCH --no-save --no-timing tests/analysis/r_oracle/indices.R \
#                                  tests/analysis/r_oracle/indices.Rout.save
# Reads the shared reference CSVs ($HAILONG_REFERENCE_DIR, default ../shared/reference) and writes
# tests/analysis/r_oracle/indices.json (full precision); tests read only the saved JSON.
suppressMessages(library(survey))
suppressMessages(library(jsonlite))
sessionInfo()$otherPkgs$survey$Version
ref <- Sys.getenv("HAILONG_REFERENCE_DIR", "../shared/reference")
out_dir <- "tests/analysis/r_oracle"

# Five synthetic 0..5 answers (0 = no opinion) derived from integer columns, the same in Python.
items <- function(a) {
  a$q1 <- a$snum %% 6
  a$q2 <- (a$api00 + a$dnum) %% 6
  a$q3 <- a$meals %% 6
  a$q4 <- (a$ell + 2 * a$mobility) %% 6
  a$q5 <- (a$full + a$emer) %% 6
  for (j in 1:5) {
    q <- a[[paste0("q", j)]]
    a[[paste0("y", j)]] <- as.numeric(q >= 4)
    a[[paste0("s", j)]] <- as.numeric(q > 0)
  }
  a$x1 <- as.numeric(a$api99 %% 3 == 0)
  a$x2 <- as.numeric(a$emer %% 2 == 1)
  a
}
pillars <- list(P1 = c(1, 2), P2 = c(3, 4, 5))
ratio_name <- function(j) paste0("y", j, "/s", j)

measures <- function(des) {
  r <- svyratio(~y1 + y2 + y3 + y4 + y5, ~s1 + s2 + s3 + s4 + s5, des, covmat = TRUE)
  cont <- list()
  for (j in 1:5) cont[[paste0("q", j)]] <- setNames(1, ratio_name(j))
  for (p in names(pillars)) {
    js <- pillars[[p]]
    cont[[p]] <- setNames(rep(1 / length(js), length(js)), ratio_name(js))
  }
  sip <- c()
  for (p in names(pillars)) {
    js <- pillars[[p]]
    sip <- c(sip, setNames(rep(1 / length(js) / length(pillars), length(js)), ratio_name(js)))
  }
  cont[["sipas"]] <- sip
  sc <- svycontrast(r, cont)
  V <- vcov(sc)
  list(codes = names(cont), estimate = unname(coef(sc)), se = unname(sqrt(diag(V))),
       cov = unname(V), df = degf(des))
}

# each domain against the whole population (a unit against the province): one svyratio with
# domain-indicator numerators/denominators and the overall ones, covmat = TRUE, then svycontrast
versus_total <- function(des, domains) {
  vars <- des$variables
  num <- c(); den <- c()
  for (j in 1:5) {
    for (g in domains) {
      vars[[paste0("y", j, g)]] <- vars[[paste0("y", j)]] * (vars$stype == g)
      vars[[paste0("s", j, g)]] <- vars[[paste0("s", j)]] * (vars$stype == g)
      num <- c(num, paste0("y", j, g)); den <- c(den, paste0("s", j, g))
    }
    num <- c(num, paste0("y", j)); den <- c(den, paste0("s", j))
  }
  des$variables <- vars
  r <- svyratio(as.formula(paste("~", paste(num, collapse = "+"))),
                as.formula(paste("~", paste(den, collapse = "+"))), des, covmat = TRUE)
  out <- list()
  for (g in domains) {
    cont <- list()
    coefs <- function(js, wt) {
      c(setNames(rep(wt, length(js)), paste0("y", js, g, "/s", js, g)),
        setNames(rep(-wt, length(js)), paste0("y", js, "/s", js)))
    }
    for (j in 1:5) cont[[paste0("q", j)]] <- coefs(j, 1)
    for (p in names(pillars)) cont[[p]] <- coefs(pillars[[p]], 1 / length(pillars[[p]]))
    sip <- c()
    for (p in names(pillars)) sip <- c(sip, coefs(pillars[[p]], 1 / length(pillars[[p]]) / length(pillars)))
    cont[["sipas"]] <- sip
    sc <- svycontrast(r, cont)
    out[[g]] <- list(estimate = unname(coef(sc)), se = unname(SE(sc)))
  }
  out
}

run_design <- function(name, des, domains) {
  res <- list(all = measures(des))
  if (!inherits(des, "svyrep.design")) res$versus_total <- versus_total(des, domains)
  for (g in domains) res[[g]] <- measures(subset(des, stype == g))
  # mean scores (1..5 among substantive answers) and expectation shares per stype
  ms <- list()
  for (j in 1:5) {
    f <- as.formula(paste0("~q", j))
    sub <- eval(bquote(subset(des, .(as.name(paste0("q", j))) > 0)))
    b <- svyby(f, ~stype, sub, svymean)
    ms[[paste0("q", j)]] <- list(groups = as.character(b$stype), estimate = unname(coef(b)),
                                 se = unname(SE(b)))
  }
  ex <- svyby(~x1 + x2, ~stype, des, svymean)
  res$mean_scores <- ms
  res$expectation <- list(groups = as.character(ex$stype), estimate = unname(as.matrix(ex[, 2:3])),
                          se = unname(as.matrix(SE(ex))))
  # logit interval of item q1 in domain E (svyciprop on the substantive answers; R df = degf(subset))
  sub <- subset(des, stype == "E" & q1 > 0)
  ci <- svyciprop(~I(q1 >= 4), sub, method = "logit")
  res$ciprop_q1_E <- list(estimate = as.numeric(ci), ci = unname(as.numeric(confint(ci))),
                          df = degf(sub), domain_df = degf(subset(des, stype == "E" & q1 > 0)))
  print(name); print(res$all[c("codes", "estimate", "se")])
  res
}

stratd <- items(read.csv(file.path(ref, "data", "apistrat.csv")))
clus1d <- items(read.csv(file.path(ref, "data", "apiclus1.csv")))
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = stratd)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = clus1d)
pop <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, sch.wideYes = 5122)
dcal <- calibrate(svydesign(id = ~1, strata = ~stype, weights = ~pw, data = stratd),
                  ~stype + sch.wide, pop, calfun = "raking")
dps <- postStratify(dclus1, ~stype, data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018)))
rclus1 <- as.svrepdesign(dclus1)  # JK1

out <- list(
  stratified = run_design("stratified", dstrat, c("E", "H", "M")),
  cluster = run_design("cluster", dclus1, c("E", "H", "M")),
  raked = run_design("raked", dcal, c("E", "H", "M")),
  poststratified_cluster = run_design("poststratified_cluster", dps, c("E", "H", "M")),
  jk1_cluster = run_design("jk1_cluster", rclus1, c("E", "H", "M"))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), file.path(out_dir, "indices.json"))
