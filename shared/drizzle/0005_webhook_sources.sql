CREATE TABLE "webhook_sources" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant" text NOT NULL,
	"name" text,
	"provider" text NOT NULL,
	"stream" text NOT NULL,
	"secret" text NOT NULL,
	"previous_secret" text,
	"previous_retires_at" timestamp (3) with time zone,
	"options" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"removed_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "webhook_sources_tenant_idx" ON "webhook_sources" USING btree ("tenant");--> statement-breakpoint
-- Ingest holds the sources in memory and LISTENs here (db/live-table.ts): a new source, a rotation
-- or a removal reaches it at once; its periodic version check is the fallback.
CREATE FUNCTION sluice_webhooks_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sluice_webhooks', TG_TABLE_NAME);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER webhook_sources_changed AFTER INSERT OR UPDATE OR DELETE ON "webhook_sources"
  FOR EACH STATEMENT EXECUTE FUNCTION sluice_webhooks_changed();
