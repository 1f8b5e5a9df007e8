// Signed fixtures for the tests: minisign key and signature texts made here
// with Node's own Ed25519 and BLAKE2b-512 from fixed seeds (the layout
// minisign writes, csvseal's trusted comment), so the component's check is
// tested against an independent signer.

import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { rowChecksum, seal } from '../src/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A test key: the seed byte also makes its key number. */
export function testKey(seed) {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, seed)]);
  const sk = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  const pk = Buffer.from(createPublicKey(sk).export({ format: 'jwk' }).x, 'base64url');
  const keynum = Buffer.from([seed, 0x5e, 0xa1, 0, 0, 0, 0, 0x42]);
  const id = keynum.readBigUInt64LE().toString(16).toUpperCase().padStart(16, '0');
  const publicKey = `untrusted comment: minisign public key ${id}\n${Buffer.concat([Buffer.from('Ed'), keynum, pk]).toString('base64')}\n`;
  return { sk, keynum, id, publicKey };
}

export const b2 = (bytes) => createHash('blake2b512').update(bytes).digest('hex');

/** A minisign signature (prehashed Ed25519) of `file` with csvseal's trusted comment. */
export function signFile(key, file, { name, rows, firstSeq, lastSeq, prev = 'none' }) {
  const comment =
    `csvseal-signature:1\tfile:${name}\trows:${rows}\tfirst_seq:${firstSeq ?? '-'}\tlast_seq:${lastSeq ?? '-'}` +
    `\tblake2b:${b2(file)}\tprev:${prev}`;
  const sig = sign(null, createHash('blake2b512').update(file).digest(), key.sk);
  const global = sign(null, Buffer.concat([sig, Buffer.from(comment)]), key.sk);
  return (
    'untrusted comment: signature from csvseal secret key\n' +
    `${Buffer.concat([Buffer.from('ED'), key.keynum, sig]).toString('base64')}\n` +
    `trusted comment: ${comment}\n${global.toString('base64')}\n`
  );
}

/**
 * A sealed file of three trades, signed as `trades.csv` by key 7; and the
 * issue's tamper: one profit_loss changed and that row's checksum
 * recomputed with the policy's own function, so the file still verifies.
 */
export async function signedFixture() {
  const { data, summary } = await seal(enc.encode('symbol,profit_loss\nEURUSD,10.50\nGBPUSD,-3.25\nUSDJPY,7.00\n'));
  const key = testKey(7);
  const signature = signFile(key, data, { name: 'trades.csv', rows: summary.rows, firstSeq: summary.first_seq, lastSeq: summary.last_seq });
  const lines = dec.decode(data).split('\r\n');
  const header = lines[0].split(',');
  const fields = lines[2].split(',');
  fields[header.indexOf('profit_loss')] = '3.25';
  const at = header.indexOf('checksum_sha256');
  fields[at] = await rowChecksum(
    header.filter((_, i) => i !== at),
    fields.filter((_, i) => i !== at),
  );
  lines[2] = fields.join(',');
  return { data, key, signature, tampered: enc.encode(lines.join('\r\n')), otherKey: testKey(8) };
}
