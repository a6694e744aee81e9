/**
 * The MessagePack subset the protocol needs (subprotocol `cosmictron.v1.msgpack`): nil, bool,
 * integers, floats, strings, binary, arrays and maps with string keys. The server's messages
 * are its JSON messages in MessagePack form, so decoding yields the same objects as JSON.parse.
 */

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

export function encode(value: unknown): Uint8Array {
  const out: number[] = [];
  write(out, value);
  return Uint8Array.from(out);
}

function bytes(out: number[], n: number, width: 1 | 2 | 4): void {
  for (let shift = (width - 1) * 8; shift >= 0; shift -= 8) out.push((n >>> shift) & 0xff);
}

function write(out: number[], value: unknown): void {
  if (value === null || value === undefined) out.push(0xc0);
  else if (value === false) out.push(0xc2);
  else if (value === true) out.push(0xc3);
  else if (typeof value === 'number') writeNumber(out, value);
  else if (typeof value === 'string') {
    const text = utf8Encoder.encode(value);
    const n = text.length;
    if (n < 32) out.push(0xa0 | n);
    else if (n < 0x100) out.push(0xd9, n);
    else if (n < 0x10000) (out.push(0xda), bytes(out, n, 2));
    else (out.push(0xdb), bytes(out, n, 4));
    for (const b of text) out.push(b);
  } else if (Array.isArray(value)) {
    header(out, value.length, 0x90, 0xdc);
    for (const v of value) write(out, v);
  } else if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    header(out, entries.length, 0x80, 0xde);
    for (const [k, v] of entries) {
      write(out, k);
      write(out, v);
    }
  } else {
    throw new TypeError(`cannot encode a ${typeof value} as MessagePack`);
  }
}

/** fixarray/fixmap under 16 items, else the 16- or 32-bit form (`long` is the 16-bit tag). */
function header(out: number[], n: number, fix: number, long: number): void {
  if (n < 16) out.push(fix | n);
  else if (n < 0x10000) (out.push(long), bytes(out, n, 2));
  else (out.push(long + 1), bytes(out, n, 4));
}

function writeNumber(out: number[], n: number): void {
  if (Number.isSafeInteger(n)) {
    if (n >= 0 && n < 128) return void out.push(n);
    if (n < 0 && n >= -32) return void out.push(n & 0xff);
    if (n >= 0 && n <= 0xffffffff) return void (out.push(0xce), bytes(out, n, 4));
    if (n < 0 && n >= -0x80000000) return void (out.push(0xd2), bytes(out, n, 4));
  }
  const view = new DataView(new ArrayBuffer(9));
  if (Number.isSafeInteger(n)) {
    view.setUint8(0, n >= 0 ? 0xcf : 0xd3);
    view.setBigInt64(1, BigInt(n));
  } else {
    view.setUint8(0, 0xcb);
    view.setFloat64(1, n);
  }
  for (let i = 0; i < 9; i++) out.push(view.getUint8(i));
}

export function decode(data: Uint8Array): unknown {
  const reader = { view: new DataView(data.buffer, data.byteOffset, data.byteLength), at: 0, data };
  const value = read(reader);
  if (reader.at !== data.length) throw new RangeError('trailing bytes after the MessagePack value');
  return value;
}

interface Reader {
  view: DataView;
  at: number;
  data: Uint8Array;
}

function take(r: Reader, n: number): number {
  const at = r.at;
  if (at + n > r.data.length) throw new RangeError('truncated MessagePack value');
  r.at += n;
  return at;
}

function read(r: Reader): unknown {
  const tag = r.view.getUint8(take(r, 1));
  if (tag < 0x80) return tag;
  if (tag >= 0xe0) return tag - 0x100;
  if ((tag & 0xf0) === 0x80) return readMap(r, tag & 0x0f);
  if ((tag & 0xf0) === 0x90) return readArray(r, tag & 0x0f);
  if ((tag & 0xe0) === 0xa0) return readString(r, tag & 0x1f);
  const v = r.view;
  switch (tag) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: return readBytes(r, v.getUint8(take(r, 1)));
    case 0xc5: return readBytes(r, v.getUint16(take(r, 2)));
    case 0xc6: return readBytes(r, v.getUint32(take(r, 4)));
    case 0xca: return v.getFloat32(take(r, 4));
    case 0xcb: return v.getFloat64(take(r, 8));
    case 0xcc: return v.getUint8(take(r, 1));
    case 0xcd: return v.getUint16(take(r, 2));
    case 0xce: return v.getUint32(take(r, 4));
    case 0xcf: return bigToJson(v.getBigUint64(take(r, 8)));
    case 0xd0: return v.getInt8(take(r, 1));
    case 0xd1: return v.getInt16(take(r, 2));
    case 0xd2: return v.getInt32(take(r, 4));
    case 0xd3: return bigToJson(v.getBigInt64(take(r, 8)));
    case 0xd9: return readString(r, v.getUint8(take(r, 1)));
    case 0xda: return readString(r, v.getUint16(take(r, 2)));
    case 0xdb: return readString(r, v.getUint32(take(r, 4)));
    case 0xdc: return readArray(r, v.getUint16(take(r, 2)));
    case 0xdd: return readArray(r, v.getUint32(take(r, 4)));
    case 0xde: return readMap(r, v.getUint16(take(r, 2)));
    case 0xdf: return readMap(r, v.getUint32(take(r, 4)));
    default: throw new RangeError(`unsupported MessagePack tag 0x${tag.toString(16)}`);
  }
}

/** Beyond 2^53 as a decimal string, like the server's JSON form. */
function bigToJson(n: bigint): number | string {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n.toString();
}

function readString(r: Reader, n: number): string {
  const at = take(r, n);
  return utf8Decoder.decode(r.data.subarray(at, at + n));
}

function readBytes(r: Reader, n: number): Uint8Array {
  const at = take(r, n);
  return r.data.slice(at, at + n);
}

function readArray(r: Reader, n: number): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(read(r));
  return out;
}

function readMap(r: Reader, n: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const key = read(r);
    out[String(key)] = read(r);
  }
  return out;
}
