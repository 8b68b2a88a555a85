# R oracle for the three differences with R named in issue 9: rake() standard errors when weights
# vary inside margin cells, rake()'s default convergence rule (epsilon = 1 weighted unit, maxit 10),
# and oldsvyquantile(interval.type = "Wald").
# Run from the repository root:
#   R CMD BATCH --no-save --no-timing tests/analysis/r_oracle/differences.R tests/analysis/r_oracle/differences.Rout.save
suppressMessages(library(survey))
suppressMessages(library(jsonlite))
ref <- Sys.getenv("HAILONG_REFERENCE_DIR", "../shared/reference")
apistrat <- read.csv(file.path(ref, "data", "apistrat.csv"))
apiclus1 <- read.csv(file.path(ref, "data", "apiclus1.csv"))
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
pop.imp <- data.frame(comp.imp = c("No", "Yes"), Freq = c(1712, 4482))
est <- function(s) list(estimate = unname(coef(s)), se = unname(SE(s)))
out <- list()

# 1. rake() with R's defaults (control = list(maxit = 10, epsilon = 1))
d0 <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
r_def <- rake(d0, list(~stype, ~sch.wide), list(pop.types, pop.schwide))
print(svymean(~api00, r_def), digits = 7)
out$rake_default <- c(est(svymean(~api00, r_def)), list(total_enroll = est(svytotal(~enroll, r_def)),
                      weights = unname(weights(r_def))))
# 2. the same raking run to convergence: R's rake() variance (iterated projections on the margins)
r_tight <- rake(d0, list(~stype, ~sch.wide), list(pop.types, pop.schwide),
                control = list(epsilon = 1e-10, maxit = 100))
print(svymean(~api00, r_tight), digits = 7)
out$rake_tight <- c(est(svymean(~api00, r_tight)), list(weights = unname(weights(r_tight))))
# calibrate(calfun = "raking") gives the same weights but the regression (GREG) variance
cal <- calibrate(d0, ~stype + sch.wide, c(6194, 755, 1018, 5122), calfun = "raking")
out$calibrate_raking <- est(svymean(~api00, cal))
# 3. three margins, a cluster design, R defaults: not converged to 1e-8 after the loose rule
d1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
r3 <- rake(d1, list(~stype, ~sch.wide, ~comp.imp), list(pop.types, pop.schwide, pop.imp))
out$rake3_default <- c(est(svymean(~api00, r3)), list(weights = unname(weights(r3))))
r3e <- rake(d1, list(~stype, ~sch.wide, ~comp.imp), list(pop.types, pop.schwide, pop.imp),
            control = list(epsilon = 0.01))  # epsilon < 1: relative to the total weight
out$rake3_eps001 <- c(est(svymean(~api00, r3e)), list(weights = unname(weights(r3e))))
r3m <- suppressWarnings(rake(d1, list(~stype, ~sch.wide, ~comp.imp), list(pop.types, pop.schwide, pop.imp),
            control = list(epsilon = 1e-12, maxit = 2)))  # stops after maxit sweeps (R warns)
out$rake3_maxit2 <- c(est(svymean(~api00, r3m)), list(weights = unname(weights(r3m))))
# strongly varying weights inside the margin cells (pw times 1..3 by school number), cluster design
apiclus1$wv <- apiclus1$pw * (1 + (apiclus1$snum %% 5) / 2)
dv <- svydesign(id = ~dnum, weights = ~wv, data = apiclus1)
rv <- rake(dv, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control = list(epsilon = 1e-10, maxit = 100))
cv <- calibrate(dv, ~stype + sch.wide, c(6194, 755, 1018, 5122), calfun = "raking")
out$rake_varied <- c(est(svymean(~api00, rv)), list(calibrate = est(svymean(~api00, cv)),
                     by_awards = list(estimate = unname(coef(svyby(~api00, ~awards, rv, svymean))),
                                      se = unname(SE(svyby(~api00, ~awards, rv, svymean))))))
print(svymean(~api00, rv), digits = 7); print(svymean(~api00, cv), digits = 7)
# raked jackknife design (every replicate raked with the same number of sweeps)
rr <- rake(as.svrepdesign(d1), list(~stype, ~sch.wide), list(pop.types, pop.schwide))
out$rake_jk1_default <- est(svymean(~api00, rr))

# 4. oldsvyquantile(interval.type = "Wald"), stratified design with fpc
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
oq <- function(p, des) {
  q <- oldsvyquantile(~api00, des, p, ci = TRUE, interval.type = "Wald")
  list(p = p, estimate = unname(as.numeric(q$quantiles)), ci = unname(as.numeric(q$CIs)),
       se = unname(as.numeric(SE(q))))
}
print(oldsvyquantile(~api00, dstrat, 0.5, ci = TRUE, interval.type = "Wald"))
out$oldsvyquantile_wald <- lapply(c(0.1, 0.25, 0.5, 0.9), oq, des = dstrat)
out$oldsvyquantile_wald_clus1 <- lapply(c(0.25, 0.5), oq, des = d1)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), "tests/analysis/r_oracle/differences.json")
