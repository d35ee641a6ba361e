/**
 * A restricted pickle reader: the opcodes of protocols 2 to 5 that checkpoints and nanoGPT's
 * meta.pkl use, building only None, bools, ints, floats, strings, bytes, lists, tuples, dicts
 * and the allow-listed globals of torch-globals.ts (OrderedDict, tensors over storages). It runs
 * no code: a global outside the allow-list, an instance build or an unknown opcode is a
 * FormatError naming it. Every length is checked against the bytes that remain before anything
 * is allocated, and nothing recurses, so a hostile pickle costs at most time and memory linear
 * in its size (plus the storages its tensors view).
 */
import { FormatError } from './format-error.js';
import { OrderedDict, PyTuple, pyTypeName, TorchTensor, type PyKey, type PyValue } from './py-values.js';
import { loadStorage, lookupGlobal, PyCallable, StorageRef, StorageType, type Fail } from './torch-globals.js';

export interface PickleReadOptions {
  /** Names the file in error messages. */
  what?: string;
  /** The bytes of storage record data/<key> (torch.save archives); without it persistent ids are refused. */
  storage?: (key: string) => Uint8Array | undefined;
}

/** A tuple holding a global or a storage: usable only as REDUCE arguments or a persistent id. */
class ArgTuple {
  constructor(readonly items: Item[]) {}
}
type Item = PyValue | StorageType | PyCallable | StorageRef | ArgTuple;

const MAX_LONG_BYTES = 1024;
const MAX_LINE = 1024;

const UNSUPPORTED: Record<number, string> = {
  0x81: 'NEWOBJ (building a class instance)', 0x92: 'NEWOBJ_EX (building a class instance)', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS',
  0x91: 'FROZENSET', 0x50: 'PERSID', 0x69: 'INST (building a class instance)', 0x6f: 'OBJ (building a class instance)',
  0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4',
};

/** A name from the file, safe to print: control characters escaped, at most 100 characters. */
const printable = (s: string) => {
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return t.length > 100 ? `${t.slice(0, 100)}...` : t;
};
const article = (type: string) => (/^[aeiouAEIOU]/.test(type) ? `an ${type}` : `a ${type}`);

function describe(v: Item): string {
  if (v instanceof PyCallable) return `the global ${v.qualname}`;
  if (v instanceof StorageType) return `the global ${v.qualname}`;
  if (v instanceof StorageRef) return `a bare storage (data/${v.key})`;
  if (v instanceof ArgTuple) return 'a tuple holding a global or storage';
  return article(pyTypeName(v));
}

