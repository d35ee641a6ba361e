import { ensureGrad, record, Tensor } from '../tensor/tensor.js';

/** x[:, [-1], :] for x [B, T, C] -> [B, 1, C]: only the last position feeds the next token. */
export function lastPosition(x: Tensor): Tensor {
  if (x.ndim !== 3) throw new Error(`lastPosition: expected [B, T, C], got [${x.shape.join(', ')}]`);
  const [B, T, C] = x.shape;
  const out = Tensor.empty([B, 1, C]);
  for (let b = 0; b < B; b++) out.data.set(x.data.subarray((b * T + T - 1) * C, (b * T + T) * C), b * C);
  return record(out, [x], () => {
    const dx = ensureGrad(x).data, g = out.grad!.data;
    for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) dx[(b * T + T - 1) * C + c] += g[b * C + c];
  });
}
