CREATE TABLE "stream_retention" (
	"stream" text PRIMARY KEY NOT NULL,
	"window_retention_ms" bigint,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
