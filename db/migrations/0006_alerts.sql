CREATE TABLE "alerts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"key" text NOT NULL,
	"rule" text NOT NULL,
	"severity" text NOT NULL,
	"status" text DEFAULT 'firing' NOT NULL,
	"summary" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"source_id" uuid,
	"correlation_id" text,
	"occurrences" integer DEFAULT 1 NOT NULL,
	"first_raised_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_raised_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	"resolution" text
);
--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_firing_key_idx" ON "alerts" USING btree ("key") WHERE "alerts"."status" = 'firing';--> statement-breakpoint
CREATE INDEX "alerts_status_raised_idx" ON "alerts" USING btree ("status","last_raised_at");