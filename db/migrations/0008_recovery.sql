CREATE TABLE "dead_letter_attempts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"entry_id" uuid NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"action" text NOT NULL,
	"actor" text NOT NULL,
	"detail" text
);
--> statement-breakpoint
CREATE TABLE "dead_letters" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" text NOT NULL,
	"key" text NOT NULL,
	"source_id" uuid,
	"run_id" uuid,
	"path" text,
	"blob_sha" text,
	"function_id" text,
	"event_name" text,
	"event_data" jsonb,
	"dependency" text,
	"error_class" text NOT NULL,
	"message" text NOT NULL,
	"attempts" integer DEFAULT 1 NOT NULL,
	"recoveries" integer DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	"resolution" text,
	"correlation_id" text,
	CONSTRAINT "dead_letters_kind_check" CHECK ("dead_letters"."kind" in ('document', 'event')),
	CONSTRAINT "dead_letters_status_check" CHECK ("dead_letters"."status" in ('pending', 'redriven', 'parked', 'resolved', 'discarded'))
);
--> statement-breakpoint
ALTER TABLE "sync_run_items" ADD COLUMN "error_class" text;--> statement-breakpoint
ALTER TABLE "sync_run_items" ADD COLUMN "dependency" text;--> statement-breakpoint
ALTER TABLE "dead_letter_attempts" ADD CONSTRAINT "dead_letter_attempts_entry_id_dead_letters_id_fk" FOREIGN KEY ("entry_id") REFERENCES "public"."dead_letters"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dead_letters" ADD CONSTRAINT "dead_letters_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dead_letter_attempts_entry_idx" ON "dead_letter_attempts" USING btree ("entry_id","at");--> statement-breakpoint
CREATE UNIQUE INDEX "dead_letters_open_key_idx" ON "dead_letters" USING btree ("key") WHERE "dead_letters"."status" in ('pending', 'redriven', 'parked');--> statement-breakpoint
CREATE INDEX "dead_letters_status_next_idx" ON "dead_letters" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "dead_letters_source_idx" ON "dead_letters" USING btree ("source_id","status");--> statement-breakpoint
-- The open-ended retry list becomes dead-letter entries (pending: error-recovery re-drives them).
INSERT INTO "dead_letters" ("kind", "key", "source_id", "run_id", "path", "blob_sha", "error_class", "message", "attempts", "first_seen_at", "last_seen_at")
SELECT 'document', 'document:' || "source_id" || ':' || "path", "source_id", "last_run_id", "path", "blob_sha", 'internal', "error", "attempts", "first_failed_at", "last_failed_at"
FROM "document_failures";
