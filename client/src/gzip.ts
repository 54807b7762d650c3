// Gzip with the Web's CompressionStream (Node 18+, Bun, Deno, browsers): no zlib import, so the
// client runs everywhere the intake's DecompressionStream does.

export async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
