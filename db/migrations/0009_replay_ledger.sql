CREATE TABLE "ledger_entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"correlation_id" text,
	"source_id" uuid,
	"run_id" uuid,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "replay_reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dedupe_key" text NOT NULL,
	"bundle_id" text NOT NULL,
	"bundle_ref" text,
	"trigger" text NOT NULL,
	"events" integer NOT NULL,
	"passed" integer NOT NULL,
	"drift" integer NOT NULL,
	"critical" integer NOT NULL,
	"pass_rate" double precision NOT NULL,
	"min_pass_rate" double precision NOT NULL,
	"gate_passed" boolean NOT NULL,
	"scorecard" jsonb NOT NULL,
	"markdown" text NOT NULL,
	"correlation_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "ledger_entries_key" ON "ledger_entries" USING btree ("key");--> statement-breakpoint
CREATE INDEX "ledger_entries_recorded_idx" ON "ledger_entries" USING btree ("recorded_at");--> statement-breakpoint
CREATE INDEX "ledger_entries_correlation_idx" ON "ledger_entries" USING btree ("correlation_id");--> statement-breakpoint
CREATE INDEX "ledger_entries_run_idx" ON "ledger_entries" USING btree ("run_id");--> statement-breakpoint
CREATE UNIQUE INDEX "replay_reports_dedupe_key" ON "replay_reports" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "replay_reports_created_idx" ON "replay_reports" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "replay_reports_gate_idx" ON "replay_reports" USING btree ("gate_passed") WHERE "replay_reports"."gate_passed" = false;