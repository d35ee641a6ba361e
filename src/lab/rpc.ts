/**
 * A Lab behind a message port: the page's main thread calls its methods, a Web Worker runs
 * them. Requests are { id, method, args }; replies { id, result } or { id, error }; the Lab's
 * events { event }. Typed arrays in results travel as transfers (no copy). Works over any
 * postMessage pair: a Worker and its global scope, a MessageChannel (the tests, in Node).
 */
import type { Lab, LabEvent } from './lab.js';

export interface PortLike {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  start?(): void;
}

type Request = { id: number; method: string; args: unknown[] };
type Reply = { id: number; result?: unknown; error?: { message: string; user: boolean } } | { event: LabEvent };

/** The methods a client may call. */
export const LAB_METHODS = ['useBackend', 'setText', 'tokenize', 'batch', 'resolveTrainConfig', 'train', 'pause', 'stop', 'sample',
  'stopSampling', 'nextTokens', 'attention', 'saveCheckpoint', 'loadCheckpoint', 'status'] as const;
export type LabMethod = (typeof LAB_METHODS)[number];

/** The buffers of typed arrays found at the top of a result or one level into arrays/objects. */
function transfersOf(value: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const visit = (v: unknown, depth: number) => {
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) out.add(v.buffer);
    } else if (depth < 2 && Array.isArray(v)) v.forEach((x) => visit(x, depth + 1));
    else if (depth < 2 && v && typeof v === 'object') Object.values(v).forEach((x) => visit(x, depth + 1));
  };
  visit(value, 0);
  return [...out];
}

/** Serves `makeLab(emit)`'s methods on port (in a worker: the worker's global scope). */
export function serveLab(port: PortLike, makeLab: (emit: (e: LabEvent) => void) => Lab): Lab {
  const lab = makeLab((event) => port.postMessage({ event } satisfies Reply, []));
  port.addEventListener('message', (e) => {
    const { id, method, args } = e.data as Request;
    const run = async () => {
      if (!(LAB_METHODS as readonly string[]).includes(method)) throw new Error(`unknown method ${JSON.stringify(method)}`);
      return (lab[method as LabMethod] as (...a: unknown[]) => unknown)(...args);
    };
    run().then(
      (result) => port.postMessage({ id, result } satisfies Reply, transfersOf(result)),
      (err: Error) => port.postMessage({ id, error: { message: err?.message ?? String(err), user: err?.name === 'UserError' } } satisfies Reply, []),
    );
  });
  port.start?.();
  return lab;
}

/** An error the Lab raised, with its message; `user` when it is about the input (a UserError). */
export class LabError extends Error {
  constructor(message: string, readonly user: boolean) {
    super(message);
    this.name = 'LabError';
  }
}

type Remote<T extends Record<LabMethod, unknown>> = { [K in LabMethod]: T[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : never };

/** The page's side: `client.call.tokenize({...})` returns the worker's result; events go to onEvent. */
export class LabClient {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly call: Remote<Lab>;

  constructor(private readonly port: PortLike, onEvent: (e: LabEvent) => void) {
    port.addEventListener('message', (e) => {
      const reply = e.data as Reply;
      if ('event' in reply) return onEvent(reply.event);
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.error) p.reject(new LabError(reply.error.message, reply.error.user));
      else p.resolve(reply.result);
    });
    port.start?.();
    const call = {} as Record<string, unknown>;
    for (const m of LAB_METHODS) call[m] = (...args: unknown[]) => this.request(m, args);
    this.call = call as Remote<Lab>;
  }

  private request(method: LabMethod, args: unknown[]): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.postMessage({ id, method, args } satisfies Request, transfersOf(args));
    });
  }
}
