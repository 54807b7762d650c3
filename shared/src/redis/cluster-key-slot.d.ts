// cluster-key-slot (ioredis's own dependency) ships no types: the one function sluice calls.
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0..16383) of a key, honouring a {hash tag}. */
  // biome-ignore lint/style/noDefaultExport: the package's own shape (module.exports = function).
  export default function calculateSlot(key: string | Buffer): number;
}
