import {
  type Client,
  makeGenericClientConstructor,
  type ServerReadableStream,
  type ServiceDefinition,
  type sendUnaryData,
} from '@grpc/grpc-js';

/**
 * The transport reference for uploads: a bare grpc-js client-streaming RPC whose server counts and
 * discards the bytes — what loopback gRPC alone costs, with no sealing, storage or verification.
 */
const identity = (b: Buffer) => b;

export const SINK_SERVICE: ServiceDefinition = {
  upload: {
    path: '/archivar.bench.Sink/Upload',
    requestStream: true,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export const sinkHandlers = {
  upload(call: ServerReadableStream<Buffer, Buffer>, callback: sendUnaryData<Buffer>) {
    let n = 0;
    call.on('data', (d: Buffer) => {
      n += d.byteLength;
    });
    call.on('end', () => callback(null, Buffer.from(String(n))));
    call.on('error', () => {});
  },
};

export const SinkClient = makeGenericClientConstructor(SINK_SERVICE, 'Sink');

/** Streams `data` in messages of `messageBytes`, honouring backpressure; resolves with the byte count the server saw. */
export function sinkUpload(client: Client, data: Buffer, messageBytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const upload = (client as unknown as Record<string, (cb: (err: Error | null, res?: Buffer) => void) => NodeJS.WritableStream>)
      .upload;
    if (!upload) throw new Error('sink client has no upload method');
    const call = upload.call(client, (err, res) => (err ? reject(err) : resolve(Number(res?.toString() ?? 0))));
    let off = 0;
    const pump = () => {
      while (off < data.byteLength) {
        const piece = data.subarray(off, Math.min(data.byteLength, off + messageBytes));
        off += piece.byteLength;
        if (!call.write(piece)) {
          call.once('drain', pump);
          return;
        }
      }
      call.end();
    };
    pump();
  });
}
