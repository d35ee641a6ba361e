/**
 * A mistake the user can fix (bad input, bad config, missing file). The CLI prints its message
 * alone, without a stack trace, and exits non-zero. Anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
