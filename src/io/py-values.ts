/**
 * Python values as the restricted pickle reader builds them and the pickle writer takes them:
 *   None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> number,
 *   str -> string, bytes -> Uint8Array, list -> array, tuple -> PyTuple, dict -> Map,
 *   collections.OrderedDict -> OrderedDict (a Map), torch.Tensor -> TorchTensor.
 * The writer also takes PyFloat, to pickle an integral number as a float (0.0, not 0).
 */

export type PyKey = string | number | bigint | boolean | null;
export type PyDict = Map<PyKey, PyValue>;
export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | TorchTensor | PyFloat;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A number the writer pickles as a float even when it is integral. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** collections.OrderedDict: a Map (insertion-ordered, like any Python dict) marked with its type. */
export class OrderedDict extends Map<PyKey, PyValue> {}

/** Storage element types of torch.save (torch.FloatStorage is float32, ...). */
export type TorchDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/**
 * A tensor rebuilt from its storage: row-major, contiguous, values as float32 (`dtype` says what
 * the file held; other types were converted exactly). `data` may be a view into the file's bytes.
 */
export class TorchTensor {
  constructor(readonly dtype: TorchDType, readonly shape: number[], readonly data: Float32Array, readonly requiresGrad = false) {}
}

/** A dict's value by key, or undefined (a Map's get, for values the caller narrows). */
export function dictGet(d: PyValue | undefined, key: PyKey): PyValue | undefined {
  return d instanceof Map ? d.get(key) : undefined;
}

/** A short description of a value's Python type, for error messages. */
export function pyTypeName(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof OrderedDict) return 'OrderedDict';
  if (v instanceof Map) return 'dict';
  if (v instanceof TorchTensor) return 'Tensor';
  if (v instanceof PyFloat) return 'float';
  return 'object';
}

/** A value for an error message: short, and never throwing (JSON.stringify would on a bigint). */
export function showValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'None';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return `a ${pyTypeName(v)}`;
}
