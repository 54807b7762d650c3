CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant" text NOT NULL,
	"name" text,
	"scopes" text[] NOT NULL,
	"key_hash" text NOT NULL,
	"events_per_second" integer,
	"requests_per_second" integer,
	"expires_at" timestamp (3) with time zone,
	"revoked_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_keys_key_hash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
CREATE TABLE "tenant_quotas" (
	"tenant" text PRIMARY KEY NOT NULL,
	"daily_events" bigint NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "api_keys_tenant_idx" ON "api_keys" USING btree ("tenant");--> statement-breakpoint
-- Every service keeps the keys in memory and LISTENs here: a change (a revocation above all) reaches
-- them at once; their periodic reload is the fallback that bounds it to seconds (issue 21, item 2).
CREATE FUNCTION sluice_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sluice_keys', TG_TABLE_NAME);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER api_keys_changed AFTER INSERT OR UPDATE OR DELETE ON "api_keys"
  FOR EACH STATEMENT EXECUTE FUNCTION sluice_keys_changed();
--> statement-breakpoint
CREATE TRIGGER tenant_quotas_changed AFTER INSERT OR UPDATE OR DELETE ON "tenant_quotas"
  FOR EACH STATEMENT EXECUTE FUNCTION sluice_keys_changed();
