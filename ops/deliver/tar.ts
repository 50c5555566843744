// Just enough of the tar format to send a host only the layers it lacks: find manifest.json in a
// `docker save` archive, and copy the archive while dropping named entries. docker load never opens
// the file of a layer its store holds already (moby image/tarexport/load.go looks the layer up by its
// chain id first), so an archive without those files loads the same image.
import * as fs from "fs";
import { Transform, TransformCallback } from "stream";

const BLOCK = 512;

const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

function text(header: Buffer, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString("utf8");
}

/** An entry's size: octal, or base-256 when the field's first byte has its high bit set. */
function size(header: Buffer): number {
  const field = header.subarray(124, 136);
  if (field[0] & 0x80) {
    let value = field[0] & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const octal = text(header, 124, 12).trim();
  return octal === "" ? 0 : parseInt(octal, 8);
}

/** A header block: its type, name (ustar prefix joined) and data size; undefined at the end blocks. */
function header(block: Buffer): { type: string; name: string; size: number } | undefined {
  if (block.every((byte) => byte === 0)) return undefined;
  const prefix = text(block, 257, 6) === "ustar" ? text(block, 345, 155) : "";
  const name = text(block, 0, 100);
  return {
    type: String.fromCharCode(block[156] || 48),
    name: prefix ? `${prefix}/${name}` : name,
    size: size(block),
  };
}

/** The `path` a PAX extended header sets, if any ("<len> path=<value>\n" records). */
function paxPath(data: Buffer): string | undefined {
  for (const record of data.toString("utf8").split("\n")) {
    const match = /^\d+ path=(.*)$/.exec(record);
    if (match) return match[1];
  }
  return undefined;
}

/** Reads one entry of a tar file by name (the first match), or undefined. */
export function readTarEntry(file: string, wanted: string): Buffer | undefined {
  const fd = fs.openSync(file, "r");
  try {
    const block = Buffer.alloc(BLOCK);
    let offset = 0;
    let longName: string | undefined;
    while (fs.readSync(fd, block, 0, BLOCK, offset) === BLOCK) {
      const entry = header(block);
      if (!entry) return undefined;
      const data = () => {
        const buffer = Buffer.alloc(entry.size);
        fs.readSync(fd, buffer, 0, entry.size, offset + BLOCK);
        return buffer;
      };
      if (entry.type === "x" || entry.type === "L") {
        longName = entry.type === "x" ? paxPath(data()) : text(data(), 0, entry.size);
      } else {
        if ((longName ?? entry.name) === wanted) return data();
        longName = undefined;
      }
      offset += BLOCK + padded(entry.size);
    }
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Copies a tar stream, leaving out the entries whose name is in `drop` (with their extended headers).
 * Data is passed on as it comes: a large entry is never held in memory.
 */
export function dropTarEntries(drop: ReadonlySet<string>): Transform {
  let pending: Buffer = Buffer.alloc(0);
  /** Headers (and PAX data) of the entry being read, held until its name is known to be kept. */
  let held: Buffer[] = [];
  let longName: string | undefined;
  let remaining = 0;
  let keep = true;
  let collectingName: "x" | "L" | undefined;
  let nameData: Buffer[] = [];
  let ended = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length > 0) {
        if (ended) {
          this.push(pending);
          pending = Buffer.alloc(0);
          break;
        }
        if (remaining > 0) {
          const take = Math.min(remaining, pending.length);
          const part = pending.subarray(0, take);
          if (collectingName) {
            held.push(part);
            nameData.push(part);
          } else if (keep) this.push(part);
          pending = pending.subarray(take);
          remaining -= take;
          if (remaining === 0 && collectingName) {
            const data = Buffer.concat(nameData);
            longName = collectingName === "x" ? paxPath(data) : text(data, 0, data.length);
            collectingName = undefined;
            nameData = [];
          }
          continue;
        }
        if (pending.length < BLOCK) break;
        const block = pending.subarray(0, BLOCK);
        pending = pending.subarray(BLOCK);
        const entry = header(block);
        if (!entry) {
          // The end-of-archive blocks and whatever padding follows go through as they are.
          ended = true;
          this.push(Buffer.concat([...held, block]));
          held = [];
          continue;
        }
        if (entry.type === "x" || entry.type === "L") {
          held.push(block);
          collectingName = entry.type;
          remaining = padded(entry.size);
          // The name sits in the first `size` bytes; the padding after it is collected with it.
          nameData = [];
          continue;
        }
        const name = longName ?? entry.name;
        longName = undefined;
        keep = !drop.has(name);
        if (keep) this.push(Buffer.concat([...held, block]));
        held = [];
        remaining = padded(entry.size);
      }
      done();
    },
    flush(done: TransformCallback) {
      if (pending.length > 0 || held.length > 0) this.push(Buffer.concat([...held, pending]));
      done();
    },
  });
}
