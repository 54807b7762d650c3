CREATE TABLE "partition_health" (
	"consumer_group" text NOT NULL,
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"end_offset" bigint,
	"next_offset" bigint,
	"in_per_second" double precision,
	"processed_per_second" double precision,
	"processed" bigint DEFAULT 0 NOT NULL,
	"late" bigint DEFAULT 0 NOT NULL,
	"dlq" bigint DEFAULT 0 NOT NULL,
	"rejected" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "partition_health_consumer_group_topic_partition_pk" PRIMARY KEY("consumer_group","topic","partition")
);
