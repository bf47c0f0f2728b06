CREATE INDEX "sync_runs_finished_idx" ON "sync_runs" USING btree ("finished_at");--> statement-breakpoint
CREATE INDEX "sync_runs_queued_idx" ON "sync_runs" USING btree ("queued_at");