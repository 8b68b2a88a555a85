"""Small-area estimation: the Fay-Herriot area-level model (EBLUP, REML, Prasad-Rao MSE).

Estimates from this module are *model-based*: they borrow strength from other areas through
the covariates and must be labelled as such wherever they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["fay_herriot", "FayHerriotResult"]

_METHODS = ("REML",)


@dataclass(frozen=True, slots=True, eq=False)
class FayHerriotResult:
    """Fay-Herriot EBLUP per area.

    Attributes
    ----------
    eblup : ndarray (D,)
        Empirical best linear unbiased predictor ``gamma * direct + (1 - gamma) * synthetic``.
    mse : ndarray (D,)
        Prasad-Rao (second-order unbiased, REML) estimate of its mean squared error.
    sigma2_v : float
        Model (between-area) variance.
    beta : ndarray (p,)
        GLS regression coefficients.
    beta_se : ndarray (p,)
        Their standard errors.
    gamma : ndarray (D,)
        Shrinkage factors ``sigma2_v / (sigma2_v + direct_var)`` (weight of the direct estimate).
    synthetic : ndarray (D,)
        Regression-synthetic estimates ``X beta``.
    method : str
    iterations : int
        Newton / Fisher-scoring iterations (0 when ``sigma2_v`` was given).
    """

    eblup: np.ndarray
    mse: np.ndarray
    sigma2_v: float
    beta: np.ndarray
    beta_se: np.ndarray
    gamma: np.ndarray
    synthetic: np.ndarray
    method: str
    iterations: int

    @property
    def rmse(self) -> np.ndarray:
        """Root MSE, the model-based counterpart of a standard error."""
        return np.sqrt(self.mse)


def _gls(y: np.ndarray, X: np.ndarray, v: np.ndarray):
    """GLS fit with diagonal variances ``v``: beta, (X'V^-1X)^-1."""
    Xw = X / v[:, None]
    xtvx = X.T @ Xw
    inv = np.linalg.pinv(xtvx)
    beta = inv @ (Xw.T @ y)
    return beta, inv


def _reml_parts(s2: float, y: np.ndarray, X: np.ndarray, psi: np.ndarray):
    """Restricted log-likelihood, score and information (observed if positive, else Fisher)."""
    v = s2 + psi
    Vi = 1.0 / v
    ViX = X * Vi[:, None]
    A = X.T @ ViX
    Ainv = np.linalg.pinv(A)
    # P = V^-1 - V^-1 X (X'V^-1X)^-1 X' V^-1
    P = np.diag(Vi) - ViX @ Ainv @ ViX.T
    Py = P @ y
    loglik = -0.5 * (np.sum(np.log(v)) + np.linalg.slogdet(A)[1] + float(y @ Py))
    score = -0.5 * np.trace(P) + 0.5 * float(Py @ Py)
    fisher = 0.5 * float(np.sum(P * P))
    observed = float(Py @ P @ Py) - fisher  # minus the second derivative
    return loglik, score, observed if observed > 0 else fisher


def _reml(y: np.ndarray, X: np.ndarray, psi: np.ndarray, tol: float, max_iter: int) -> tuple[float, int]:
    """REML estimate of sigma^2_v: Newton / Fisher scoring with step halving, truncated at 0."""
    s2 = float(np.median(psi))
    ll, score, info = _reml_parts(s2, y, X, psi)
    for it in range(1, max_iter + 1):
        step = score / info
        if s2 <= 0.0 and step <= 0.0:
            return 0.0, it
        for _ in range(60):
            new = max(s2 + step, 0.0)
            ll_new, score_new, info_new = _reml_parts(new, y, X, psi)
            if ll_new >= ll - 1e-12 * abs(ll):
                break
            step /= 2.0
        converged = abs(new - s2) < tol * (1.0 + s2)
        s2, ll, score, info = new, ll_new, score_new, info_new
        if converged:
            return s2, it
    raise ValueError(f"fay_herriot: REML did not converge in max_iter={max_iter} iterations")


def fay_herriot(
    direct,
    direct_var,
    X,
    method: str = "REML",
    *,
    sigma2_v: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> FayHerriotResult:
    """Fay-Herriot area-level EBLUP of small-area means or shares.

    Parameters
    ----------
    direct : array_like (D,)
        Direct (design-based) estimates of the D areas.
    direct_var : array_like (D,)
        Their sampling variances (squared SEs), taken as known; positive.
    X : array_like (D, p)
        Area covariates, one row per area; include a column of ones for an intercept.
        Needs full column rank and D > p.
    method : {"REML"}
        Estimation of the model variance.
    sigma2_v : float, optional
        Use this model variance instead of estimating it (0 gives the synthetic estimator,
        ``inf`` the direct estimates); the MSE is then ``g1 + g2`` (no ``g3`` term).
    tol, max_iter :
        Convergence of the REML iterations.

    Returns
    -------
    FayHerriotResult

    Notes
    -----
    Model :math:`\\hat\\theta_d = x_d'\\beta + v_d + e_d`, :math:`v_d \\sim N(0, \\sigma^2_v)`,
    :math:`e_d \\sim N(0, \\psi_d)`. With :math:`\\gamma_d = \\sigma^2_v/(\\sigma^2_v + \\psi_d)`
    and the GLS :math:`\\hat\\beta`, the EBLUP is
    :math:`\\gamma_d \\hat\\theta_d + (1-\\gamma_d) x_d'\\hat\\beta`.
    :math:`\\hat\\sigma^2_v` maximises the restricted likelihood (Newton steps with
    score :math:`-\\frac12 \\mathrm{tr} P + \\frac12 y'PPy` and observed information
    :math:`y'PPPy - \\frac12 \\mathrm{tr}(PP)`, Fisher information :math:`\\frac12 \\mathrm{tr}(PP)`
    where that is not positive; step halving; truncated at 0). The MSE estimate is
    :math:`g_1 + g_2 + 2 g_3` with :math:`g_1 = \\gamma_d\\psi_d`,
    :math:`g_2 = (1-\\gamma_d)^2 x_d'(X'V^{-1}X)^{-1}x_d`,
    :math:`g_3 = \\psi_d^2 (\\sigma^2_v+\\psi_d)^{-3} \\bar V(\\hat\\sigma^2_v)`,
    :math:`\\bar V = 2 / \\sum_d (\\sigma^2_v + \\psi_d)^{-2}`.

    References
    ----------
    Fay, R. E., Herriot, R. A. (1979). Estimates of income for small places: an application of
    James-Stein procedures to census data. *JASA* 74, 269-277.
    Prasad, N. G. N., Rao, J. N. K. (1990). The estimation of the mean squared error of
    small-area estimators. *JASA* 85, 163-171.
    Datta, G. S., Lahiri, P. (2000). A unified measure of uncertainty of estimated best linear
    unbiased predictors in small area estimation problems. *Statistica Sinica* 10, 613-627.
    Rao, J. N. K., Molina, I. (2015). *Small Area Estimation*, 2nd ed., Wiley, chapter 6.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    try:
        y = np.asarray(direct, dtype=float)
        psi = np.asarray(direct_var, dtype=float)
        Xm = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError("direct, direct_var and X must be numeric") from exc
    if y.ndim != 1 or y.shape[0] < 2:
        raise ValueError(f"direct must be one-dimensional with at least 2 areas, got shape {y.shape}")
    D = y.shape[0]
    if psi.shape != (D,):
        raise ValueError(f"direct_var must have shape ({D},), got {psi.shape}")
    if Xm.ndim == 1:
        Xm = Xm[:, None]
    if Xm.ndim != 2 or Xm.shape[0] != D:
        raise ValueError(f"X must have shape ({D}, p), one row per area, got {np.shape(X)}")
    p = Xm.shape[1]
    if p < 1 or p >= D:
        raise ValueError(f"X: need more areas ({D}) than covariates ({p})")
    if not (np.isfinite(y).all() and np.isfinite(Xm).all()):
        raise ValueError("direct and X must be finite (drop areas without a direct estimate)")
    if not (np.isfinite(psi).all() and (psi > 0).all()):
        raise ValueError("direct_var must be positive and finite")
    if np.linalg.matrix_rank(Xm) < p:
        raise ValueError("X does not have full column rank (a covariate is constant or collinear)")
    if sigma2_v is None:
        s2, iters = _reml(y, Xm, psi, tol, int(max_iter))
    else:
        s2 = float(sigma2_v)
        if not s2 >= 0:
            raise ValueError(f"sigma2_v must be >= 0, got {sigma2_v!r}")
        iters = 0
    if np.isinf(s2):
        beta, inv = _gls(y, Xm, np.ones(D))
        gamma = np.ones(D)
        synthetic = Xm @ beta
        return FayHerriotResult(
            y.copy(), psi.copy(), s2, beta, np.full(p, np.nan), gamma, synthetic, method, 0
        )
    v = s2 + psi
    beta, inv = _gls(y, Xm, v)
    synthetic = Xm @ beta
    gamma = s2 / v
    eblup = gamma * y + (1.0 - gamma) * synthetic
    g1 = gamma * psi
    g2 = (1.0 - gamma) ** 2 * np.einsum("dp,pq,dq->d", Xm, inv, Xm)
    vbar = 2.0 / np.sum(v**-2.0) if sigma2_v is None else 0.0  # a given sigma2_v is not estimated
    g3 = psi**2 / v**3 * vbar
    mse = g1 + g2 + 2.0 * g3
    beta_se = np.sqrt(np.maximum(np.diag(inv), 0.0))
    return FayHerriotResult(eblup, mse, s2, beta, beta_se, gamma, synthetic, method, iters)
