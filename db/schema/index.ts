export * from "./api-keys";
export * from "./audit-log";
export * from "./documents";
export * from "./outbox";
export * from "./sessions";
export * from "./sources";
export * from "./sync-runs";
export * from "./workflow-jobs";
