/**
 * erf in double precision from the complementary error function's Chebyshev fit
 * (fractional error below 1.2e-7 everywhere; float32 GELU needs no more).
 */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - erfc : erfc - 1;
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_TANH_C = Math.sqrt(2 / Math.PI);

/** x * Phi(x) (exact) or PyTorch's approximate='tanh' form. */
export function geluScalar(x: number, tanh: boolean): number {
  if (tanh) return 0.5 * x * (1 + Math.tanh(GELU_TANH_C * (x + 0.044715 * x * x * x)));
  return 0.5 * x * (1 + erf(x * SQRT1_2));
}

/** d/dx of geluScalar. */
export function geluGradScalar(x: number, tanh: boolean): number {
  if (tanh) {
    const u = GELU_TANH_C * (x + 0.044715 * x * x * x);
    const th = Math.tanh(u);
    const du = GELU_TANH_C * (1 + 3 * 0.044715 * x * x);
    return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * du;
  }
  return 0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}
