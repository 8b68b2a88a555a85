# R oracle for analysis.fay_herriot: the Fay-Herriot model is a linear mixed model with one
# observation per area, a random area intercept and known residual variances psi_d, fitted
# here by REML with nlme (residual sd fixed at 1, variance function varFixed(~psi)).
# Run from the repository root:
#   R CMD BATCH --no-save --no-timing tests/analysis/r_oracle/fay_herriot.R tests/analysis/r_oracle/fay_herriot.Rout.save
suppressMessages(library(survey))
suppressMessages(library(nlme))
suppressMessages(library(jsonlite))
ref <- Sys.getenv("HAILONG_REFERENCE_DIR", "../shared/reference")
a <- read.csv(file.path(ref, "data", "apistrat.csv"))
d <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = a)
# direct estimates: mean api00 (in hundreds) by county (>= 3 schools); covariate: mean meals share
big <- names(which(table(a$cname) >= 3))
dd <- subset(d, cname %in% big)
b <- svyby(~I(api00 / 100) + meals, ~cname, dd, svymean)
area <- data.frame(cname = as.character(b$cname), y = b[, 2], psi = SE(b)[, 1]^2, meals = b$meals / 100)
area <- area[area$psi > 0, ]
area$id <- factor(seq_len(nrow(area)))
fit <- lme(y ~ meals, random = ~ 1 | id, data = area, weights = varFixed(~ psi),
           method = "REML", control = lmeControl(sigma = 1, opt = "nlminb", msMaxIter = 1000, msTol = 1e-14, tolerance = 1e-12, niterEM = 0,
                                                 returnObject = TRUE))
sigma2_v <- as.numeric(VarCorr(fit)[1, 1])
print(sigma2_v)
print(summary(fit)$tTable)
eblup_nlme <- as.numeric(fitted(fit, level = 1))

# The restricted log-likelihood written out (Rao & Molina 2015, section 6.1.2) and maximised with
# optimize(); nlme's fixed-sigma REML lands about 1.4% lower on this flat likelihood.
y <- area$y; psi <- area$psi; X <- cbind(1, area$meals)
reml <- function(s2) {
  v <- s2 + psi; A <- t(X) %*% (X / v); b <- solve(A, t(X) %*% (y / v)); r <- y - X %*% b
  -0.5 * (sum(log(v)) + as.numeric(determinant(A)$modulus) + sum(r^2 / v))
}
opt <- optimize(reml, c(0, 10), maximum = TRUE, tol = 1e-12)
s2 <- opt$maximum
v <- s2 + psi; A <- t(X) %*% (X / v); Ainv <- solve(A); beta <- as.numeric(Ainv %*% t(X) %*% (y / v))
gam <- s2 / v; synth <- as.numeric(X %*% beta); eblup <- gam * y + (1 - gam) * synth
g1 <- gam * psi; g2 <- (1 - gam)^2 * rowSums((X %*% Ainv) * X); g3 <- psi^2 / v^3 * 2 / sum(v^-2)
mse <- g1 + g2 + 2 * g3
out <- list(cname = area$cname, direct = y, direct_var = psi, meals = area$meals,
            sigma2_v = s2, beta = beta, beta_se = sqrt(diag(Ainv)), eblup = eblup, mse = mse,
            gamma = gam, nlme = list(sigma2_v = sigma2_v, beta = unname(fixef(fit)),
                                     beta_se = unname(summary(fit)$tTable[, 2]), eblup = eblup_nlme))
print(out[c("sigma2_v", "beta", "eblup", "mse")])
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), "tests/analysis/r_oracle/fay_herriot.json")
