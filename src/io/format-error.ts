import { UserError } from '../errors.js';

/**
 * A file that is not what it claims to be: truncated, corrupt, or holding something the reader
 * refuses (a pickle global outside the allow-list, a shape that disagrees with its config).
 * Every reader under src/io reports bad input with this class and nothing else, so callers and
 * the CLI can tell a bad file from a bug.
 */
export class FormatError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}
