import { ensureGrad, record, Tensor } from '../tensor/tensor.js';

/** x[:, [-1], :] for x [B, T, C] -> [B, 1, C]: only the last position feeds the next token. */
export function lastPosition(x: Tensor): Tensor {
  if (x.ndim !== 3) throw new Error(`lastPosition: expected [B, T, C], got [${x.shape.join(', ')}]`);
  const [B, T, C] = x.shape;
  const be = x.backend;
  const out = Tensor.empty([B, 1, C], be);
  be.selectPosition(out.buf, x.buf, B, T, C, T - 1);
  return record(out, [x], () => be.selectPositionBackward(ensureGrad(x).buf, out.grad!.buf, B, T, C, T - 1));
}
