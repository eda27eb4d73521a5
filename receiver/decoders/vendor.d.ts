// snappyjs ships no types; only the calls the receiver and its tests make are declared.
declare module 'snappyjs' {
  const snappyjs: {
    /** Throws when the block is invalid or declares more than `maxLength` bytes. */
    uncompress<T extends Uint8Array>(compressed: T, maxLength?: number): T;
    compress<T extends Uint8Array>(uncompressed: T): T;
  };
  export default snappyjs;
}
