// The ecommerce stream's sample data lives with its declaration (shared/src/streams/samples/):
// the stream's `sample` generator and these tools share one source.

export * from '@sluice/shared/streams/samples/ecommerce';
