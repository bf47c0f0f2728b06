CREATE TABLE "lexical_pending" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source_id" uuid NOT NULL,
	"terms" text[] NOT NULL,
	"dfs" integer[] NOT NULL,
	"chunks" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "lexical_sources" (
	"source_id" uuid PRIMARY KEY NOT NULL,
	"chunks" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "lexical_terms" (
	"term" text NOT NULL,
	"source_id" uuid NOT NULL,
	"df" integer NOT NULL,
	CONSTRAINT "lexical_terms_term_source_id_pk" PRIMARY KEY("term","source_id")
);
--> statement-breakpoint
ALTER TABLE "chunks" ADD COLUMN "lexemes" "tsvector" DEFAULT ''::tsvector NOT NULL;--> statement-breakpoint
ALTER TABLE "lexical_pending" ADD CONSTRAINT "lexical_pending_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "lexical_sources" ADD CONSTRAINT "lexical_sources_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "lexical_terms" ADD CONSTRAINT "lexical_terms_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "lexical_pending_source_idx" ON "lexical_pending" USING btree ("source_id");--> statement-breakpoint
CREATE INDEX "chunks_lexemes_idx" ON "chunks" USING gin ("lexemes");