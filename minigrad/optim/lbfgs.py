"""L-BFGS: limited-memory quasi-Newton minimization (Nocedal 1980; Liu & Nocedal 1989).

All parameters are seen as one flat vector x with gradient g. L-BFGS keeps the last m pairs

    s_k = x_{k+1} - x_k,    y_k = g_{k+1} - g_k,    rho_k = 1 / (y_k . s_k)

and applies an approximation of the inverse Hessian to -g with the *two-loop recursion*
(Nocedal & Wright, "Numerical Optimization", Algorithm 7.4)::

    q <- -g
    for k = newest .. oldest:   a_k = rho_k s_k . q;   q <- q - a_k y_k
    r <- gamma q,               gamma = (s . y) / (y . y) of the newest pair
    for k = oldest .. newest:   b_k = rho_k y_k . r;   r <- r + (a_k - b_k) s_k
    d = r                       (the search direction)

A pair is kept only when y . s > 1e-10 (the curvature condition that keeps the approximation
positive definite). The step along d is either fixed (``lr``, and
``lr * min(1, 1 / |g|_1)`` on the very first iteration) as in torch's default, or found by a
line search satisfying the strong Wolfe conditions (Nocedal & Wright, Algorithms 3.5 and 3.6)::

    f(x + t d) <= f(x) + c1 t g.d             (sufficient decrease)
    |g(x + t d) . d| <= c2 |g . d|            (curvature)

Everything is computed with the backend's array module on the parameters' own arrays, so it
runs on CuPy without copies to the host; only scalars (dot products, the loss) come back.
The semantics (``step(closure)``, defaults, stopping rules, state kept between calls) are
torch's ``torch.optim.LBFGS``.
"""
from __future__ import annotations

from minigrad.autograd_mode import enable_grad, no_grad
from minigrad.optim.optimizer import Optimizer, check_non_negative
from minigrad.tensor import Tensor


