// lz4js ships no types; the tests use it as an independent LZ4 frame encoder.
declare module 'lz4js' {
  const lz4js: { compress(src: Uint8Array): Uint8Array };
  export default lz4js;
}
