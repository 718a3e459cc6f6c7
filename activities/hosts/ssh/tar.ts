// A minimal ustar writer: the ssh provider sends everything a step installs
// (config, certificates, keys, scripts, the unit, release binaries) as one
// tar stream over one ssh channel, extracted by one remote script. Entries
// are regular files under short relative names; modes and owners are set by
// that script, not taken from the archive. File contents are streamed, never
// held in memory as a whole.
import fs from 'node:fs';
import { Readable } from 'node:stream';

export type TarEntry = { name: string; content: string | Buffer } | { name: string; file: string };

const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** The 512-byte ustar header of a regular file (mode 0600, owner 0, mtime now). */
export function tarHeader(name: string, size: number): Buffer {
  if (!/^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9._/-]{0,98}$/.test(name)) throw new Error(`tar entry name ${JSON.stringify(name)} not supported`);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 'utf8');
  h.write(octal(0o600, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(Math.floor(Date.now() / 1000), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

async function* entries(list: TarEntry[]): AsyncGenerator<Buffer> {
  for (const e of list) {
    if ('content' in e) {
      const data = Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content, 'utf8');
      yield Buffer.concat([tarHeader(e.name, data.length), data, padding(data.length)]);
      continue;
    }
    const size = fs.statSync(e.file).size;
    yield tarHeader(e.name, size);
    let sent = 0;
    for await (const chunk of fs.createReadStream(e.file)) {
      sent += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    if (sent !== size) throw new Error(`${e.file} changed size while being sent`);
    yield padding(size);
  }
  yield Buffer.alloc(BLOCK * 2);
}

/** The archive as a stream (two zero blocks at the end). */
export function tarStream(list: TarEntry[]): Readable {
  return Readable.from(entries(list), { objectMode: false });
}
