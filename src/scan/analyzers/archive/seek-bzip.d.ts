// Type declaration for seek-bzip (pure-JavaScript bzip2 decoder, no bundled types).
declare module 'seek-bzip' {
  interface ByteSink {
    writeByte(b: number): void;
  }
  const Bunzip: {
    decode(input: Buffer, output?: ByteSink | Buffer | number, multistream?: boolean): Buffer;
  };
  export default Bunzip;
}
