/**
 * The protobuf wire format, just enough to read SentencePiece's ModelProto. Every read is bounds
 * checked: a truncated or corrupt file is a UserError naming the offset, never a hang or a crash.
 */
import { UserError } from '../../errors.js';
import { decodeUtf8Strict } from '../bytes.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

export class ProtoReader {
  private pos: number;
  private readonly view: DataView;

  /** Reads bytes[start, end); `what` names the file in errors. */
  constructor(private readonly bytes: Uint8Array, private readonly what: string, start = 0, private readonly end = bytes.length) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(why: string): never {
    throw new UserError(`${this.what}: ${why} at byte ${this.pos} (the file is truncated, corrupt, or not a SentencePiece model)`);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number; values above 2^53 lose precision (no field read here needs them). */
  varint(): number {
    let result = 0, scale = 1;
    for (let k = 0; k < 10; k++) {
      if (this.pos >= this.end) this.fail('a varint runs past the end');
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    this.fail('a varint is longer than 10 bytes');
  }

  /** Next field: [field number, wire type]. */
  tag(): [number, number] {
    const t = this.varint();
    const field = Math.floor(t / 8), wire = t % 8;
    if (field === 0) this.fail('field number 0');
    return [field, wire];
  }

  /** A length-delimited field's extent, for a nested reader or raw bytes. */
  lengthDelimited(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) this.fail(`a field of ${len} bytes runs past the end`);
    this.pos = start + len;
    return [start, start + len];
  }

  bytesField(): Uint8Array {
    const [s, e] = this.lengthDelimited();
    return this.bytes.subarray(s, e);
  }

  string(): string {
    const at = this.pos;
    const b = this.bytesField();
    return decodeUtf8Strict(b, `${this.what}: the string at byte ${at}`);
  }

  nested(): ProtoReader {
    const [s, e] = this.lengthDelimited();
    return new ProtoReader(this.bytes, this.what, s, e);
  }

  float32(): number {
    if (this.end - this.pos < 4) this.fail('a 32-bit field runs past the end');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Read a field of the expected wire type, or fail naming the field. */
  expect(wire: number, want: number, field: number): void {
    if (wire !== want) this.fail(`field ${field} has wire type ${wire}, expected ${want}`);
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT: this.varint(); return;
      case WIRE_FIXED64: if (this.end - this.pos < 8) this.fail('a 64-bit field runs past the end'); this.pos += 8; return;
      case WIRE_BYTES: this.lengthDelimited(); return;
      case WIRE_FIXED32: if (this.end - this.pos < 4) this.fail('a 32-bit field runs past the end'); this.pos += 4; return;
      default: this.fail(`unsupported wire type ${wire}`);
    }
  }
}
