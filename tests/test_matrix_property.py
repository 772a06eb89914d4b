"""Property: for random losses built from the notation, the matrix gradient agrees with
central finite differences entry by entry, and every printed result re-parses to itself."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symgrad import check_matrix_gradient, matrix_gradient, parse_matrix
from symgrad.errors import VariableError

SHAPES = "A=n,n; B=m,n; x=n; y=m"


@st.composite
def vec_n(draw, depth: int = 3) -> str:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(["x", "diag(A)", "ones(n)", "A'*x"]))
    inner = draw(vec_n(depth=depth - 1))
    other = draw(vec_n(depth=depth - 1))
    m = draw(vec_m(depth=depth - 1))
    return draw(
        st.sampled_from(
            [
                f"A*({inner})",
                f"A'*({inner})",
                f"B'*({m})",
                f"tanh({inner})",
                f"sigmoid({inner})",
                f"({inner}) .* ({other})",
                f"({inner}) + ({other})",
                f"s*({inner})",
                f"({inner}) - 1",
                f"exp(({inner})/4)",
                f"softmax({inner})",
                f"({inner})./(2 + ({other}).^2)",
                f"inv(eye(n) + A*A')*({inner})",
            ]
        )
    )


@st.composite
def vec_m(draw, depth: int = 2) -> str:
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from(["y", "B*x"]))
    inner = draw(vec_n(depth=depth - 1))
    return draw(st.sampled_from([f"B*({inner})", f"y - B*({inner})", f"softplus(B*({inner}))"]))


@st.composite
def losses(draw) -> str:
    v = draw(vec_n())
    u = draw(vec_m())
    return draw(
        st.sampled_from(
            [
                f"sum({v})",
                f"norm2({v})^2",
                f"norm2({u})^2 + s*sum({v})",
                f"({v})'*A*({v})",
                f"logsumexp({v})",
                f"log(1 + norm2({v})^2)",
                f"tr(A*diag({v}))*s^2",
                f"({u})'*B*({v})",
            ]
        )
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(losses())
def test_random_losses_agree_with_finite_differences(loss):
    try:
        grad = matrix_gradient(loss, SHAPES)
    except VariableError:  # sum(ones(n)): a constant, nothing to differentiate
        return
    for partial in grad.partials:
        assert parse_matrix(str(partial), dict(grad.shapes)) == partial
    result = check_matrix_gradient(loss, SHAPES, points=2, dims="m=3,n=2")
    assert result.gradient_status in ("pass", "unverifiable"), (loss, result.worst, result.notes)
    assert result.status != "mismatch", loss