class LBFGS(Optimizer):
    """``LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
    tolerance_change=1e-9, history_size=100, line_search_fn=None)``.

    ``step(closure)`` runs up to ``max_iter`` iterations; ``closure`` must zero the
    gradients, compute the loss, call ``backward()`` and return the loss. It stops early
    when the largest gradient element is <= ``tolerance_grad``, when the step or the change
    of the loss is below ``tolerance_change``, or after ``max_eval`` closure calls
    (default ``max_iter * 5 // 4``). ``line_search_fn`` is None (fixed step ``lr``) or
    ``"strong_wolfe"``.
    """

    def __init__(self, params, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        check_non_negative("LBFGS", lr=lr, tolerance_grad=tolerance_grad, tolerance_change=tolerance_change)
        if max_iter < 1 or history_size < 1:
            raise ValueError(f"LBFGS: max_iter ({max_iter}) and history_size ({history_size}) must be >= 1")
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}")
        max_eval = max_iter * 5 // 4 if max_eval is None else max_eval
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS: works on one parameter group (all parameters form one vector)")
        self._params = self.param_groups[0]["params"]
        backends_seen = {p.backend.name for p in self._params}
        if len(backends_seen) != 1:
            raise TypeError(f"LBFGS: all parameters must live on one backend, got {sorted(backends_seen)}; "
                            "move the model with .to(name)")
        self._xp = self._params[0].backend.xp

    # ------------------------------------------------------------------ flat vectors
    def _flat_grad(self):
        """A fresh flat copy of every parameter's gradient (zeros where there is none)."""
        xp = self._xp
        return xp.concatenate([xp.zeros(p.size, dtype=p.dtype) if p.grad is None else p.grad.reshape(-1)
                               for p in self._params])

    def _add_to_params(self, t, d):
        """x <- x + t d, written into each parameter's array in place."""
        offset = 0
        for p in self._params:
            p.data += t * d[offset:offset + p.size].reshape(p.shape)
            offset += p.size

    def _evaluate(self, closure):
        """(loss, flat gradient) at the current parameters."""
        with enable_grad():
            loss = closure()
        return _to_float(loss), self._flat_grad()

    def _evaluate_at(self, closure, x, t, d):
        """(loss, flat gradient) at x + t d, leaving the parameters at x afterwards."""
        self._add_to_params(t, d)
        f, g = self._evaluate(closure)
        for p, saved in zip(self._params, x):
            p.data[...] = saved
        return f, g

    # ------------------------------------------------------------------ one step
    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; return the loss of the first closure call."""
        if closure is None:
            raise TypeError("LBFGS.step needs a closure that re-evaluates the model and returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        xp = self._xp
        state = self.state.setdefault(self._params[0], {"func_evals": 0, "n_iter": 0})

        with enable_grad():
            first_loss = closure()
        loss, g = _to_float(first_loss), self._flat_grad()
        evals = 1
        state["func_evals"] += 1
        if float(xp.abs(g).max()) <= tol_grad:
            return first_loss

        d, t = state.get("d"), state.get("t")
        s_hist, y_hist, rho_hist = state.get("s", []), state.get("y", []), state.get("rho", [])
        gamma, g_prev = state.get("gamma", 1.0), state.get("g_prev")

        with no_grad():
            for n_iter in range(1, max_iter + 1):
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    d, s_hist, y_hist, rho_hist, gamma = -g, [], [], [], 1.0
                else:
                    y, s = g - g_prev, d * t
                    ys = float(y @ s)
                    if ys > 1e-10:
                        if len(s_hist) == group["history_size"]:
                            del s_hist[0], y_hist[0], rho_hist[0]
                        s_hist.append(s)
                        y_hist.append(y)
                        rho_hist.append(1.0 / ys)
                        gamma = ys / float(y @ y)
                    d = _two_loop(g, s_hist, y_hist, rho_hist, gamma)
                g_prev, loss_prev = g, loss

                t = min(1.0, 1.0 / float(xp.abs(g).sum())) * lr if state["n_iter"] == 1 else lr
                gtd = float(g @ d)
                if gtd > -tol_change:       # d is not a descent direction any more
                    break

                if group["line_search_fn"] == "strong_wolfe":
                    x0 = [p.data.copy() for p in self._params]
                    loss, g, t, ls_evals = _strong_wolfe(
                        lambda step: self._evaluate_at(closure, x0, step, d),
                        t, d, loss, g, gtd, tolerance_change=tol_change)
                    self._add_to_params(t, d)
                else:
                    self._add_to_params(t, d)
                    ls_evals = 0
                    if n_iter != max_iter:  # the last iteration's loss is computed by the next step()
                        loss, g = self._evaluate(closure)
                        ls_evals = 1
                evals += ls_evals
                state["func_evals"] += ls_evals

                if (n_iter == max_iter or evals >= max_eval or float(xp.abs(g).max()) <= tol_grad
                        or float(xp.abs(d).max()) * abs(t) <= tol_change
                        or abs(loss - loss_prev) < tol_change):
                    break

        state.update(d=d, t=t, s=s_hist, y=y_hist, rho=rho_hist, gamma=gamma, g_prev=g_prev)
        return first_loss


def _to_float(loss) -> float:
    return loss.item() if isinstance(loss, Tensor) else float(loss)


def _two_loop(g, s_hist, y_hist, rho_hist, gamma):
    """The L-BFGS direction d = -H g by the two-loop recursion (see the module docstring)."""
    q = -g
    alphas = []
    for s, y, rho in zip(reversed(s_hist), reversed(y_hist), reversed(rho_hist)):
        a = float(s @ q) * rho
        q -= a * y
        alphas.append(a)
    r = q * gamma
    for s, y, rho, a in zip(s_hist, y_hist, rho_hist, reversed(alphas)):
        b = float(y @ r) * rho
        r += (a - b) * s
    return r


# ---------------------------------------------------------------------- line search
def _cubic_minimizer(t1, f1, g1, t2, f2, g2, bounds=None):
    """The minimizer of the cubic through (t1, f1) and (t2, f2) with slopes g1, g2, clipped
    to ``bounds`` (default: the interval between t1 and t2); the midpoint when the cubic has
    no minimizer (Nocedal & Wright, eq. 3.59)."""
    low, high = bounds if bounds is not None else (min(t1, t2), max(t1, t2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (t1 - t2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2
    d2 = d2_square ** 0.5
    if t1 <= t2:
        t = t2 - (t2 - t1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = t1 - (t1 - t2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, low), high)


def _strong_wolfe(evaluate, t, d, f0, g0, gtd0, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step length t along d satisfying the strong Wolfe conditions.

    ``evaluate(t)`` returns (f, flat gradient) at x + t d. First the step grows until an
    interval [lo, hi] is known to contain an acceptable step (bracketing, Algorithm 3.5);
    then the interval shrinks by safeguarded cubic interpolation (zoom, Algorithm 3.6).
    Each trial point is a tuple (t, f, g, g.d). Returns (f, g, t, number of evaluations).
    """
    d_norm = float(abs(d).max())
    f, g = evaluate(t)
    evals, n = 1, 0
    new = (t, f, g, float(g @ d))
    prev = (0.0, f0, g0, gtd0)
    bracket, done = None, False
    while n < max_ls:
        t, f, g, gtd = new
        if f > f0 + c1 * t * gtd0 or (n > 1 and f >= prev[1]):
            bracket = [prev, new]
            break
        if abs(gtd) <= -c2 * gtd0:
            bracket, done = [new], True
            break
        if gtd >= 0:
            bracket = [prev, new]
            break
        # extrapolate: somewhere in [t + 0.01 (t - t_prev), 10 t], by cubic interpolation
        t_next = _cubic_minimizer(prev[0], prev[1], prev[3], t, f, gtd,
                                  bounds=(t + 0.01 * (t - prev[0]), t * 10))
        prev = new
        f, g = evaluate(t_next)
        evals, n = evals + 1, n + 1
        new = (t_next, f, g, float(g @ d))
    if bracket is None:  # max_ls reached while extrapolating
        bracket = [(0.0, f0, g0, gtd0), new]

    insufficient_progress = False
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    while not done and n < max_ls:
        (ta, fa, _, ga), (tb, fb, _, gb) = bracket
        if abs(tb - ta) * d_norm < tolerance_change:
            break
        t = _cubic_minimizer(ta, fa, ga, tb, fb, gb)
        # safeguard: a step too close to an end of the interval makes little progress
        t_min, t_max = min(ta, tb), max(ta, tb)
        margin = 0.1 * (t_max - t_min)
        if min(t_max - t, t - t_min) < margin:
            if insufficient_progress or t >= t_max or t <= t_min:
                t = t_max - margin if abs(t - t_max) < abs(t - t_min) else t_min + margin
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f, g = evaluate(t)
        evals, n = evals + 1, n + 1
        trial = (t, f, g, float(g @ d))
        if f > f0 + c1 * t * gtd0 or f >= bracket[low][1]:
            bracket[high] = trial
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(trial[3]) <= -c2 * gtd0:
                done = True
            elif trial[3] * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = trial
    t, f, g, _ = bracket[low]
    return f, g, t, evals
