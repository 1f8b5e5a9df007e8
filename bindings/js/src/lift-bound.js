// Bounds what jco's glue copies out of a component. A lifted string or
// byte list is a fresh JS copy of the component's memory, so a hostile
// component can return one 64 MiB string forty times over (aliases of the
// same bytes) and make the host hold gigabytes while its own memory stays
// small. We rewrite the glue so every lifted string, byte list and list
// element is charged against a per-call budget (`maxOutputBytes`, as the
// host's per-call output limit); past it, the call throws.
//
// The rewrite matches jco's output textually (the pinned version); if the
// output's shape changes, it refuses loudly rather than leave a lift
// unbounded.

/** What a list element costs besides its own lifted strings and bytes. */
export const ELEMENT_COST = 16;

/** Marks the error the rewritten glue throws when a call lifts too much. */
export const OUTPUT_LIMIT = 'csvseal-output-limit';

const PRELUDE = `// csvseal: lifts out of the component are charged to a per-call budget (src/lift-bound.js).
const __csvsealLift = {
  budget: Infinity,
  take(n) {
    this.budget -= n;
    if (this.budget < 0) {
      throw Object.assign(new Error('the component returned more than maxOutputBytes from one call'), { csvseal: ${JSON.stringify(OUTPUT_LIMIT)} });
    }
  },
  decoder() {
    const lift = this;
    const d = new globalThis.TextDecoder();
    return { decode: (view) => (lift.take(view.byteLength), d.decode(view)) };
  },
  slice(buffer, start, end) {
    this.take(end - start);
    return buffer.slice(start, end);
  },
};
export { __csvsealLift };
`;

/** jco's glue (`--instantiation async`), with every lift charged; throws if a lift would escape. */
export function boundLifts(js) {
  let loops = 0;
  const body = js
    .replace(/new TextDecoder\(\)/g, '__csvsealLift.decoder()')
    .replace(/\b(\w+)\.buffer\.slice\(/g, '__csvsealLift.slice($1.buffer, ')
    .replace(/(var result\d+ = \[\];\s*)for \(let i = 0; i < (len\d+); i\+\+\) \{/g, (_, head, len) => {
      loops++;
      return `${head}__csvsealLift.take(${len} * ${ELEMENT_COST});for (let i = 0; i < ${len}; i++) {`;
    });
  const allLoops = (body.match(/for \(let i = 0; i < len\d+; i\+\+\)/g) ?? []).length;
  if (/TextDecoder/.test(body) || /\.buffer\.slice\(/.test(body) || loops !== allLoops) {
    throw new Error('the transpiled glue lifts values in a way csvseal does not bound (a different jco version?)');
  }
  return PRELUDE + body;
}
