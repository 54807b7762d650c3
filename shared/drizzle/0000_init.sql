CREATE TABLE "source_offsets" (
	"consumer_group" text NOT NULL,
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"next_offset" bigint NOT NULL,
	"epoch" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "source_offsets_consumer_group_topic_partition_pk" PRIMARY KEY("consumer_group","topic","partition")
);
--> statement-breakpoint
CREATE TABLE "windows" (
	"tenant" text DEFAULT 'default' NOT NULL,
	"stream" text NOT NULL,
	"window" text NOT NULL,
	"window_start" timestamp (3) with time zone NOT NULL,
	"window_end" timestamp (3) with time zone NOT NULL,
	"key" text NOT NULL,
	"values" jsonb NOT NULL,
	"status" text DEFAULT 'provisional' NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"trace_id" text,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "windows_tenant_stream_window_window_start_key_pk" PRIMARY KEY("tenant","stream","window","window_start","key"),
	CONSTRAINT "windows_status_check" CHECK ("windows"."status" in ('provisional', 'settled', 'amended')),
	CONSTRAINT "windows_bounds_check" CHECK ("windows"."window_end" > "windows"."window_start")
);
