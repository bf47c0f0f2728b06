CREATE TABLE "alert_rule_state" (
	"key" text PRIMARY KEY NOT NULL,
	"rule" text NOT NULL,
	"pending_since" timestamp with time zone,
	"clear_since" timestamp with time zone,
	"last_value" double precision,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "channel_approvals" (
	"channel" text NOT NULL,
	"fingerprint" text NOT NULL,
	"approved_by" text NOT NULL,
	"approved_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "channel_approvals_channel_fingerprint_pk" PRIMARY KEY("channel","fingerprint")
);
--> statement-breakpoint
CREATE TABLE "channel_health" (
	"channel" text PRIMARY KEY NOT NULL,
	"state" text DEFAULT 'closed' NOT NULL,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"opened_at" timestamp with time zone,
	"retry_at" timestamp with time zone,
	"last_error" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "metric_samples" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"labels" text DEFAULT '' NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"value" double precision NOT NULL,
	"resolution" text DEFAULT 'raw' NOT NULL,
	"min" double precision,
	"max" double precision,
	"samples" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"alert_id" uuid NOT NULL,
	"alert_key" text NOT NULL,
	"rule" text NOT NULL,
	"severity" text NOT NULL,
	"kind" text NOT NULL,
	"channel" text NOT NULL,
	"domain" text NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"test" boolean DEFAULT false NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"receipt" jsonb
);
--> statement-breakpoint
CREATE INDEX "metric_samples_name_at_idx" ON "metric_samples" USING btree ("name","at");--> statement-breakpoint
CREATE INDEX "metric_samples_resolution_at_idx" ON "metric_samples" USING btree ("resolution","at");--> statement-breakpoint
CREATE UNIQUE INDEX "metric_samples_hour_key" ON "metric_samples" USING btree ("name","labels","at") WHERE "metric_samples"."resolution" = 'hour';--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_alert_channel_kind_key" ON "notifications" USING btree ("alert_id","channel","kind");--> statement-breakpoint
CREATE INDEX "notifications_due_idx" ON "notifications" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "notifications_key_idx" ON "notifications" USING btree ("alert_key","channel","created_at");--> statement-breakpoint
CREATE INDEX "notifications_sent_idx" ON "notifications" USING btree ("sent_at");