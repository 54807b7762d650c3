ALTER TABLE "source_offsets" ADD COLUMN "watermark" bigint;--> statement-breakpoint
ALTER TABLE "windows" ADD COLUMN "state" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "windows" ADD COLUMN "source_partition" integer;--> statement-breakpoint
CREATE INDEX "windows_open_idx" ON "windows" USING btree ("stream","source_partition") WHERE "windows"."status" = 'provisional';