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

/**
 * A compute device failed or refused (no adapter, a lost device, a buffer too large for it).
 * The message names the device and, for memory, the size asked for; the CLI adds that the
 * CPU backends remain (--device=native).
 */
export class DeviceError extends UserError {
  constructor(readonly device: string, message: string) {
    super(message);
    this.name = 'DeviceError';
  }
}