/** Reads one pickle (up to its STOP opcode). */
export function readPickle(bytes: Uint8Array, opts: PickleReadOptions = {}): PyValue {
  const what = opts.what ?? 'pickle';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = 0, opAt = 0;
  const fail: Fail = (msg) => {
    throw new FormatError(`${what}: ${msg} (opcode at byte ${opAt})`);
  };
  const take = (n: number): Uint8Array => {
    if (!(n <= bytes.length - pos)) fail(`wants ${n} bytes but only ${bytes.length - pos} remain (truncated or corrupt)`);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const u8 = () => take(1)[0];
  const u16 = () => (take(2), view.getUint16(pos - 2, true));
  const u32 = () => (take(4), view.getUint32(pos - 4, true));
  const u64 = () => {
    take(8);
    const v = view.getBigUint64(pos - 8, true);
    if (v > BigInt(bytes.length)) fail(`length ${v} exceeds the ${bytes.length}-byte pickle (truncated or corrupt)`);
    return Number(v);
  };
  const text = (b: Uint8Array) => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('a string is not valid UTF-8');
    }
  };
  const line = () => {
    const end = bytes.subarray(pos, pos + MAX_LINE).indexOf(0x0a);
    if (end < 0) fail('a GLOBAL name has no end of line (truncated or corrupt)');
    const s = text(bytes.subarray(pos, pos + end));
    pos += end + 1;
    return s;
  };

  const stack: Item[] = [];
  const marks: number[] = [];
  const memo = new Map<number, Item>();
  const storages = new Map<string, StorageRef>();
  const floor = () => (marks.length ? marks[marks.length - 1] : 0);
  const pop = (): Item => {
    if (stack.length <= floor()) fail('stack underflow (corrupt pickle)');
    return stack.pop()!;
  };
  const top = (): Item => {
    if (stack.length <= floor()) fail('stack underflow (corrupt pickle)');
    return stack[stack.length - 1];
  };
  const popMark = (): Item[] => {
    if (!marks.length) fail('no MARK to pop to (corrupt pickle)');
    return stack.splice(marks.pop()!);
  };
  const plain = (v: Item, where: string): PyValue => {
    if (v instanceof PyCallable || v instanceof StorageType || v instanceof StorageRef || v instanceof ArgTuple) {
      fail(`${describe(v)} cannot be ${where}; only dicts, lists, tuples, numbers, strings and tensors can`);
    }
    return v as PyValue;
  };
  const key = (k: Item): PyKey => {
    if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return k;
    return fail(`a dict key is ${describe(k)}; only strings, numbers, bools and None are supported as keys`);
  };
  const setItems = (items: Item[]) => {
    const d = top();
    if (!(d instanceof Map)) fail(`SETITEM(S) on ${describe(d)}, expected a dict`);
    if (items.length % 2) fail('SETITEMS with an odd number of items (corrupt pickle)');
    for (let i = 0; i < items.length; i += 2) (d as Map<PyKey, PyValue>).set(key(items[i]), plain(items[i + 1], 'a dict value'));
  };
  const appendItems = (items: Item[]) => {
    const l = top();
    if (!Array.isArray(l)) fail(`APPEND(S) on ${describe(l)}, expected a list`);
    for (const v of items) (l as PyValue[]).push(plain(v, 'a list item'));
  };
  const tuple = (items: Item[]): Item => {
    const internal = items.some((v) => v instanceof PyCallable || v instanceof StorageType || v instanceof StorageRef || v instanceof ArgTuple);
    return internal ? new ArgTuple(items) : new PyTuple(items as PyValue[]);
  };
  const pushGlobal = (module: string, name: string) => {
    const g = lookupGlobal(module, name);
    if (!g) {
      fail(`global ${printable(`${module}.${name}`)} is not allowed: a checkpoint may hold only dicts, lists, tuples, numbers, strings, OrderedDicts and tensors (the allow-list of torch.load(weights_only=True))`);
    }
    stack.push(g!);
  };
  const long = (b: Uint8Array): number | bigint => {
    if (b.length > MAX_LONG_BYTES) fail(`an integer of ${b.length} bytes is too large`);
    if (b.length <= 6) {
      let v = 0;
      for (let i = b.length - 1; i >= 0; i--) v = v * 256 + b[i];
      return b.length && b[b.length - 1] & 0x80 ? v - 2 ** (8 * b.length) : v;
    }
    let hex = '';
    for (let i = b.length - 1; i >= 0; i--) hex += b[i].toString(16).padStart(2, '0');
    let v = BigInt(`0x${hex}`);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  while (pos < bytes.length) {
    opAt = pos;
    const op = bytes[pos++];
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) fail(`pickle protocol ${v} is newer than 5`);
        break;
      }
      case 0x95: u64(); break; // FRAME: a length hint only
      case 0x2e: return plain(pop(), 'the pickle\'s result'); // STOP
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: take(4); stack.push(view.getInt32(pos - 4, true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(long(take(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = view.byteLength - pos >= 4 ? view.getInt32(pos, true) : -1;
        if (n > MAX_LONG_BYTES) fail(`an integer of ${n} bytes is too large`);
        stack.push(long(take(u32())));
        break;
      }
      case 0x47: take(8); stack.push(view.getFloat64(pos - 8, false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(text(take(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(text(take(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text(take(u64()))); break; // BINUNICODE8
      case 0x55: stack.push(text(take(u8()))); break; // SHORT_BINSTRING (Python 2 str, read as torch.load does: UTF-8)
      case 0x54: stack.push(text(take(u32()))); break; // BINSTRING
      case 0x43: stack.push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x42: stack.push(take(u32()).slice()); break; // BINBYTES
      case 0x8e: stack.push(take(u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(take(u64()).slice()); break; // BYTEARRAY8
      case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(tuple(popMark())); break; // TUPLE
      case 0x85: case 0x86: case 0x87: { // TUPLE1..3
        const n = op - 0x84;
        if (stack.length - floor() < n) fail('stack underflow (corrupt pickle)');
        stack.push(tuple(stack.splice(stack.length - n)));
        break;
      }
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark().map((v) => plain(v, 'a list item'))); break; // LIST
      case 0x61: appendItems([pop()]); break; // APPEND
      case 0x65: appendItems(popMark()); break; // APPENDS
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { // DICT
        const items = popMark();
        stack.push(new Map());
        setItems(items);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop(), k = pop();
        setItems([k, v]);
        break;
      }
      case 0x75: setItems(popMark()); break; // SETITEMS
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`memo slot ${i} is read before it is written (corrupt pickle)`);
        stack.push(memo.get(i)!);
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x63: { // GLOBAL
        const module = line();
        pushGlobal(module, line());
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs a module and a name string');
        pushGlobal(module as string, name as string);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = top();
        if (!(fn instanceof PyCallable)) fail(`REDUCE calls ${describe(fn)}, which is not an allow-listed function`);
        if (!(args instanceof PyTuple || args instanceof ArgTuple)) fail(`REDUCE arguments are ${describe(args)}, expected a tuple`);
        stack[stack.length - 1] = (fn as PyCallable).call((args as PyTuple | ArgTuple).items, fail) as Item;
        break;
      }
      case 0x62: { // BUILD: object state; only an OrderedDict's attributes (a state dict's _metadata), ignored
        const state = pop();
        const inst = top();
        const empty = state === null || (state instanceof Map && state.size === 0);
        if (!(inst instanceof OrderedDict || (inst instanceof TorchTensor && empty))) fail(`BUILD (setting object state) on ${describe(inst)} is not allowed`);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.storage) fail('a persistent id (a tensor storage) outside a torch.save archive');
        if (!(pid instanceof PyTuple || pid instanceof ArgTuple)) fail(`persistent id is ${describe(pid)}, expected a tuple`);
        stack.push(loadStorage((pid as PyTuple | ArgTuple).items, opts.storage!, storages, fail));
        break;
      }
      default:
        fail(UNSUPPORTED[op] ? `opcode ${UNSUPPORTED[op]} is not allowed` : `unknown or unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
  return fail('the pickle ends without a STOP opcode (truncated)');
}
