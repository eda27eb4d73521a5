// snappyjs ships no types; only the call the tests make (an independent snappy encoder) is declared.
declare module 'snappyjs' {
  const snappyjs: {
    compress<T extends Uint8Array>(uncompressed: T): T;
  };
  export default snappyjs;
}
