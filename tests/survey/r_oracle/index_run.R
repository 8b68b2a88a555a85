# R oracle for an index run from a probability sample (survey/indices/compute.py):
# design weights 1/pi, nonresponse adjustment within strata from AAPOR dispositions (unknown
# eligibility spread over the known-eligibility cases, then respondents carry the eligible
# nonrespondents), stratified design with fpc, raking to the frame's unit and field margins, then the
# SIPAS items (ratios), pillars and index (contrasts), for the province and for each unit (domains).
# Run from the repository root:
#   R CMD BATCH --no-save --no-timing tests/survey/r_oracle/index_run.R tests/survey/r_oracle/index_run.Rout.save
suppressMessages(library(survey))
suppressMessages(library(jsonlite))
sessionInfo()$otherPkgs$survey$Version
dir <- "tests/survey/r_oracle"
m <- read.csv(file.path(dir, "index_run_data.csv"), stringsAsFactors = FALSE)
m$d <- 1 / m$prob
resp <- m$status %in% c("I", "P")
elig_nr <- m$status %in% c("R", "NC", "O")
unknown <- m$status %in% c("UH", "UO")
inelig <- m$status == "NE"
m$w <- 0
for (h in unique(m$stratum)) {
  k <- m$stratum == h
  WR <- sum(m$d[k & resp]); WE <- sum(m$d[k & elig_nr]); WU <- sum(m$d[k & unknown]); WN <- sum(m$d[k & inelig])
  a1 <- (WR + WE + WU + WN) / (WR + WE + WN)
  a2 <- (WR + WE) / WR
  m$w[k & resp] <- m$d[k & resp] * a1 * a2
}
r <- m[resp, ]
for (j in 1:4) {
  q <- r[[paste0("q", j)]]
  r[[paste0("y", j)]] <- as.numeric(q >= 4)
  r[[paste0("s", j)]] <- as.numeric(q > 0)
}
des <- svydesign(ids = ~1, strata = ~stratum, fpc = ~N_h, weights = ~w, data = r)
pop_unit <- data.frame(unit = c("U1", "U2", "U3"), Freq = c(400, 250, 150))
pop_field <- data.frame(field = c("F1", "F2"), Freq = c(480, 320))
raked <- rake(des, list(~unit, ~field), list(pop_unit, pop_field), control = list(maxit = 500, epsilon = 1e-12, verbose = FALSE))
rn <- function(j) paste0("y", j, "/s", j)
measures <- function(d) {
  rt <- svyratio(~y1 + y2 + y3 + y4, ~s1 + s2 + s3 + s4, d, covmat = TRUE)
  cont <- list(
    q1 = setNames(1, rn(1)), q2 = setNames(1, rn(2)), q3 = setNames(1, rn(3)), q4 = setNames(1, rn(4)),
    P1 = setNames(c(0.5, 0.5), rn(1:2)), P2 = setNames(c(0.5, 0.5), rn(3:4)),
    sipas = setNames(rep(0.25, 4), rn(1:4))
  )
  cc <- svycontrast(rt, cont)
  list(estimate = as.list(coef(cc)), se = as.list(SE(cc)))
}
out <- list(
  survey_version = as.character(packageVersion("survey")),
  weights_total = sum(weights(raked)),
  province = measures(raked),
  units = lapply(setNames(c("U1", "U2", "U3"), c("U1", "U2", "U3")), function(u) measures(subset(raked, unit == u)))
)
print(out$province)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA), file.path(dir, "index_run.json"))
