-- The window table partitioned by range of window_start (issue 26): one partition a UTC day,
-- windows_pYYYYMMDD, created ahead and dropped past retention by the processor
-- (shared/src/db/window-partitions.ts), and windows_default for any day without one yet, so a
-- write never fails for want of a partition. Written by hand: drizzle-kit has no PARTITION BY.
-- The rows already stored move across in this one transaction; the days they cover get their
-- partitions from the processor's first maintenance (it moves rows out of the default).
ALTER TABLE "windows" RENAME TO "windows_unpartitioned";--> statement-breakpoint
ALTER TABLE "windows_unpartitioned" RENAME CONSTRAINT "windows_tenant_stream_window_window_start_key_pk" TO "windows_unpartitioned_pk";--> statement-breakpoint
ALTER INDEX "windows_open_idx" RENAME TO "windows_unpartitioned_open_idx";--> statement-breakpoint
CREATE TABLE "windows" (
	"tenant" text DEFAULT 'default' NOT NULL,
	"stream" text NOT NULL,
	"window" text NOT NULL,
	"window_start" timestamp (3) with time zone NOT NULL,
	"window_end" timestamp (3) with time zone NOT NULL,
	"key" text NOT NULL,
	"values" jsonb NOT NULL,
	"state" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'provisional' NOT NULL,
	"source_partition" integer,
	"version" integer DEFAULT 1 NOT NULL,
	"source_epoch" bigint,
	"trace_id" text,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "windows_tenant_stream_window_window_start_key_pk" PRIMARY KEY("tenant","stream","window","window_start","key"),
	CONSTRAINT "windows_status_check" CHECK ("status" in ('provisional', 'settled', 'amended')),
	CONSTRAINT "windows_bounds_check" CHECK ("window_end" > "window_start")
) PARTITION BY RANGE ("window_start");--> statement-breakpoint
CREATE INDEX "windows_open_idx" ON "windows" USING btree ("stream","source_partition") WHERE "status" = 'provisional';--> statement-breakpoint
CREATE TABLE "windows_default" PARTITION OF "windows" DEFAULT;--> statement-breakpoint
INSERT INTO "windows" ("tenant", "stream", "window", "window_start", "window_end", "key", "values", "state", "status", "source_partition", "version", "source_epoch", "trace_id", "updated_at")
	SELECT "tenant", "stream", "window", "window_start", "window_end", "key", "values", "state", "status", "source_partition", "version", "source_epoch", "trace_id", "updated_at" FROM "windows_unpartitioned";--> statement-breakpoint
DROP TABLE "windows_unpartitioned";
