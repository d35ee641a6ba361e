import { UserError } from '../errors.js';

export interface ParsedArgs {
  positional: string[];
  /** --key=value, --key value, or --flag (= "true"). */
  flags: Record<string, string>;
}

/** Parses `--key=value`, `--key value` and bare `--flag` arguments; the rest are positional. */
export function parseArgs(argv: string[], booleanFlags: string[] = ['help']): ParsedArgs {
  const positional: string[] = [];
  // no prototype: --__proto__ or --constructor are plain (unknown) keys, never inherited ones
  const flags: Record<string, string> = Object.create(null);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h') {
      flags.help = 'true';
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq >= 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else {
        const key = a.slice(2);
        if (booleanFlags.includes(key) || i + 1 >= argv.length || argv[i + 1].startsWith('--')) flags[key] = 'true';
        else flags[key] = argv[++i];
      }
    } else positional.push(a);
  }
  return { positional, flags };
}

/** Reads known flags and refuses unknown ones by name. */
export function takeFlags<K extends string>(flags: Record<string, string>, known: readonly K[], command: string): Partial<Record<K, string>> {
  for (const k of Object.keys(flags)) {
    if (!(known as readonly string[]).includes(k) && k !== 'help') {
      throw new UserError(`yorick ${command}: unknown option --${k}; known options: ${known.map((x) => '--' + x).join(', ')}`);
    }
  }
  return flags as Partial<Record<K, string>>;
}

export function intFlag(value: string | undefined, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new UserError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  if (n > max) throw new UserError(`--${name} must be at most ${max.toLocaleString('en-US')}, got ${value}`);
  return n;
}

export function numberFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UserError(`--${name} must be a number, got ${JSON.stringify(value)}`);
  return n;
}
