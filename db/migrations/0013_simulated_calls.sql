CREATE TABLE "simulated_calls" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"integration" text NOT NULL,
	"operation" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"items" integer NOT NULL,
	"requests" integer NOT NULL,
	"tokens" integer NOT NULL,
	"details" jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX "simulated_calls_integration_at_idx" ON "simulated_calls" USING btree ("integration","at");