CREATE TABLE "archive_parts" (
	"dataset" text NOT NULL,
	"day" text NOT NULL,
	"part" integer NOT NULL,
	"key" text NOT NULL,
	"rows" bigint NOT NULL,
	"bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"content_sha256" text NOT NULL,
	"verified_at" timestamp with time zone NOT NULL,
	"deleted_rows" bigint DEFAULT 0 NOT NULL,
	"expired_at" timestamp with time zone,
	CONSTRAINT "archive_parts_dataset_day_part_pk" PRIMARY KEY("dataset","day","part")
);
--> statement-breakpoint
CREATE TABLE "cleanup_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dedupe_key" text NOT NULL,
	"correlation_id" text,
	"trigger" text NOT NULL,
	"requested_by" text,
	"status" text DEFAULT 'running' NOT NULL,
	"dry_run" integer DEFAULT 0 NOT NULL,
	"plan" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"counts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"approval_required" text,
	"decided_by" text,
	"decision" text,
	"decision_reason" text,
	"decided_at" timestamp with time zone,
	"error" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "cleanup_runs_dedupe_key_unique" UNIQUE("dedupe_key"),
	CONSTRAINT "cleanup_runs_status_check" CHECK ("cleanup_runs"."status" in ('running', 'awaiting_approval', 'succeeded', 'failed', 'rejected', 'aborted'))
);
--> statement-breakpoint
CREATE TABLE "trace_spans" (
	"span_id" text PRIMARY KEY NOT NULL,
	"trace_id" text NOT NULL,
	"parent_span_id" text,
	"correlation_id" text,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"function" text,
	"driver" text,
	"run_id" uuid,
	"source_id" uuid,
	"event_id" text,
	"attempt" integer DEFAULT 1 NOT NULL,
	"status" text NOT NULL,
	"error_class" text,
	"error_message" text,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone NOT NULL,
	"duration_ms" double precision NOT NULL,
	"input" jsonb,
	"output" jsonb,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "trace_spans_status_check" CHECK ("trace_spans"."status" in ('ok', 'error')),
	CONSTRAINT "trace_spans_kind_check" CHECK ("trace_spans"."kind" in ('step', 'external'))
);
--> statement-breakpoint
CREATE INDEX "cleanup_runs_started_idx" ON "cleanup_runs" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "trace_spans_started_idx" ON "trace_spans" USING btree ("started_at","span_id");--> statement-breakpoint
CREATE INDEX "trace_spans_trace_idx" ON "trace_spans" USING btree ("trace_id");--> statement-breakpoint
CREATE INDEX "trace_spans_run_idx" ON "trace_spans" USING btree ("run_id","started_at");--> statement-breakpoint
CREATE INDEX "trace_spans_correlation_idx" ON "trace_spans" USING btree ("correlation_id","started_at");--> statement-breakpoint
CREATE INDEX "trace_spans_source_idx" ON "trace_spans" USING btree ("source_id","started_at");