/**
 * PostgreSQL's binary COPY format (`COPY … FROM … WITH (FORMAT binary)`), written from JS
 * values. Used by the embedded database's bulk path (lib/index/write.ts): a batch of chunks
 * goes in as one buffer that Postgres reads field by field with each type's receive function,
 * with no text to escape in JS or to parse in Postgres (a vector as text costs more to print
 * and to parse than the rest of its row).
 *
 * Format (PostgreSQL docs, "COPY — Binary Format"): an 11-byte signature, a 32-bit flags word
 * and a 32-bit header extension length; then per row a 16-bit field count and per field a
 * 32-bit byte length (-1 for NULL) followed by the type's binary representation, big-endian;
 * a 16-bit -1 ends the data.
 */

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

/** tsvector position weights, as `WEP_SETWEIGHT` stores them (D = 0 … A = 3). */
const WEIGHT_BITS: Record<string, number> = { A: 3, B: 2, C: 1, D: 0 };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class BinaryCopyWriter {
  private buffer: Buffer;
  private view: DataView;
  private offset = 0;

  constructor(initialBytes = 1 << 20) {
    this.buffer = Buffer.allocUnsafe(Math.max(64, initialBytes));
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.length);
    SIGNATURE.copy(this.buffer, 0);
    this.buffer.writeInt32BE(0, 11); // flags: no OIDs
    this.buffer.writeInt32BE(0, 15); // no header extension
    this.offset = 19;
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.offset + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buffer.copy(next, 0, 0, this.offset);
    this.buffer = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
  }

  /** Starts a row of `fields` fields. */
  row(fields: number): this {
    this.reserve(2);
    this.buffer.writeInt16BE(fields, this.offset);
    this.offset += 2;
    return this;
  }

  null(): this {
    this.reserve(4);
    this.buffer.writeInt32BE(-1, this.offset);
    this.offset += 4;
    return this;
  }

  /** text / varchar: the UTF-8 bytes. */
  text(value: string | null): this {
    if (value === null) return this.null();
    this.reserve(4 + value.length * 3);
    const written = this.buffer.write(value, this.offset + 4, "utf8");
    this.buffer.writeInt32BE(written, this.offset);
    this.offset += 4 + written;
    return this;
  }

  int4(value: number): this {
    if (!Number.isInteger(value) || value < -2147483648 || value > 2147483647)
      throw new RangeError(`not a 32-bit integer: ${value}`);
    this.reserve(8);
    this.buffer.writeInt32BE(4, this.offset);
    this.buffer.writeInt32BE(value, this.offset + 4);
    this.offset += 8;
    return this;
  }

  /** uuid: its 16 bytes. */
  uuid(value: string): this {
    if (!UUID.test(value)) throw new RangeError(`not a uuid: ${value}`);
    this.reserve(20);
    this.buffer.writeInt32BE(16, this.offset);
    this.buffer.write(value.replace(/-/g, ""), this.offset + 4, 16, "hex");
    this.offset += 20;
    return this;
  }

  /**
   * pgvector's `vector` (vector_recv): int16 dimensions, int16 unused, then float4 values.
   * Each value is rounded to 6 decimals first, as `vectorLiteral` prints it, so a vector is
   * stored the same whether it arrives as text or in binary.
   */
  vector(values: ArrayLike<number>): this {
    const dims = values.length;
    if (dims < 1 || dims > 16000) throw new RangeError(`vector of ${dims} dimensions`);
    const bytes = 4 + dims * 4;
    this.reserve(4 + bytes);
    const view = this.view;
    let o = this.offset;
    view.setInt32(o, bytes);
    view.setInt16(o + 4, dims);
    view.setInt16(o + 6, 0);
    o += 8;
    for (let i = 0; i < dims; i++) {
      const v = values[i] ?? 0;
      if (!Number.isFinite(v)) throw new RangeError("vector values must be finite");
      view.setFloat32(o, Math.round(v * 1e6) / 1e6); // big-endian
      o += 4;
    }
    this.offset = o;
    return this;
  }

  /**
   * tsvector (tsvectorrecv): int32 lexeme count, then per lexeme its UTF-8 text NUL-terminated,
   * a uint16 position count and the positions (weight in the top two bits). Every lexeme here
   * has one position, 1, with the weight given by `weights` (one of A B C D per lexeme, D when
   * missing); lexemes must be distinct (Postgres sorts them).
   */
  tsvector(lexemes: readonly string[], weights: string): this {
    const start = this.offset;
    this.reserve(8);
    this.offset += 4; // length, filled in below
    this.buffer.writeInt32BE(lexemes.length, this.offset);
    this.offset += 4;
    for (let i = 0; i < lexemes.length; i++) {
      const lexeme = lexemes[i] ?? "";
      if (lexeme.length === 0 || lexeme.includes("\0"))
        throw new RangeError("a lexeme must be non-empty text without NUL");
      this.reserve(lexeme.length * 3 + 5);
      const written = this.buffer.write(lexeme, this.offset, "utf8");
      this.offset += written;
      this.buffer[this.offset++] = 0;
      const weight = WEIGHT_BITS[weights[i] ?? "D"] ?? 0;
      this.buffer.writeUInt16BE(1, this.offset);
      this.buffer.writeUInt16BE((weight << 14) | 1, this.offset + 2);
      this.offset += 4;
    }
    this.buffer.writeInt32BE(this.offset - start - 4, start);
    return this;
  }

  /** The finished data (the trailer written); the writer must not be used afterwards. */
  finish(): Uint8Array<ArrayBuffer> {
    this.reserve(2);
    this.buffer.writeInt16BE(-1, this.offset);
    this.offset += 2;
    return new Uint8Array(this.buffer.buffer as ArrayBuffer, this.buffer.byteOffset, this.offset);
  }
}
