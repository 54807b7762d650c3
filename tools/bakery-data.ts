// The bakery streams' sample data lives with their declarations (shared/src/streams/samples/):
// the streams' `sample` generators and these tools share one source.

export * from '@sluice/shared/streams/samples/bakery';
